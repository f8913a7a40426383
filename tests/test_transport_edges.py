"""Edge values a broken server or proxy sends: absurd Retry-After, redirects, error bodies that
stall, and a stream closed early leaving no httpx/httpcore generator to the garbage collector.

Timing cases run against real loopback servers, on asyncio and trio.
"""

from __future__ import annotations

import email.utils
import gc
import gzip
import time
import warnings
from contextlib import aclosing

import anyio
import httpx
import pytest
import respx

from llmring import LLMRequest, LLMRing, Message
from llmring._transport import parse_retry_after
from llmring.exceptions import (
    ProviderError,
    ProviderOverloadedError,
    ProviderRateLimitError,
    ProviderResponseError,
    ProviderTimeoutError,
)
from tests.loopback import Reply, serve

pytestmark = pytest.mark.anyio

ROUTES = ["openai", "openai-responses", "anthropic", "google", "ollama"]


def request(route: str, timeout: float | None = None) -> LLMRequest:
    return LLMRequest(
        model=f"{route}:m", messages=[Message(role="user", content="hi")], timeout=timeout
    )


def http_date(offset: float) -> str:
    return email.utils.formatdate(time.time() + offset, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "20"}, 20.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "-inf"}, None),
        ({"retry-after": "1e400"}, None),
        ({"retry-after": "99999999999"}, None),
        ({"retry-after": "86401"}, None),  # over a day: no advice anyone would follow
        ({"retry-after": "86400"}, 86400.0),
        ({"retry-after": "-5"}, 0.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a past date: now
        ({"retry-after": "Fri, 31 Dec 9999 23:59:59 GMT"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "nan", "retry-after": "3"}, 3.0),  # the sane one is used
        ({"retry-after-ms": "-10"}, 0.0),
    ],
)
def test_retry_after_edge_values(headers: dict[str, str], seconds: float | None) -> None:
    assert parse_retry_after(httpx.Headers(headers)) == seconds


def test_retry_after_as_a_future_date_is_the_seconds_until_it() -> None:
    wait = parse_retry_after(httpx.Headers({"retry-after": http_date(120)}))
    assert wait is not None and 115 <= wait <= 120


@pytest.mark.parametrize("route", ROUTES)
async def test_a_redirect_is_an_error_naming_where_it_points(route: str) -> None:
    location = "https://elsewhere.test/v1/chat"
    answer = httpx.Response(307, headers={"location": location}, content=b"moved")
    async with LLMRing(api_keys={route: "test-key-redirect"}) as ring, respx.mock:
        respx.post(url__regex=".*").mock(
            side_effect=lambda _: httpx.Response(307, headers=answer.headers, content=b"moved")
        )
        caught: list[ProviderError] = []
        with pytest.raises(ProviderResponseError) as streamed:
            async for _ in ring.chat_stream(request(route)):
                pass
        caught.append(streamed.value)
        with pytest.raises(ProviderResponseError) as completed:
            await ring.chat(request(route))
        caught.append(completed.value)
    for error in caught:
        assert error.status_code == 307
        assert f"redirected to {location}" in str(error)
        assert error.provider == ring.provider(route).name


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(503, ProviderOverloadedError), (429, ProviderRateLimitError)],
)
async def test_an_error_status_whose_body_stalls_keeps_its_status(
    status: int, error_class: type[ProviderError]
) -> None:
    # A hundred bytes announced, one sent, then nothing.
    stalls = Reply(
        status,
        {"retry-after": "7", "content-length": "100"},
        [b"{"],
        content_type="application/json",
        framing="length",
        hang=True,
    )
    caught: list[ProviderError] = []
    async with (
        serve(stalls) as server,
        LLMRing(base_urls={"ollama": server.url}, max_retries=0) as ring,
    ):
        with anyio.fail_after(5):
            with pytest.raises(error_class) as streamed:
                async for _ in ring.chat_stream(request("ollama", timeout=0.2)):
                    pass
            caught.append(streamed.value)
            with pytest.raises(error_class) as completed:
                await ring.chat(request("ollama", timeout=0.2))
            caught.append(completed.value)
    for error in caught:
        assert type(error) is error_class
        assert error.status_code == status
        assert isinstance(error.__cause__, ProviderTimeoutError)
        assert "the error body could not be read: timed out" in str(error)
        if isinstance(error, ProviderRateLimitError):
            assert error.retry_after == 7.0


def ndjson_line(text: str) -> bytes:
    return b'{"model":"m","message":{"role":"assistant","content":"%s"},"done":false}\n' % (
        text.encode()
    )


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
async def test_closing_a_stream_early_leaves_no_generator_unclosed(encoding: str) -> None:
    """trio reports each async generator the garbage collector finalizes; there must be none."""
    body = ndjson_line("one") + ndjson_line("two")
    chunk = gzip.compress(body) if encoding == "gzip" else body
    stalls = Reply(headers={"content-encoding": encoding}, body=[chunk], hang=True)
    async with serve(stalls) as server:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            async with LLMRing(base_urls={"ollama": server.url}) as ring:
                with anyio.fail_after(5):
                    async with aclosing(ring.chat_stream(request("ollama"))) as chunks:
                        async for chunk_out in chunks:
                            assert chunk_out.delta == "one"
                            break
                    await server.client_gone.wait()
            gc.collect()
    assert [str(w.message) for w in caught] == []
