"""``Usage``, ``ToolCall`` and ``FunctionCall`` read as dicts too, as the published API does.

../shared/spec/streaming-skill.md reads ``chunk.usage["total_tokens"]`` and
``usage.get("prompt_tokens", 0)``; tool calls are read as OpenAI's dicts. The typed attributes
stay; tests/typed/user_code.py, which ``make typecheck`` checks, shows ``mypy --strict``
accepts both styles.
"""

from __future__ import annotations

import json

import pytest

from llmring.schemas import FunctionCall, LLMResponse, Message, ToolCall, Usage

USAGE = Usage(prompt_tokens=9, completion_tokens=4, total_tokens=13, raw={"input_tokens": 9})
CACHED = Usage(prompt_tokens=9, completion_tokens=4, total_tokens=13, cached_tokens=5)
CALL = ToolCall(id="call_1", function=FunctionCall(name="get_time", arguments='{"tz":"UTC"}'))


def test_usage_reads_as_a_mapping_of_the_reported_counts() -> None:
    assert (USAGE["total_tokens"], USAGE.get("prompt_tokens", 0)) == (13, 9)
    assert USAGE.get("cached_tokens") is None and "cached_tokens" not in USAGE
    assert list(USAGE.keys()) == ["prompt_tokens", "completion_tokens", "total_tokens"]
    assert list(USAGE) == ["prompt_tokens", "completion_tokens", "total_tokens"]
    assert dict(USAGE) == {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
    assert USAGE == {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
    assert USAGE != {"prompt_tokens": 9, "completion_tokens": 4}
    assert len(USAGE) == 3
    with pytest.raises(KeyError):
        USAGE["raw"]
    with pytest.raises(KeyError):
        USAGE["cached_tokens"]


def test_an_extra_count_is_a_key_only_when_reported() -> None:
    assert CACHED["cached_tokens"] == 5
    assert list(CACHED.items()) == [
        ("prompt_tokens", 9),
        ("completion_tokens", 4),
        ("total_tokens", 13),
        ("cached_tokens", 5),
    ]


def test_usage_keeps_its_model_behaviour() -> None:
    # equality between two Usages still compares every field, raw included
    assert Usage(prompt_tokens=9, completion_tokens=4, total_tokens=13) != USAGE
    assert USAGE.model_copy() == USAGE
    assert USAGE.model_dump() == {
        "prompt_tokens": 9,
        "completion_tokens": 4,
        "total_tokens": 13,
        "cached_tokens": None,
        "cache_write_tokens": None,
        "reasoning_tokens": None,
        "raw": {"input_tokens": 9},
    }
    assert Usage.model_validate_json(USAGE.model_dump_json()) == USAGE
    with pytest.raises(TypeError):
        hash(USAGE)


def test_tool_calls_read_as_openai_dicts() -> None:
    assert CALL["function"]["name"] == "get_time"
    assert CALL.get("id") == "call_1" and CALL.get("missing") is None
    assert json.loads(CALL["function"]["arguments"]) == {"tz": "UTC"}
    assert "function" in CALL and "name" in CALL.function
    assert CALL == {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_time", "arguments": '{"tz":"UTC"}'},
    }
    assert dict(CALL.function) == {"name": "get_time", "arguments": '{"tz":"UTC"}'}
    assert CALL.model_copy(deep=True) == CALL
    assert [call["function"]["name"] for call in [CALL, CALL]] == ["get_time", "get_time"]


def test_a_response_with_mapping_fields_round_trips_as_json() -> None:
    response = LLMResponse(model="m", usage=CACHED, tool_calls=[CALL])
    assert LLMResponse.model_validate_json(response.model_dump_json()) == response
    message = response.message
    assert Message.model_validate_json(message.model_dump_json()) == message
