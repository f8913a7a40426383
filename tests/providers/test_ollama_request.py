"""Ollama request bodies: every fixture built and compared whole, and the refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmring.exceptions import ProviderBadRequestError
from llmring.providers.ollama import OllamaProvider
from llmring.schemas import LLMRequest
from tests.providers.request_fixtures import build_fixture, fixture_paths

CASES = fixture_paths("ollama")


def _provider() -> OllamaProvider:
    return OllamaProvider(environ={})


def _request(messages: list[dict[str, Any]], **fields: Any) -> LLMRequest:
    return LLMRequest.model_validate({"model": "ollama:llama3.2", "messages": messages, **fields})


USER = [{"role": "user", "content": "hi"}]
TOOLS = [{"type": "function", "function": {"name": "get_time"}}]


def test_fixture_cases_are_present() -> None:
    assert [case.stem for case in CASES] == [
        "cache-ignored",
        "extra-params-think",
        "image-data-url",
        "minimal",
        "provider-params",
        "reasoning-level",
        "reasoning-none",
        "reasoning-old-model",
        "reasoning-switch",
        "response-format-json-object",
        "response-format-json-schema",
        "response-format-text",
        "sampling-options",
        "structured-recipe",
        "system-multi-turn",
        "temperature-max-tokens",
        "tool-loop",
        "tool-round-trip",
        "tools-auto",
        "tools-default-choice",
        "tools-none",
    ]


@pytest.mark.parametrize("path", CASES, ids=[case.stem for case in CASES])
def test_body_matches_fixture(path: Path) -> None:
    call, body = build_fixture(_provider(), path)

    assert call.body == body
    assert call.url == "http://localhost:11434/api/chat"
    assert call.headers == {}


def test_same_endpoint_for_streaming_and_not() -> None:
    provider = OllamaProvider(base_url="https://ollama.com/", environ={})
    assert provider.endpoint("gpt-oss:120b", stream=True) == "https://ollama.com/api/chat"
    assert provider.endpoint("gpt-oss:120b", stream=False) == "https://ollama.com/api/chat"


def test_https_image_is_refused() -> None:
    request = _request(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                ],
            }
        ]
    )
    with pytest.raises(ProviderBadRequestError, match="only as base64") as caught:
        _provider().build_body(request, "llava", stream=True)
    assert "https://example.com/cat.png" in caught.value.message


@pytest.mark.parametrize(
    "url", ["data:image/svg+xml,<svg/>", "data:image/png;base64,", "data:image/png;base64"]
)
def test_data_url_without_base64_data_is_refused(url: str) -> None:
    request = _request(
        [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]
    )
    with pytest.raises(ProviderBadRequestError, match="base64"):
        _provider().build_body(request, "llava", stream=True)


@pytest.mark.parametrize(
    ("tool_choice", "wanted"),
    [
        ("required", "a call to some tool"),
        ({"type": "function", "function": {"name": "get_time"}}, "a call to 'get_time'"),
    ],
)
def test_forced_tool_call_is_refused(tool_choice: Any, wanted: str) -> None:
    request = _request(USER, tools=TOOLS, tool_choice=tool_choice)
    with pytest.raises(ProviderBadRequestError) as caught:
        _provider().build_body(request, "qwen3:8b", stream=True)
    assert caught.value.message == (
        f"Ollama cannot force a tool call (tool_choice asked for {wanted}); "
        'use tool_choice "auto" and ask for the tool in the prompt'
    )


def test_forced_tool_call_is_refused_even_without_tools() -> None:
    with pytest.raises(ProviderBadRequestError, match="cannot force a tool call"):
        _provider().build_body(_request(USER, tool_choice="required"), "qwen3:8b", stream=True)


@pytest.mark.parametrize("arguments", ["[1, 2]", "not json", '"text"'])
def test_tool_call_arguments_must_be_a_json_object(arguments: str) -> None:
    request = _request(
        [
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "call_1", "function": {"name": "get_time", "arguments": arguments}}
                ],
            }
        ]
    )
    with pytest.raises(ProviderBadRequestError, match="arguments as a JSON object"):
        _provider().build_body(request, "qwen3:8b", stream=True)


def test_tool_result_for_unknown_call_is_sent_without_tool_name() -> None:
    request = _request([{"role": "tool", "tool_call_id": "call_zz", "content": "42"}])
    body = _provider().build_body(request, "qwen3:8b", stream=False)
    assert body["messages"] == [{"role": "tool", "content": "42"}]


@pytest.mark.parametrize(
    ("response_format", "message"),
    [
        ({"type": "xml"}, "unsupported response_format type 'xml'"),
        ({"type": "json_schema"}, "json_schema needs"),
        ({"type": "json_schema", "json_schema": {"name": "x"}}, "json_schema needs"),
    ],
)
def test_unsupported_response_format_is_refused(
    response_format: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProviderBadRequestError, match=message):
        _provider().build_body(
            _request(USER, response_format=response_format), "llama3.2", stream=True
        )


def test_extra_options_replace_the_built_options_whole() -> None:
    request = _request(
        USER, temperature=0.5, extra_params={"options": {"num_ctx": 8192, "seed": 7}}
    )
    call = _provider().build_call(request, "llama3.2", stream=True)
    assert call.body == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "options": {"num_ctx": 8192, "seed": 7},
    }
