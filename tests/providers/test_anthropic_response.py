"""Non-streaming Anthropic bodies, and their agreement with the streamed ones."""

from __future__ import annotations

import pytest

from llmring.exceptions import ProviderResponseError
from llmring.providers.anthropic import AnthropicProvider
from llmring.providers.anthropic.response import FINISH_REASONS, finish_reason
from llmring.providers.anthropic.stream import AnthropicStreamParser
from llmring.schemas import Continuation, FunctionCall, LLMResponse, ToolCall, Usage
from llmring.testing import load_recording
from tests.conftest import RECORDINGS
from tests.expectations import response_summary
from tests.providers.invariants import run_parser
from tests.providers.test_anthropic_stream import MODEL, load
from tests.replay_parse import payloads

DIR = RECORDINGS / "anthropic"
COMPLETE = ["complete-text", "complete-tool-call"]


def parse(name: str) -> LLMResponse:
    recording = load_recording(DIR / f"{name}.json")
    assert recording.headers["content-type"] == "application/json"
    return AnthropicProvider(api_key="k").parse_response(recording.body, MODEL)


@pytest.mark.parametrize("name", COMPLETE)
def test_complete_body_matches_its_expectation(name: str) -> None:
    assert response_summary(parse(name)) == load_recording(DIR / f"{name}.json").expect


def test_complete_tool_call_in_full() -> None:
    assert parse("complete-tool-call") == LLMResponse(
        content="Let me check both cities.",
        model=MODEL,
        finish_reason="tool_calls",
        raw_finish_reason="tool_use",
        usage=Usage(
            prompt_tokens=402,
            completion_tokens=96,
            total_tokens=498,
            cached_tokens=0,
            cache_write_tokens=0,
            raw={
                "input_tokens": 402,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                "output_tokens": 96,
                "service_tier": "standard",
            },
        ),
        tool_calls=[
            ToolCall(
                id="toolu_01Cz6Hq3Wn9Rt2Vx5Kb8Mp4F",
                function=FunctionCall(name="get_weather", arguments='{"city":"Paris"}'),
            ),
            ToolCall(
                id="toolu_01Tv4Bk7Xq2Mw9Hn3Rc6Zd8J",
                function=FunctionCall(
                    name="get_weather", arguments='{"city":"Tokyo","unit":"celsius"}'
                ),
            ),
        ],
        response_id="msg_01Jp5Tx2Vm8Kc4Wn7Hb3Qr9D",
        served_model="claude-sonnet-4-5-20250929",
    )


def test_complete_and_streamed_text_agree() -> None:
    stream = AnthropicStreamParser(MODEL)
    run_parser(stream, payloads(load("text")))
    # Two separate responses: the same answer under different ids.
    assert parse("complete-text").response_id == "msg_01Fh7Wc3Nq9Xk2Bt5Rv8Mz4J"
    assert parse("complete-text").model_copy(update={"response_id": None}) == (
        stream.snapshot().model_copy(update={"response_id": None})
    )


def test_thinking_redacted_and_server_blocks() -> None:
    body = (
        b'{"type":"message","content":['
        b'{"type":"thinking","thinking":"Check: 2+2=4.","signature":"c2ln"},'
        b'{"type":"redacted_thinking","data":"ZW5j"},'
        b'{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"x"}},'
        b'{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[]},'
        b'{"type":"text","text":"4"}],'
        b'"stop_reason":"pause_turn","usage":{"input_tokens":7,"output_tokens":30}}'
    )
    assert AnthropicProvider(api_key="k").parse_response(body, MODEL) == LLMResponse(
        content="4",
        model=MODEL,
        reasoning="Check: 2+2=4.",
        finish_reason="stop",
        raw_finish_reason="pause_turn",
        usage=Usage(
            prompt_tokens=7,
            completion_tokens=30,
            total_tokens=37,
            raw={"input_tokens": 7, "output_tokens": 30},
        ),
        continuation=Continuation(
            provider="anthropic",
            items=[
                {"type": "thinking", "thinking": "Check: 2+2=4.", "signature": "c2ln"},
                {"type": "redacted_thinking", "data": "ZW5j"},
            ],
        ),
    )


@pytest.mark.parametrize(
    "body",
    [b"", b"<html>502</html>", b'{"type":"message","content":"hi"}', b'{"type":"error"}'],
)
def test_unusable_body_is_a_response_error(body: bytes) -> None:
    with pytest.raises(ProviderResponseError, match="unexpected Anthropic response body"):
        AnthropicProvider(api_key="k").parse_response(body, MODEL)


def test_finish_reason_table() -> None:
    assert FINISH_REASONS == {
        "end_turn": "stop",
        "stop_sequence": "stop",
        "pause_turn": "stop",
        "max_tokens": "length",
        "model_context_window_exceeded": "length",
        "tool_use": "tool_calls",
        "refusal": "content_filter",
    }
    assert [finish_reason(None), finish_reason("something_new")] == ["stop", "stop"]
