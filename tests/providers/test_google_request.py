"""Gemini requests: the whole body for every fixture, the URL, the key header, refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmring.exceptions import ProviderBadRequestError, ProviderNotFoundError
from llmring.providers import create_provider, provider_class
from llmring.providers.google import GoogleProvider
from llmring.schemas import LLMRequest
from tests.providers.request_fixtures import build_fixture, fixture_paths

FIXTURE_FILES = fixture_paths("google")
KEY = "test-gemini-key-not-real"


def _request(**fields: Any) -> LLMRequest:
    return LLMRequest.model_validate({"model": "google:gemini-2.5-flash", **fields})


def test_every_fixture_case_is_present() -> None:
    names = {path.stem for path in FIXTURE_FILES}
    assert {
        "minimal",
        "system-multi-turn",
        "tools-auto",
        "tools-none",
        "tools-required",
        "tools-named",
        "tool-round-trip",
        "multipart-image",
        "temperature-max-tokens",
        "response-format-json-object",
        "response-format-json-schema",
        "extra-params",
    } <= names


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.stem)
def test_body_matches_fixture(path: Path) -> None:
    call, body = build_fixture(GoogleProvider(api_key=KEY), path)
    assert call.body == body


def test_body_is_the_same_streamed_or_not() -> None:
    request = _request(messages=[{"role": "user", "content": "Hi"}], temperature=0.5)
    provider = GoogleProvider(api_key=KEY)
    assert provider.build_body(request, "m", stream=True) == provider.build_body(
        request, "m", stream=False
    )


# --- endpoint and key ------------------------------------------------------------------


def test_endpoints() -> None:
    provider = GoogleProvider(api_key=KEY)
    assert provider.endpoint("gemini-2.5-flash", stream=True) == (
        "https://generativelanguage.googleapis.com/v1beta/models/"
        "gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
    assert provider.endpoint("gemini-2.5-flash", stream=False) == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    )


def test_model_name_is_quoted_into_one_path_segment() -> None:
    provider = GoogleProvider(api_key=KEY, base_url="http://127.0.0.1:9/")
    assert provider.endpoint("../x:y z", stream=False) == (
        "http://127.0.0.1:9/v1beta/models/..%2Fx%3Ay%20z:generateContent"
    )


def test_base_url_from_environment() -> None:
    provider = GoogleProvider(environ={"GOOGLE_GEMINI_BASE_URL": "http://localhost:8080/"})
    assert provider.endpoint("m", stream=True) == (
        "http://localhost:8080/v1beta/models/m:streamGenerateContent?alt=sse"
    )


@pytest.mark.parametrize("stream", [True, False])
def test_key_only_in_the_header(stream: bool) -> None:
    request = _request(messages=[{"role": "user", "content": "Hi"}])
    call = GoogleProvider(api_key=KEY).build_call(request, "gemini-2.5-flash", stream=stream)
    assert call.headers == {"x-goog-api-key": KEY}
    assert KEY not in call.url
    assert KEY not in json.dumps(call.body)
    assert KEY not in repr(call)
    assert KEY not in repr(GoogleProvider(api_key=KEY))


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"GOOGLE_GEMINI_API_KEY": "a", "GEMINI_API_KEY": "b", "GOOGLE_API_KEY": "c"}, "a"),
        ({"GEMINI_API_KEY": "b", "GOOGLE_API_KEY": "c"}, "b"),
        ({"GOOGLE_API_KEY": "c"}, "c"),
        ({"GOOGLE_GEMINI_API_KEY": "", "GOOGLE_API_KEY": "c"}, "c"),
    ],
)
def test_key_variables_searched_in_order(environ: dict[str, str], expected: str) -> None:
    assert GoogleProvider(environ=environ).headers() == {"x-goog-api-key": expected}


def test_no_key_names_the_variables() -> None:
    provider = GoogleProvider(environ={})
    assert provider.is_configured is False
    with pytest.raises(ProviderNotFoundError) as info:
        provider.headers()
    assert "GOOGLE_GEMINI_API_KEY or GEMINI_API_KEY or GOOGLE_API_KEY" in str(info.value)


def test_registry_knows_google_and_gemini() -> None:
    assert provider_class("google") is GoogleProvider
    assert provider_class("gemini") is GoogleProvider
    provider = create_provider("gemini", api_key=KEY)
    assert isinstance(provider, GoogleProvider)
    assert (provider.name, provider.stream_format) == ("google", "sse")


# --- extra_params ----------------------------------------------------------------------


def test_extra_generation_config_can_be_removed_whole() -> None:
    request = _request(
        messages=[{"role": "user", "content": "Hi"}],
        temperature=0.1,
        extra_params={"generationConfig": None},
    )
    body = GoogleProvider(api_key=KEY).build_call(request, "m", stream=True).body
    assert body == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}


def test_extra_generation_config_alone_is_added() -> None:
    request = _request(
        messages=[{"role": "user", "content": "Hi"}],
        extra_params={"generationConfig": {"thinkingConfig": {"thinkingLevel": "low"}}},
    )
    body = GoogleProvider(api_key=KEY).build_call(request, "m", stream=True).body
    assert body["generationConfig"] == {"thinkingConfig": {"thinkingLevel": "low"}}


# --- refusals --------------------------------------------------------------------------

_CALL = {"id": "call_0", "type": "function", "function": {"name": "f", "arguments": "{}"}}
_TOOL = {"type": "function", "function": {"name": "f"}}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"messages": [{"role": "system", "content": "only a system"}]}, "non-system message"),
        ({"messages": [{"role": "user", "content": ""}]}, "needs content"),
        (
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "tool", "tool_call_id": "call_9", "content": "x"},
                ]
            },
            "'call_9'",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "tool", "content": "x"},
                ]
            },
            "tool_call_id None",
        ),
        (
            {
                "messages": [
                    {"role": "assistant", "content": "", "tool_calls": [_CALL]},
                    {
                        "role": "tool",
                        "tool_call_id": "call_0",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}
                        ],
                    },
                ]
            },
            "no images in a tool result",
        ),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [{**_CALL, "function": {"name": "f", "arguments": "{"}}],
                    }
                ]
            },
            "not valid JSON",
        ),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [{**_CALL, "function": {"name": "f", "arguments": "[1]"}}],
                    }
                ]
            },
            "JSON object",
        ),
        ({"messages": [{"role": "assistant", "content": ""}]}, "content or tool_calls"),
        (
            {
                "messages": [
                    {
                        "role": "system",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}
                        ],
                    },
                    {"role": "user", "content": "hi"},
                ]
            },
            "no images in a system message",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "http://x.test/a.png"}}
                        ],
                    }
                ]
            },
            "https:// or data:",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "https://x.test/image"}}
                        ],
                    }
                ]
            },
            "cannot tell the image type",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "data:image/png,abc"}}
                        ],
                    }
                ]
            },
            "data:<media type>;base64",
        ),
        (
            {
                "messages": [{"role": "user", "content": "hi"}],
                "tools": [_TOOL],
                "tool_choice": {"type": "function", "function": {"name": "g"}},
            },
            "'g', which is not among the tools",
        ),
        (
            {"messages": [{"role": "user", "content": "hi"}], "tool_choice": "required"},
            "'required' needs tools",
        ),
        (
            {"messages": [{"role": "user", "content": "hi"}], "tool_choice": "auto"},
            "'auto' needs tools",
        ),
        (
            {"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "xml"}},
            "'xml'",
        ),
        (
            {
                "messages": [{"role": "user", "content": "hi"}],
                "response_format": {"type": "json_schema", "json_schema": {"name": "x"}},
            },
            '"schema": {...}',
        ),
    ],
)
def test_unsupported_requests_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ProviderBadRequestError) as info:
        GoogleProvider(api_key=KEY).build_body(_request(**fields), "m", stream=True)
    assert message in str(info.value)


def test_tool_choice_none_without_tools_sends_no_tool_config() -> None:
    request = _request(messages=[{"role": "user", "content": "hi"}], tool_choice="none")
    body = GoogleProvider(api_key=KEY).build_body(request, "m", stream=True)
    assert body == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def test_tool_results_after_other_turns_open_a_new_user_turn() -> None:
    request = _request(
        messages=[
            {"role": "assistant", "tool_calls": [_CALL]},
            {"role": "tool", "tool_call_id": "call_0", "content": "[1, 2]"},
            {"role": "assistant", "tool_calls": [{**_CALL, "id": "call_1"}]},
            {"role": "tool", "tool_call_id": "call_1", "content": '{"ok": true}'},
        ]
    )
    body = GoogleProvider(api_key=KEY).build_body(request, "m", stream=True)
    call = {"functionCall": {"name": "f", "args": {}}}
    assert body["contents"] == [
        {"role": "model", "parts": [call]},
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "f", "response": {"result": "[1, 2]"}}}],
        },
        {"role": "model", "parts": [call]},
        {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"ok": True}}}]},
    ]
