"""OpenAI Responses API request bodies: every fixture compared whole, and the refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmring.exceptions import ProviderBadRequestError, ProviderNotFoundError
from llmring.providers.openai_responses import OpenAIResponsesProvider
from llmring.schemas import LLMRequest
from tests.providers.request_fixtures import build_fixture, fixture_paths

CASES = fixture_paths("openai-responses")


def test_fixtures_exist() -> None:
    assert len(CASES) >= 12


@pytest.mark.parametrize("path", CASES, ids=lambda path: path.stem)
def test_body_matches_fixture(path: Path) -> None:
    call, body = build_fixture(OpenAIResponsesProvider(api_key="test-key"), path)
    assert call.body == body


def test_endpoint_and_headers() -> None:
    provider = OpenAIResponsesProvider(api_key="test-key", environ={})
    assert provider.endpoint("gpt-5", stream=True) == "https://api.openai.com/v1/responses"
    assert provider.headers() == {"Authorization": "Bearer test-key"}


def test_key_and_base_url_shared_with_chat_completions() -> None:
    provider = OpenAIResponsesProvider(
        environ={"OPENAI_API_KEY": "env-key", "OPENAI_BASE_URL": "https://proxy.example/v1/"}
    )
    assert provider.endpoint("gpt-5", stream=False) == "https://proxy.example/v1/responses"
    assert provider.headers() == {"Authorization": "Bearer env-key"}


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(ProviderNotFoundError, match="OPENAI_API_KEY"):
        OpenAIResponsesProvider(environ={}).headers()


IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
WEATHER = {"type": "function", "function": {"name": "get_weather"}}
USER = {"role": "user", "content": "hi"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"messages": [USER], "tool_choice": "required"},
            "tool_choice was given without any tools",
        ),
        (
            {
                "messages": [USER],
                "tools": [WEATHER],
                "tool_choice": {"type": "function", "function": {"name": "nope"}},
            },
            "tool_choice names 'nope', which is not among the tools",
        ),
        (
            {"messages": [{"role": "user", "content": "hi", "name": "ada"}]},
            "the Responses API has no per-message name",
        ),
        (
            {"messages": [{"role": "tool", "content": "x"}]},
            "a tool message needs the tool_call_id it answers",
        ),
        (
            {"messages": [{"role": "tool", "tool_call_id": "c", "content": [IMAGE]}]},
            "the Responses API accepts images only in user messages, not tool",
        ),
        (
            {"messages": [{"role": "system", "content": [IMAGE]}]},
            "the Responses API accepts images only in user messages, not system",
        ),
        (
            {"messages": [USER], "response_format": {"type": "json_schema"}},
            'response_format json_schema needs {"json_schema": {"name": ..., "schema": {...}}}',
        ),
        (
            {"messages": [USER], "response_format": {"type": "grammar"}},
            "unsupported response_format type 'grammar' "
            "(use json_schema, json_object, text, or a pydantic model class)",
        ),
    ],
)
def test_unsupported_requests_are_refused(fields: dict[str, Any], message: str) -> None:
    request = LLMRequest.model_validate({"model": "openai-responses:gpt-4o", **fields})
    with pytest.raises(ProviderBadRequestError) as caught:
        OpenAIResponsesProvider(api_key="k").build_body(request, "gpt-4o", stream=True)
    assert caught.value.message == message


def test_assistant_turn_without_text_or_calls_is_kept() -> None:
    request = LLMRequest.model_validate(
        {"model": "x", "messages": [USER, {"role": "assistant", "content": ""}, USER]}
    )
    body = OpenAIResponsesProvider(api_key="k").build_body(request, "gpt-4o", stream=False)
    assert body["input"] == [USER, {"role": "assistant", "content": ""}, USER]
