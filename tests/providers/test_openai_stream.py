"""OpenAI Chat Completions stream parser: recordings in, whole responses out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmring.exceptions import (
    ProviderBadRequestError,
    ProviderError,
    ProviderOverloadedError,
    ProviderRateLimitError,
    ProviderResponseError,
)
from llmring.providers.openai.stream import OpenAIStreamParser
from llmring.schemas import FunctionCall, LLMResponse, StreamChunk, ToolCall, ToolCallDelta, Usage
from llmring.testing import load_recording
from tests.conftest import RECORDINGS, SHARED_WIRE
from tests.providers.invariants import check_stream, run_parser, with_response
from tests.providers.recorded import check_complete, check_failing
from tests.replay_parse import payloads

OWN = RECORDINGS / "openai"
STREAMS = sorted(OWN.glob("*.sse"))


def test_recordings_exist() -> None:
    names = {path.stem for path in STREAMS}
    assert {"text", "utf8", "tool-call", "parallel-tool-calls", "max-tokens", "reasoning"} <= names
    assert {"error-midstream", "truncated"} <= names


@pytest.mark.parametrize("path", STREAMS, ids=lambda path: path.stem)
def test_recording(path: Path) -> None:
    recording = load_recording(path)
    parser = OpenAIStreamParser(recording.model)
    if "error" in recording.expect:
        check_failing(parser, recording)
    else:
        check_complete(parser, recording, recording.model)


def test_text_chunks_whole() -> None:
    recording = load_recording(OWN / "text.sse")
    chunks = run_parser(OpenAIStreamParser("gpt-4o-mini"), payloads(recording))
    usage = Usage(
        prompt_tokens=9,
        completion_tokens=9,
        total_tokens=18,
        cached_tokens=0,
        reasoning_tokens=0,
        raw={
            "prompt_tokens": 9,
            "completion_tokens": 9,
            "total_tokens": 18,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
    )
    words = ["Hello", "!", " How", " can", " I", " help", " you", " today", "?"]
    assert chunks == with_response(
        [
            *(StreamChunk(delta=word, model="gpt-4o-mini") for word in words),
            StreamChunk(
                model="gpt-4o-mini",
                finish_reason="stop",
                raw_finish_reason="stop",
                usage=usage,
                response_id="chatcmpl-Bx7TqL2mN9vK4pR1sW8yZ3aD6fG0h",
                served_model="gpt-4o-mini-2024-07-18",
            ),
        ]
    )


def test_parallel_tool_calls_keep_ids_and_order() -> None:
    recording = load_recording(OWN / "parallel-tool-calls.sse")
    chunks = run_parser(OpenAIStreamParser("gpt-4o-mini"), payloads(recording))
    assert chunks[-1].tool_calls == [
        ToolCall(
            id="call_Hd4nR7tY1uI3oP5aS7dF9gJ2",
            function=FunctionCall(name="get_weather", arguments='{"city": "Paris"}'),
        ),
        ToolCall(
            id="call_Kl2mN4bV6cX8zA0sD2fG4hJ6",
            function=FunctionCall(name="get_time", arguments='{"timezone": "Europe/Paris"}'),
        ),
    ]
    # no text: the other chunks are the calls' deltas, one per wire fragment
    assert [
        [(d.index, d.id, d.name, d.arguments) for d in chunk.tool_call_deltas or []]
        for chunk in chunks[:-1]
    ] == [
        [(0, "call_Hd4nR7tY1uI3oP5aS7dF9gJ2", "get_weather", "")],
        [(0, None, None, '{"ci')],
        [(0, None, None, 'ty": "P')],
        [(0, None, None, 'aris"}')],
        [(1, "call_Kl2mN4bV6cX8zA0sD2fG4hJ6", "get_time", "")],
        [(1, None, None, '{"ti')],
        [(1, None, None, 'mezone": "Eu')],
        [(1, None, None, 'rope/Paris"}')],
    ]


# --- the real recordings in ../shared/wire ------------------------------------------------

SHARED = sorted((SHARED_WIRE / "openai-chat").glob("*.sse")) if SHARED_WIRE.exists() else []


@pytest.mark.skipif(not SHARED, reason="../shared/wire not present")
@pytest.mark.parametrize("path", SHARED, ids=lambda path: path.stem)
def test_shared_recording_keeps_invariants(path: Path) -> None:
    parser = OpenAIStreamParser("m")
    check_stream(parser, run_parser(parser, payloads(load_recording(path))), "m")


def test_refusal_is_kept_apart_from_text() -> None:
    path = SHARED_WIRE / "openai-chat" / "refusal.sse"
    if not path.exists():
        pytest.skip("../shared/wire not present")
    parser = OpenAIStreamParser("gpt-4o")
    result = check_stream(parser, run_parser(parser, payloads(load_recording(path))), "gpt-4o")
    assert (result.content, result.refusal) == (
        "",
        "I'm very sorry, but I can't assist with that request.",
    )


# --- payload-level cases --------------------------------------------------------------------


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, index: int = 0) -> str:
    choice = {"index": index, "delta": delta or {}, "finish_reason": finish}
    return json.dumps({"object": "chat.completion.chunk", "choices": [choice]})


USAGE = json.dumps({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}})


def test_compatible_server_reasoning_field() -> None:
    parser = OpenAIStreamParser("qwen3")
    chunks = run_parser(
        parser,
        [
            chunk({"role": "assistant", "reasoning": "Think", "content": ""}),
            chunk({"reasoning": " hard."}),
            # newer vLLM sends both names with the same text: counted once
            chunk({"reasoning_content": "!", "reasoning": "!"}),
            chunk({"content": "Done"}),
            chunk(finish="stop"),
            "[DONE]",
        ],
    )
    assert chunks == with_response(
        [
            StreamChunk(reasoning="Think", model="qwen3"),
            StreamChunk(reasoning=" hard.", model="qwen3"),
            StreamChunk(reasoning="!", model="qwen3"),
            StreamChunk(delta="Done", model="qwen3"),
            StreamChunk(model="qwen3", finish_reason="stop", raw_finish_reason="stop"),
        ]
    )


def test_usage_without_details_and_no_total() -> None:
    parser = OpenAIStreamParser("m")
    chunks = run_parser(parser, [chunk({"content": "x"}, finish="eos"), USAGE, "[DONE]"])
    assert chunks == with_response(
        [
            *chunks[:-1],
            StreamChunk(
                model="m",
                finish_reason="stop",
                raw_finish_reason="eos",
                usage=Usage(
                    prompt_tokens=3,
                    completion_tokens=4,
                    total_tokens=7,
                    raw={"prompt_tokens": 3, "completion_tokens": 4},
                ),
            ),
        ]
    )


def test_other_choices_are_ignored() -> None:
    parser = OpenAIStreamParser("m")
    chunks = run_parser(
        parser,
        [chunk({"content": "a"}), chunk({"content": "b"}, index=1), chunk(finish="stop"), "[DONE]"],
    )
    assert [c.delta for c in chunks] == ["a", ""]


def test_tool_call_without_index_is_keyed_by_id() -> None:
    call_a = {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    call_b = {"id": "b", "type": "function", "function": {"name": "g", "arguments": '{"x":1}'}}
    parser = OpenAIStreamParser("m")
    chunks = run_parser(
        parser, [chunk({"tool_calls": [call_a, call_b]}), chunk(finish="stop"), "[DONE]"]
    )
    assert chunks == with_response(
        [
            # each call arrived whole in one fragment: one delta each, first piece included
            StreamChunk(
                model="m",
                tool_call_deltas=[ToolCallDelta(index=0, id="a", name="f", arguments="{}")],
            ),
            StreamChunk(
                model="m",
                tool_call_deltas=[ToolCallDelta(index=1, id="b", name="g", arguments='{"x":1}')],
            ),
            StreamChunk(
                model="m",
                finish_reason="tool_calls",
                raw_finish_reason="stop",
                tool_calls=[
                    ToolCall(id="a", function=FunctionCall(name="f", arguments="{}")),
                    ToolCall(id="b", function=FunctionCall(name="g", arguments='{"x":1}')),
                ],
            ),
        ]
    )


@pytest.mark.parametrize(
    ("error", "cls", "retry_after"),
    [
        (
            {"message": "Slow down. Please try again in 1.5s.", "code": "rate_limit_exceeded"},
            ProviderRateLimitError,
            1.5,
        ),
        ({"message": "quota", "type": "insufficient_quota"}, ProviderRateLimitError, None),
        ({"message": "boom", "type": "server_error", "code": None}, ProviderOverloadedError, None),
        ({"message": "bad", "type": "BadRequestError", "code": 400}, ProviderBadRequestError, None),
        ({"message": "odd", "type": "something_new"}, ProviderResponseError, None),
    ],
)
def test_in_band_error(
    error: dict[str, Any], cls: type[ProviderError], retry_after: float | None
) -> None:
    parser = OpenAIStreamParser("m")
    parser.feed(chunk({"content": "partial "}))
    with pytest.raises(ProviderError) as caught:
        parser.feed(json.dumps({"error": error}))
    assert type(caught.value) is cls
    assert caught.value.message == error["message"]
    assert getattr(caught.value, "retry_after", None) == retry_after
    assert parser.snapshot() == LLMResponse(content="partial ", model="m")


def test_truncated_after_finish_reason_before_done() -> None:
    parser = OpenAIStreamParser("m")
    parser.feed(chunk({"content": "all"}, finish="stop"))
    with pytest.raises(ProviderResponseError, match=r"stream ended before data: \[DONE\]"):
        parser.finish()
    assert parser.snapshot().content == "all"


def test_done_without_finish_reason() -> None:
    parser = OpenAIStreamParser("m")
    parser.feed(chunk({"content": "x"}))
    with pytest.raises(ProviderResponseError, match="without a finish_reason"):
        parser.feed("[DONE]")


@pytest.mark.parametrize(
    "payload",
    ['{"choices": [{"delta": {"content": 5}}]}', "{not json", '{"choices": {}}', "<html>"],
)
def test_malformed_payload(payload: str) -> None:
    parser = OpenAIStreamParser("m")
    with pytest.raises(ProviderResponseError) as caught:
        parser.feed(payload)
    assert caught.value.message == f"malformed stream chunk: {payload!r}"


def test_arguments_before_the_call_started() -> None:
    parser = OpenAIStreamParser("m")
    fragment = {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}
    with pytest.raises(ProviderResponseError, match="tool call 0 has no function name"):
        parser.feed(chunk(fragment))


def test_feed_after_done_and_finish() -> None:
    parser = OpenAIStreamParser("m")
    parser.feed(chunk(finish="stop"))
    parser.feed("[DONE]")
    assert parser.finish() == []
    with pytest.raises(ProviderResponseError, match="after the end"):
        parser.feed("[DONE]")
