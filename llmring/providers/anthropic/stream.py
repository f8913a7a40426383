"""Anthropic Messages server-sent events in, ``StreamChunk``s out (pure state machine).

Each payload is the ``data`` of one SSE event; Anthropic repeats the event name as ``type``
inside it. https://docs.anthropic.com/en/docs/build-with-claude/streaming
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal, NotRequired, assert_never

from pydantic import Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from llmring.exceptions import ProviderResponseError, error_class_for_status
from llmring.providers._assembly import StreamAssembly
from llmring.providers.anthropic.response import (
    ERROR_STATUS,
    STATE,
    AnthropicContentBlock,
    AnthropicErrorBody,
    AnthropicUsage,
    finish_reason,
    merge_usage,
    normalize_usage,
    thinking_block,
)
from llmring.schemas import LLMResponse, StreamChunk

__all__ = ["AnthropicStreamParser"]

# The wire types are validated TypedDicts, as in response.py (which says why).


class AnthropicMessageStartBody(TypedDict):
    id: NotRequired[str | None]
    model: NotRequired[str | None]
    usage: NotRequired[AnthropicUsage | None]


class AnthropicMessageStart(TypedDict):
    type: Literal["message_start"]
    message: AnthropicMessageStartBody


class AnthropicContentBlockStart(TypedDict):
    type: Literal["content_block_start"]
    index: int
    content_block: AnthropicContentBlock


class AnthropicTextDelta(TypedDict):
    type: Literal["text_delta"]
    text: str


class AnthropicInputJsonDelta(TypedDict):
    type: Literal["input_json_delta"]
    partial_json: str


class AnthropicThinkingDelta(TypedDict):
    type: Literal["thinking_delta"]
    thinking: str


class AnthropicSignatureDelta(TypedDict):
    type: Literal["signature_delta"]
    signature: str


class AnthropicCitationsDelta(TypedDict):
    type: Literal["citations_delta"]


class AnthropicContentBlockDelta(TypedDict):
    type: Literal["content_block_delta"]
    index: int
    delta: Annotated[
        AnthropicTextDelta
        | AnthropicInputJsonDelta
        | AnthropicThinkingDelta
        | AnthropicSignatureDelta
        | AnthropicCitationsDelta,
        Field(discriminator="type"),
    ]


class AnthropicContentBlockStop(TypedDict):
    type: Literal["content_block_stop"]


class AnthropicMessageDeltaBody(TypedDict, total=False):
    stop_reason: str | None


class AnthropicMessageDelta(TypedDict):
    type: Literal["message_delta"]
    delta: AnthropicMessageDeltaBody
    usage: NotRequired[AnthropicUsage | None]


class AnthropicMessageStop(TypedDict):
    type: Literal["message_stop"]


class AnthropicPing(TypedDict):
    type: Literal["ping"]


AnthropicEvent = Annotated[
    AnthropicMessageStart
    | AnthropicContentBlockStart
    | AnthropicContentBlockDelta
    | AnthropicContentBlockStop
    | AnthropicMessageDelta
    | AnthropicMessageStop
    | AnthropicPing
    | AnthropicErrorBody,
    Field(discriminator="type"),
]
# A tagged union, so pydantic-core picks the member by "type" instead of trying each. Its
# validator is called directly: TypeAdapter.validate_json adds per-call argument handling.
_EVENT: TypeAdapter[AnthropicEvent] = TypeAdapter(AnthropicEvent)
_validate_event: Callable[[str], AnthropicEvent] = _EVENT.validator.validate_json


def _raise_unless_unknown_type(exc: ValidationError, payload: str) -> None:
    """Pass over an event or delta type this parser does not know; raise for anything else."""
    errors = exc.errors(include_url=False, include_input=False)
    # Unknown event and delta types are skipped on purpose: new ones are added to the API over
    # time and must not break old clients. Any other mismatch is a malformed event.
    if all(error["type"] == "union_tag_invalid" for error in errors):
        return
    raise ProviderResponseError(
        f"malformed Anthropic stream event ({errors[0]['msg']}): {payload[:200]!r}"
    ) from exc


@dataclass(slots=True)
class _Thought:
    """A thinking block being received: its text ``pieces`` and ``signature``; or, with
    ``pieces=None``, a redacted block whose encrypted ``data`` is in ``signature``."""

    pieces: list[str] | None
    signature: str


class AnthropicStreamParser:
    """Feeds on Messages stream events; ``message_stop`` produces the one final chunk.

    Content blocks are tracked by their ``index``: a ``tool_use`` block is a tool call
    keyed by that index (the assembler keeps start order, so call positions stay dense);
    other blocks are only remembered as started, so server-side tool input is skipped.
    """

    __slots__ = ("_assembly", "_blocks", "_thinking", "_usage")

    def __init__(self, model: str) -> None:
        self._assembly = StreamAssembly(model)
        self._blocks: set[int] = set()
        self._usage: AnthropicUsage | None = None
        # Thinking blocks by index, to send back on the next turn: the text pieces and the
        # block as started (its signature arrives as a signature_delta before the block ends;
        # ../shared/wire/anthropic/thinking-signature.sse). Redacted ones arrive whole.
        self._thinking: dict[int, _Thought] = {}

    def feed(self, payload: str) -> list[StreamChunk]:
        """One event's data in, the chunks it produces out."""
        assembly = self._assembly
        if assembly.finished:
            assembly.ensure_open()
        try:
            event = _validate_event(payload)
        except ValidationError as exc:
            _raise_unless_unknown_type(exc, payload)
            return []
        match event["type"]:
            case "content_block_delta":  # the hot path first: one per token
                delta = event["delta"]
                match delta["type"]:
                    case "text_delta":
                        return assembly.text(delta["text"])
                    case "input_json_delta":
                        return self._tool_input(event["index"], delta["partial_json"])
                    case "thinking_delta":
                        thought = self._thinking.get(event["index"])
                        if thought is not None and thought.pieces is not None:
                            thought.pieces.append(delta["thinking"])
                        return assembly.reasoning(delta["thinking"])
                    case "signature_delta":
                        if (thought := self._thinking.get(event["index"])) is not None:
                            thought.signature += delta["signature"]
                        return []
                    case "citations_delta":
                        return []
                    case _:
                        assert_never(delta)
            case "content_block_start":
                return self._block_start(event["index"], event["content_block"])
            case "message_start":
                assembly.identify(event["message"].get("id"), event["message"].get("model"))
                if (usage := event["message"].get("usage")) is not None:
                    self._record_usage(usage)
                return []
            case "message_delta":
                if (usage := event.get("usage")) is not None:
                    self._record_usage(usage)
                assembly.raw_finish_reason = event["delta"].get("stop_reason")
                return []
            case "message_stop":
                self._keep_thinking()
                raw = assembly.raw_finish_reason
                return assembly.final(finish_reason(raw), raw)
            case "error":
                error = event["error"]
                kind = error.get("type", "error")
                status = ERROR_STATUS.get(kind)
                error_class = (
                    error_class_for_status(status) if status is not None else ProviderResponseError
                )
                raise error_class(
                    f"{error.get('message', '')} ({kind})", request_id=event.get("request_id")
                )
            case "content_block_stop" | "ping":
                return []  # block ends need no action; pings are keep-alives
            case _:
                assert_never(event)

    def finish(self) -> list[StreamChunk]:
        """End of input: nothing more if ``message_stop`` was seen, else an error."""
        if not self._assembly.finished:
            raise ProviderResponseError("stream ended before message_stop")
        return []

    def snapshot(self) -> LLMResponse:
        """The response so far."""
        return self._assembly.snapshot()

    def _block_start(self, index: int, block: AnthropicContentBlock) -> list[StreamChunk]:
        if index in self._blocks:
            raise ProviderResponseError(f"content block {index} started twice")
        self._blocks.add(index)
        if block is None:
            # a server tool's block is not a client call (recordings/anthropic/server-tool.sse),
            # nor is a newer type
            return []
        match block["type"]:
            case "text":
                return self._assembly.text(block.get("text", ""))
            case "tool_use":
                # input is always {} here; the arguments follow as input_json_delta
                return self._assembly.tool_calls.start(index, name=block["name"], id=block["id"])
            case "thinking":
                text = block.get("thinking", "")
                self._thinking[index] = _Thought([text], block.get("signature", ""))
                return self._assembly.reasoning(text)
            case "redacted_thinking":
                self._thinking[index] = _Thought(None, block.get("data", ""))
                return []  # encrypted thinking carries no text
            case _:
                assert_never(block)

    def _keep_thinking(self) -> None:
        """The thinking blocks, in block order, as the next turn must send them back."""
        for index in sorted(self._thinking):
            thought = self._thinking[index]
            if thought.pieces is None:
                block = {"type": "redacted_thinking", "data": thought.signature}
            else:
                block = thinking_block("".join(thought.pieces), thought.signature)
            self._assembly.keep(STATE, block)

    def _tool_input(self, index: int, fragment: str) -> list[StreamChunk]:
        if index in self._assembly.tool_calls:
            return self._assembly.tool_calls.append(index, fragment)
        if index not in self._blocks:
            raise ProviderResponseError(f"input for content block {index}, which never started")
        # else: the input of a server-side tool (server_tool_use), not a call for the caller
        return []

    def _record_usage(self, usage: AnthropicUsage) -> None:
        self._usage = merge_usage(self._usage, usage)
        self._assembly.usage = normalize_usage(self._usage)
