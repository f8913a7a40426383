"""AnthropicStreamParser: recorded SSE bodies in, chunks out (pure, no HTTP)."""

from __future__ import annotations

import json

import pytest

from llmring.exceptions import (
    ModelNotFoundError,
    ProviderAuthenticationError,
    ProviderBadRequestError,
    ProviderError,
    ProviderOverloadedError,
    ProviderRateLimitError,
    ProviderResponseError,
)
from llmring.providers.anthropic import AnthropicProvider
from llmring.providers.anthropic.stream import AnthropicStreamParser
from llmring.schemas import FunctionCall, StreamChunk, ToolCall, Usage
from llmring.testing import Recording, load_recording, rechunk
from tests.conftest import RECORDINGS
from tests.providers.invariants import run_parser, with_response
from tests.providers.recorded import check_complete, check_failing
from tests.replay_parse import payloads

DIR = RECORDINGS / "anthropic"
MODEL = "claude-sonnet-4-5"
STREAMS = sorted(path.stem for path in DIR.glob("*.sse"))
COMPLETE_STREAMS = [
    name for name in STREAMS if "error" not in load_recording(DIR / f"{name}.sse").expect
]
FAILING_STREAMS = [name for name in STREAMS if name not in COMPLETE_STREAMS]


def load(name: str) -> Recording:
    return load_recording(DIR / f"{name}.sse")


@pytest.mark.parametrize("name", COMPLETE_STREAMS)
def test_recording_assembles_to_its_expected_response(name: str) -> None:
    response = check_complete(AnthropicStreamParser(MODEL), load(name), MODEL)
    assert response.refusal is None


@pytest.mark.parametrize("name", FAILING_STREAMS)
def test_failing_recording_raises_with_the_partial_text(name: str) -> None:
    parser = AnthropicStreamParser(MODEL)
    check_failing(parser, load(name))
    assert parser.snapshot().finish_reason is None


def test_text_chunks_in_full() -> None:
    chunks = run_parser(AnthropicStreamParser(MODEL), payloads(load("text")))
    raw = {
        "input_tokens": 14,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 10,
        "service_tier": "standard",
    }
    assert chunks == with_response(
        [
            StreamChunk(delta="Paris", model=MODEL),
            StreamChunk(delta=" is the capital", model=MODEL),
            StreamChunk(delta=" of France.", model=MODEL),
            StreamChunk(
                model=MODEL,
                finish_reason="stop",
                raw_finish_reason="end_turn",
                usage=Usage(
                    prompt_tokens=14,
                    completion_tokens=10,
                    total_tokens=24,
                    cached_tokens=0,
                    cache_write_tokens=0,
                    raw=raw,
                ),
                response_id="msg_01Tq8pXh3ZbWkLm4Nc7Rv2Ea",
                served_model="claude-sonnet-4-5-20250929",
            ),
        ]
    )


def test_parallel_calls_keep_their_ids_and_order() -> None:
    chunks = run_parser(AnthropicStreamParser(MODEL), payloads(load("parallel-tool-calls")))
    assert chunks[-1].tool_calls == [
        ToolCall(
            id="toolu_01Fa2Kc7Hm4Qs9Vt3Xw6Yb1N",
            function=FunctionCall(name="get_weather", arguments='{"city": "Paris"}'),
        ),
        ToolCall(
            id="toolu_01Lr8Dz5Jn3Pw7Bx2Cv9Tg4Q",
            function=FunctionCall(name="get_weather", arguments='{"city": "Tokyo"}'),
        ),
    ]


def test_tool_with_only_an_empty_input_delta_gets_an_empty_object() -> None:
    chunks = run_parser(AnthropicStreamParser(MODEL), payloads(load("tool-no-args")))
    assert chunks[-1].tool_calls == [
        ToolCall(
            id="toolu_01Nm3Qv8Rk5Wz2Ht7Yc4Bp9D",
            function=FunctionCall(name="get_time", arguments="{}"),
        )
    ]


def test_thinking_goes_to_reasoning_and_the_signature_nowhere() -> None:
    chunks = run_parser(AnthropicStreamParser(MODEL), payloads(load("thinking")))
    assert [(chunk.delta, chunk.reasoning) for chunk in chunks[:-1]] == [
        ("", "The user wants 17 times 3."),
        ("", " 17 * 3 = 51, and 51 is odd."),
        ("17 \u00d7 3 = 51", None),
        (", an odd number.", None),
    ]


def test_cache_fields_of_message_delta_win_over_message_start() -> None:
    parser = AnthropicStreamParser(MODEL)
    run_parser(parser, payloads(load("cache-usage")))
    assert parser.snapshot().usage == Usage(
        prompt_tokens=9 + 4096 + 700,
        completion_tokens=41,
        total_tokens=4846,
        cached_tokens=4096,
        cache_write_tokens=700,
        reasoning_tokens=0,
        raw={
            "input_tokens": 9,
            "cache_creation_input_tokens": 700,
            "cache_read_input_tokens": 4096,
            "cache_creation": {"ephemeral_5m_input_tokens": 512, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 41,
            "service_tier": "standard",
            "output_tokens_details": {"thinking_tokens": 0},
        },
    )


def test_message_delta_with_only_output_tokens_keeps_the_input_count() -> None:
    parser = AnthropicStreamParser(MODEL)
    run_parser(parser, payloads(load("max-tokens")))
    usage = parser.snapshot().usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (18, 20, 38)
    assert usage.raw is not None
    assert (usage.raw["input_tokens"], usage.raw["output_tokens"]) == (18, 20)


def test_usage_is_in_the_snapshot_before_the_end() -> None:
    parser = AnthropicStreamParser(MODEL)
    for payload in payloads(load("truncated")):
        parser.feed(payload)
    usage = parser.snapshot().usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (19, 1)


def test_utf8_split_at_every_byte_gives_the_same_payloads() -> None:
    recording = load("utf8")
    whole = payloads(recording)
    assert payloads(recording, rechunk(recording.body, range(len(recording.body)))) == whole


# --- error paths -----------------------------------------------------------------------------

START = '{"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}}'
TEXT_START = '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'
TEXT = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}'


def error_event(error_type: str, message: str = "boom") -> str:
    return json.dumps(
        {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_1"}
    )


@pytest.mark.parametrize(
    ("error_type", "error_class"),
    [
        ("overloaded_error", ProviderOverloadedError),
        ("rate_limit_error", ProviderRateLimitError),
        ("api_error", ProviderOverloadedError),
        ("authentication_error", ProviderAuthenticationError),
        ("permission_error", ProviderAuthenticationError),
        ("not_found_error", ModelNotFoundError),
        ("invalid_request_error", ProviderBadRequestError),
        ("request_too_large", ProviderBadRequestError),
        ("some_future_error", ProviderResponseError),
    ],
)
def test_error_event_raises_the_class_of_its_type(
    error_type: str, error_class: type[ProviderError]
) -> None:
    parser = AnthropicStreamParser(MODEL)
    for payload in (START, TEXT_START, TEXT):
        parser.feed(payload)
    with pytest.raises(ProviderError) as caught:
        parser.feed(error_event(error_type, "Something broke"))
    assert type(caught.value) is error_class
    assert caught.value.message == f"Something broke ({error_type})"
    assert caught.value.request_id == "req_1"
    assert parser.snapshot().content == "Hi"


def test_shared_midstream_overloaded_keeps_the_partial() -> None:
    parser = AnthropicStreamParser(MODEL)
    with pytest.raises(ProviderOverloadedError) as caught:
        run_parser(parser, payloads(load("error-midstream")))
    assert caught.value.message == "Overloaded (overloaded_error)"
    assert caught.value.request_id == "req_011CZq7Tn3Wx5Kb8Hm2Rv4Yd"


def test_end_without_message_stop_is_an_error() -> None:
    parser = AnthropicStreamParser(MODEL)
    for payload in (START, TEXT_START, TEXT):
        parser.feed(payload)
    with pytest.raises(ProviderResponseError, match="stream ended before message_stop"):
        parser.finish()


@pytest.mark.parametrize(
    "payload",
    [
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"',
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}}',
        '{"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}',
        '{"index":0}',
        "[1, 2]",
        "not json",
    ],
)
def test_malformed_event_is_a_response_error_quoting_the_payload(payload: str) -> None:
    parser = AnthropicStreamParser(MODEL)
    parser.feed(START)
    with pytest.raises(ProviderResponseError) as caught:
        parser.feed(payload)
    assert repr(payload[:20])[1:-1] in caught.value.message


def test_unknown_event_and_delta_types_are_skipped() -> None:
    parser = AnthropicStreamParser(MODEL)
    chunks = run_parser(
        parser,
        [
            START,
            '{"type":"brand_new_event","data":1}',
            TEXT_START,
            '{"type":"content_block_delta","index":0,"delta":{"type":"brand_new_delta","x":1}}',
            TEXT,
            '{"type":"content_block_stop","index":0}',
            '{"type":"message_delta","delta":{"stop_reason":"brand_new_reason"},"usage":{"output_tokens":3}}',
            '{"type":"message_stop"}',
        ],
    )
    assert [chunk.delta for chunk in chunks] == ["Hi", ""]
    assert (chunks[-1].finish_reason, chunks[-1].raw_finish_reason) == ("stop", "brand_new_reason")


def test_input_for_a_block_that_never_started_is_an_error() -> None:
    parser = AnthropicStreamParser(MODEL)
    parser.feed(START)
    with pytest.raises(ProviderResponseError, match="content block 3, which never started"):
        parser.feed(
            '{"type":"content_block_delta","index":3,'
            '"delta":{"type":"input_json_delta","partial_json":"{}"}}'
        )


def test_a_block_started_twice_is_an_error() -> None:
    parser = AnthropicStreamParser(MODEL)
    parser.feed(START)
    parser.feed(TEXT_START)
    with pytest.raises(ProviderResponseError, match="content block 0 started twice"):
        parser.feed(TEXT_START)


def test_feed_after_the_end_is_an_error() -> None:
    parser = AnthropicStreamParser(MODEL)
    run_parser(parser, payloads(load("text")))
    with pytest.raises(ProviderResponseError, match="after the end"):
        parser.feed(TEXT)


def test_initial_text_of_a_block_is_text() -> None:
    chunks = run_parser(
        AnthropicStreamParser(MODEL),
        [
            START,
            '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Hel"}}',
            '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}',
            '{"type":"message_stop"}',
        ],
    )
    assert [chunk.delta for chunk in chunks] == ["Hel", "lo", ""]
    assert (chunks[-1].finish_reason, chunks[-1].raw_finish_reason) == ("stop", None)


def test_provider_makes_a_fresh_parser() -> None:
    provider = AnthropicProvider(api_key="test-key")
    first, second = provider.stream_parser(MODEL), provider.stream_parser(MODEL)
    assert isinstance(first, AnthropicStreamParser)
    assert first is not second
