"""Ollama ``"stream": false`` bodies through ``parse_response``."""

from __future__ import annotations

import json

import pytest

from llmring.exceptions import ProviderResponseError
from llmring.providers.ollama import OllamaProvider, OllamaStreamParser
from llmring.schemas import Continuation, FunctionCall, LLMResponse, ToolCall, Usage
from llmring.testing import load_recording
from tests.conftest import RECORDINGS
from tests.expectations import response_summary
from tests.providers.invariants import run_parser

DIR = RECORDINGS / "ollama"


def _parse(body: bytes, model: str) -> LLMResponse:
    return OllamaProvider(environ={}).parse_response(body, model)


def test_complete_text() -> None:
    recording = load_recording(DIR / "complete-text.json")
    assert _parse(recording.body, "llama3.2") == LLMResponse(
        content=recording.expect["text"],
        model="llama3.2",
        finish_reason="stop",
        raw_finish_reason="stop",
        usage=Usage(
            prompt_tokens=30,
            completion_tokens=8,
            total_tokens=38,
            raw={
                "prompt_eval_count": 30,
                "eval_count": 8,
                "total_duration": 318845500,
                "load_duration": 19022792,
                "prompt_eval_duration": 71930000,
                "eval_duration": 212374083,
            },
        ),
        served_model="llama3.2",  # Ollama's responses have no id
    )


def test_complete_tool_call_with_thinking() -> None:
    recording = load_recording(DIR / "complete-tool-call.json")
    response = _parse(recording.body, "qwen3:8b")
    assert response.model_dump(exclude={"usage"}) == LLMResponse(
        content="",
        model="qwen3:8b",
        reasoning="The user asks for the time in Tokyo. I should call get_time.",
        finish_reason="tool_calls",
        raw_finish_reason="stop",
        tool_calls=[
            ToolCall(
                id="call_x9k3p2wq",
                function=FunctionCall(name="get_time", arguments='{"timezone":"Asia/Tokyo"}'),
            )
        ],
        continuation=Continuation(
            provider="ollama",
            items=[{"thinking": "The user asks for the time in Tokyo. I should call get_time."}],
        ),
        served_model="qwen3:8b",
    ).model_dump(exclude={"usage"})
    assert response_summary(response) == recording.expect


@pytest.mark.parametrize("name", ["complete-text.json", "complete-tool-call.json"])
def test_complete_body_parses_like_a_one_line_stream(name: str) -> None:
    body = load_recording(DIR / name).body
    parser = OllamaStreamParser("m")
    run_parser(parser, [body.decode().strip()])
    assert _parse(body, "m") == parser.snapshot()


def test_a_streamed_line_is_not_a_complete_response() -> None:
    body = json.dumps({"model": "m", "message": {"content": "Hi"}, "done": False}).encode()
    with pytest.raises(ProviderResponseError, match="not done"):
        _parse(body, "m")


def test_error_object_with_status_200_raises_its_text() -> None:
    with pytest.raises(ProviderResponseError, match=r"^model runner has unexpectedly stopped$"):
        _parse(b'{"error":"model runner has unexpectedly stopped"}', "m")


def test_ndjson_where_one_object_was_expected_is_malformed() -> None:
    body = load_recording(DIR / "text.ndjson").body
    with pytest.raises(ProviderResponseError, match="unexpected Ollama line"):
        _parse(body, "llama3.2")
