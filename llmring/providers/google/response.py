"""Gemini ``GenerateContentResponse``: wire models, the tables, and the non-streaming parser.

One ``GenerateContentResponse`` is both the body of ``generateContent`` and each payload of
``streamGenerateContent``, so the wire models, the finish-reason table, the usage mapping
and the handling of ordinary parts live here and ``stream.py`` reuses them.
https://ai.google.dev/api/generate-content#generatecontentresponse
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from llmring.exceptions import ProviderResponseError
from llmring.providers._assembly import StreamAssembly, response_from_assembly, total_usage
from llmring.providers.google.errors import GoogleError, error_from_object
from llmring.schemas import FinishReason, LLMResponse, StreamChunk, Usage

__all__ = [
    "DEFAULT_FINISH_REASON",
    "ERROR_FINISH_REASONS",
    "FINISH_REASONS",
    "GoogleFunctionCall",
    "GooglePart",
    "GooglePartialArg",
    "GoogleResponse",
    "GoogleUsageMetadata",
    "add_part",
    "map_finish_reason",
    "map_usage",
    "parse_payload",
    "parse_response",
    "terminal_reason",
]

#: Gemini's ``finishReason`` -> llmring's. Function calls end with ``STOP`` too;
#: ``StreamAssembly.final`` turns that into ``tool_calls`` when calls were made.
FINISH_REASONS: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "LANGUAGE": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
}
#: Reasons that mean the model produced nothing usable: raised as ``ProviderResponseError``.
ERROR_FINISH_REASONS = frozenset(
    {
        "MALFORMED_FUNCTION_CALL",
        "UNEXPECTED_TOOL_CALL",
        "OTHER",
        "TOO_MANY_TOOL_CALLS",
        "MALFORMED_RESPONSE",
        "MISSING_THOUGHT_SIGNATURE",
    }
)
#: For values Google adds later; the raw value is kept beside it.
DEFAULT_FINISH_REASON: FinishReason = "stop"
#: A prompt refused before generation (``promptFeedback.blockReason``, no candidates).
BLOCKED_FINISH_REASON: FinishReason = "content_filter"


def map_finish_reason(raw: str, message: str | None = None) -> FinishReason:
    """llmring's finish reason for a ``finishReason``; raises for the error reasons."""
    if raw in ERROR_FINISH_REASONS:
        detail = f": {message}" if message else ""
        raise ProviderResponseError(f"Gemini stopped with finishReason {raw}{detail}")
    return FINISH_REASONS.get(raw, DEFAULT_FINISH_REASON)


# --- wire models (only the fields llmring reads; the rest is ignored) -------------------


class GooglePartialArg(BaseModel):
    """One streamed piece of a Gemini 3 function call's arguments, at ``jsonPath``."""

    jsonPath: str
    stringValue: str | None = None
    numberValue: int | float | None = None
    boolValue: bool | None = None
    nullValue: str | None = None
    willContinue: bool = False


class GoogleFunctionCall(BaseModel):
    """A call, whole (``name`` + ``args``) or streamed (``willContinue`` / ``partialArgs``)."""

    name: str | None = None
    args: dict[str, Any] | None = None
    id: str | None = None
    partialArgs: list[GooglePartialArg] | None = None
    willContinue: bool = False


class GooglePart(BaseModel):
    """A content part; ``thought`` marks thinking text. Other kinds are ignored."""

    text: str | None = None
    thought: bool = False
    functionCall: GoogleFunctionCall | None = None


class GoogleContent(BaseModel):
    parts: list[GooglePart] = []


class GoogleCandidate(BaseModel):
    content: GoogleContent | None = None
    finishReason: str | None = None
    finishMessage: str | None = None


class GooglePromptFeedback(BaseModel):
    blockReason: str | None = None
    blockReasonMessage: str | None = None


class GoogleUsageMetadata(BaseModel):
    """Running token totals. Unknown fields are kept so ``Usage.raw`` is the object as sent."""

    model_config = ConfigDict(extra="allow")

    promptTokenCount: int = 0
    candidatesTokenCount: int = 0
    totalTokenCount: int | None = None
    thoughtsTokenCount: int | None = None
    cachedContentTokenCount: int | None = None
    toolUsePromptTokenCount: int = 0


class GoogleResponse(BaseModel):
    """A ``GenerateContentResponse``, or an in-band ``{"error": ...}`` payload."""

    candidates: list[GoogleCandidate] = []
    promptFeedback: GooglePromptFeedback | None = None
    usageMetadata: GoogleUsageMetadata | None = None
    error: GoogleError | None = None


_RESPONSE = TypeAdapter(GoogleResponse)


def parse_payload(payload: str | bytes) -> GoogleResponse:
    """Validate one response; an in-band error raises the exception its code means."""
    try:
        response = _RESPONSE.validate_json(payload)
    except ValidationError as exc:
        excerpt = payload[:200]
        if isinstance(excerpt, bytes):
            excerpt = excerpt.decode("utf-8", "replace")
        raise ProviderResponseError(f"malformed Gemini response: {excerpt!r}") from exc
    if response.error is not None:
        raise error_from_object(response.error)
    return response


def map_usage(metadata: GoogleUsageMetadata) -> Usage:
    """llmring's ``Usage``: tool-use prompt tokens count as prompt, thoughts as completion
    (Gemini's ``candidatesTokenCount`` leaves thoughts out)."""
    thoughts = metadata.thoughtsTokenCount
    return total_usage(
        metadata.promptTokenCount + metadata.toolUsePromptTokenCount,
        metadata.candidatesTokenCount + (thoughts or 0),
        total_tokens=metadata.totalTokenCount,
        cached_tokens=metadata.cachedContentTokenCount,
        reasoning_tokens=thoughts,
        raw=metadata.model_dump(exclude_unset=True),
    )


def terminal_reason(response: GoogleResponse) -> tuple[FinishReason, str] | None:
    """``(finish_reason, raw)`` when this response ends the turn, else ``None``.

    A blocked prompt has no candidate at all, only ``promptFeedback.blockReason``.
    """
    if response.candidates:
        candidate = response.candidates[0]
        raw = candidate.finishReason
        if raw is None:
            return None
        return map_finish_reason(raw, candidate.finishMessage), raw
    feedback = response.promptFeedback
    if feedback is not None and feedback.blockReason is not None:
        return BLOCKED_FINISH_REASON, feedback.blockReason
    return None


def add_part(assembly: StreamAssembly, part: GooglePart, call_key: Hashable) -> list[StreamChunk]:
    """Text, thought text or a whole function call; other part kinds add nothing.

    Gemini sends no call ids (the assembler names them ``call_<position>``); ``call_key``
    only has to be unique within the response.
    """
    match part:
        case GooglePart(functionCall=GoogleFunctionCall(name=str(name)) as call):
            assembly.tool_calls.add(call_key, name=name, arguments=call.args or {}, id=call.id)
            return []
        case GooglePart(text=str(text), thought=True):
            return assembly.reasoning(text)
        case GooglePart(text=str(text)):
            return assembly.text(text)
        case _:
            # inlineData, executableCode, codeExecutionResult, a bare thoughtSignature:
            # nothing llmring's response carries.
            return []


def parse_response(body: bytes, model: str) -> LLMResponse:
    """A ``generateContent`` body as an ``LLMResponse`` labelled ``model`` (candidate 0)."""
    response = parse_payload(body)
    assembly = StreamAssembly(model)
    if response.candidates and response.candidates[0].content is not None:
        for position, part in enumerate(response.candidates[0].content.parts):
            add_part(assembly, part, position)
    end = terminal_reason(response)
    if end is None:
        raise ProviderResponseError("Gemini response has no finishReason")
    if response.usageMetadata is not None:
        assembly.usage = map_usage(response.usageMetadata)
    assembly.final(*end)
    return response_from_assembly(assembly)
