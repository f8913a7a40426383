"""A non-streaming Anthropic Messages body as an ``LLMResponse``, and the tables both paths share.

The finish-reason table, the usage mapping, the error-type table and the content-block wire
types live here once; ``stream.py`` imports them.
https://docs.anthropic.com/en/api/messages
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal, NotRequired, assert_never, cast

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Tag,
    TypeAdapter,
    ValidationError,
    with_config,
)
from typing_extensions import TypedDict

from llmring.exceptions import ProviderResponseError
from llmring.providers._assembly import StreamAssembly, response_from_assembly, total_usage
from llmring.schemas import FinishReason, LLMResponse, Usage

__all__ = [
    "DEFAULT_FINISH_REASON",
    "ERROR_STATUS",
    "FINISH_REASONS",
    "STATE",
    "AnthropicContentBlock",
    "AnthropicErrorBody",
    "AnthropicUsage",
    "finish_reason",
    "merge_usage",
    "normalize_usage",
    "parse_response",
    "thinking_block",
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


# --- wire types ----------------------------------------------------------------------------

# The wire types are TypedDicts validated by pydantic: checked at the edge and typed for mypy
# like models, but built in Rust as plain dicts, which costs about 40% less than model
# instances. The stream validates one event per token, so this is most of its per-chunk budget
# (see benchmarks/). pydantic validates TypedDicts only from typing_extensions before Python
# 3.12. Keys llmring does not read are dropped, except in ``usage``.


@with_config(ConfigDict(extra="allow"))
class AnthropicOutputTokensDetails(TypedDict, total=False):
    """``usage.output_tokens_details`` (newer API versions)."""

    thinking_tokens: int | None


@with_config(ConfigDict(extra="allow"))
class AnthropicUsage(TypedDict, total=False):
    """A ``usage`` object. Unread keys are kept (``extra="allow"``) so ``Usage.raw`` is whole."""

    input_tokens: int | None
    output_tokens: int | None
    cache_creation_input_tokens: int | None
    cache_read_input_tokens: int | None
    output_tokens_details: AnthropicOutputTokensDetails | None


class AnthropicTextBlock(TypedDict):
    type: Literal["text"]
    text: NotRequired[str]


class AnthropicToolUseBlock(TypedDict):
    type: Literal["tool_use"]
    id: str
    name: str
    input: NotRequired[dict[str, Any]]


class AnthropicThinkingBlock(TypedDict):
    type: Literal["thinking"]
    thinking: NotRequired[str]
    signature: NotRequired[str]


class AnthropicRedactedThinkingBlock(TypedDict):
    type: Literal["redacted_thinking"]
    data: NotRequired[str]


_BLOCK_TYPES = frozenset({"text", "tool_use", "thinking", "redacted_thinking"})


def _block_tag(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else None
    if not isinstance(kind, str):
        return None  # not a block at all: a validation error
    return kind if kind in _BLOCK_TYPES else "other"


#: A content block, or ``None`` for one that is not for the caller: server tools
#: (``server_tool_use``, ``web_search_tool_result``, ``*_code_execution_tool_result``, ...)
#: and types newer than this module. Blocks are few per message, so the Python discriminator
#: (slower than a tagged union) costs nothing.
AnthropicContentBlock = Annotated[
    Annotated[AnthropicTextBlock, Tag("text")]
    | Annotated[AnthropicToolUseBlock, Tag("tool_use")]
    | Annotated[AnthropicThinkingBlock, Tag("thinking")]
    | Annotated[AnthropicRedactedThinkingBlock, Tag("redacted_thinking")]
    | Annotated[None, BeforeValidator(lambda block: None), Tag("other")],
    Discriminator(
        _block_tag,
        custom_error_type="content_block_type",
        custom_error_message='Input should be an object with a string "type"',
    ),
]


class AnthropicErrorDetail(TypedDict, total=False):
    """``error``; read with the defaults ``"error"`` and ``""`` for a missing key."""

    type: str
    message: str


class AnthropicErrorBody(TypedDict):
    """``{"type": "error", "error": {"type", "message"}, "request_id"}``: an error body, and
    the data of a mid-stream ``error`` event."""

    type: Literal["error"]
    error: AnthropicErrorDetail
    request_id: NotRequired[str | None]


class AnthropicMessage(TypedDict):
    """A complete (non-streaming) Messages response."""

    type: Literal["message"]
    id: NotRequired[str | None]
    model: NotRequired[str | None]
    content: list[AnthropicContentBlock]
    stop_reason: NotRequired[str | None]
    usage: NotRequired[AnthropicUsage | None]


_MESSAGE: TypeAdapter[AnthropicMessage] = TypeAdapter(AnthropicMessage)


# --- usage ---------------------------------------------------------------------------------


def merge_usage(base: AnthropicUsage | None, update: AnthropicUsage) -> AnthropicUsage:
    """``base`` (``message_start``'s usage) updated by the fields ``update`` reports.

    ``message_delta`` repeats ``input_tokens`` and the cache fields on current API versions,
    and they win (recordings/anthropic/cache-usage.sse); null values never erase a number.
    """
    if base is None:
        return update
    reported = {key: value for key, value in update.items() if value is not None}
    return cast("AnthropicUsage", {**base, **reported})


def normalize_usage(usage: AnthropicUsage) -> Usage:
    """Anthropic's counts in llmring's vocabulary.

    ``input_tokens`` excludes cached input, so ``prompt_tokens`` adds the cache reads and
    writes back: all the input the request consumed, as OpenAI counts it.
    """
    cache_read = usage.get("cache_read_input_tokens")
    cache_write = usage.get("cache_creation_input_tokens")
    details = usage.get("output_tokens_details")
    return total_usage(
        (usage.get("input_tokens") or 0) + (cache_read or 0) + (cache_write or 0),
        usage.get("output_tokens") or 0,
        cached_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=details.get("thinking_tokens") if details is not None else None,
        raw=copy.deepcopy(dict(usage)),
    )


# --- continuation state ---------------------------------------------------------------------

#: ``Continuation.provider`` of the state kept here: thinking blocks, as the API sent them.
STATE = "anthropic"


def thinking_block(text: str, signature: str) -> dict[str, Any]:
    """A ``thinking`` block to send back: its text and signature, unchanged (the API checks
    the signature against the text)."""
    return {"type": "thinking", "thinking": text, "signature": signature}


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
    assembly.identify(message.get("id"), message.get("model"))
    for index, block in enumerate(message["content"]):
        if block is None:
            continue  # a server-side tool block or a newer type: nothing for the caller
        match block["type"]:
            case "text":
                assembly.text(block.get("text", ""))
            case "thinking":
                assembly.reasoning(block.get("thinking", ""))
                assembly.keep(
                    STATE, thinking_block(block.get("thinking", ""), block.get("signature", ""))
                )
            case "tool_use":
                assembly.tool_calls.add(
                    index, name=block["name"], arguments=block.get("input", {}), id=block["id"]
                )
            case "redacted_thinking":
                # encrypted thinking: nothing to read, but the next turn must send it back
                assembly.keep(STATE, {"type": "redacted_thinking", "data": block.get("data", "")})
            case _:
                assert_never(block)
    if (usage := message.get("usage")) is not None:
        assembly.usage = normalize_usage(usage)
    stop_reason = message.get("stop_reason")
    assembly.final(finish_reason(stop_reason), stop_reason)
    return response_from_assembly(assembly)
