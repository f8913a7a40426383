"""OpenAI Responses API: non-streaming Response objects and error bodies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmring.exceptions import (
    ModelNotFoundError,
    ProviderOverloadedError,
    ProviderResponseError,
)
from llmring.providers.base import ErrorInfo
from llmring.providers.openai_responses import OpenAIResponsesProvider
from llmring.schemas import FunctionCall, LLMResponse, ToolCall, Usage
from llmring.testing import load_recording
from tests.conftest import RECORDINGS, SHARED_WIRE
from tests.expectations import response_summary

OWN = RECORDINGS / "openai-responses"
PROVIDER = OpenAIResponsesProvider(api_key="k")
COMPLETE = [OWN / "complete-text.json", OWN / "complete-tool-call.json"]


@pytest.mark.parametrize("path", COMPLETE, ids=lambda path: path.stem)
def test_complete_recording(path: Path) -> None:
    recording = load_recording(path)
    assert recording.meta["mode"] == "complete"
    assert response_summary(PROVIDER.parse_response(recording.body, "m")) == recording.expect


def test_tool_call_response_whole() -> None:
    body = (OWN / "complete-tool-call.json").read_bytes()
    assert PROVIDER.parse_response(body, "gpt-4o-mini") == LLMResponse(
        model="gpt-4o-mini",
        response_id="resp_0b8e1c4f7a0d3b6900690a21f3a6d9c2e5b8f1a4d7c0e3b6f9",
        served_model="gpt-4o-mini-2024-07-18",
        finish_reason="tool_calls",
        raw_finish_reason="completed",
        usage=Usage(
            prompt_tokens=67,
            completion_tokens=38,
            total_tokens=105,
            cached_tokens=0,
            reasoning_tokens=0,
            raw=json.loads(body)["usage"],
        ),
        tool_calls=[
            ToolCall(
                id="call_Lm3Np5Qr7St9Uv1Wx3Yz5Ab7",
                function=FunctionCall(name="get_weather", arguments='{"city":"Oslo"}'),
            ),
            ToolCall(
                id="call_Cd9Ef1Gh3Ij5Kl7Mn9Op1Qr3",
                function=FunctionCall(name="get_local_time", arguments="{}"),
            ),
        ],
    )


def test_incomplete_refusal_and_builtin_items() -> None:
    body = json.dumps(
        {
            "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"},
            "output": [
                {"type": "web_search_call", "id": "ws_1", "status": "completed"},
                {
                    "type": "message",
                    "content": [
                        {"type": "refusal", "refusal": "I can't."},
                        {"type": "output_text", "text": "Partial"},
                    ],
                },
            ],
            "usage": None,
        }
    ).encode()
    assert PROVIDER.parse_response(body, "m") == LLMResponse(
        content="Partial",
        refusal="I can't.",
        model="m",
        finish_reason="length",
        raw_finish_reason="max_output_tokens",
    )


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (b"<html>", ProviderResponseError, "malformed response object: '<html>'"),
        (
            b'{"status": "in_progress"}',
            ProviderResponseError,
            "the response ended with status 'in_progress'",
        ),
        (
            b'{"status": "failed", "error": {"code": "server_error", "message": "Oops."}}',
            ProviderOverloadedError,
            "Oops.",
        ),
        (b'{"status": "failed", "error": null}', ProviderResponseError, "the response failed"),
    ],
)
def test_unusable_bodies(body: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        PROVIDER.parse_response(body, "m")
    assert str(caught.value) == message


def test_own_401() -> None:
    recording = load_recording(OWN / "error-401.json")
    info = PROVIDER.error_info(recording.body)
    assert recording.expect["message_contains"] in (info.message or "")
    assert (info.error_type, info.error_class) == ("invalid_request_error", None)


def test_shared_400_model_not_found_is_a_missing_model() -> None:
    path = SHARED_WIRE / "openai-responses" / "error-400-model-not-found.json"
    if not path.exists():
        pytest.skip("../shared/wire not present")
    assert PROVIDER.error_info(path.read_bytes()) == ErrorInfo(
        message="The requested model 'this-model-does-not-exist-12345' does not exist.",
        error_type="invalid_request_error",
        error_class=ModelNotFoundError,
    )
