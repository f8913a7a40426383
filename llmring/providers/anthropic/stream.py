"""Anthropic Messages server-sent events in, ``StreamChunk``s out (pure state machine).

Each payload is the ``data`` of one SSE event; Anthropic repeats the event name as ``type``
inside it. https://docs.anthropic.com/en/docs/build-with-claude/streaming
"""

from __future__ import annotations

from typing import Annotated, Literal, assert_never

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from llmring.exceptions import ProviderResponseError, error_class_for_status
from llmring.providers._assembly import StreamAssembly
from llmring.providers.anthropic.response import (
    ERROR_STATUS,
    AnthropicContentBlock,
    AnthropicErrorBody,
    AnthropicOtherBlock,
    AnthropicRedactedThinkingBlock,
    AnthropicTextBlock,
    AnthropicThinkingBlock,
    AnthropicToolUseBlock,
    AnthropicUsage,
    finish_reason,
    merge_usage,
    normalize_usage,
)
from llmring.schemas import LLMResponse, StreamChunk

__all__ = ["AnthropicStreamParser"]


class _Wire(BaseModel):
    """A wire model: reads the fields the parser uses, ignores the rest."""


class AnthropicMessageStartBody(_Wire):
    usage: AnthropicUsage | None = None


class AnthropicMessageStart(_Wire):
    type: Literal["message_start"]
    message: AnthropicMessageStartBody


class AnthropicContentBlockStart(_Wire):
    type: Literal["content_block_start"]
    index: int
    content_block: AnthropicContentBlock


class AnthropicTextDelta(_Wire):
    type: Literal["text_delta"]
    text: str


class AnthropicInputJsonDelta(_Wire):
    type: Literal["input_json_delta"]
    partial_json: str


class AnthropicThinkingDelta(_Wire):
    type: Literal["thinking_delta"]
    thinking: str


class AnthropicSignatureDelta(_Wire):
    type: Literal["signature_delta"]


class AnthropicCitationsDelta(_Wire):
    type: Literal["citations_delta"]


class AnthropicContentBlockDelta(_Wire):
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


class AnthropicContentBlockStop(_Wire):
    type: Literal["content_block_stop"]


class AnthropicMessageDeltaBody(_Wire):
    stop_reason: str | None = None


class AnthropicMessageDelta(_Wire):
    type: Literal["message_delta"]
    delta: AnthropicMessageDeltaBody
    usage: AnthropicUsage | None = None


class AnthropicMessageStop(_Wire):
    type: Literal["message_stop"]


class AnthropicPing(_Wire):
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
# A tagged union, so pydantic-core dispatches on "type" without building Python dicts.
_EVENT: TypeAdapter[AnthropicEvent] = TypeAdapter(AnthropicEvent)


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


class AnthropicStreamParser:
    """Feeds on Messages stream events; ``message_stop`` produces the one final chunk.

    Content blocks are tracked by their ``index``: a ``tool_use`` block is a tool call
    keyed by that index (the assembler keeps start order, so call positions stay dense);
    other blocks are only remembered as started, so server-side tool input is skipped.
    """

    __slots__ = ("_assembly", "_blocks", "_usage")

    def __init__(self, model: str) -> None:
        self._assembly = StreamAssembly(model)
        self._blocks: set[int] = set()
        self._usage: AnthropicUsage | None = None

    def feed(self, payload: str) -> list[StreamChunk]:
        """One event's data in, the chunks it produces out."""
        assembly = self._assembly
        if assembly.finished:
            assembly.ensure_open()
        try:
            event = _EVENT.validate_json(payload)
        except ValidationError as exc:
            _raise_unless_unknown_type(exc, payload)
            return []
        match event:
            # The hot path first, with bare class patterns (keyword captures cost a lookup).
            case AnthropicContentBlockDelta():
                delta = event.delta
                match delta:
                    case AnthropicTextDelta():
                        return assembly.text(delta.text)
                    case AnthropicInputJsonDelta():
                        return self._tool_input(event.index, delta.partial_json)
                    case AnthropicThinkingDelta():
                        return assembly.reasoning(delta.thinking)
                    case AnthropicSignatureDelta() | AnthropicCitationsDelta():
                        return []  # the signature only matters when thinking is sent back
                    case _:
                        assert_never(delta)
            case AnthropicContentBlockStart(index=index, content_block=block):
                return self._block_start(index, block)
            case AnthropicMessageStart(message=message):
                if message.usage is not None:
                    self._record_usage(message.usage)
                return []
            case AnthropicMessageDelta(delta=delta_body, usage=usage):
                if usage is not None:
                    self._record_usage(usage)
                assembly.raw_finish_reason = delta_body.stop_reason
                return []
            case AnthropicMessageStop():
                raw = assembly.raw_finish_reason
                return assembly.final(finish_reason(raw), raw)
            case AnthropicErrorBody(error=error, request_id=request_id):
                status = ERROR_STATUS.get(error.type)
                error_class = (
                    error_class_for_status(status) if status is not None else ProviderResponseError
                )
                raise error_class(f"{error.message} ({error.type})", request_id=request_id)
            case AnthropicContentBlockStop() | AnthropicPing():
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
        match block:
            case AnthropicTextBlock(text=text):
                return self._assembly.text(text)
            case AnthropicToolUseBlock(id=call_id, name=name):
                # input is always {} here; the arguments follow as input_json_delta
                self._assembly.tool_calls.start(index, name=name, id=call_id)
                return []
            case AnthropicThinkingBlock(thinking=thinking):
                return self._assembly.reasoning(thinking)
            case AnthropicRedactedThinkingBlock() | AnthropicOtherBlock():
                # encrypted thinking carries no text; server tool blocks are not client calls
                # (recordings/anthropic/server-tool.sse)
                return []
            case _:
                assert_never(block)

    def _tool_input(self, index: int, fragment: str) -> list[StreamChunk]:
        if index in self._assembly.tool_calls:
            self._assembly.tool_calls.append(index, fragment)
        elif index not in self._blocks:
            raise ProviderResponseError(f"input for content block {index}, which never started")
        # else: the input of a server-side tool (server_tool_use), not a call for the caller
        return []

    def _record_usage(self, usage: AnthropicUsage) -> None:
        self._usage = merge_usage(self._usage, usage)
        self._assembly.usage = normalize_usage(self._usage)
