"""OpenAI Chat Completions stream: ``data:`` chunk payloads in, ``StreamChunk`` out.

https://platform.openai.com/docs/api-reference/chat-streaming (FORMATS.md §1).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from llmring.exceptions import ProviderResponseError
from llmring.providers._assembly import StreamAssembly
from llmring.providers.openai.errors import OpenAIErrorObject, error_from_object
from llmring.providers.openai.response import map_finish_reason, map_usage
from llmring.schemas import LLMResponse, StreamChunk

__all__ = ["OpenAIStreamParser"]

_DONE = "[DONE]"


class OpenAIFunctionDelta(BaseModel):
    name: str | None = None
    arguments: str | None = None


class OpenAIToolCallDelta(BaseModel):
    index: int | None = None
    id: str | None = None
    function: OpenAIFunctionDelta | None = None


class OpenAIDelta(BaseModel):
    content: str | None = None
    refusal: str | None = None
    # Not OpenAI: DeepSeek / vLLM send ``reasoning_content``, Groq / Ollama's /v1 ``reasoning``
    # (newer vLLM sends both with the same text, so only one of them is used).
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[OpenAIToolCallDelta] | None = None


class OpenAIChunkChoice(BaseModel):
    index: int = 0
    delta: OpenAIDelta | None = None
    finish_reason: str | None = None


class OpenAIChatChunk(BaseModel):
    """One ``chat.completion.chunk``, or an in-band ``{"error": {...}}`` payload."""

    choices: list[OpenAIChunkChoice] = []
    usage: dict[str, Any] | None = None
    error: OpenAIErrorObject | None = None


_CHUNK = TypeAdapter(OpenAIChatChunk)


class OpenAIStreamParser:
    """Chat Completions chunks -> ``StreamChunk``s; the final chunk is emitted at ``[DONE]``.

    The finish reason arrives on one chunk and usage on a later ``choices: []`` chunk, so the
    parser records both and emits the final chunk only at ``data: [DONE]``.
    """

    __slots__ = ("_assembly", "_raw_finish_reason")

    def __init__(self, model: str) -> None:
        self._assembly = StreamAssembly(model)
        self._raw_finish_reason: str | None = None

    def feed(self, payload: str) -> list[StreamChunk]:
        """Parse one SSE ``data`` payload."""
        assembly = self._assembly
        assembly.ensure_open()
        if payload == _DONE:
            return self._done()
        try:
            chunk = _CHUNK.validate_json(payload)
        except ValidationError as exc:
            raise ProviderResponseError(f"malformed stream chunk: {payload[:200]!r}") from exc
        if chunk.error is not None:
            raise error_from_object(chunk.error, default="error event in the stream")
        if chunk.usage is not None:
            assembly.usage = map_usage(chunk.usage)
        out: list[StreamChunk] = []
        # The usage chunk and any after it (shared/wire/openai-chat/
        # gpt5-moderation-extra-chunk.sse) have "choices": [], so this loop may not run.
        for choice in chunk.choices:
            if choice.index != 0:
                continue  # llmring asks for one choice (n=1); others are not its answer
            delta = choice.delta
            if delta is not None:
                if reasoning := delta.reasoning_content or delta.reasoning:
                    out += assembly.reasoning(reasoning)
                if delta.content:
                    out += assembly.text(delta.content)
                if delta.refusal:
                    out += assembly.refusal(delta.refusal)
                if delta.tool_calls:
                    self._tool_calls(delta.tool_calls)
            if choice.finish_reason is not None:
                self._raw_finish_reason = choice.finish_reason
        return out

    def _tool_calls(self, deltas: list[OpenAIToolCallDelta]) -> None:
        calls = self._assembly.tool_calls
        for delta in deltas:
            # Keyed by the call's index in this response (not the choice index); some
            # OpenAI-compatible servers omit it and send each call whole with its id.
            key: Hashable = delta.index if delta.index is not None else delta.id
            if key is None:
                raise ProviderResponseError("tool call fragment with neither index nor id")
            function = delta.function
            if key not in calls:
                if function is None or not function.name:
                    raise ProviderResponseError(f"tool call {key!r} has no function name")
                calls.start(key, name=function.name, id=delta.id)
            if function is not None and function.arguments:
                calls.append(key, function.arguments)

    def _done(self) -> list[StreamChunk]:
        raw = self._raw_finish_reason
        if raw is None:
            raise ProviderResponseError("stream reached [DONE] without a finish_reason")
        return self._assembly.final(map_finish_reason(raw), raw)

    def finish(self) -> list[StreamChunk]:
        """End of input: nothing more if ``[DONE]`` was seen, else the stream was cut short."""
        if not self._assembly.finished:
            raise ProviderResponseError("stream ended before data: [DONE]")
        return []

    def snapshot(self) -> LLMResponse:
        """The response so far."""
        return self._assembly.snapshot()
