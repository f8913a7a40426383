"""OpenAI Responses API stream: ``event:``/``data:`` pairs in, ``StreamChunk`` out.

https://platform.openai.com/docs/api-reference/responses-streaming (FORMATS.md §2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, assert_never

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from llmring.exceptions import ProviderResponseError
from llmring.providers._assembly import StreamAssembly
from llmring.providers.openai.errors import OpenAIErrorObject, error_from_object
from llmring.providers.openai_responses.response import (
    SUMMARY_SEPARATOR,
    OpenAIResponsesEnd,
    OpenAIResponsesOutputItem,
    finish_of,
    keep_reasoning,
    map_usage,
)
from llmring.schemas import LLMResponse, StreamChunk

__all__ = ["OpenAIResponsesStreamParser"]


class OpenAIResponsesTextDelta(BaseModel):
    type: Literal["response.output_text.delta"]
    delta: str


class OpenAIResponsesRefusalDelta(BaseModel):
    type: Literal["response.refusal.delta"]
    delta: str


class OpenAIResponsesReasoningDelta(BaseModel):
    # reasoning_text is raw reasoning, sent for some open-weight models only
    type: Literal["response.reasoning_summary_text.delta", "response.reasoning_text.delta"]
    delta: str


class OpenAIResponsesSummaryPartAdded(BaseModel):
    type: Literal["response.reasoning_summary_part.added"]


class OpenAIResponsesItemEvent(BaseModel):
    type: Literal["response.output_item.added", "response.output_item.done"]
    output_index: int
    item: OpenAIResponsesOutputItem


class OpenAIResponsesArgumentsDelta(BaseModel):
    type: Literal["response.function_call_arguments.delta"]
    output_index: int
    delta: str


class OpenAIResponsesTerminal(BaseModel):
    type: Literal["response.completed", "response.incomplete", "response.failed"]
    response: OpenAIResponsesEnd


class OpenAIResponsesErrorEvent(BaseModel):
    """``{"type": "error", "error": {...}}`` as recorded; the API reference puts the
    fields at the top level, so both are read."""

    type: Literal["error"]
    error: OpenAIErrorObject | None = None
    code: str | None = None
    message: str | None = None


class OpenAIResponsesIgnored(BaseModel):
    """Known events that add nothing the deltas did not already give."""

    type: Literal[
        "response.created",
        "response.in_progress",
        "response.queued",
        "response.content_part.added",
        "response.content_part.done",
        "response.output_text.done",
        "response.output_text.annotation.added",
        "response.refusal.done",
        "response.function_call_arguments.done",
        "response.reasoning_summary_part.done",
        "response.reasoning_summary_text.done",
        "response.reasoning_text.done",
    ]


OpenAIResponsesEvent = Annotated[
    OpenAIResponsesTextDelta
    | OpenAIResponsesRefusalDelta
    | OpenAIResponsesReasoningDelta
    | OpenAIResponsesSummaryPartAdded
    | OpenAIResponsesItemEvent
    | OpenAIResponsesArgumentsDelta
    | OpenAIResponsesTerminal
    | OpenAIResponsesErrorEvent
    | OpenAIResponsesIgnored,
    Field(discriminator="type"),
]
_EVENT: TypeAdapter[OpenAIResponsesEvent] = TypeAdapter(OpenAIResponsesEvent)
# Called directly: TypeAdapter.validate_json adds ~3k instructions of argument handling per
# event (callgrind).
_validate_event: Callable[[str], OpenAIResponsesEvent] = _EVENT.validator.validate_json

#: OpenAI-compatible Responses servers (OpenRouter) end the stream with Chat Completions'
#: ``data: [DONE]`` after ``response.completed``; OpenAI sends none (FORMATS.md §2).
_DONE = "[DONE]"

_TERMINAL_STATUS = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}


def _is_unknown_event(error: ValidationError) -> bool:
    details = error.errors(include_url=False, include_context=False, include_input=False)
    return len(details) == 1 and details[0]["type"] == "union_tag_invalid"


class OpenAIResponsesStreamParser:
    """Responses API events -> ``StreamChunk``s; the final chunk comes with the terminal event.

    Function calls are keyed by ``output_index``, which both ``output_item.added`` and the
    argument deltas carry; the call's ``call_id`` becomes the ``ToolCall`` id.
    """

    __slots__ = ("_assembly", "_streamed_arguments", "_summary_parts")

    def __init__(self, model: str) -> None:
        self._assembly = StreamAssembly(model)
        self._summary_parts = 0
        self._streamed_arguments: set[int] = set()

    def feed(self, payload: str) -> list[StreamChunk]:
        """Parse one SSE ``data`` payload (its ``type`` repeats the ``event:`` name)."""
        assembly = self._assembly
        if assembly.finished:
            if payload == _DONE:
                return []
            assembly.ensure_open()
        try:
            event = _validate_event(payload)
        except ValidationError as exc:
            if payload == _DONE:
                return []  # an OpenAI-compatible server's Chat Completions habit
            if _is_unknown_event(exc):
                # Events llmring has no use for, present or future: built-in tool progress
                # (response.web_search_call.*, shared/wire/openai-responses/web-search-gpt5.sse).
                return []
            raise ProviderResponseError(f"malformed stream event: {payload[:200]!r}") from exc
        match event:
            case OpenAIResponsesTextDelta():
                return assembly.text(event.delta)
            case OpenAIResponsesRefusalDelta():
                return assembly.refusal(event.delta)
            case OpenAIResponsesReasoningDelta():
                return assembly.reasoning(event.delta)
            case OpenAIResponsesSummaryPartAdded():
                # Summary parts are paragraphs (shared/wire/openai-responses/
                # reasoning-summary-gpt5.sse sends three); keep them apart.
                self._summary_parts += 1
                return assembly.reasoning(SUMMARY_SEPARATOR if self._summary_parts > 1 else "")
            case OpenAIResponsesItemEvent():
                if event.item.type == "function_call":
                    return self._function_call(event)
                if event.item.type == "reasoning" and event.type == "response.output_item.done":
                    keep_reasoning(assembly, event.item)  # whole only once done
                return []
            case OpenAIResponsesArgumentsDelta():
                self._streamed_arguments.add(event.output_index)
                return assembly.tool_calls.append(event.output_index, event.delta)
            case OpenAIResponsesTerminal():
                response = event.response
                assembly.identify(response.id, response.model)
                if response.usage is not None:
                    assembly.usage = map_usage(response.usage)
                finish_reason, raw = finish_of(_TERMINAL_STATUS[event.type], response)
                return assembly.final(finish_reason, raw)
            case OpenAIResponsesErrorEvent():
                error = event.error or OpenAIErrorObject(code=event.code, message=event.message)
                raise error_from_object(error, default="error event in the stream")
            case OpenAIResponsesIgnored():
                return []
            case _:
                assert_never(event)

    def _function_call(self, event: OpenAIResponsesItemEvent) -> list[StreamChunk]:
        calls, key, item = self._assembly.tool_calls, event.output_index, event.item
        out: list[StreamChunk] = []
        if key not in calls:
            if not item.name:
                raise ProviderResponseError(f"function_call item {key} has no name")
            out += calls.start(key, name=item.name, id=item.call_id)
        # Arguments normally stream as deltas; take the item's own copy only when none did
        # (a call announced whole, or only in output_item.done).
        if item.arguments and key not in self._streamed_arguments:
            out += calls.append(key, item.arguments)
            self._streamed_arguments.add(key)
        return out

    def finish(self) -> list[StreamChunk]:
        """End of input: nothing more after a terminal event, else the stream was cut short."""
        if not self._assembly.finished:
            raise ProviderResponseError("stream ended before response.completed")
        return []

    def snapshot(self) -> LLMResponse:
        """The response so far."""
        return self._assembly.snapshot()
