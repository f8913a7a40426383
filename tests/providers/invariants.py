"""Invariants every stream parser must keep, checked the same way for all of them.

Like trio's ``check_one_way_stream``: each provider's tests call ``check_stream`` on the
chunks its parser produced for a recording, so a rule is stated once and holds everywhere.
"""

from __future__ import annotations

import json

import pytest

from llmring.exceptions import ProviderResponseError
from llmring.providers.base import StreamParser
from llmring.schemas import LLMResponse, StreamChunk


def run_parser(parser: StreamParser, payloads: list[str]) -> list[StreamChunk]:
    """Feed every payload, then finish; the chunks in order."""
    chunks: list[StreamChunk] = []
    for payload in payloads:
        chunks.extend(parser.feed(payload))
    chunks.extend(parser.finish())
    return chunks


def check_stream(parser: StreamParser, chunks: list[StreamChunk], model: str) -> LLMResponse:
    """Assert the stream invariants; return the response the chunks add up to."""
    assert chunks, "a complete stream yields at least its final chunk"
    *body, final = chunks
    assert all(chunk.model == model for chunk in chunks)
    # finish_reason, usage and tool calls only on the last chunk, which comes exactly once
    assert final.finish_reason is not None
    for chunk in body:
        assert chunk.finish_reason is None
        assert chunk.usage is None
        assert chunk.tool_calls is None
        assert chunk.response_id is None and chunk.served_model is None
        # no empty chunks: every intermediate chunk carries something
        assert chunk.delta or chunk.reasoning or chunk.refusal
    for call in final.tool_calls or []:
        json.loads(call.function.arguments)  # complete, parseable JSON
    assembled = LLMResponse(
        content="".join(chunk.delta for chunk in chunks),
        model=model,
        reasoning="".join(chunk.reasoning or "" for chunk in chunks) or None,
        refusal="".join(chunk.refusal or "" for chunk in chunks) or None,
        finish_reason=final.finish_reason,
        raw_finish_reason=final.raw_finish_reason,
        usage=final.usage,
        tool_calls=final.tool_calls,
        response_id=final.response_id,
        served_model=final.served_model,
    )
    # the snapshot agrees with what was streamed
    assert parser.snapshot() == assembled
    # nothing may be fed after the end
    with pytest.raises(ProviderResponseError):
        parser.feed("{}")
    return assembled
