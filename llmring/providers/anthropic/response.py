"""A non-streaming Anthropic Messages body as an ``LLMResponse``, and the tables both paths share.

The finish-reason table, the usage mapping, the error-type table and the content-block wire
models live here once; ``stream.py`` imports them.
https://docs.anthropic.com/en/api/messages
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, TypeAdapter, ValidationError

from llmring.exceptions import ProviderResponseError
from llmring.providers._assembly import StreamAssembly, response_from_assembly, total_usage
from llmring.schemas import FinishReason, LLMResponse, Usage

__all__ = [
    "DEFAULT_FINISH_REASON",
    "ERROR_STATUS",
    "FINISH_REASONS",
    "AnthropicContentBlock",
    "AnthropicErrorBody",
    "AnthropicUsage",
    "finish_reason",
    "merge_usage",
    "normalize_usage",
    "parse_response",
]

#: Anthropic's ``stop_reason`` in llmring's vocabulary; the raw value is kept beside it.
FINISH_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    # "continue the same turn" (a server tool loop paused); the raw value tells the caller.
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
#: For a stop reason newer than this table, or none at all.
DEFAULT_FINISH_REASON: FinishReason = "stop"

#: The HTTP status each ``error.type`` stands for (https://docs.anthropic.com/en/api/errors);
#: an in-band stream ``error`` event is raised as the class of that status.
ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def finish_reason(stop_reason: str | None) -> FinishReason:
    """``stop_reason`` normalized; unknown or missing ones count as ``stop``."""
    if stop_reason is None:
        return DEFAULT_FINISH_REASON
    return FINISH_REASONS.get(stop_reason, DEFAULT_FINISH_REASON)


# --- wire models ---------------------------------------------------------------------------


class _Wire(BaseModel):
    """A wire model: reads the fields llmring uses, ignores the rest."""


class AnthropicOutputTokensDetails(_Wire):
    """``usage.output_tokens_details`` (newer API versions)."""

    model_config = ConfigDict(extra="allow")

    thinking_tokens: int | None = None


class AnthropicUsage(_Wire):
    """A ``usage`` object. Unread fields are kept (``extra="allow"``) so ``Usage.raw`` is whole."""

    model_config = ConfigDict(extra="allow")

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    output_tokens_details: AnthropicOutputTokensDetails | None = None


class AnthropicTextBlock(_Wire):
    type: Literal["text"]
    text: str = ""


class AnthropicToolUseBlock(_Wire):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any] = {}


class AnthropicThinkingBlock(_Wire):
    type: Literal["thinking"]
    thinking: str = ""


class AnthropicRedactedThinkingBlock(_Wire):
    type: Literal["redacted_thinking"]


class AnthropicOtherBlock(_Wire):
    """A block that is not for the caller: server tools (``server_tool_use``,
    ``web_search_tool_result``, ``*_code_execution_tool_result``, ...) and future types."""

    type: str


_BLOCK_TYPES = frozenset({"text", "tool_use", "thinking", "redacted_thinking"})


def _block_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in _BLOCK_TYPES else "other"


#: A content block; server-side and unknown types land in ``AnthropicOtherBlock``. Blocks are
#: few per message, so the Python discriminator (slower than a tagged union) costs nothing.
AnthropicContentBlock = Annotated[
    Annotated[AnthropicTextBlock, Tag("text")]
    | Annotated[AnthropicToolUseBlock, Tag("tool_use")]
    | Annotated[AnthropicThinkingBlock, Tag("thinking")]
    | Annotated[AnthropicRedactedThinkingBlock, Tag("redacted_thinking")]
    | Annotated[AnthropicOtherBlock, Tag("other")],
    Discriminator(_block_tag),
]


class AnthropicErrorDetail(_Wire):
    type: str = "error"
    message: str = ""


class AnthropicErrorBody(_Wire):
    """``{"type": "error", "error": {"type", "message"}, "request_id"}``: an error body, and
    the data of a mid-stream ``error`` event."""

    type: Literal["error"]
    error: AnthropicErrorDetail
    request_id: str | None = None


class AnthropicMessage(_Wire):
    """A complete (non-streaming) Messages response."""

    type: Literal["message"]
    content: list[AnthropicContentBlock]
    stop_reason: str | None = None
    usage: AnthropicUsage | None = None


_MESSAGE = TypeAdapter(AnthropicMessage)


# --- usage ---------------------------------------------------------------------------------


def merge_usage(base: AnthropicUsage | None, update: AnthropicUsage) -> AnthropicUsage:
    """``base`` (``message_start``'s usage) updated by the fields ``update`` reports.

    ``message_delta`` repeats ``input_tokens`` and the cache fields on current API versions,
    and they win (recordings/anthropic/cache-usage.sse); null values never erase a number.
    """
    if base is None:
        return update
    fields = base.model_dump(exclude_unset=True)
    fields.update(
        (key, value)
        for key, value in update.model_dump(exclude_unset=True).items()
        if value is not None
    )
    return AnthropicUsage.model_validate(fields)


def normalize_usage(usage: AnthropicUsage) -> Usage:
    """Anthropic's counts in llmring's vocabulary.

    ``input_tokens`` excludes cached input, so ``prompt_tokens`` adds the cache reads and
    writes back: all the input the request consumed, as OpenAI counts it.
    """
    cache_read = usage.cache_read_input_tokens
    cache_write = usage.cache_creation_input_tokens
    details = usage.output_tokens_details
    return total_usage(
        (usage.input_tokens or 0) + (cache_read or 0) + (cache_write or 0),
        usage.output_tokens or 0,
        cached_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=details.thinking_tokens if details is not None else None,
        raw=usage.model_dump(exclude_unset=True),
    )


# --- the non-streaming body ----------------------------------------------------------------


def parse_response(body: bytes, model: str) -> LLMResponse:
    """A Messages response body as an ``LLMResponse`` labelled ``model``."""
    try:
        message = _MESSAGE.validate_json(body)
    except ValidationError as exc:
        excerpt = body[:200].decode("utf-8", "replace")
        raise ProviderResponseError(
            f"unexpected Anthropic response body ({exc.errors()[0]['msg']}): {excerpt!r}"
        ) from exc
    assembly = StreamAssembly(model)
    for index, block in enumerate(message.content):
        match block:
            case AnthropicTextBlock(text=text):
                assembly.text(text)
            case AnthropicThinkingBlock(thinking=thinking):
                assembly.reasoning(thinking)
            case AnthropicToolUseBlock(id=call_id, name=name, input=arguments):
                assembly.tool_calls.add(index, name=name, arguments=arguments, id=call_id)
            case AnthropicRedactedThinkingBlock() | AnthropicOtherBlock():
                pass  # encrypted thinking and server-side tool blocks: nothing for the caller
    if message.usage is not None:
        assembly.usage = normalize_usage(message.usage)
    assembly.final(finish_reason(message.stop_reason), message.stop_reason)
    return response_from_assembly(assembly)
