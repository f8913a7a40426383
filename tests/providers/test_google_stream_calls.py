"""Gemini's stream parser and function calls: ids, order, and Gemini 3's streamed arguments."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmring.exceptions import ProviderResponseError
from llmring.providers.google import GoogleStreamParser
from llmring.schemas import FunctionCall, ToolCall
from tests.providers.invariants import check_stream, run_parser


def _chunk(*parts: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
    candidate: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}}
    if finish is not None:
        candidate["finishReason"] = finish
    candidate.update(extra)
    return json.dumps({"candidates": [candidate]})


def test_calls_across_payloads_keep_their_order_and_ids() -> None:
    parser = GoogleStreamParser("m")
    chunks = run_parser(
        parser,
        [
            _chunk({"functionCall": {"name": "a", "args": {"x": 1}}}),
            _chunk({"text": "between"}),
            _chunk({"functionCall": {"name": "b"}}, finish="STOP"),
        ],
    )
    check_stream(parser, chunks, "m")
    assert chunks[-1].tool_calls == [
        ToolCall(id="call_0", function=FunctionCall(name="a", arguments='{"x":1}')),
        ToolCall(id="call_1", function=FunctionCall(name="b", arguments="{}")),
    ]
    assert (chunks[-1].finish_reason, chunks[-1].usage) == ("tool_calls", None)


def test_an_id_sent_by_gemini_is_kept() -> None:
    parser = GoogleStreamParser("m")
    chunks = run_parser(
        parser, [_chunk({"functionCall": {"name": "a", "id": "fc-7", "args": {}}}, finish="STOP")]
    )
    check_stream(parser, chunks, "m")
    assert chunks[-1].tool_calls == [ToolCall(id="fc-7", function=FunctionCall(name="a"))]


def test_streamed_call_left_open_is_closed_at_the_end() -> None:
    parser = GoogleStreamParser("m")
    chunks = run_parser(
        parser,
        [
            _chunk({"functionCall": {"name": "f", "willContinue": True}}),
            _chunk(
                {
                    "functionCall": {
                        "partialArgs": [
                            {"jsonPath": "$['a b'][1]", "numberValue": 2.5},
                            {"jsonPath": '$["q"]', "stringValue": "x", "willContinue": True},
                        ],
                        "willContinue": True,
                    }
                },
                finish="STOP",
            ),
        ],
    )
    check_stream(parser, chunks, "m")
    assert chunks[-1].tool_calls == [
        ToolCall(
            id="call_0", function=FunctionCall(name="f", arguments='{"a b":[null,2.5],"q":"x"}')
        )
    ]


def test_streamed_args_closed_by_will_continue_false() -> None:
    parser = GoogleStreamParser("m")
    chunks = run_parser(
        parser,
        [
            _chunk({"functionCall": {"name": "f", "willContinue": True}}),
            _chunk({"functionCall": {"partialArgs": [{"jsonPath": "$.n", "boolValue": False}]}}),
            _chunk({"functionCall": {"name": "g", "args": {}}}, finish="STOP"),
        ],
    )
    check_stream(parser, chunks, "m")
    assert chunks[-1].tool_calls == [
        ToolCall(id="call_0", function=FunctionCall(name="f", arguments='{"n":false}')),
        ToolCall(id="call_1", function=FunctionCall(name="g", arguments="{}")),
    ]


@pytest.mark.parametrize(
    ("payloads", "message"),
    [
        (
            [_chunk({"functionCall": {"partialArgs": [{"jsonPath": "$.a", "numberValue": 1}]}})],
            "before the call's name",
        ),
        (
            [
                _chunk({"functionCall": {"name": "f", "willContinue": True}}),
                _chunk(
                    {
                        "functionCall": {
                            "partialArgs": [{"jsonPath": "a.b", "numberValue": 1}],
                            "willContinue": True,
                        }
                    }
                ),
            ],
            "unusable jsonPath",
        ),
        (
            [
                _chunk({"functionCall": {"name": "f", "willContinue": True}}),
                _chunk(
                    {
                        "functionCall": {
                            "partialArgs": [
                                {"jsonPath": "$.a", "numberValue": 1},
                                {"jsonPath": "$.a.b", "numberValue": 2},
                            ],
                            "willContinue": True,
                        }
                    }
                ),
            ],
            "does not fit",
        ),
        (
            [
                _chunk({"functionCall": {"name": "f", "willContinue": True}}),
                _chunk(
                    {
                        "functionCall": {
                            "partialArgs": [{"jsonPath": "$.a[5000]", "numberValue": 1}],
                            "willContinue": True,
                        }
                    }
                ),
            ],
            "5000 does not fit a list of 0",
        ),
    ],
)
def test_unusable_streamed_args_raise(payloads: list[str], message: str) -> None:
    parser = GoogleStreamParser("m")
    with pytest.raises(ProviderResponseError) as info:
        for payload in payloads:
            parser.feed(payload)
    assert message in str(info.value)
