"""Gemini's stream parser, pure: recorded payloads in, chunks and the assembled response out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmring.exceptions import (
    ProviderAuthenticationError,
    ProviderError,
    ProviderOverloadedError,
    ProviderRateLimitError,
    ProviderResponseError,
)
from llmring.providers.google import GoogleStreamParser
from llmring.schemas import FunctionCall, LLMResponse, StreamChunk, ToolCall, Usage
from llmring.testing import Recording, iter_recordings, load_recording
from tests.conftest import RECORDINGS
from tests.providers.invariants import run_parser, with_response
from tests.providers.recorded import check_complete, check_failing
from tests.replay_parse import payloads

STREAMS = [
    recording
    for recording in iter_recordings(RECORDINGS / "google")
    if recording.path.suffix == ".sse"
]
COMPLETE = [recording for recording in STREAMS if "error" not in recording.expect]
FAILING = [recording for recording in STREAMS if "error" in recording.expect]


def _last_usage_metadata(recording: Recording) -> dict[str, Any] | None:
    sent = [json.loads(payload).get("usageMetadata") for payload in payloads(recording)]
    return next((usage for usage in reversed(sent) if usage is not None), None)


def test_the_needed_scenarios_are_recorded() -> None:
    names = {recording.scenario for recording in STREAMS}
    assert {
        "text",
        "utf8",
        "tool-call",
        "parallel-tool-calls",
        "max-tokens",
        "thinking",
        "error-midstream",
        "truncated",
        "blocked-prompt",
        "streamed-args",
    } <= names


@pytest.mark.parametrize("recording", COMPLETE, ids=lambda recording: recording.scenario)
def test_recording_assembles_to_expected(recording: Recording) -> None:
    parser = GoogleStreamParser(recording.model)
    response = check_complete(parser, recording, recording.model)
    assert response.usage is not None
    assert response.usage.raw == _last_usage_metadata(recording)


@pytest.mark.parametrize("recording", FAILING, ids=lambda recording: recording.scenario)
def test_failing_recording_raises_and_keeps_partial(recording: Recording) -> None:
    check_failing(GoogleStreamParser("m"), recording)


def test_text_chunks_exactly() -> None:
    parser = GoogleStreamParser("gemini-2.5-flash")
    chunks = run_parser(parser, payloads(load_recording(RECORDINGS / "google" / "text.sse")))
    model = "gemini-2.5-flash"
    raw = {
        "promptTokenCount": 8,
        "candidatesTokenCount": 18,
        "totalTokenCount": 53,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}],
        "thoughtsTokenCount": 27,
    }
    assert chunks == with_response(
        [
            StreamChunk(delta="The capital of Japan is", model=model),
            StreamChunk(delta=" Tokyo. It has been the seat", model=model),
            StreamChunk(delta=" of government since 1868.", model=model),
            StreamChunk(
                model=model,
                finish_reason="stop",
                raw_finish_reason="STOP",
                usage=Usage(
                    prompt_tokens=8,
                    completion_tokens=45,
                    total_tokens=53,
                    reasoning_tokens=27,
                    raw=raw,
                ),
                response_id="pYhfacKxGv2qtsPk4WJgQk",
                served_model="gemini-2.5-flash",
            ),
        ]
    )


def test_thinking_goes_to_reasoning_never_delta() -> None:
    parser = GoogleStreamParser("m")
    chunks = run_parser(parser, payloads(load_recording(RECORDINGS / "google" / "thinking.sse")))
    assert [(chunk.delta, chunk.reasoning is not None) for chunk in chunks[:-1]] == [
        ("", True),
        ("", True),
        ("No. 1001 is not prime:", False),
        (" 1001 = 7 \u00d7 11 \u00d7 13.", False),
    ]


def test_streamed_call_ids_are_positions() -> None:
    parser = GoogleStreamParser("m")
    run_parser(parser, payloads(load_recording(RECORDINGS / "google" / "streamed-args.sse")))
    assert parser.snapshot().tool_calls == [
        ToolCall(
            id="call_0",
            function=FunctionCall(
                name="book_table",
                arguments='{"restaurant":"Chez Léon \\"Le Petit\\"","party":{"size":4,'
                '"names":["Ana","Bo"]},"outdoor":true,"note":null}',
            ),
        ),
        ToolCall(
            id="call_1",
            function=FunctionCall(name="get_time", arguments='{"timezone":"Europe/Paris"}'),
        ),
    ]


# --- hand-made payloads for the edges --------------------------------------------------


def _chunk(*parts: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
    candidate: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}}
    if finish is not None:
        candidate["finishReason"] = finish
    candidate.update(extra)
    return json.dumps({"candidates": [candidate]})


def test_only_the_last_usage_counts() -> None:
    def usage(prompt: int, candidates: int) -> dict[str, int]:
        return {"promptTokenCount": prompt, "candidatesTokenCount": candidates}

    parser = GoogleStreamParser("m")
    chunks = run_parser(
        parser,
        [
            json.dumps(
                {
                    "candidates": [{"content": {"parts": [{"text": "a"}]}}],
                    "usageMetadata": usage(20, 1),
                }
            ),
            json.dumps({"candidates": [{"content": {"parts": [{"text": "b"}]}}]}),
            json.dumps(
                {
                    "candidates": [{"content": {"parts": [{"text": "c"}]}, "finishReason": "STOP"}],
                    "usageMetadata": usage(18, 3),
                }
            ),
        ],
    )
    assert chunks[-1].usage == Usage(
        prompt_tokens=18, completion_tokens=3, total_tokens=21, raw=usage(18, 3)
    )


def test_tool_use_prompt_and_cached_tokens() -> None:
    metadata = {
        "promptTokenCount": 17,
        "candidatesTokenCount": 5,
        "toolUsePromptTokenCount": 100,
        "cachedContentTokenCount": 12,
        "thoughtsTokenCount": 40,
        "totalTokenCount": 162,
    }
    parser = GoogleStreamParser("m")
    payload = json.loads(_chunk({"text": "x"}, finish="STOP"))
    chunks = run_parser(parser, [json.dumps({**payload, "usageMetadata": metadata})])
    assert chunks[-1].usage == Usage(
        prompt_tokens=117,
        completion_tokens=45,
        total_tokens=162,
        cached_tokens=12,
        reasoning_tokens=40,
        raw=metadata,
    )


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("LANGUAGE", "content_filter"),
        ("FINISH_REASON_UNSPECIFIED", "stop"),
        ("SOMETHING_NEW", "stop"),
    ],
)
def test_finish_reasons(raw: str, normalized: str) -> None:
    parser = GoogleStreamParser("m")
    chunks = run_parser(parser, [_chunk({"text": "x"}, finish=raw)])
    assert (chunks[-1].finish_reason, chunks[-1].raw_finish_reason) == (normalized, raw)


@pytest.mark.parametrize("raw", ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "OTHER"])
def test_error_finish_reasons_raise_naming_the_reason(raw: str) -> None:
    parser = GoogleStreamParser("m")
    parser.feed(_chunk({"text": "so far"}))
    with pytest.raises(ProviderResponseError) as info:
        parser.feed(_chunk({"text": " more"}, finish=raw, finishMessage="details here"))
    assert str(info.value) == f"Gemini stopped with finishReason {raw}: details here"
    assert parser.snapshot().content == "so far more"


@pytest.mark.parametrize(
    ("error", "error_class", "retry_after"),
    [
        (
            {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"},
            ProviderOverloadedError,
            None,
        ),
        (
            {
                "code": 429,
                "message": "quota",
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.5s"}
                ],
            },
            ProviderRateLimitError,
            2.5,
        ),
        (
            {
                "code": 400,
                "message": "bad key",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                    }
                ],
            },
            ProviderAuthenticationError,
            None,
        ),
        ({"message": "no code"}, ProviderResponseError, None),
    ],
)
def test_in_band_error_raises_by_code(
    error: dict[str, Any], error_class: type[ProviderError], retry_after: float | None
) -> None:
    parser = GoogleStreamParser("m")
    parser.feed(_chunk({"text": "partial"}))
    with pytest.raises(ProviderError) as info:
        parser.feed(json.dumps({"error": error}))
    assert type(info.value) is error_class
    assert info.value.message == error["message"]
    assert getattr(info.value, "retry_after", None) == retry_after
    assert parser.snapshot().content == "partial"


def test_malformed_payload_raises_with_excerpt() -> None:
    parser = GoogleStreamParser("m")
    with pytest.raises(ProviderResponseError) as info:
        parser.feed('{"candidates": [{"content": {"parts": "nope"}}]}')
    assert "malformed Gemini response" in str(info.value)
    assert '"parts": "nope"' in str(info.value)
    with pytest.raises(ProviderResponseError):
        parser.feed("not json")


def test_end_without_finish_reason_raises() -> None:
    parser = GoogleStreamParser("m")
    parser.feed(_chunk({"text": "cut"}))
    with pytest.raises(ProviderResponseError, match="stream ended before a finishReason"):
        parser.finish()
    assert parser.snapshot() == LLMResponse(content="cut", model="m")


def test_feed_or_finish_after_finish_raises() -> None:
    parser = GoogleStreamParser("m")
    run_parser(parser, [_chunk({"text": "x"}, finish="STOP")])
    with pytest.raises(ProviderResponseError):
        parser.feed(_chunk({"text": "late"}))
    with pytest.raises(ProviderResponseError):
        parser.finish()


def test_chunks_after_the_finish_reason_still_count_until_the_end() -> None:
    parser = GoogleStreamParser("m")
    chunks = run_parser(
        parser,
        [
            _chunk({"text": "x"}, finish="STOP"),
            json.dumps({"usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1}}),
        ],
    )
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 4
