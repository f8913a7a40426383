"""The engine end to end over HTTP, with a minimal fake provider: chunks, errors, closing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing

import anyio
import httpx
import pytest
import respx

from llmring import LLMRequest, LLMRing, Message
from llmring.exceptions import (
    ModelNotFoundError,
    ProviderAuthenticationError,
    ProviderBadRequestError,
    ProviderConnectionError,
    ProviderNotFoundError,
    ProviderOverloadedError,
    ProviderRateLimitError,
    ProviderResponseError,
    ProviderTimeoutError,
)
from llmring.providers import _CLASSES as REGISTRY
from llmring.providers import register_provider
from llmring.testing import ReplayStream
from tests.fakes import FakeProvider, ndjson
from tests.loopback import Reply, serve

pytestmark = pytest.mark.anyio
KEY = "sk-fake-SECRET-0123456789"
REQUEST = LLMRequest(model="fake:m1", messages=[Message(role="user", content="hi")])
BODY = ndjson({"t": "Hel"}, {"t": "lo ☃"}, {"done": "stop"})


@pytest.fixture(autouse=True)
def fake_provider() -> Iterator[None]:
    register_provider("fake", FakeProvider)
    yield
    REGISTRY.pop("fake", None)


def ring(**kwargs: object) -> LLMRing:
    kwargs.setdefault("max_retries", 0)  # one request per test: retries are tests/test_retry.py's
    return LLMRing(api_keys={"fake": KEY}, **kwargs)  # type: ignore[arg-type]


def respond(body: bytes, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, headers={"content-type": "application/x-ndjson", **headers}, content=body
    )


@respx.mock
async def test_stream_yields_text_then_one_final_chunk() -> None:
    respx.post("http://fake.test/m1/stream").mock(return_value=respond(BODY))
    async with ring() as service:
        chunks = [chunk async for chunk in service.chat_stream(REQUEST)]
    assert [(c.delta, c.model, c.finish_reason) for c in chunks] == [
        ("Hel", "fake:m1", None),
        ("lo ☃", "fake:m1", None),
        ("", "fake:m1", "stop"),
    ]
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 7
    sent = respx.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.content == b'{"model":"m1","prompt":"hi","stream":true}'


@respx.mock
async def test_chat_uses_the_non_streaming_endpoint() -> None:
    respx.post("http://fake.test/m1/complete").mock(return_value=respond(BODY))
    async with ring() as service:
        response = await service.chat(REQUEST)
    assert (response.content, response.finish_reason, response.total_tokens) == (
        "Hello ☃",
        "stop",
        7,
    )


@respx.mock
async def test_stream_cut_short_raises_with_the_text_so_far() -> None:
    respx.post("http://fake.test/m1/stream").mock(return_value=respond(BODY[:-17]))
    received = []
    async with ring() as service:
        with pytest.raises(ProviderResponseError, match="ended before") as caught:
            async for chunk in service.chat_stream(REQUEST):
                received.append(chunk.delta)
    assert received == ["Hel", "lo ☃"]
    assert caught.value.partial is not None and caught.value.partial.content == "Hello ☃"
    assert (caught.value.provider, caught.value.model) == ("fake", "m1")


@respx.mock
async def test_in_band_error_raises_its_class_with_the_partial_text() -> None:
    body = ndjson({"t": "par"}, {"error": "overloaded", "status": 529})
    respx.post("http://fake.test/m1/stream").mock(return_value=respond(body))
    async with ring() as service:
        with pytest.raises(ProviderOverloadedError) as caught:
            async for _ in service.chat_stream(REQUEST):
                pass
    assert caught.value.partial is not None and caught.value.partial.content == "par"


@respx.mock
async def test_malformed_line_is_a_typed_error_not_a_crash() -> None:
    respx.post("http://fake.test/m1/stream").mock(
        return_value=respond(b'{"t": "ok"}\n{"t": broken\n')
    )
    async with ring() as service:
        with pytest.raises(ProviderResponseError, match="could not parse") as caught:
            async for _ in service.chat_stream(REQUEST):
                pass
    assert caught.value.partial is not None and caught.value.partial.content == "ok"


@pytest.mark.parametrize(
    ("status", "headers", "body", "error", "message"),
    [
        (401, {}, b'{"error": "bad key"}', ProviderAuthenticationError, "bad key"),
        (403, {}, b'{"error": "forbidden"}', ProviderAuthenticationError, "forbidden"),
        (404, {}, b'{"error": "no such model"}', ModelNotFoundError, "no such model"),
        (400, {}, b'{"error": "bad field"}', ProviderBadRequestError, "bad field"),
        (408, {}, b"", ProviderTimeoutError, "empty error body"),
        (504, {}, b"", ProviderTimeoutError, "empty error body"),
        (500, {}, b'{"error": "boom"}', ProviderOverloadedError, "boom"),
        (529, {}, b'{"error": "overloaded"}', ProviderOverloadedError, "overloaded"),
        (
            502,
            {"content-type": "text/html"},
            b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            ProviderOverloadedError,
            "HTML page: 502 Bad Gateway",
        ),
    ],
)
@respx.mock
async def test_http_errors_map_to_typed_errors_with_the_providers_message(
    status: int, headers: dict[str, str], body: bytes, error: type[Exception], message: str
) -> None:
    respx.post(url__startswith="http://fake.test/").mock(
        return_value=respond(body, status, **headers)
    )
    async with ring() as service:
        with pytest.raises(error, match=message) as streamed:
            async for _ in service.chat_stream(REQUEST):
                pass
        with pytest.raises(error, match=message):
            await service.chat(REQUEST)
    assert streamed.value.status_code == status  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({}, None),
    ],
)
@respx.mock
async def test_rate_limit_carries_retry_after(
    headers: dict[str, str], retry_after: float | None
) -> None:
    respx.post("http://fake.test/m1/complete").mock(
        return_value=respond(b'{"error": "slow down"}', 429, **headers)
    )
    async with ring() as service:
        with pytest.raises(ProviderRateLimitError, match="slow down") as caught:
            await service.chat(REQUEST)
    assert caught.value.retry_after == retry_after


@respx.mock
async def test_connection_failure_is_typed() -> None:
    respx.post("http://fake.test/m1/stream").mock(side_effect=httpx.ConnectError("refused"))
    async with ring() as service:
        with pytest.raises(ProviderConnectionError, match="ConnectError: refused"):
            async for _ in service.chat_stream(REQUEST):
                pass


class _BreaksMidBody(httpx.AsyncByteStream):
    """One line of the body, then the connection fails."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield ndjson({"t": "Hel"})
        raise httpx.ReadError("peer reset")


@respx.mock
async def test_a_failure_mid_body_is_typed_and_its_cause_keeps_the_request() -> None:
    # The body is read straight off the response's stream (llmring._body), not through
    # aiter_raw, so the request httpx would attach to the error is attached by llmring.
    respx.post("http://fake.test/m1/stream").mock(
        return_value=httpx.Response(
            200, headers={"content-type": "application/x-ndjson"}, stream=_BreaksMidBody()
        )
    )
    deltas: list[str] = []
    async with ring() as service:
        with pytest.raises(ProviderConnectionError, match="ReadError: peer reset") as caught:
            async for chunk in service.chat_stream(REQUEST):
                deltas.append(chunk.delta)
    assert deltas == ["Hel"]
    assert caught.value.partial is not None and caught.value.partial.content == "Hel"
    cause = caught.value.__cause__
    assert isinstance(cause, httpx.ReadError)
    assert cause.request.url == respx.calls.last.request.url == "http://fake.test/m1/stream"


async def test_missing_key_names_the_variable() -> None:
    async with LLMRing() as service:
        with pytest.raises(ProviderNotFoundError, match="set FAKE_API_KEY"):
            await service.chat(REQUEST)


@respx.mock
async def test_the_key_never_appears_in_errors_reprs_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    respx.post(url__startswith="http://fake.test/").mock(
        return_value=respond(b'{"error": "invalid key"}', 401)
    )
    async with ring() as service:
        with pytest.raises(ProviderAuthenticationError) as caught:
            await service.chat(REQUEST)
        provider = service.provider("fake")
        call = provider.build_call(REQUEST, "m1", stream=True)
    error = caught.value
    seen = [str(error), repr(error), repr(provider), repr(call), error.body_excerpt or ""]
    seen += [record.getMessage() for record in caplog.records]
    assert [text for text in seen if KEY in text] == []
    assert call.headers["authorization"].endswith(KEY)  # it is sent, just never shown


async def test_read_timeout_mid_stream_keeps_the_partial_text() -> None:
    async with (
        serve(Reply(body=[ndjson({"t": "slow"})], hang=True)) as server,
        LLMRing(api_keys={"fake": KEY}, base_urls={"fake": server.url}, timeout=0.3) as service,
    ):
        received = []
        with anyio.fail_after(5), pytest.raises(ProviderTimeoutError) as caught:
            async for chunk in service.chat_stream(REQUEST):
                received.append(chunk.delta)
    assert received == ["slow"]
    assert caught.value.partial is not None and caught.value.partial.content == "slow"


#: Two lines, then the response stays open: only the client can end it.
ONE_TWO_THEN_HANG = Reply(body=[ndjson({"t": "one"}), ndjson({"t": "two"})], hang=True)


def pool_of_one(url: str) -> LLMRing:
    client = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=1), timeout=httpx.Timeout(5.0, pool=1.0)
    )
    return LLMRing(http_client=client, api_keys={"fake": KEY}, base_urls={"fake": url})


async def test_break_under_aclosing_closes_the_connection_at_once() -> None:
    async with serve(ONE_TWO_THEN_HANG) as server:
        service = pool_of_one(server.url)
        with anyio.fail_after(5):
            async with aclosing(service.chat_stream(REQUEST)) as chunks:
                async for chunk in chunks:
                    assert chunk.delta == "one"
                    break
            await server.client_gone.wait()
            # The pool's only connection is free again: a second stream gets it.
            async with aclosing(service.chat_stream(REQUEST)) as chunks:
                assert (await anext(chunks)).delta == "one"
        await service._client.aclose()
    assert (server.opened, len(server.requests)) == (2, 2)


# trio rightly warns that the generator was not aclose()d (the README says to use aclosing);
# this test shows the connection is still given back once the generator is finalized.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_plain_break_releases_the_connection_when_the_generator_is_dropped() -> None:
    async with serve(ONE_TWO_THEN_HANG) as server:
        service = pool_of_one(server.url)
        with anyio.fail_after(5):
            async for _ in service.chat_stream(REQUEST):
                break
            await server.client_gone.wait()
            async for chunk in service.chat_stream(REQUEST):
                assert chunk.delta == "one"
                break
        await service._client.aclose()
    assert len(server.requests) == 2


async def test_cancelling_the_consumer_from_another_task_closes_the_connection() -> None:
    async with serve(Reply(body=[ndjson({"t": "one"})], hang=True)) as server:
        service = pool_of_one(server.url)
        first_chunk = anyio.Event()

        async def consume() -> None:
            async for _ in service.chat_stream(REQUEST):
                first_chunk.set()  # then the stream hangs: the server sends no more

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(consume)
                await first_chunk.wait()
                tg.cancel_scope.cancel()
            await server.client_gone.wait()
            async with aclosing(service.chat_stream(REQUEST)) as chunks:
                assert (await anext(chunks)).delta == "one"
        await service._client.aclose()
    assert server.closed >= 1


@respx.mock
async def test_break_closes_a_mocked_response_too() -> None:
    streams: list[ReplayStream] = []

    def answer(request: httpx.Request) -> httpx.Response:
        stream = ReplayStream([ndjson({"t": "a"}), ndjson({"t": "b"}), ndjson({"done": "stop"})])
        streams.append(stream)
        return httpx.Response(200, headers={"content-type": "application/x-ndjson"}, stream=stream)

    respx.post("http://fake.test/m1/stream").mock(side_effect=answer)
    async with ring() as service:
        async with aclosing(service.chat_stream(REQUEST)) as chunks:
            async for _ in chunks:
                break
        assert [(s.closed, s.served) for s in streams] == [(True, 1)]
