"""Gemini's non-streaming ``generateContent`` body, and its agreement with the stream path."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmring.exceptions import ProviderOverloadedError, ProviderResponseError
from llmring.providers.google import GoogleProvider, GoogleStreamParser
from llmring.schemas import Continuation, FunctionCall, LLMResponse, ToolCall, Usage
from llmring.testing import Recording, iter_recordings
from tests.conftest import RECORDINGS
from tests.expectations import response_summary
from tests.providers.invariants import run_parser

COMPLETE = [
    recording
    for recording in iter_recordings(RECORDINGS / "google")
    if recording.path.name.startswith("complete-")
]


def _parse(body: bytes | str, model: str = "m") -> LLMResponse:
    if isinstance(body, str):
        body = body.encode()
    return GoogleProvider(api_key="k").parse_response(body, model)


def test_complete_recordings_exist() -> None:
    assert sorted(recording.scenario for recording in COMPLETE) == [
        "complete-text",
        "complete-tool-call",
    ]


@pytest.mark.parametrize("recording", COMPLETE, ids=lambda recording: recording.scenario)
def test_complete_recording_matches_expect(recording: Recording) -> None:
    response = _parse(recording.body)
    assert response_summary(response) == recording.expect
    assert response.usage is not None
    assert response.usage.raw == json.loads(recording.body)["usageMetadata"]


@pytest.mark.parametrize("recording", COMPLETE, ids=lambda recording: recording.scenario)
def test_complete_body_as_one_stream_payload_gives_the_same_response(
    recording: Recording,
) -> None:
    parser = GoogleStreamParser("m")
    run_parser(parser, [recording.body.decode()])
    assert parser.snapshot() == _parse(recording.body)


def test_complete_tool_call_whole() -> None:
    body = next(r for r in COMPLETE if r.scenario == "complete-tool-call").body
    assert _parse(body, "gemini-2.5-flash") == LLMResponse(
        model="gemini-2.5-flash",
        finish_reason="tool_calls",
        raw_finish_reason="STOP",
        tool_calls=[
            ToolCall(
                id="call_0",
                function=FunctionCall(
                    name="get_weather", arguments='{"city":"Paris","unit":"celsius"}'
                ),
            )
        ],
        usage=Usage(
            prompt_tokens=41,
            completion_tokens=76,
            total_tokens=117,
            cached_tokens=32,
            reasoning_tokens=54,
            raw=json.loads(body)["usageMetadata"],
        ),
        continuation=Continuation(
            provider="google",
            items=[
                {
                    "part": "functionCall",
                    "call": 0,
                    "thoughtSignature": json.loads(body)["candidates"][0]["content"]["parts"][0][
                        "thoughtSignature"
                    ],
                }
            ],
        ),
        response_id="U2BfaNqYDM-Q_uMP1Y2zuQ4",
        served_model="gemini-2.5-flash",
    )


def test_thought_parts_and_blocked_prompt() -> None:
    thought = {
        "candidates": [
            {
                "content": {"parts": [{"text": "hmm", "thought": True}, {"text": "yes"}]},
                "finishReason": "STOP",
            }
        ]
    }
    assert _parse(json.dumps(thought)) == LLMResponse(
        content="yes", reasoning="hmm", model="m", finish_reason="stop", raw_finish_reason="STOP"
    )
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}}
    assert _parse(json.dumps(blocked)) == LLMResponse(
        model="m", finish_reason="content_filter", raw_finish_reason="SAFETY"
    )


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (
            {"candidates": [{"content": {"parts": [{"text": "x"}]}}]},
            ProviderResponseError,
            "no finishReason",
        ),
        ({}, ProviderResponseError, "no finishReason"),
        (
            {"candidates": [{"finishReason": "MALFORMED_FUNCTION_CALL"}]},
            ProviderResponseError,
            "finishReason MALFORMED_FUNCTION_CALL",
        ),
        ({"error": {"code": 500, "message": "internal"}}, ProviderOverloadedError, "internal"),
        ({"candidates": "x"}, ProviderResponseError, "malformed Gemini response"),
    ],
)
def test_unusable_bodies_raise(body: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        _parse(json.dumps(body))
    assert message in str(info.value)


def test_non_json_body_raises() -> None:
    with pytest.raises(ProviderResponseError, match="malformed Gemini response: '<html>"):
        _parse(b"<html>oops</html>")
