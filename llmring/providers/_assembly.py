"""The one accumulator every stream parser shares: text, reasoning, tool calls, the end.

A parser decides *what* a wire event means; ``StreamAssembly`` decides what that does to the
response so far and which ``StreamChunk`` to emit. That keeps the stream invariants (model on
every chunk, exactly one final chunk, tool calls complete only on it, reasoning never in
``delta``) in one place instead of four.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from llmring.exceptions import ProviderResponseError
from llmring.schemas import (
    Continuation,
    FinishReason,
    FunctionCall,
    LLMResponse,
    StreamChunk,
    ToolCall,
    ToolCallDelta,
    Usage,
)

_CHUNK_DEFAULTS: dict[str, Any] = {
    name: info.default for name, info in StreamChunk.model_fields.items()
}
_new = object.__new__
# BaseModel's own slot descriptors, called directly: ``object.__setattr__`` looks each name up
# through the model's MRO and checks the call on every use (~1.3k instructions against ~0.65k
# under callgrind, four times per chunk).
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def delta_chunk(model: str, field_name: str, text: str | list[ToolCallDelta]) -> StreamChunk:
    """A ``StreamChunk`` with one text field set, built without re-validation.

    This is the per-chunk hot path: ``model`` was fixed when the parser was made and ``text``
    is a ``str`` straight from a validated wire model, so running pydantic's validator again
    for every delta would only check what is already known (it costs ~0.35 us of ~5 us per
    chunk; tests/providers/test_assembly.py proves the result equals ``StreamChunk(...)``).
    """
    chunk = _new(StreamChunk)
    values = _CHUNK_DEFAULTS.copy()
    values["model"] = model
    values[field_name] = text
    _set_dict(chunk, values)
    _set_fields_set(chunk, {"model", field_name})
    _set_extra(chunk, None)
    _set_private(chunk, None)
    return chunk


@dataclass(slots=True)
class _PendingCall:
    id: str | None
    name: str
    position: int
    fragments: list[str] = field(default_factory=list)


class ToolCallAssembler:
    """Collects tool calls whose arguments may arrive in fragments.

    Each call is keyed by whatever identifies it on the wire (OpenAI's ``index``,
    Anthropic's content-block ``index``, Gemini's part position), so parallel calls never
    merge. Calls come out in the order they started.

    Every step returns the chunk that tells the caller about it: a ``tool_call_deltas``
    chunk labelled ``model``, whose ``index`` is the call's position (the first delta of a
    call has its id and name, later ones a piece of the arguments).
    """

    __slots__ = ("_calls", "_model", "_order")

    def __init__(self, model: str = "") -> None:
        self._model = model
        self._calls: dict[Hashable, _PendingCall] = {}
        self._order: list[Hashable] = []

    def __bool__(self) -> bool:
        return bool(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._calls

    def start(
        self, key: Hashable, *, name: str, id: str | None = None, arguments: str = ""
    ) -> list[StreamChunk]:
        """Begin a call, with the first piece of its arguments if it came along.

        Starting a key twice is a wire error.
        """
        if key in self._calls:
            raise ProviderResponseError(f"tool call {key!r} started twice")
        position = len(self._order)
        call = _PendingCall(id=id, name=name, position=position)
        self._calls[key] = call
        self._order.append(key)
        if arguments:
            call.fragments.append(arguments)
        delta = ToolCallDelta(
            index=position, id=id or f"call_{position}", name=name, arguments=arguments
        )
        return [delta_chunk(self._model, "tool_call_deltas", [delta])]

    def append(self, key: Hashable, arguments: str) -> list[StreamChunk]:
        """Add a fragment of a started call's JSON arguments."""
        try:
            call = self._calls[key]
        except KeyError:
            raise ProviderResponseError(
                f"arguments for tool call {key!r}, which never started"
            ) from None
        if not arguments:
            return []
        call.fragments.append(arguments)
        delta = ToolCallDelta(index=call.position, arguments=arguments)
        return [delta_chunk(self._model, "tool_call_deltas", [delta])]

    def add(
        self, key: Hashable, *, name: str, arguments: str | dict[str, Any], id: str | None
    ) -> list[StreamChunk]:
        """Record a call that arrived whole (Gemini, Ollama): one delta with all of it."""
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
        return self.start(key, name=name, id=id, arguments=arguments)

    def calls(self) -> list[ToolCall]:
        """The calls so far, complete or not; a call with no id gets ``call_<position>``."""
        return [
            ToolCall(
                id=call.id or f"call_{position}",
                function=FunctionCall(name=call.name, arguments="".join(call.fragments) or "{}"),
            )
            for position, call in enumerate(self._calls[key] for key in self._order)
        ]


class StreamAssembly:
    """The response so far, and the chunks each step of it produces.

    Parsers call ``text`` / ``reasoning`` / ``refusal`` for deltas, use ``tool_calls`` for
    calls, record ``usage`` and the raw finish reason as they learn them, and call ``final``
    once at the terminal event.
    """

    __slots__ = (
        "_continuation",
        "_reasoning",
        "_refusal",
        "_text",
        "finish_reason",
        "finished",
        "model",
        "raw_finish_reason",
        "response_id",
        "served_model",
        "tool_calls",
        "usage",
    )

    def __init__(self, model: str) -> None:
        self.model = model
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._refusal: list[str] = []
        self.tool_calls = ToolCallAssembler(model)
        self.usage: Usage | None = None
        self.raw_finish_reason: str | None = None
        self.finish_reason: FinishReason | None = None
        self.finished = False
        self._continuation: Continuation | None = None
        #: The provider's id of the response and the model it says served, when it says.
        self.response_id: str | None = None
        self.served_model: str | None = None

    def identify(self, response_id: str | None, served_model: str | None) -> None:
        """Record the response's id and served model; the first value of each stays."""
        if self.response_id is None:
            self.response_id = response_id
        if self.served_model is None:
            self.served_model = served_model

    def text(self, delta: str) -> list[StreamChunk]:
        if not delta:
            return []
        self._text.append(delta)
        return [delta_chunk(self.model, "delta", delta)]

    def reasoning(self, delta: str) -> list[StreamChunk]:
        if not delta:
            return []
        self._reasoning.append(delta)
        return [delta_chunk(self.model, "reasoning", delta)]

    def refusal(self, delta: str) -> list[StreamChunk]:
        if not delta:
            return []
        self._refusal.append(delta)
        return [delta_chunk(self.model, "refusal", delta)]

    def reasoning_text(self) -> str:
        """The thinking text so far, joined: for the end of a stream, never per chunk."""
        return "".join(self._reasoning)

    def keep(self, provider: str, item: dict[str, Any]) -> None:
        """Keep one piece of ``provider``'s continuation state (in its wire format), in order."""
        if self._continuation is None:
            self._continuation = Continuation(provider=provider, items=[])
        self._continuation.items.append(item)

    def ensure_open(self) -> None:
        """Raise if input arrives after the terminal event."""
        if self.finished:
            raise ProviderResponseError("data after the end of the stream")

    def final(
        self, finish_reason: FinishReason, raw_finish_reason: str | None
    ) -> list[StreamChunk]:
        """The one final chunk: finish reason, usage, the complete tool calls, and
        ``response``, the whole response (the same one ``chat()`` returns for these bytes).

        ``finish_reason`` says ``tool_calls`` whenever calls were made and the provider
        said only that it stopped (Gemini and Ollama say ``STOP`` / ``stop``).
        """
        self.ensure_open()
        if finish_reason == "stop" and self.tool_calls:
            finish_reason = "tool_calls"
        self.finish_reason = finish_reason
        self.raw_finish_reason = raw_finish_reason
        self.finished = True
        response = self.snapshot()  # once per stream, at its end: nothing per chunk
        return [
            StreamChunk(
                model=self.model,
                finish_reason=finish_reason,
                raw_finish_reason=raw_finish_reason,
                usage=response.usage,
                tool_calls=response.tool_calls,
                response_id=self.response_id,
                served_model=self.served_model,
                response=response,
            )
        ]

    def snapshot(self) -> LLMResponse:
        """Everything received so far, as a response (complete once ``finished``)."""
        return LLMResponse(
            content="".join(self._text),
            model=self.model,
            reasoning="".join(self._reasoning) or None,
            refusal="".join(self._refusal) or None,
            finish_reason=self.finish_reason,
            raw_finish_reason=self.raw_finish_reason,
            usage=self.usage,
            tool_calls=self.tool_calls.calls() or None,
            continuation=self._continuation.model_copy(deep=True) if self._continuation else None,
            response_id=self.response_id,
            served_model=self.served_model,
        )


def total_usage(
    prompt_tokens: int,
    completion_tokens: int,
    *,
    total_tokens: int | None = None,
    cached_tokens: int | None = None,
    cache_write_tokens: int | None = None,
    reasoning_tokens: int | None = None,
    raw: dict[str, Any] | None = None,
) -> Usage:
    """A ``Usage`` whose total is the provider's, or prompt + completion when it gave none."""
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens if total_tokens is None else total_tokens,
        cached_tokens=cached_tokens,
        cache_write_tokens=cache_write_tokens,
        reasoning_tokens=reasoning_tokens,
        raw=raw,
    )


def response_from_assembly(assembly: StreamAssembly) -> LLMResponse:
    """The complete response of a finished assembly (used by non-streaming parsers too)."""
    if not assembly.finished:
        raise ProviderResponseError("response has no finish reason")
    return assembly.snapshot()
