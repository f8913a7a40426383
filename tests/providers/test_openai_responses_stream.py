"""OpenAI Responses API stream parser: recordings in, whole responses out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmring.exceptions import (
    ProviderOverloadedError,
    ProviderRateLimitError,
    ProviderResponseError,
)
from llmring.providers.openai_responses.stream import OpenAIResponsesStreamParser
from llmring.schemas import Continuation, FunctionCall, LLMResponse, StreamChunk, ToolCall, Usage
from llmring.testing import Recording, load_recording
from tests.conftest import RECORDINGS, SHARED_WIRE
from tests.providers.invariants import check_stream, run_parser, with_response
from tests.providers.recorded import check_complete, check_failing
from tests.replay_parse import payloads

OWN = RECORDINGS / "openai-responses"
STREAMS = sorted(OWN.glob("*.sse"))


def test_recordings_exist() -> None:
    assert {path.stem for path in STREAMS} >= {
        "text",
        "tool-call",
        "parallel-tool-calls",
        "max-tokens",
        "reasoning",
        "error-midstream",
        "truncated",
    }


@pytest.mark.parametrize("path", STREAMS, ids=lambda path: path.stem)
def test_recording(path: Path) -> None:
    recording = load_recording(path)
    parser = OpenAIResponsesStreamParser(recording.model)
    if "error" in recording.expect:
        check_failing(parser, recording)
    else:
        check_complete(parser, recording, recording.model)


def test_reasoning_chunks_whole() -> None:
    recording = load_recording(OWN / "reasoning.sse")
    chunks = run_parser(OpenAIResponsesStreamParser("gpt-5-mini"), payloads(recording))
    first = ["**Adding", " small", " numbers", "**\n\n", "The", " user", " asks", " for", " 2"]
    first += [" +", " 2", ".", " That", " is", " 4", "."]
    second = ["**Keeping", " it", " short", "**\n\n", "I'll", " answer", " with", " the"]
    second += [" sum", " only", "."]
    usage_raw: dict[str, Any] = {
        "input_tokens": 20,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 142,
        "output_tokens_details": {"reasoning_tokens": 128},
        "total_tokens": 162,
    }
    assert chunks == with_response(
        [
            *(
                StreamChunk(reasoning=piece, model="gpt-5-mini")
                for piece in [*first, "\n\n", *second]
            ),
            *(StreamChunk(delta=piece, model="gpt-5-mini") for piece in ["2 + 2", " = ", "4."]),
            StreamChunk(
                model="gpt-5-mini",
                finish_reason="stop",
                raw_finish_reason="completed",
                usage=Usage(
                    prompt_tokens=20,
                    completion_tokens=142,
                    total_tokens=162,
                    cached_tokens=0,
                    reasoning_tokens=128,
                    raw=usage_raw,
                ),
                response_id="resp_0f1a4d7b0e3c6f9200690a20a1c4e7b0d3f6a9c2e5b8d1f4a7",
                served_model="gpt-5-mini-2025-08-07",
            ),
        ],
        Continuation(
            provider="openai-responses",
            items=[
                {
                    "type": "reasoning",
                    "id": "rs_0f1a4d7b0e3c6f9200690a20a2d5f8c1e4b7a0d3f6c9e2b5a8",
                    "summary": [
                        {"type": "summary_text", "text": "".join(first)},
                        {"type": "summary_text", "text": "".join(second)},
                    ],
                }
            ],
        ),
    )


def test_parallel_calls_use_call_id() -> None:
    recording = load_recording(OWN / "parallel-tool-calls.sse")
    chunks = run_parser(OpenAIResponsesStreamParser("m"), payloads(recording))
    assert chunks[-1].tool_calls == [
        ToolCall(
            id="call_Ab2Cd4Ef6Gh8Ij0Kl2Mn4Op6",
            function=FunctionCall(name="get_weather", arguments='{"city": "Berlin"}'),
        ),
        ToolCall(
            id="call_Qr8St0Uv2Wx4Yz6Ab8Cd0Ef2",
            function=FunctionCall(name="get_time", arguments='{"timezone": "Europe/Berlin"}'),
        ),
    ]


# --- the real recordings in ../shared/wire ------------------------------------------------

SHARED_DIR = SHARED_WIRE / "openai-responses"
SHARED = sorted(SHARED_DIR.glob("*.sse")) if SHARED_DIR.exists() else []


@pytest.mark.skipif(not SHARED, reason="../shared/wire not present")
@pytest.mark.parametrize(
    "path", [p for p in SHARED if "error" not in p.name], ids=lambda path: path.stem
)
def test_shared_recording_keeps_invariants(path: Path) -> None:
    parser = OpenAIResponsesStreamParser("m")
    check_stream(parser, run_parser(parser, payloads(load_recording(path))), "m")


def _shared(name: str) -> Recording:
    path = SHARED_DIR / name
    if not path.exists():
        pytest.skip("../shared/wire not present")
    return load_recording(path)


def test_shared_in_band_quota_error() -> None:
    parser = OpenAIResponsesStreamParser("m")
    with pytest.raises(ProviderRateLimitError) as caught:
        run_parser(parser, payloads(_shared("error-midstream-insufficient-quota.sse")))
    assert caught.value.message.startswith("You exceeded your current quota")
    assert parser.snapshot() == LLMResponse(model="m")


def test_shared_reasoning_summary_parts_are_paragraphs() -> None:
    recording = _shared("reasoning-summary-gpt5.sse")
    done = [
        json.loads(payload)["text"]
        for payload in payloads(recording)
        if '"response.reasoning_summary_text.done"' in payload
    ]
    parser = OpenAIResponsesStreamParser("m")
    response = check_stream(parser, run_parser(parser, payloads(recording)), "m")
    assert len(done) == 3
    assert response.reasoning == "\n\n".join(done)


def test_shared_refusal() -> None:
    parser = OpenAIResponsesStreamParser("m")
    response = check_stream(parser, run_parser(parser, payloads(_shared("refusal-gpt4o.sse"))), "m")
    assert (response.content, response.refusal) == ("", "I'm sorry, I can't assist with that.")


# --- payload-level cases --------------------------------------------------------------------

USAGE = {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12}


def event(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, "sequence_number": 0, **fields})


def terminal(kind: str, status: str, **fields: Any) -> str:
    return event(kind, response={"status": status, "usage": USAGE, **fields})


def test_incomplete_content_filter() -> None:
    parser = OpenAIResponsesStreamParser("m")
    chunks = run_parser(
        parser,
        [
            event("response.output_text.delta", delta="Part"),
            terminal(
                "response.incomplete", "incomplete", incomplete_details={"reason": "content_filter"}
            ),
        ],
    )
    assert chunks == with_response(
        [
            *chunks[:-1],
            StreamChunk(
                model="m",
                finish_reason="content_filter",
                raw_finish_reason="content_filter",
                usage=Usage(prompt_tokens=5, completion_tokens=7, total_tokens=12, raw=USAGE),
            ),
        ]
    )


def test_failed_response_raises_its_error() -> None:
    parser = OpenAIResponsesStreamParser("m")
    parser.feed(event("response.output_text.delta", delta="Half"))
    failed = terminal(
        "response.failed", "failed", error={"code": "server_error", "message": "It broke."}
    )
    with pytest.raises(ProviderOverloadedError, match=r"It broke\."):
        parser.feed(failed)
    assert parser.snapshot().content == "Half"


def test_error_event_with_top_level_fields() -> None:
    parser = OpenAIResponsesStreamParser("m")
    payload = event("error", code="rate_limit_exceeded", message="Please try again in 2s.")
    with pytest.raises(ProviderRateLimitError) as caught:
        parser.feed(payload)
    assert (caught.value.message, caught.value.retry_after) == ("Please try again in 2s.", 2.0)


def test_function_call_announced_whole() -> None:
    item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f"}
    parser = OpenAIResponsesStreamParser("m")
    chunks = run_parser(
        parser,
        [
            event("response.output_item.added", output_index=0, item={**item, "arguments": ""}),
            event(
                "response.output_item.done", output_index=0, item={**item, "arguments": '{"a":1}'}
            ),
            terminal("response.completed", "completed"),
        ],
    )
    assert chunks[-1].tool_calls == [
        ToolCall(id="call_1", function=FunctionCall(name="f", arguments='{"a":1}'))
    ]
    assert chunks[-1].finish_reason == "tool_calls"


def test_unknown_events_are_skipped() -> None:
    parser = OpenAIResponsesStreamParser("m")
    assert parser.feed(event("response.some_future_event", payload={"x": 1})) == []
    assert parser.feed(event("response.web_search_call.searching", output_index=0)) == []


@pytest.mark.parametrize(
    "payload",
    [
        "{not json",
        '{"sequence_number": 1}',
        '{"type": "response.output_text.delta"}',
        '{"type": "response.completed", "response": 5}',
    ],
)
def test_malformed_payload(payload: str) -> None:
    parser = OpenAIResponsesStreamParser("m")
    with pytest.raises(ProviderResponseError) as caught:
        parser.feed(payload)
    assert caught.value.message == f"malformed stream event: {payload!r}"


def test_arguments_for_an_unknown_call() -> None:
    parser = OpenAIResponsesStreamParser("m")
    with pytest.raises(ProviderResponseError, match="never started"):
        parser.feed(event("response.function_call_arguments.delta", output_index=3, delta="{"))


def test_truncated_and_feed_after_end() -> None:
    parser = OpenAIResponsesStreamParser("m")
    parser.feed(event("response.output_text.delta", delta="cut"))
    with pytest.raises(ProviderResponseError, match=r"stream ended before response\.completed"):
        parser.finish()
    done = OpenAIResponsesStreamParser("m")
    done.feed(terminal("response.completed", "completed"))
    assert done.finish() == []
    with pytest.raises(ProviderResponseError, match="after the end"):
        done.feed(event("response.output_text.delta", delta="late"))
