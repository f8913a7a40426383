"""Compare a response against a recording's hand-written ``expect`` block."""

from __future__ import annotations

import json
from typing import Any

from llmring.schemas import LLMResponse, StreamChunk


def response_summary(response: LLMResponse) -> dict[str, Any]:
    """``response`` in the shape of an ``expect`` block: reasoning as a length, tool call
    arguments parsed, and the whole usage without ``raw`` (unset fields left out)."""
    usage = response.usage
    return {
        "text": response.content,
        "reasoning_chars": len(response.reasoning or ""),
        "tool_calls": [
            {"name": call.function.name, "arguments": json.loads(call.function.arguments)}
            for call in response.tool_calls or []
        ],
        "finish_reason": response.finish_reason,
        "raw_finish_reason": response.raw_finish_reason,
        "usage": None if usage is None else usage.model_dump(exclude={"raw"}, exclude_none=True),
    }


def summary(response: LLMResponse, expect: dict[str, Any]) -> dict[str, Any]:
    """The parts of ``response`` that ``expect`` speaks of, in ``expect``'s shape: as
    ``response_summary``, with only the usage fields ``expect`` names."""
    whole = response_summary(response)
    usage = whole["usage"] or {}
    return {**whole, "usage": {key: usage.get(key) for key in expect.get("usage", {})}}


def expected(expect: dict[str, Any]) -> dict[str, Any]:
    """``expect`` with the optional keys filled in as absent."""
    return {
        "text": expect["text"],
        "reasoning_chars": expect.get("reasoning_chars", 0),
        "tool_calls": expect.get("tool_calls", []),
        "finish_reason": expect["finish_reason"],
        "raw_finish_reason": expect.get("raw_finish_reason"),
        "usage": expect.get("usage", {}),
    }


def without_timing(chunks: list[StreamChunk]) -> list[StreamChunk]:
    """The chunks with the final one's timing checked and then dropped: it differs per run."""
    *body, final = chunks
    timing = final.timing
    assert timing is not None and timing.chunks == len(chunks)
    assert 0 <= (timing.time_to_first_chunk or 0) <= timing.duration
    response = final.response
    if response is not None:
        assert response.timing == timing  # the response the final chunk carries has it too
        response = response.model_copy(update={"timing": None})
    return [*body, final.model_copy(update={"timing": None, "response": response})]


def partial_without_timing(partial: LLMResponse | None) -> tuple[int, LLMResponse | None]:
    """A failed stream's ``partial`` with its timing checked and dropped (it differs per run);
    the number of chunks the timing counted, which does not."""
    assert partial is not None and partial.timing is not None
    timing = partial.timing
    assert 0 <= (timing.time_to_first_chunk or 0) <= timing.duration
    return timing.chunks, partial.model_copy(update={"timing": None})
