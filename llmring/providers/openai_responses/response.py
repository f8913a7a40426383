"""OpenAI Responses API: a non-streaming Response object as an ``LLMResponse``, plus the tables.

How a response ended and what it used are read here for both paths; ``stream.py`` reuses
``map_usage`` and ``finish_of``. https://platform.openai.com/docs/api-reference/responses/object
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from llmring.exceptions import ProviderResponseError
from llmring.providers._assembly import StreamAssembly, response_from_assembly, total_usage
from llmring.providers.openai.errors import OpenAIErrorObject, error_from_object
from llmring.schemas import FinishReason, LLMResponse, Usage

__all__ = [
    "DEFAULT_FINISH_REASON",
    "FINISH_REASONS",
    "STATE",
    "SUMMARY_SEPARATOR",
    "OpenAIResponsesEnd",
    "OpenAIResponsesOutputItem",
    "finish_of",
    "keep_reasoning",
    "map_usage",
    "parse_response",
]

#: ``completed``, or the ``incomplete_details.reason`` of an incomplete response -> llmring's.
FINISH_REASONS: dict[str, FinishReason] = {
    "completed": "stop",
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}
#: For an incomplete reason not in the table; the raw value is kept too.
DEFAULT_FINISH_REASON: FinishReason = "stop"
#: Put between reasoning summary parts, which arrive as separate paragraphs.
SUMMARY_SEPARATOR = "\n\n"


class OpenAIResponsesInputDetails(BaseModel):
    cached_tokens: int | None = None


class OpenAIResponsesOutputDetails(BaseModel):
    reasoning_tokens: int | None = None


class OpenAIResponsesUsage(BaseModel):
    """``usage``; ``output_tokens`` already includes reasoning tokens."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int | None = None
    input_tokens_details: OpenAIResponsesInputDetails | None = None
    output_tokens_details: OpenAIResponsesOutputDetails | None = None


_USAGE = TypeAdapter(OpenAIResponsesUsage)


def map_usage(raw: dict[str, Any]) -> Usage:
    """llmring's ``Usage`` for a Response's usage object; ``raw`` is kept as sent."""
    try:
        usage = _USAGE.validate_python(raw)
    except ValidationError as exc:
        raise ProviderResponseError(f"unexpected usage object: {str(raw)[:200]}") from exc
    input_details = usage.input_tokens_details
    output_details = usage.output_tokens_details
    return total_usage(
        usage.input_tokens,
        usage.output_tokens,
        total_tokens=usage.total_tokens,
        cached_tokens=input_details.cached_tokens if input_details else None,
        reasoning_tokens=output_details.reasoning_tokens if output_details else None,
        raw=raw,
    )


class OpenAIResponsesIncompleteDetails(BaseModel):
    reason: str | None = None


class OpenAIResponsesEnd(BaseModel):
    """The fields of a Response object that say how it ended, and which it was."""

    id: str | None = None
    model: str | None = None
    status: str | None = None
    error: OpenAIErrorObject | None = None
    incomplete_details: OpenAIResponsesIncompleteDetails | None = None
    usage: dict[str, Any] | None = None


def finish_of(status: str | None, response: OpenAIResponsesEnd) -> tuple[FinishReason, str]:
    """The finish reason and its raw value for a response that ended with ``status``.

    A ``failed`` response raises the error it carries.
    """
    match status:
        case "completed":
            return FINISH_REASONS["completed"], "completed"
        case "incomplete":
            details = response.incomplete_details
            raw = (details.reason if details else None) or "incomplete"
            return FINISH_REASONS.get(raw, DEFAULT_FINISH_REASON), raw
        case "failed":
            raise error_from_object(
                response.error or OpenAIErrorObject(), default="the response failed"
            )
        case _:
            raise ProviderResponseError(f"the response ended with status {status!r}")


# --- the non-streaming body ------------------------------------------------------------


class OpenAIResponsesContent(BaseModel):
    type: str
    text: str | None = None
    refusal: str | None = None


class OpenAIResponsesSummary(BaseModel):
    text: str = ""


class OpenAIResponsesOutputItem(BaseModel):
    """An ``output[]`` item: ``message``, ``reasoning``, ``function_call`` or a built-in."""

    type: str
    id: str | None = None
    encrypted_content: str | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    content: list[OpenAIResponsesContent] | None = None
    summary: list[OpenAIResponsesSummary] | None = None


class OpenAIResponsesObject(OpenAIResponsesEnd):
    """A Response object (only the fields llmring reads)."""

    output: list[OpenAIResponsesOutputItem] = []


_RESPONSE = TypeAdapter(OpenAIResponsesObject)

#: ``Continuation.provider`` of the state kept here: the response's reasoning items.
STATE = "openai-responses"


def keep_reasoning(assembly: StreamAssembly, item: OpenAIResponsesOutputItem) -> None:
    """Keep a ``reasoning`` item as the next turn sends it back in ``input``: its id, its
    summary and, when the request asked for ``include: ["reasoning.encrypted_content"]``,
    the encrypted reasoning (../shared/wire/openai-responses/
    reasoning-encrypted-function-call-gpt5.sse)."""
    kept: dict[str, Any] = {"type": "reasoning"}
    if item.id is not None:  # OpenAI always sends one; xAI's may have none
        kept["id"] = item.id
    kept["summary"] = [{"type": "summary_text", "text": part.text} for part in item.summary or ()]
    if item.encrypted_content is not None:
        kept["encrypted_content"] = item.encrypted_content
    assembly.keep(STATE, kept)


def parse_response(body: bytes, model: str) -> LLMResponse:
    """A Response object as an ``LLMResponse`` labelled ``model``."""
    try:
        response = _RESPONSE.validate_json(body)
    except ValidationError as exc:
        excerpt = body[:200].decode("utf-8", "replace")
        raise ProviderResponseError(f"malformed response object: {excerpt!r}") from exc
    finish_reason, raw = finish_of(response.status, response)
    assembly = StreamAssembly(model)
    assembly.identify(response.id, response.model)
    summaries: list[str] = []
    for position, item in enumerate(response.output):
        match item.type:
            case "message":
                for part in item.content or ():
                    match part.type:
                        case "output_text":
                            assembly.text(part.text or "")
                        case "refusal":
                            assembly.refusal(part.refusal or "")
                        case _:
                            pass  # no other part types are answer text
            case "reasoning":
                keep_reasoning(assembly, item)
                summaries += (summary.text for summary in item.summary or ())
                for part in item.content or ():  # raw reasoning text (open-weight models)
                    assembly.reasoning(part.text or "")
            case "function_call":
                if item.name is None:
                    raise ProviderResponseError("function_call item without a name")
                assembly.tool_calls.add(
                    position, name=item.name, arguments=item.arguments or "", id=item.call_id
                )
            case _:
                pass  # built-in tool items (web_search_call, ...) carry no answer text
    assembly.reasoning(SUMMARY_SEPARATOR.join(summaries))
    if response.usage is not None:
        assembly.usage = map_usage(response.usage)
    assembly.final(finish_reason, raw)
    return response_from_assembly(assembly)
