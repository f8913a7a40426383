"""Gemini ``GenerateContentResponse``: wire models, the tables, and the non-streaming parser.

One ``GenerateContentResponse`` is both the body of ``generateContent`` and each payload of
``streamGenerateContent``, so the wire models, the finish-reason table, the usage mapping
and the handling of ordinary parts live here and ``stream.py`` reuses them.
https://ai.google.dev/api/generate-content#generatecontentresponse
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Required

from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from llmring.exceptions import ProviderResponseError
from llmring.providers._assembly import StreamAssembly, response_from_assembly, total_usage
from llmring.providers.google.errors import GoogleError, error_from_object
from llmring.schemas import FinishReason, LLMResponse, StreamChunk, Usage

__all__ = [
    "DEFAULT_FINISH_REASON",
    "ERROR_FINISH_REASONS",
    "FINISH_REASONS",
    "STATE",
    "GoogleFunctionCall",
    "GooglePart",
    "GooglePartialArg",
    "GoogleResponse",
    "GoogleUsageMetadata",
    "add_part",
    "keep_signature",
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
# TypedDicts, not BaseModels: pydantic validates them in well under half the time (no model
# instance per part), which is most of the CPU a chunk costs; keys stay typed for mypy.


class GooglePartialArg(TypedDict, total=False):
    """One streamed piece of a Gemini 3 function call's arguments, at ``jsonPath``."""

    jsonPath: Required[str]
    stringValue: str
    numberValue: int | float
    boolValue: bool
    nullValue: str
    willContinue: bool


class GoogleFunctionCall(TypedDict, total=False):
    """A call, whole (``name`` + ``args``) or streamed (``willContinue`` / ``partialArgs``)."""

    name: str
    args: dict[str, Any]
    id: str
    partialArgs: list[GooglePartialArg]
    willContinue: bool


class GooglePart(TypedDict, total=False):
    """A content part; ``thought`` marks thinking text. Other kinds are ignored."""

    text: str
    thought: bool
    functionCall: GoogleFunctionCall
    thoughtSignature: str


class GoogleContent(TypedDict, total=False):
    parts: list[GooglePart]


class GoogleCandidate(TypedDict, total=False):
    content: GoogleContent
    finishReason: str
    finishMessage: str


class GooglePromptFeedback(TypedDict, total=False):
    blockReason: str


class GoogleUsageMetadata(TypedDict, total=False):
    """Running token totals (the counts only; ``map_usage`` reads the object as sent)."""

    promptTokenCount: int
    candidatesTokenCount: int
    totalTokenCount: int
    thoughtsTokenCount: int
    cachedContentTokenCount: int
    toolUsePromptTokenCount: int


class GoogleResponse(TypedDict, total=False):
    """A ``GenerateContentResponse``, or an in-band ``{"error": ...}`` payload."""

    candidates: list[GoogleCandidate]
    responseId: str
    modelVersion: str
    promptFeedback: GooglePromptFeedback
    usageMetadata: GoogleUsageMetadata
    error: GoogleError


class _RawUsage(TypedDict, total=False):
    usageMetadata: dict[str, Any]


_RESPONSE = TypeAdapter(GoogleResponse)
# Called directly: TypeAdapter.validate_json adds ~3k instructions of argument handling per
# payload (callgrind).
_validate_response: Callable[[str | bytes], GoogleResponse] = _RESPONSE.validator.validate_json
_RAW_USAGE = TypeAdapter(_RawUsage)


def parse_payload(payload: str | bytes) -> GoogleResponse:
    """Validate one response; an in-band error raises the exception its code means."""
    try:
        response = _validate_response(payload)
    except ValidationError as exc:
        excerpt = payload[:200]
        if isinstance(excerpt, bytes):
            excerpt = excerpt.decode("utf-8", "replace")
        raise ProviderResponseError(f"malformed Gemini response: {excerpt!r}") from exc
    error = response.get("error")
    if error is not None:
        raise error_from_object(error)
    return response


def map_usage(metadata: GoogleUsageMetadata, payload: str | bytes) -> Usage:
    """llmring's ``Usage``: tool-use prompt tokens count as prompt, thoughts as completion
    (Gemini's ``candidatesTokenCount`` leaves thoughts out). ``payload`` is the response
    the counts came from; its ``usageMetadata`` is read again, whole, for ``Usage.raw``
    (once per response, so the per-chunk parse stays small)."""
    thoughts = metadata.get("thoughtsTokenCount")
    prompt = metadata.get("promptTokenCount", 0) + metadata.get("toolUsePromptTokenCount", 0)
    return total_usage(
        prompt,
        metadata.get("candidatesTokenCount", 0) + (thoughts or 0),
        total_tokens=metadata.get("totalTokenCount"),
        cached_tokens=metadata.get("cachedContentTokenCount"),
        reasoning_tokens=thoughts,
        raw=_RAW_USAGE.validate_json(payload).get("usageMetadata"),
    )


def terminal_reason(response: GoogleResponse) -> tuple[FinishReason, str] | None:
    """``(finish_reason, raw)`` when this response ends the turn, else ``None``.

    A blocked prompt has no candidate at all, only ``promptFeedback.blockReason``.
    """
    candidates = response.get("candidates")
    if candidates:
        candidate = candidates[0]
        raw = candidate.get("finishReason")
        if raw is None:
            return None
        return map_finish_reason(raw, candidate.get("finishMessage")), raw
    block = response.get("promptFeedback", {}).get("blockReason")
    if block is not None:
        return BLOCKED_FINISH_REASON, block
    return None


#: ``Continuation.provider`` of the state kept here: the ``thoughtSignature``s of the parts.
STATE = "google"


def keep_signature(assembly: StreamAssembly, part: GooglePart, *, call: bool) -> None:
    """Keep a part's ``thoughtSignature`` for the next turn, which must send it back on the
    same part: a function call's by the call's position in the response (Gemini 3 refuses a
    call sent back without it), a text part's as the signature of the turn's text
    (../shared/wire/gemini/function-call-thought-signature-gemini3.sse)."""
    signature = part.get("thoughtSignature")
    if signature is None:
        return
    if call:
        item = {"part": "functionCall", "call": len(assembly.tool_calls) - 1}
    else:
        item = {"part": "text"}
    assembly.keep(STATE, {**item, "thoughtSignature": signature})


def add_part(assembly: StreamAssembly, part: GooglePart, call_key: Hashable) -> list[StreamChunk]:
    """Text, thought text or a whole function call; other part kinds add nothing.

    Gemini sends no call ids (the assembler names them ``call_<position>``); ``call_key``
    only has to be unique within the response. Parts carry no type tag (the kind is which
    key is set), so they are sorted by their keys.
    """
    call = part.get("functionCall")
    if call is not None:
        name = call.get("name")
        if name is not None:
            chunks = assembly.tool_calls.add(
                call_key, name=name, arguments=call.get("args") or {}, id=call.get("id")
            )
            keep_signature(assembly, part, call=True)
            return chunks
        return []
    if "thoughtSignature" in part:  # rare: one part per turn at most
        keep_signature(assembly, part, call=False)
    text = part.get("text")
    if text is None:
        # inlineData, executableCode, codeExecutionResult, ...: nothing llmring carries.
        return []
    return assembly.reasoning(text) if part.get("thought") else assembly.text(text)


def parse_response(body: bytes, model: str) -> LLMResponse:
    """A ``generateContent`` body as an ``LLMResponse`` labelled ``model`` (candidate 0)."""
    response = parse_payload(body)
    assembly = StreamAssembly(model)
    assembly.identify(response.get("responseId"), response.get("modelVersion"))
    candidates = response.get("candidates")
    if candidates:
        for position, part in enumerate(candidates[0].get("content", {}).get("parts", ())):
            add_part(assembly, part, position)
    end = terminal_reason(response)
    if end is None:
        raise ProviderResponseError("Gemini response has no finishReason")
    usage = response.get("usageMetadata")
    if usage is not None:
        assembly.usage = map_usage(usage, body)
    assembly.final(*end)
    return response_from_assembly(assembly)
