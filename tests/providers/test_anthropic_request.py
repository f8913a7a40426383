"""AnthropicProvider request side: bodies against hand-written fixtures, refusals, headers."""

from __future__ import annotations

from typing import Any

import pytest

from llmring.exceptions import ProviderBadRequestError, ProviderNotFoundError
from llmring.providers.anthropic import DEFAULT_MAX_TOKENS, AnthropicProvider
from llmring.schemas import LLMRequest
from tests.conftest import FIXTURES
from tests.providers.request_fixtures import build_fixture

DIR = FIXTURES / "anthropic"
CASES = sorted(path.stem for path in DIR.glob("*.json"))


def provider() -> AnthropicProvider:
    return AnthropicProvider(api_key="test-key-not-real")


@pytest.mark.parametrize("case", CASES)
def test_body_matches_fixture(case: str) -> None:
    call, body = build_fixture(provider(), DIR / f"{case}.json")
    assert call.body == body
    assert call.url == "https://api.anthropic.com/v1/messages"


def test_fixtures_cover_every_case() -> None:
    assert CASES == [
        "cache-breakpoints",
        "cache-short-form",
        "extra-params",
        "minimal",
        "minimal-complete",
        "multipart-image",
        "provider-params",
        "reasoning-budget",
        "reasoning-forced-tool",
        "reasoning-high",
        "reasoning-none",
        "reasoning-old-model",
        "reasoning-small-budget",
        "sampling-options",
        "structured-recipe",
        "system-multi-turn",
        "temperature-clamped",
        "temperature-max-tokens",
        "thinking-tool-loop",
        "tool-round-trip",
        "tools-auto",
        "tools-named",
        "tools-none",
        "tools-required",
        "tools-strict",
    ]


def body(messages: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    request = LLMRequest.model_validate({"model": "anthropic:m", "messages": messages, **fields})
    return provider().build_body(request, "m", stream=False)


def test_default_max_tokens() -> None:
    assert DEFAULT_MAX_TOKENS == 4096
    assert body([{"role": "user", "content": "Hi"}])["max_tokens"] == 4096


def test_tool_results_go_before_text_in_their_user_turn() -> None:
    messages = [
        {"role": "user", "content": "Time?"},
        {
            "role": "assistant",
            "tool_calls": [{"id": "t1", "function": {"name": "get_time", "arguments": "{}"}}],
        },
        {"role": "user", "content": "Quick, please."},
        {"role": "tool", "tool_call_id": "t1", "content": "12:00"},
    ]
    assert body(messages)["messages"] == [
        {"role": "user", "content": "Time?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "get_time", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "12:00"},
                {"type": "text", "text": "Quick, please."},
            ],
        },
    ]


def test_consecutive_assistant_turns_merge() -> None:
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "assistant", "content": [{"type": "text", "text": "How can I help?"}]},
    ]
    assert body(messages)["messages"] == [
        {"role": "user", "content": "Hi"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Hello."},
                {"type": "text", "text": "How can I help?"},
            ],
        },
    ]


def test_system_message_in_the_middle_joins_the_system_prompt() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "system", "content": ""},
        {"role": "system", "content": "Use British spelling."},
    ]
    result = body(messages)
    assert result["system"] == "Be brief.\n\nUse British spelling."
    assert result["messages"] == [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize(
    ("messages", "fields", "match"),
    [
        (
            [{"role": "user", "content": "Hi"}],
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {
                        "schema": {
                            "type": "object",
                            "properties": {"n": {"type": "integer", "minimum": 1}},
                        }
                    },
                }
            },
            r"Anthropic cannot express the JSON Schema keyword 'minimum' \(at \$.properties.n\)",
        ),
        (
            [{"role": "user", "content": "Hi"}],
            {"response_format": {"type": "json_object"}},
            r'Anthropic cannot express response_format \{"type": "json_object"\}',
        ),
        (
            [
                {"role": "user", "content": "Hi"},
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "t1", "function": {"name": "f", "arguments": "{oops"}}],
                },
            ],
            {},
            r"tool call 't1' \(f\) has arguments that are not valid JSON",
        ),
        (
            [
                {"role": "user", "content": "Hi"},
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "t1", "function": {"name": "f", "arguments": "[1]"}}],
                },
            ],
            {},
            "not a JSON object",
        ),
        (
            [{"role": "tool", "content": "12:00"}],
            {},
            r"message 0 \(tool\) has no tool_call_id",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}],
                }
            ],
            {},
            "image URL Anthropic cannot fetch",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "data:image/png,abc"}}],
                }
            ],
            {},
            "data:<media type>;base64,<data>",
        ),
        (
            [
                {
                    "role": "system",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
                    ],
                },
                {"role": "user", "content": "Hi"},
            ],
            {},
            "system prompt is text only",
        ),
        (
            [
                {"role": "user", "content": "Hi"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
                    ],
                },
            ],
            {},
            "images only from the user",
        ),
        (
            [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""}],
            {},
            r"message 1 \(assistant\) has no content",
        ),
    ],
)
def test_requests_anthropic_cannot_take_are_refused(
    messages: list[dict[str, Any]], fields: dict[str, Any], match: str
) -> None:
    with pytest.raises(ProviderBadRequestError, match=match):
        body(messages, **fields)


def test_headers_carry_the_key_and_version() -> None:
    assert provider().headers() == {
        "x-api-key": "test-key-not-real",
        "anthropic-version": "2023-06-01",
    }


def test_configuration_comes_from_the_environment() -> None:
    configured = AnthropicProvider(
        environ={"ANTHROPIC_API_KEY": "env-key", "ANTHROPIC_BASE_URL": "http://proxy:8080/"}
    )
    assert configured.headers()["x-api-key"] == "env-key"
    assert configured.endpoint("m", stream=True) == "http://proxy:8080/v1/messages"
    assert (configured.name, configured.stream_format) == ("anthropic", "sse")


def test_missing_key_names_the_variable() -> None:
    unconfigured = AnthropicProvider(environ={})
    assert not unconfigured.is_configured
    with pytest.raises(ProviderNotFoundError, match="ANTHROPIC_API_KEY"):
        unconfigured.headers()
