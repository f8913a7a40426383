"""OllamaStreamParser: NDJSON lines in, chunks out (pure; no HTTP, no event loop)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmring.exceptions import ProviderResponseError
from llmring.providers.ollama import OllamaStreamParser
from llmring.schemas import (
    Continuation,
    FinishReason,
    FunctionCall,
    LLMResponse,
    StreamChunk,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from llmring.testing import load_recording, rechunk
from tests.conftest import RECORDINGS
from tests.providers.invariants import check_stream, run_parser, with_response
from tests.providers.recorded import check_complete, check_failing
from tests.replay_parse import payloads

DIR = RECORDINGS / "ollama"
STREAMS = sorted(DIR.glob("*.ndjson"))
COMPLETE = [path for path in STREAMS if "error" not in load_recording(path).expect]
FAILING = [path for path in STREAMS if "error" in load_recording(path).expect]
MODEL = "llama3.2"


def line(**fields: Any) -> str:
    return json.dumps({"model": MODEL, "created_at": "2025-11-03T09:00:00Z", **fields})


def content(text: str = "", **message: Any) -> str:
    return line(message={"role": "assistant", "content": text, **message}, done=False)


def done(reason: str | None = "stop", **fields: Any) -> str:
    extra = {"done_reason": reason} if reason is not None else {}
    return line(message={"role": "assistant", "content": ""}, done=True, **extra, **fields)


def test_recordings_are_present() -> None:
    assert [path.stem for path in COMPLETE] == [
        "max-tokens",
        "parallel-tool-calls",
        "structured-cut",
        "structured",
        "text",
        "thinking-tool-call",
        "thinking",
        "tool-call",
        "utf8",
    ]
    assert [path.stem for path in FAILING] == ["error-midstream", "truncated"]


@pytest.mark.parametrize("path", COMPLETE, ids=[path.stem for path in COMPLETE])
def test_recording_assembles_to_its_expectation(path: Path) -> None:
    recording = load_recording(path)
    check_complete(OllamaStreamParser(recording.model), recording, recording.model)


@pytest.mark.parametrize("path", FAILING, ids=[path.stem for path in FAILING])
def test_failing_recording_raises_with_partial_text(path: Path) -> None:
    recording = load_recording(path)
    check_failing(OllamaStreamParser(recording.model), recording)


@pytest.mark.parametrize("name", ["utf8.ndjson", "thinking.ndjson"])
def test_byte_by_byte_delivery_changes_nothing(name: str) -> None:
    recording = load_recording(DIR / name)
    model = recording.model
    whole = run_parser(OllamaStreamParser(model), payloads(recording))

    by_byte = run_parser(
        OllamaStreamParser(model),
        payloads(recording, rechunk(recording.body, range(len(recording.body)))),
    )

    assert by_byte == whole


def test_error_line_raises_its_text_at_once() -> None:
    parser = OllamaStreamParser(MODEL)
    assert parser.feed(content("Sure")) == [StreamChunk(delta="Sure", model=MODEL)]

    with pytest.raises(ProviderResponseError) as caught:
        parser.feed('{"error":"an error was encountered while running the model"}')

    assert caught.value.message == "an error was encountered while running the model"
    assert parser.snapshot() == LLMResponse(content="Sure", model=MODEL)


def test_truncated_stream_says_what_was_missing() -> None:
    parser = OllamaStreamParser(MODEL)
    parser.feed(content("Water"))
    with pytest.raises(ProviderResponseError, match=r"^stream ended before the done line$"):
        parser.finish()
    assert parser.snapshot() == LLMResponse(content="Water", model=MODEL)


@pytest.mark.parametrize(
    "payload", ['{"model":"llama3.2","message":{"content":"cut', "[]", "{}", '{"done":"maybe"}']
)
def test_malformed_line_raises_with_an_excerpt(payload: str) -> None:
    parser = OllamaStreamParser(MODEL)
    with pytest.raises(ProviderResponseError) as caught:
        parser.feed(payload)
    assert caught.value.message == f"unexpected Ollama line: {payload!r}"
    assert caught.value.body_excerpt == payload


def test_no_input_after_the_done_line() -> None:
    parser = OllamaStreamParser(MODEL)
    parser.feed(done())
    with pytest.raises(ProviderResponseError, match="after the end of the stream"):
        parser.feed(content("late"))
    assert parser.finish() == []


def test_thinking_tool_call_lines_give_the_whole_chunk_list() -> None:
    parser = OllamaStreamParser("qwen3:8b")
    raw = {"prompt_eval_count": 120, "eval_count": 31, "total_duration": 900}
    chunks = run_parser(
        parser,
        [
            content(thinking="Need the time."),
            content("Checking", thinking=" Call it."),
            content(tool_calls=[{"function": {"name": "get_time", "arguments": {}}}]),
            done("stop", **raw),
        ],
    )
    assert chunks == with_response(
        [
            StreamChunk(reasoning="Need the time.", model="qwen3:8b"),
            StreamChunk(reasoning=" Call it.", model="qwen3:8b"),
            StreamChunk(delta="Checking", model="qwen3:8b"),
            # the call arrived whole: one delta with all of it
            StreamChunk(
                model="qwen3:8b",
                tool_call_deltas=[
                    ToolCallDelta(index=0, id="call_0", name="get_time", arguments="{}")
                ],
            ),
            StreamChunk(
                model="qwen3:8b",
                finish_reason="tool_calls",
                raw_finish_reason="stop",
                usage=Usage(prompt_tokens=120, completion_tokens=31, total_tokens=151, raw=raw),
                tool_calls=[
                    ToolCall(id="call_0", function=FunctionCall(name="get_time", arguments="{}"))
                ],
                served_model=MODEL,  # what the lines say served (line() writes MODEL)
            ),
        ],
        # The whole thinking text, for the next turn's assistant message (``thinking``).
        Continuation(provider="ollama", items=[{"thinking": "Need the time. Call it."}]),
    )
    check_stream(parser, chunks, "qwen3:8b")


def test_calls_without_index_or_id_stay_apart_and_get_positional_ids() -> None:
    parser = OllamaStreamParser(MODEL)
    call = {"function": {"name": "get_temperature", "arguments": {"city": "Oslo"}}}
    chunks = run_parser(
        parser,
        [content(tool_calls=[call, call]), content(tool_calls=[call]), done()],
    )
    response = check_stream(parser, chunks, MODEL)
    arguments = '{"city":"Oslo"}'
    assert response.tool_calls == [
        ToolCall(id=f"call_{n}", function=FunctionCall(name="get_temperature", arguments=arguments))
        for n in range(3)
    ]


def test_calls_keep_server_ids_and_null_arguments_become_empty_object() -> None:
    parser = OllamaStreamParser(MODEL)
    chunks = run_parser(
        parser,
        [
            content(
                tool_calls=[
                    {"id": "call_ab12cd34", "function": {"name": "ping", "arguments": None}},
                    {"function": {"index": 1, "name": "echo", "arguments": {"text": "é"}}},
                ]
            ),
            done(),
        ],
    )
    assert check_stream(parser, chunks, MODEL).tool_calls == [
        ToolCall(id="call_ab12cd34", function=FunctionCall(name="ping", arguments="{}")),
        ToolCall(id="call_1", function=FunctionCall(name="echo", arguments='{"text":"é"}')),
    ]


def test_same_index_twice_is_a_wire_error() -> None:
    parser = OllamaStreamParser(MODEL)
    call = {"function": {"index": 0, "name": "ping", "arguments": {}}}
    parser.feed(content(tool_calls=[call]))
    with pytest.raises(ProviderResponseError, match="started twice"):
        parser.feed(content(tool_calls=[call]))


def test_generate_lines_use_response_and_thinking() -> None:
    parser = OllamaStreamParser("gemma3:1b")
    chunks = run_parser(
        parser,
        [
            line(thinking="Hmm.", response="", done=False),
            line(response="Okay", done=False),
            line(response="", done=True, done_reason="stop", context=[1, 2], eval_count=2),
        ],
    )
    response = check_stream(parser, chunks, "gemma3:1b")
    assert response == LLMResponse(
        content="Okay",
        model="gemma3:1b",
        reasoning="Hmm.",
        finish_reason="stop",
        raw_finish_reason="stop",
        usage=Usage(prompt_tokens=0, completion_tokens=2, total_tokens=2, raw={"eval_count": 2}),
        continuation=Continuation(provider="ollama", items=[{"thinking": "Hmm."}]),
        served_model=MODEL,
    )


def test_cached_prompt_counts_zero_prompt_tokens() -> None:
    parser = OllamaStreamParser(MODEL)
    chunks = run_parser(parser, [content("Hi"), done(eval_count=3, eval_duration=1000)])
    assert check_stream(parser, chunks, MODEL).usage == Usage(
        prompt_tokens=0,
        completion_tokens=3,
        total_tokens=3,
        raw={"eval_count": 3, "eval_duration": 1000},
    )


@pytest.mark.parametrize(
    ("reason", "finish_reason"),
    [("stop", "stop"), ("length", "length"), ("load", "stop"), ("unload", "stop"), (None, "stop")],
)
def test_done_reasons(reason: str | None, finish_reason: FinishReason) -> None:
    parser = OllamaStreamParser(MODEL)
    chunks = run_parser(parser, [done(reason)])
    assert chunks == with_response(
        [
            StreamChunk(
                model=MODEL,
                finish_reason=finish_reason,
                raw_finish_reason=reason,
                served_model=MODEL,
            )
        ]
    )


def test_unknown_done_reason_keeps_its_raw_value() -> None:
    parser = OllamaStreamParser(MODEL)
    [final] = run_parser(parser, [done("preempted", prompt_eval_count=1, eval_count=0)])
    assert (final.finish_reason, final.raw_finish_reason) == ("stop", "preempted")


def test_done_line_content_is_not_lost() -> None:
    parser = OllamaStreamParser(MODEL)
    chunks = run_parser(
        parser,
        [line(message={"role": "assistant", "content": "All at once."}, done=True)],
    )
    assert chunks == with_response(
        [
            StreamChunk(delta="All at once.", model=MODEL),
            StreamChunk(
                model=MODEL, finish_reason="stop", raw_finish_reason=None, served_model=MODEL
            ),
        ]
    )
