"""Structured output while it streams: the object so far on each chunk, ``parsed`` at the end.

``PartialJSON`` parses the answer text so far with pydantic-core's
``from_json(..., allow_partial="trailing-strings")``; ``structured_stream`` wraps a chunk
stream with it. The wrapper is put around a stream only when the request has a
``response_format``, so a plain stream pays nothing for it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from pydantic_core import from_json

from llmring.schemas import LLMResponse, StreamChunk
from llmring.structured.spec import OutputSpec, apply_spec

__all__ = ["PartialJSON", "structured_stream"]

# Characters that may still continue a number at the end of the text: "1" may become "12",
# so a trailing number is left out until something follows it (the object only grows).
_NUMBER_TAIL = frozenset("0123456789+-.eE")
_UNSET: Any = object()


class PartialJSON:
    """The JSON text of an answer, fed piece by piece; ``feed`` returns the best-effort parse
    of everything so far, or ``None`` when it is the same as the last one (or nothing yet).

    Each result extends the one before: keys are only added, strings and lists only grow,
    and a value appears once it can no longer change (a number once it is followed by
    something, ``true`` once complete).
    """

    __slots__ = ("_last", "_pieces")

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._last: Any = _UNSET

    def feed(self, piece: str) -> Any:
        """Add ``piece``; the new partial value, or ``None`` if it did not change."""
        self._pieces.append(piece)
        if not piece.strip():
            return None  # whitespace changes nothing
        text = "".join(self._pieces)
        self._pieces = [text]
        end = cut = len(text.rstrip())
        while cut and text[cut - 1] in _NUMBER_TAIL:
            cut -= 1
        if any(char.isdigit() for char in text[cut:end]):  # "tru" + "e" is not a number
            end = cut
        try:
            value = from_json(text[:end], allow_partial="trailing-strings")
        except ValueError:
            return None  # not even a prefix of JSON (yet): nothing to show
        if value == self._last:
            return None
        self._last = value
        return value

    @property
    def text(self) -> str:
        """All the text fed so far."""
        return "".join(self._pieces)


async def structured_stream(
    chunks: AsyncGenerator[StreamChunk, None], spec: OutputSpec
) -> AsyncGenerator[StreamChunk, None]:
    """``chunks`` with ``partial_object`` on each delta chunk that changed it, and the final
    chunk's ``response`` carrying ``parsed``.

    An answer that does not validate raises ``StructuredOutputError`` in place of the final
    chunk, with the text, the errors and the whole response as ``partial``.
    """
    partial = PartialJSON()
    reasoning: list[str] = []
    refusal: list[str] = []
    async with aclosing(chunks):
        async for chunk in chunks:
            if chunk.finish_reason is not None:
                response = chunk.response or _response(chunk, partial.text, reasoning, refusal)
                yield chunk.model_copy(update={"response": apply_spec(spec, response)})
                continue
            if chunk.reasoning:
                reasoning.append(chunk.reasoning)
            if chunk.refusal:
                refusal.append(chunk.refusal)
            if chunk.delta and (value := partial.feed(chunk.delta)) is not None:
                chunk = chunk.model_copy(update={"partial_object": value})
            yield chunk


def _response(
    final: StreamChunk, text: str, reasoning: list[str], refusal: list[str]
) -> LLMResponse:
    """The complete response, assembled from the chunks (when the final chunk has none)."""
    return LLMResponse(
        content=text,
        model=final.model,
        reasoning="".join(reasoning) or None,
        refusal="".join(refusal) or None,
        finish_reason=final.finish_reason,
        raw_finish_reason=final.raw_finish_reason,
        usage=final.usage,
        tool_calls=final.tool_calls,
    )
