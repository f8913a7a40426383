"""Ollama's NDJSON stream to ``StreamChunk``s: one line in, chunks out.

Each line is ``{model, created_at, message: {content, thinking?, tool_calls?}, done}``
(or ``/api/generate``'s ``response``/``thinking``); the ``done: true`` line ends the
stream with ``done_reason`` and the token counters. A ``{"error": ...}`` line is an
in-band failure of a stream that began with HTTP 200.
API reference: https://docs.ollama.com/api/chat, https://docs.ollama.com/api/errors
"""

from __future__ import annotations

from llmring.exceptions import ProviderResponseError
from llmring.providers._assembly import StreamAssembly
from llmring.providers.ollama.response import decode_payload, finish_line, read_line
from llmring.schemas import LLMResponse, StreamChunk

__all__ = ["OllamaStreamParser"]


class OllamaStreamParser:
    """Pure state machine over Ollama's NDJSON lines; the done line is terminal."""

    __slots__ = ("_assembly",)

    def __init__(self, model: str) -> None:
        self._assembly = StreamAssembly(model)

    def feed(self, payload: str) -> list[StreamChunk]:
        """One NDJSON line; the final chunk comes with the ``done: true`` line."""
        assembly = self._assembly
        assembly.ensure_open()
        line = decode_payload(payload)
        if "error" in line:
            # Documented in-band failure (recordings/ollama/error-midstream.ndjson):
            # the status is already 200, the line has no type to classify it by.
            raise ProviderResponseError(line["error"])
        chunks = read_line(assembly, line)
        if line.get("done"):
            # The done line may still carry content (always so for stream: false).
            assembly.identify(None, line.get("model"))  # Ollama gives its responses no id
            chunks += finish_line(assembly, line)
        return chunks

    def finish(self) -> list[StreamChunk]:
        """End of input: nothing more if the done line came, else the stream was cut."""
        if not self._assembly.finished:
            raise ProviderResponseError("stream ended before the done line")
        return []

    def snapshot(self) -> LLMResponse:
        """Everything received so far."""
        return self._assembly.snapshot()
