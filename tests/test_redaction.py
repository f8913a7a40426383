"""No key in any error: a server that echoes the key back is scrubbed on every route.

Some proxies and servers repeat the request (or its ``Authorization`` header) in an error
body. Whatever the body says, the configured key must not reach the error's ``str``, ``repr``,
``args``, ``message``, ``body_excerpt`` or the printed traceback.
"""

from __future__ import annotations

import json
import re
import traceback
from contextlib import aclosing
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from llmring import LLMRequest, LLMRing, Message
from llmring._redaction import redact, redact_error, register_secret
from llmring.exceptions import AllModelsFailedError, LLMRingError, ProviderError
from llmring.testing import load_recording
from tests.conftest import RECORDINGS

pytestmark = pytest.mark.anyio

ROUTES = ["openai", "openai-responses", "anthropic", "google", "ollama"]
KEY = "sk-proj-Echo0123456789abcdefSECRET/+="
ECHO = f"key {KEY} (header: Bearer {KEY}, json: {json.dumps(KEY)[1:-1]})"


def request(route: str) -> LLMRequest:
    return LLMRequest(model=f"{route}:m", messages=[Message(role="user", content="hi")])


def texts(error: BaseException) -> dict[str, str]:
    """Everything an error carries that a person or a log could see."""
    carried = {
        "str": str(error),
        "repr": repr(error),
        "args": repr(error.args),
        "traceback": "".join(traceback.format_exception(error)),
    }
    if isinstance(error, ProviderError):
        carried["message"] = error.message
        carried["body_excerpt"] = error.body_excerpt or ""
    return carried


def assert_scrubbed(error: BaseException) -> None:
    carried = texts(error)
    assert {name for name, text in carried.items() if KEY in text} == set()
    assert "Bearer ***" in carried["traceback"]  # the echo was there, and was replaced


def echoing(value: Any) -> Any:
    """The error body with every message (or Ollama's bare ``error``) echoing the key."""
    if isinstance(value, dict):
        return {
            k: f"{v} {ECHO}" if k in ("message", "error") and isinstance(v, str) else echoing(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [echoing(v) for v in value]
    return value


async def raised_by_both(ring: LLMRing, route: str, response: httpx.Response) -> list[LLMRingError]:
    errors: list[LLMRingError] = []
    with respx.mock:
        respx.post(url__regex=".*").mock(side_effect=lambda _: response_copy(response))
        with pytest.raises(LLMRingError) as streamed:
            async with aclosing(ring.chat_stream(request(route))) as chunks:
                async for _ in chunks:
                    pass
        errors.append(streamed.value)
        with pytest.raises(LLMRingError) as completed:
            await ring.chat(request(route))
        errors.append(completed.value)
    return errors


def response_copy(response: httpx.Response) -> httpx.Response:
    return httpx.Response(response.status_code, headers=response.headers, content=response.content)


@pytest.mark.parametrize("route", ROUTES)
async def test_a_401_body_echoing_the_key_is_scrubbed(route: str) -> None:
    recording = load_recording(RECORDINGS / route / "error-401.json")
    body = json.dumps(echoing(json.loads(recording.body))).encode()
    answer = httpx.Response(401, headers=recording.headers, content=body)
    async with LLMRing(api_keys={route: KEY}, max_retries=0) as ring:
        errors = await raised_by_both(ring, route, answer)
    for error in errors:
        assert isinstance(error, ProviderError) and error.status_code == 401
        assert_scrubbed(error)


@pytest.mark.parametrize("route", ROUTES)
async def test_a_plain_text_error_page_echoing_the_header_is_scrubbed(route: str) -> None:
    answer = httpx.Response(
        502, headers={"content-type": "text/plain"}, content=f"upstream refused {ECHO}".encode()
    )
    async with LLMRing(api_keys={route: KEY}, max_retries=0) as ring:
        for error in await raised_by_both(ring, route, answer):
            assert_scrubbed(error)
            assert "upstream refused key ***" in str(error)


@pytest.mark.parametrize("route", ROUTES)
async def test_an_in_band_stream_error_echoing_the_key_is_scrubbed(route: str) -> None:
    suffix = "ndjson" if route == "ollama" else "sse"
    recording = load_recording(RECORDINGS / route / f"error-midstream.{suffix}")
    echo = json.dumps(ECHO)[1:-1].encode()
    body = re.sub(
        rb'("(?:message|error)":\s*")(?=[^{])', lambda m: m.group(1) + echo, recording.body
    )
    assert body != recording.body
    with respx.mock:
        respx.post(url__regex=".*").mock(
            return_value=httpx.Response(200, headers=recording.headers, content=body)
        )
        async with LLMRing(api_keys={route: KEY}, max_retries=0) as ring:
            with pytest.raises(ProviderError) as caught:
                async for _ in ring.chat_stream(request(route)):
                    pass
    assert caught.value.partial is not None
    assert caught.value.partial.content == recording.expect["partial_text"]
    assert_scrubbed(caught.value)


@pytest.mark.parametrize("route", ROUTES)
async def test_an_unparsable_answer_echoing_the_key_is_scrubbed(route: str) -> None:
    answer = httpx.Response(
        200, headers={"content-type": "application/json"}, content=b"[" + ECHO.encode()
    )
    async with LLMRing(api_keys={route: KEY}, max_retries=0) as ring, respx.mock:
        respx.post(url__regex=".*").mock(return_value=answer)
        with pytest.raises(ProviderError) as caught:
            await ring.chat(request(route))
    assert_scrubbed(caught.value)


async def test_every_configured_key_is_scrubbed_from_another_providers_error() -> None:
    other = "sk-ant-OtherProviderKey-987654321"
    answer = httpx.Response(
        401, headers={"content-type": "text/plain"}, content=f"{ECHO} and {other}".encode()
    )
    async with LLMRing(api_keys={"openai": KEY, "anthropic": other}) as ring, respx.mock:
        ring.provider("anthropic")  # configured
        respx.post(url__regex=".*").mock(return_value=answer)
        with pytest.raises(ProviderError) as caught:
            await ring.chat(request("openai"))
    assert other not in str(caught.value)
    assert_scrubbed(caught.value)


async def test_all_models_failed_lists_only_scrubbed_errors(tmp_path: Path) -> None:
    answer = httpx.Response(503, headers={"content-type": "text/plain"}, content=ECHO.encode())
    lockfile = tmp_path / "llmring.lock"
    async with LLMRing(
        api_keys={"openai": KEY, "anthropic": KEY}, lockfile_path=lockfile, max_retries=0
    ) as ring:
        ring.init_lockfile()
        ring.bind_alias("pair", ["openai:m", "anthropic:m"])
        with respx.mock:
            respx.post(url__regex=".*").mock(side_effect=lambda _: response_copy(answer))
            with pytest.raises(AllModelsFailedError) as caught:
                await ring.chat(
                    LLMRequest(model="pair", messages=[Message(role="user", content="hi")])
                )
    assert [model for model, _ in caught.value.attempts] == ["openai:m", "anthropic:m"]
    assert KEY not in "".join(traceback.format_exception(caught.value))
    assert "Bearer ***" in str(caught.value)


def test_a_chained_cause_that_formats_itself_is_cut_from_the_chain() -> None:
    class Opaque(Exception):
        def __str__(self) -> str:
            return f"opaque {KEY}"

    register_secret(KEY)
    error = ProviderError("outer")
    error.__cause__ = Opaque()
    redact_error(error)
    assert error.__cause__ is None and error.__suppress_context__
    assert KEY not in "".join(traceback.format_exception(error))


def test_short_values_are_not_treated_as_secrets() -> None:
    register_secret("k")
    assert redact("kind keys") == "kind keys"
