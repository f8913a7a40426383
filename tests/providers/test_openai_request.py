"""OpenAI Chat Completions request bodies: every fixture compared whole, and the refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmring.exceptions import ProviderBadRequestError, ProviderNotFoundError
from llmring.providers.openai import OpenAIProvider
from llmring.schemas import LLMRequest
from tests.providers.request_fixtures import build_fixture, fixture_paths

CASES = fixture_paths("openai")


def test_fixtures_exist() -> None:
    assert len(CASES) >= 12


@pytest.mark.parametrize("path", CASES, ids=lambda path: path.stem)
def test_body_matches_fixture(path: Path) -> None:
    call, body = build_fixture(OpenAIProvider(api_key="test-key"), path)
    assert call.body == body


def test_endpoint_and_headers() -> None:
    provider = OpenAIProvider(api_key="test-key", environ={})
    request = LLMRequest(model="openai:gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    call = provider.build_call(request, "gpt-4o-mini", stream=True)
    assert call.url == "https://api.openai.com/v1/chat/completions"
    assert call.headers == {"Authorization": "Bearer test-key"}


def test_base_url_from_environment() -> None:
    provider = OpenAIProvider(
        environ={"OPENAI_API_KEY": "env-key", "OPENAI_BASE_URL": "http://localhost:11434/v1/"}
    )
    assert (
        provider.endpoint("llama3.2", stream=False) == "http://localhost:11434/v1/chat/completions"
    )
    assert provider.headers() == {"Authorization": "Bearer env-key"}


def test_missing_key_names_the_variable() -> None:
    provider = OpenAIProvider(environ={})
    assert provider.is_configured is False
    with pytest.raises(ProviderNotFoundError, match="OPENAI_API_KEY"):
        provider.headers()


def _request(**fields: Any) -> LLMRequest:
    return LLMRequest.model_validate({"model": "openai:gpt-4o-mini", **fields})


WEATHER = {"type": "function", "function": {"name": "get_weather"}}
IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"messages": [{"role": "user", "content": "hi"}], "tool_choice": "auto"},
            "tool_choice was given without any tools",
        ),
        (
            {
                "messages": [{"role": "user", "content": "hi"}],
                "tools": [WEATHER],
                "tool_choice": {"type": "function", "function": {"name": "get_time"}},
            },
            "tool_choice names 'get_time', which is not among the tools",
        ),
        (
            {"messages": [{"role": "tool", "content": "18C"}]},
            "a tool message needs the tool_call_id it answers",
        ),
        (
            {"messages": [{"role": "assistant", "content": [IMAGE]}]},
            "OpenAI accepts images only in user messages, not assistant",
        ),
        (
            {"messages": [{"role": "system", "content": [IMAGE]}]},
            "OpenAI accepts images only in user messages, not system",
        ),
    ],
)
def test_unsupported_requests_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ProviderBadRequestError) as caught:
        OpenAIProvider(api_key="test-key").build_body(
            _request(**fields), "gpt-4o-mini", stream=True
        )
    assert caught.value.message == message
