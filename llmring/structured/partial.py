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

__all__ = ["PartialJSON", "structured_stream", "with_partial"]

# Characters that may still continue a number at the end of the text: "1" may become "12",
# so a trailing number is left out until something follows it (the object only grows).
_NUMBER_TAIL = frozenset("0123456789+-.eE")
_WHITESPACE = frozenset(" \t\r\n")
_UNSET: Any = object()
_new = object.__new__
_set = object.__setattr__


class PartialJSON:
    """The JSON text of an answer, fed piece by piece; ``feed`` returns the best-effort parse
    of everything so far, or ``None`` when it is the same as the last one (or nothing yet).

    Each result extends the one before: keys are only added, strings and lists only grow,
    and a value appears once it can no longer change (a number once it is followed by
    something, ``true`` once complete).
    """

    __slots__ = ("_last", "text")

    def __init__(self) -> None:
        #: All the text fed so far.
        self.text = ""
        self._last: Any = _UNSET

    def feed(self, piece: str) -> Any:
        """Add ``piece``; the new partial value, or ``None`` if it did not change."""
        self.text += piece
        if not piece.strip():
            return None  # whitespace changes nothing
        text = self.text
        # Scanned back from the end rather than rstrip()ped and sliced: each copy of the text
        # so far would cost as much as the parse (this runs on every chunk).
        end = len(text)
        while end and text[end - 1] in _WHITESPACE:
            end -= 1
        cut = end
        while cut and text[cut - 1] in _NUMBER_TAIL:
            cut -= 1
        if cut < end and any(char.isdigit() for char in text[cut:end]):  # "tru"+"e" is no number
            end = cut
        try:
            # Caching string values costs more than the whole parse when every value is new
            # each time (about 3x measured on benchmarks/bench_stream.py's 2 KB object).
            value = from_json(
                text if end == len(text) else text[:end],
                allow_partial="trailing-strings",
                cache_strings="keys",
            )
        except ValueError:
            return None  # not even a prefix of JSON (yet): nothing to show
        if value == self._last:
            return None
        self._last = value
        return value


def with_partial(chunk: StreamChunk, value: Any) -> StreamChunk:
    """``chunk`` with ``partial_object`` set, copied without re-validation (``model_copy``
    costs about five times as much, on every chunk of a structured stream)."""
    copy = _new(StreamChunk)
    values = dict(chunk.__dict__)
    values["partial_object"] = value
    _set(copy, "__dict__", values)
    _set(copy, "__pydantic_fields_set__", {*chunk.model_fields_set, "partial_object"})
    _set(copy, "__pydantic_extra__", None)
    _set(copy, "__pydantic_private__", None)
    return copy


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
                chunk = with_partial(chunk, value)
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
