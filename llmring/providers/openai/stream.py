"""OpenAI Chat Completions stream: ``data:`` chunk payloads in, ``StreamChunk`` out.

https://platform.openai.com/docs/api-reference/chat-streaming (FORMATS.md §1).

OpenAI-compatible servers differ on the wire, and each difference is read here:

- usage in ``x_groq.usage`` (Groq) instead of ``usage``;
- usage on the last content chunk, next to ``finish_reason`` (Mistral, DeepSeek, Together),
  instead of a separate ``choices: []`` chunk;
- no ``data: [DONE]``: with ``done_required=False`` the end of the body after a chunk with a
  ``finish_reason`` completes the answer (OpenAI itself always sends it, so there it stays
  required and its absence means the stream was cut);
- ``reasoning`` (Groq, Ollama, newer vLLM) as well as ``reasoning_content`` (DeepSeek, vLLM);
- in-band errors as ``{"error": {...}}`` (OpenRouter puts an int ``code`` in it) or as a bare
  ``{"object": "error", "message": ...}`` (older vLLM). SSE comments (``: OPENROUTER
  PROCESSING``) never reach the parser: the SSE decoder drops them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict

from llmring.exceptions import ProviderResponseError
from llmring.providers._assembly import StreamAssembly
from llmring.providers.openai.errors import OpenAIErrorObject, error_from_object
from llmring.providers.openai.response import map_finish_reason, map_usage
from llmring.schemas import LLMResponse, StreamChunk

__all__ = ["OpenAIStreamParser"]

_DONE = "[DONE]"


# Wire types are TypedDicts validated by pydantic: typed for mypy like models, but built in
# Rust as plain dicts, about three times cheaper than model instances. A chunk is parsed for
# every token, so this is most of the per-chunk budget (see benchmarks/).


class OpenAIFunctionDelta(TypedDict, total=False):
    name: str | None
    arguments: str | None


class OpenAIToolCallDelta(TypedDict, total=False):
    index: int | None
    id: str | None
    function: OpenAIFunctionDelta | None


class OpenAIDelta(TypedDict, total=False):
    content: str | None
    refusal: str | None
    # Not OpenAI: DeepSeek / vLLM send ``reasoning_content``, Groq / Ollama's /v1 ``reasoning``
    # (newer vLLM sends both with the same text, so only one of them is used).
    reasoning_content: str | None
    reasoning: str | None
    tool_calls: list[OpenAIToolCallDelta] | None


class OpenAIChunkChoice(TypedDict, total=False):
    index: int
    delta: OpenAIDelta | None
    finish_reason: str | None


class OpenAIGroqExtension(TypedDict, total=False):
    """Groq's ``x_groq`` object: its request id, and (on the last chunk) the usage."""

    usage: dict[str, Any] | None


class OpenAIChatChunk(TypedDict, total=False):
    """One ``chat.completion.chunk``, or an in-band ``{"error": {...}}`` payload."""

    id: str | None
    model: str | None
    choices: list[OpenAIChunkChoice]
    usage: dict[str, Any] | None
    x_groq: OpenAIGroqExtension | None
    error: dict[str, Any] | None


class OpenAIBareError(TypedDict, total=False):
    """An in-band error sent as the payload itself (older vLLM): ``{"object": "error", ...}``."""

    object: str
    message: str | None
    type: str | None
    code: str | int | None


_CHUNK: TypeAdapter[OpenAIChatChunk] = TypeAdapter(OpenAIChatChunk)
# Called directly: TypeAdapter.validate_json adds ~3k instructions of argument handling per
# call (callgrind), as much as the regression this per-chunk path was held to.
_validate_chunk: Callable[[str], OpenAIChatChunk] = _CHUNK.validator.validate_json
_BARE_ERROR: TypeAdapter[OpenAIBareError] = TypeAdapter(OpenAIBareError)


class OpenAIStreamParser:
    """Chat Completions chunks -> ``StreamChunk``s; the final chunk is emitted at ``[DONE]``.

    The finish reason arrives on one chunk and usage on a later ``choices: []`` chunk, so the
    parser records both and emits the final chunk only at ``data: [DONE]``, or, when
    ``done_required`` is false (a compatible server), at the end of the body.
    """

    __slots__ = ("_assembly", "_done_required", "_raw_finish_reason")

    def __init__(self, model: str, *, done_required: bool = True) -> None:
        self._assembly = StreamAssembly(model)
        self._raw_finish_reason: str | None = None
        self._done_required = done_required

    def feed(self, payload: str) -> list[StreamChunk]:
        """Parse one SSE ``data`` payload."""
        assembly = self._assembly
        assembly.ensure_open()
        if payload == _DONE:
            return self._done()
        try:
            chunk = _validate_chunk(payload)
        except ValidationError as exc:
            raise ProviderResponseError(f"malformed stream chunk: {payload[:200]!r}") from exc
        if (error := chunk.get("error")) is not None:
            raise error_from_object(
                _error_object(error, payload), default="error event in the stream"
            )
        if assembly.response_id is None:
            assembly.identify(chunk.get("id"), chunk.get("model"))
        usage = chunk.get("usage")
        if usage is None and (groq := chunk.get("x_groq")) is not None:
            usage = groq.get("usage")  # Groq: {"x_groq": {"id": ..., "usage": {...}}}
        if usage is not None:
            assembly.usage = map_usage(usage)
        if "choices" not in chunk:
            _raise_bare_error(payload)
        out: list[StreamChunk] = []
        # The usage chunk and any after it (shared/wire/openai-chat/
        # gpt5-moderation-extra-chunk.sse) have "choices": [], so this loop may not run.
        for choice in chunk.get("choices", ()):
            if choice.get("index", 0) != 0:
                continue  # llmring asks for one choice (n=1); others are not its answer
            delta = choice.get("delta")
            if delta:
                if reasoning := delta.get("reasoning_content") or delta.get("reasoning"):
                    out += assembly.reasoning(reasoning)
                if content := delta.get("content"):
                    out += assembly.text(content)
                if refusal := delta.get("refusal"):
                    out += assembly.refusal(refusal)
                if tool_calls := delta.get("tool_calls"):
                    out += self._tool_calls(tool_calls)
            if (finish_reason := choice.get("finish_reason")) is not None:
                self._raw_finish_reason = finish_reason
        return out

    def _tool_calls(self, deltas: list[OpenAIToolCallDelta]) -> list[StreamChunk]:
        calls = self._assembly.tool_calls
        out: list[StreamChunk] = []
        for delta in deltas:
            # Keyed by the call's index in this response (not the choice index); some
            # OpenAI-compatible servers omit it and send each call whole with its id.
            index, call_id = delta.get("index"), delta.get("id")
            key: Hashable = index if index is not None else call_id
            if key is None:
                raise ProviderResponseError("tool call fragment with neither index nor id")
            function = delta.get("function") or {}
            if key not in calls:
                name = function.get("name")
                if not name:
                    raise ProviderResponseError(f"tool call {key!r} has no function name")
                out += calls.start(
                    key, name=name, id=call_id, arguments=function.get("arguments") or ""
                )
            elif arguments := function.get("arguments"):
                out += calls.append(key, arguments)
        return out

    def _done(self) -> list[StreamChunk]:
        raw = self._raw_finish_reason
        if raw is None:
            raise ProviderResponseError("stream reached [DONE] without a finish_reason")
        return self._assembly.final(map_finish_reason(raw), raw)

    def finish(self) -> list[StreamChunk]:
        """End of input: nothing more if ``[DONE]`` was seen, else the stream was cut short
        (unless ``[DONE]`` is optional and a ``finish_reason`` arrived: then it is complete)."""
        if self._assembly.finished:
            return []
        if not self._done_required and self._raw_finish_reason is not None:
            return self._done()
        raise ProviderResponseError("stream ended before data: [DONE]")

    def snapshot(self) -> LLMResponse:
        """The response so far."""
        return self._assembly.snapshot()


def _raise_bare_error(payload: str) -> None:
    """Raise the error a chunk without ``choices`` stands for, if it is a bare error object."""
    bare = _BARE_ERROR.validate_json(payload)
    if bare.get("object") == "error":
        error = OpenAIErrorObject(
            message=bare.get("message"), type=bare.get("type"), code=bare.get("code")
        )
        raise error_from_object(error, default="error event in the stream")


def _error_object(error: dict[str, Any], payload: str) -> OpenAIErrorObject:
    try:
        return OpenAIErrorObject.model_validate(error)
    except ValidationError as exc:
        raise ProviderResponseError(f"malformed error event: {payload[:200]!r}") from exc
