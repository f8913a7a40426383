"""Invariants every stream parser must keep, checked the same way for all of them.

Like trio's ``check_one_way_stream``: each provider's tests call ``check_stream`` on the
chunks its parser produced for a recording, so a rule is stated once and holds everywhere.
"""

from __future__ import annotations

import json

import pytest

from llmring.exceptions import ProviderResponseError
from llmring.providers.base import StreamParser
from llmring.schemas import Continuation, LLMResponse, StreamChunk


def run_parser(parser: StreamParser, payloads: list[str]) -> list[StreamChunk]:
    """Feed every payload, then finish; the chunks in order."""
    chunks: list[StreamChunk] = []
    for payload in payloads:
        chunks.extend(parser.feed(payload))
    chunks.extend(parser.finish())
    return chunks


def calls_from_deltas(chunks: list[StreamChunk]) -> list[dict[str, object]]:
    """The tool calls the ``tool_call_deltas`` of ``chunks`` add up to, as ``ToolCall`` dumps.

    A call's first delta has its id and name and later ones none; indices count up from 0.
    """
    calls: list[dict[str, object]] = []
    arguments: list[str] = []
    for chunk in chunks:
        for delta in chunk.tool_call_deltas or []:
            if delta.index == len(calls):
                assert delta.id is not None and delta.name is not None
                calls.append({"id": delta.id, "type": "function", "name": delta.name})
                arguments.append("")
            else:
                assert delta.index < len(calls) and (delta.id, delta.name) == (None, None)
            arguments[delta.index] += delta.arguments
    return [
        {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": text or "{}"},
        }
        for call, text in zip(calls, arguments, strict=True)
    ]


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
        assert chunk.delta or chunk.reasoning or chunk.refusal or chunk.tool_call_deltas
    for call in final.tool_calls or []:
        json.loads(call.function.arguments)  # complete, parseable JSON
    # the streamed tool-call deltas add up to the final calls, in order
    assert calls_from_deltas(body) == [call.model_dump() for call in final.tool_calls or []]
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
    # the snapshot agrees with what was streamed (plus the continuation state, never streamed)
    snapshot = parser.snapshot()
    assert snapshot.model_copy(update={"continuation": None}) == assembled
    # the final chunk carries the whole response
    assert final.response == snapshot
    # nothing may be fed after the end
    with pytest.raises(ProviderResponseError):
        parser.feed("{}")
    return snapshot


def with_response(
    chunks: list[StreamChunk], continuation: Continuation | None = None
) -> list[StreamChunk]:
    """``chunks`` (a hand-written expectation) with the final chunk's ``response`` filled in
    from them and ``continuation``: what the stream's final chunk must carry."""
    *body, final = chunks
    response = LLMResponse(
        content="".join(chunk.delta for chunk in chunks),
        model=final.model,
        reasoning="".join(chunk.reasoning or "" for chunk in chunks) or None,
        refusal="".join(chunk.refusal or "" for chunk in chunks) or None,
        finish_reason=final.finish_reason,
        raw_finish_reason=final.raw_finish_reason,
        usage=final.usage,
        tool_calls=final.tool_calls,
        continuation=continuation,
        response_id=final.response_id,
        served_model=final.served_model,
    )
    return [*body, final.model_copy(update={"response": response})]
