"""OpenAI Chat Completions non-streaming bodies -> LLMResponse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmring.exceptions import ProviderRateLimitError, ProviderResponseError
from llmring.providers.openai import OpenAIProvider
from llmring.schemas import FunctionCall, LLMResponse, ToolCall, Usage
from llmring.testing import load_recording
from tests.conftest import RECORDINGS
from tests.expectations import response_summary

COMPLETE = sorted(
    path
    for path in (RECORDINGS / "openai").glob("*.json")
    if not path.name.endswith(".meta.json")
    and path.name != "cassette.json"
    and load_recording(path).meta.get("mode") == "complete"
)


def test_complete_recordings_exist() -> None:
    assert {"complete-text", "complete-tool-call"} <= {path.stem for path in COMPLETE}


@pytest.mark.parametrize("path", COMPLETE, ids=lambda path: path.stem)
def test_complete_recording(path: Path) -> None:
    recording = load_recording(path)
    response = OpenAIProvider(api_key="k").parse_response(recording.body, "gpt-4o-mini")
    assert response_summary(response) == recording.expect


def test_tool_call_response_whole() -> None:
    body = (RECORDINGS / "openai" / "complete-tool-call.json").read_bytes()
    response = OpenAIProvider(api_key="k").parse_response(body, "gpt-4o-mini")
    raw = json.loads(body)["usage"]
    assert response == LLMResponse(
        content="",
        model="gpt-4o-mini",
        finish_reason="tool_calls",
        raw_finish_reason="tool_calls",
        usage=Usage(
            prompt_tokens=88,
            completion_tokens=52,
            total_tokens=140,
            cached_tokens=0,
            reasoning_tokens=0,
            raw=raw,
        ),
        tool_calls=[
            ToolCall(
                id="call_Pz8xC6vB4nM2qW0eR8tY6uI4",
                function=FunctionCall(
                    name="get_weather", arguments='{"city":"Tokyo","unit":"celsius"}'
                ),
            ),
            ToolCall(
                id="call_Oa1sD3fG5hJ7kL9zX1cV3bN5",
                function=FunctionCall(name="get_time", arguments='{"timezone":"Asia/Tokyo"}'),
            ),
        ],
        response_id="chatcmpl-Bx7a0sR5qP7oI9uY1tR3eW5qA7sD9",
        served_model="gpt-4o-mini-2024-07-18",
    )


def test_compatible_server_reasoning_and_refusal() -> None:
    body = json.dumps(
        {
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "reasoning_content": "hmm",
                        "refusal": "No.",
                    },
                    "finish_reason": "stop",
                }
            ]
        }
    ).encode()
    assert OpenAIProvider(api_key="k").parse_response(body, "m") == LLMResponse(
        model="m", reasoning="hmm", refusal="No.", finish_reason="stop", raw_finish_reason="stop"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>502</html>", "malformed chat completion: '<html>502</html>'"),
        (b'{"choices": []}', "chat completion has no finished choice"),
        (
            b'{"choices": [{"index": 0, "message": {"content": "x"}, "finish_reason": null}]}',
            "chat completion has no finished choice",
        ),
    ],
)
def test_unusable_bodies(body: bytes, message: str) -> None:
    with pytest.raises(ProviderResponseError) as caught:
        OpenAIProvider(api_key="k").parse_response(body, "m")
    assert caught.value.message == message


def test_error_object_in_a_200_body() -> None:
    body = b'{"error": {"message": "Please try again in 250ms", "code": "rate_limit_exceeded"}}'
    with pytest.raises(ProviderRateLimitError) as caught:
        OpenAIProvider(api_key="k").parse_response(body, "m")
    assert (caught.value.message, caught.value.retry_after) == ("Please try again in 250ms", 0.25)
