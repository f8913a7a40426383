"""The request builders' shared pieces: data: URLs, tool-call arguments, tool-result names."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from llmring.exceptions import ProviderBadRequestError
from llmring.providers._messages import (
    DataURL,
    answered_call_id,
    arguments_object,
    parse_data_url,
    tool_result_names,
)
from llmring.schemas import FunctionCall, Message, ToolCall


def _call(arguments: str, *, call_id: str = "call_1", name: str = "get_time") -> ToolCall:
    return ToolCall(id=call_id, function=FunctionCall(name=name, arguments=arguments))


def _messages(*raw: dict[str, Any]) -> list[Message]:
    return [Message.model_validate(each) for each in raw]


def _calls(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"id": call_id, "function": {"name": name, "arguments": "{}"}} for call_id, name in pairs
    ]


# --- parse_data_url ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("data:image/png;base64,iVBORw0KGgo=", DataURL("image/png", "iVBORw0KGgo=")),
        ("data:image/svg+xml;base64,PHN2Zy8+", DataURL("image/svg+xml", "PHN2Zy8+")),
        # Only the first comma separates; the data is passed on as given.
        ("data:image/jpeg;base64,a,b", DataURL("image/jpeg", "a,b")),
    ],
)
def test_a_base64_data_url_is_taken_apart(url: str, expected: DataURL) -> None:
    assert parse_data_url(url) == expected


@pytest.mark.parametrize(
    "url", ["https://example.com/cat.png", "http://x.test/a.png", "ftp://x/y.png", "", "DATA"]
)
def test_other_urls_are_not_data_urls(url: str) -> None:
    assert parse_data_url(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png,abc",  # not base64
        "data:image/svg+xml,<svg/>",
        "data:image/png;base64",  # no comma, so no data
        "data:image/png;base64,",  # empty data
        "data:;base64,abc",  # no media type
        "data:,abc",
        "data:image/png;charset=utf-8;base64,abc",  # parameters are not taken
        "data:image/png;BASE64,abc",
        "data:",
    ],
)
def test_a_malformed_data_url_is_refused_with_the_form_to_use(url: str) -> None:
    with pytest.raises(ProviderBadRequestError) as caught:
        parse_data_url(url)
    assert caught.value.message == (
        f"image data: URL {url!r} is malformed; write it as data:<media type>;base64,<data>"
    )


def test_a_long_malformed_data_url_is_quoted_only_in_part() -> None:
    url = "data:image/png," + "A" * 1000
    with pytest.raises(ProviderBadRequestError) as caught:
        parse_data_url(url)
    assert caught.value.message == (
        f"image data: URL {url[:40]!r} is malformed; write it as data:<media type>;base64,<data>"
    )


def test_a_data_url_is_a_frozen_value() -> None:
    parsed = DataURL("image/png", "abc")
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.data = "other"  # type: ignore[misc]


# --- arguments_object ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"city": "Paris", "days": [1, 2]}', {"city": "Paris", "days": [1, 2]}),
        ("{}", {}),
        ("", {}),  # a call without arguments
        (' {"nested": {"a": null}} ', {"nested": {"a": None}}),
    ],
)
def test_arguments_become_a_json_object(arguments: str, expected: dict[str, Any]) -> None:
    assert arguments_object(_call(arguments), "Gemini") == expected


@pytest.mark.parametrize("arguments", ["[1, 2]", '"text"', "42", "null", "true"])
def test_arguments_that_are_not_an_object_are_refused(arguments: str) -> None:
    with pytest.raises(ProviderBadRequestError) as caught:
        arguments_object(_call(arguments), "Ollama")
    assert caught.value.message == (
        f"tool call 'call_1' (get_time) has arguments that are not a JSON object: "
        f"{arguments!r}; Ollama needs the arguments as a JSON object"
    )


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ("{oops", "Expecting property name enclosed in double quotes"),
        ("not json", "Expecting value"),
        ('{"a": 1', "Expecting ',' delimiter"),
    ],
)
def test_arguments_that_are_not_json_are_refused(arguments: str, reason: str) -> None:
    with pytest.raises(ProviderBadRequestError) as caught:
        arguments_object(_call(arguments, call_id="t1", name="f"), "Anthropic")
    assert caught.value.message == (
        f"tool call 't1' (f) has arguments that are not valid JSON ({reason}): {arguments!r}; "
        "Anthropic needs the arguments as a JSON object"
    )
    assert caught.value.__cause__ is not None


def test_long_invalid_arguments_are_quoted_only_in_part() -> None:
    arguments = "{" + "x" * 500
    with pytest.raises(ProviderBadRequestError) as caught:
        arguments_object(_call(arguments), "Gemini")
    assert f"{arguments[:80]!r};" in caught.value.message
    assert arguments[:81] not in caught.value.message


# --- answered_call_id ----------------------------------------------------------------------


def test_a_tool_result_answers_its_call_id() -> None:
    message = Message(role="tool", tool_call_id="call_7", content="12:00")
    assert answered_call_id(message) == "call_7"


def test_a_tool_result_without_a_call_id_is_refused() -> None:
    with pytest.raises(ProviderBadRequestError) as caught:
        answered_call_id(Message(role="tool", content="12:00"))
    assert caught.value.message == "a tool message needs the tool_call_id it answers"


# --- tool_result_names ---------------------------------------------------------------------


def test_each_tool_result_is_named_after_the_call_it_answers() -> None:
    messages = _messages(
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "time in Paris and Tokyo?"},
        {"role": "assistant", "tool_calls": _calls(("c1", "get_time"), ("c2", "get_zone"))},
        {"role": "tool", "tool_call_id": "c2", "content": "JST"},
        {"role": "tool", "tool_call_id": "c1", "content": "12:00"},
        {"role": "assistant", "content": "noon"},
    )
    assert tool_result_names(messages) == [None, None, None, "get_zone", "get_time", None]


def test_unknown_and_missing_ids_have_no_name() -> None:
    messages = _messages(
        {"role": "assistant", "tool_calls": _calls(("c1", "get_time"))},
        {"role": "tool", "tool_call_id": "zz", "content": "?"},
        {"role": "tool", "content": "no id"},
    )
    assert tool_result_names(messages) == [None, None, None]


def test_only_calls_made_earlier_by_the_assistant_count() -> None:
    messages = _messages(
        {"role": "tool", "tool_call_id": "c1", "content": "before its call"},
        {"role": "user", "content": "hi", "tool_calls": _calls(("c2", "from_user"))},
        {"role": "tool", "tool_call_id": "c2", "content": "a user made no call"},
        {"role": "assistant", "tool_calls": _calls(("c1", "get_time"))},
        {"role": "user", "tool_call_id": "c1", "content": "not a tool result"},
        {"role": "tool", "tool_call_id": "c1", "content": "12:00"},
    )
    assert tool_result_names(messages) == [None, None, None, None, None, "get_time"]


def test_a_reused_id_names_the_latest_call_before_the_result() -> None:
    messages = _messages(
        {"role": "assistant", "tool_calls": _calls(("c1", "first"))},
        {"role": "tool", "tool_call_id": "c1", "content": "1"},
        {"role": "assistant", "tool_calls": _calls(("c1", "second"))},
        {"role": "tool", "tool_call_id": "c1", "content": "2"},
    )
    assert tool_result_names(messages) == [None, "first", None, "second"]


def test_no_messages_no_names() -> None:
    assert tool_result_names([]) == []
