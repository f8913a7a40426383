"""llmring's connection pool: against real loopback servers (plain and TLS) on both backends.

Order and timeouts of waiters are checked on the pool itself with stand-in connections; reuse,
expiry, stale keep-alive connections, TLS, pool timeouts and closing go through real sockets.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.abc
import httpx
import pytest

from llmring import LLMRequest, LLMRing, Message
from llmring._pool import ConnectionPool, PoolTimeout, PoolTransport
from llmring._pool.connection import Connection, NothingSentError
from llmring.exceptions import ConnectionPoolTimeoutError, LLMRingError, ProviderTimeoutError
from llmring.providers import _CLASSES as REGISTRY
from llmring.providers import register_provider
from tests.fakes import FakeProvider, ndjson
from tests.loopback import Reply, serve

pytestmark = pytest.mark.anyio
KEY = "sk-fake-SECRET-0123456789"
REQUEST = LLMRequest(model="fake:m1", messages=[Message(role="user", content="hi")])
ORIGIN = ("http", "127.0.0.1", 1)


@pytest.fixture(autouse=True)
def fake_provider() -> Iterator[None]:
    register_provider("fake", FakeProvider)
    yield
    REGISTRY.pop("fake", None)


# --- the pool's bookkeeping, with stand-in connections --------------------------------------


@dataclass(eq=False)
class StandIn:
    origin: tuple[str, str, int] = ORIGIN
    idle_since: float = 0.0
    closed: bool = False

    def is_stale(self, now: float, keepalive_expiry: float | None) -> bool:
        return self.closed

    async def aclose(self) -> None:
        self.closed = True


def pool(size: int = 1) -> ConnectionPool:
    return ConnectionPool(max_connections=size, max_keepalive_connections=size, keepalive_expiry=30)


async def test_waiters_are_served_first_come_first_served_and_a_quick_returner_queues() -> None:
    slots = pool(1)
    held = StandIn()
    assert await slots.acquire(ORIGIN, 5) is None  # the one slot: open a connection
    slots.opened(held)  # type: ignore[arg-type]
    served: list[str] = []

    async def wait(name: str) -> None:
        connection = await slots.acquire(ORIGIN, 5)
        served.append(name)
        await anyio.sleep(0.01)
        await slots.release(connection, reusable=True)  # type: ignore[arg-type]

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for name in ("a", "b", "c"):
                tg.start_soon(wait, name)
                await anyio.sleep(0.01)  # queued in this order
            # The holder hands back and at once asks again: it must queue behind a, b, c.
            await slots.release(held, reusable=True)  # type: ignore[arg-type]
            tg.start_soon(wait, "holder again")
    assert served == ["a", "b", "c", "holder again"]
    assert (slots.connections, slots.idle_connections) == (1, 1)


async def test_a_waiters_pool_timeout_runs_once_from_when_it_started_waiting() -> None:
    slots = pool(1)
    assert await slots.acquire(ORIGIN, 5) is None
    started = time.monotonic()
    with anyio.fail_after(5), pytest.raises(PoolTimeout) as caught:
        await slots.acquire(ORIGIN, 0.2)
    waited = time.monotonic() - started
    assert 0.15 < waited < 1.5
    assert caught.value.max_connections == 1
    assert "llmring's pool of 1 within 0.2 s" in str(caught.value)
    # The abandoned waiter is skipped: the freed slot goes to the next one.
    async with anyio.create_task_group() as tg:
        got: list[object] = []

        async def wait() -> None:
            got.append(await slots.acquire(ORIGIN, 5))

        tg.start_soon(wait)
        await anyio.sleep(0.01)
        slots.release_slot()
    assert got == [None] and slots.connections == 1


async def test_a_cancelled_waiter_hands_on_what_it_was_given() -> None:
    slots = pool(1)
    held = StandIn()
    assert await slots.acquire(ORIGIN, 5) is None
    slots.opened(held)  # type: ignore[arg-type]

    async def take() -> None:
        connection = await slots.acquire(ORIGIN, 5)
        try:  # as the transport does: whatever it got goes back however it ends
            await anyio.sleep(5)
        finally:
            await slots.release(connection, reusable=True)  # type: ignore[arg-type]

    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(take)
            await anyio.sleep(0.01)
            await slots.release(held, reusable=True)  # type: ignore[arg-type]
            # Granted but not yet running (trio: cancelled inside the wait; asyncio: after it).
            scope.cancel()
    assert (slots.connections, slots.idle_connections) == (1, 1)
    assert await slots.acquire(ORIGIN, 0.1) is held


async def test_idle_connections_to_another_origin_give_up_their_slot() -> None:
    slots = pool(1)
    other = StandIn(origin=("http", "127.0.0.1", 2))
    assert await slots.acquire(other.origin, 5) is None
    slots.opened(other)  # type: ignore[arg-type]
    await slots.release(other, reusable=True)  # type: ignore[arg-type]
    assert await slots.acquire(ORIGIN, 0.1) is None  # a slot, without waiting
    assert other.closed and (slots.connections, slots.idle_connections) == (1, 0)


# --- end to end over real sockets ----------------------------------------------------------


def ring(url: str, **kwargs: object) -> LLMRing:
    return LLMRing(api_keys={"fake": KEY}, base_urls={"fake": url}, **kwargs)  # type: ignore[arg-type]


BODY = [ndjson({"t": "one"}), ndjson({"t": "two"}), ndjson({"done": "stop"})]


async def texts(service: LLMRing) -> str:
    return "".join([chunk.delta async for chunk in service.chat_stream(REQUEST)])


async def test_keep_alive_reuses_one_connection_for_consecutive_streams() -> None:
    async with serve(Reply(body=BODY)) as server, ring(server.url) as service:
        with anyio.fail_after(5):
            assert [await texts(service) for _ in range(3)] == ["onetwo"] * 3
    assert (server.opened, len(server.requests)) == (1, 3)


async def test_an_expired_idle_connection_is_replaced() -> None:
    async with serve(Reply(body=BODY)) as server:
        client = httpx.AsyncClient(
            transport=PoolTransport(
                max_connections=5, max_keepalive_connections=5, keepalive_expiry=0.05
            )
        )
        service = LLMRing(
            http_client=client, api_keys={"fake": KEY}, base_urls={"fake": server.url}
        )
        with anyio.fail_after(5):
            assert await texts(service) == "onetwo"
            await anyio.sleep(0.15)
            assert await texts(service) == "onetwo"
            await server.client_gone.wait()
        await client.aclose()
    assert (server.opened, len(server.requests)) == (2, 2)


#: A small answer framed by its length: the server may close the connection right after it.
SMALL = Reply(body=[ndjson({"t": "ok"}, {"done": "stop"})], framing="length")
#: One line, then the response stays open: only the client can end it.
HANGING = Reply(body=[ndjson({"t": "one"})], hang=True)


async def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    async with (
        serve(SMALL, requests_per_connection=1) as server,
        ring(server.url) as service,
    ):
        with anyio.fail_after(5):
            assert await texts(service) == "ok"
            await anyio.sleep(0.05)  # the server's close arrives while the connection idles
            assert await texts(service) == "ok"
    assert (server.opened, len(server.requests)) == (2, 2)


class DeadStream(anyio.abc.ByteStream):
    """A socket the server has already closed: every write fails."""

    async def send(self, item: bytes) -> None:
        raise anyio.BrokenResourceError

    async def receive(self, max_bytes: int = 65536) -> bytes:
        raise anyio.EndOfStream

    async def send_eof(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


async def test_a_reused_connection_that_fails_before_sending_asks_for_a_retry() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:1/m1/stream", content=b"{}")
    fresh = Connection(ORIGIN, DeadStream())
    with pytest.raises(httpx.WriteError):  # a new connection: the failure is the request's
        await fresh.send(request, 1.0)
    reused = Connection(ORIGIN, DeadStream())
    reused.used = True
    with pytest.raises(NothingSentError):  # no byte left: safe to send on a new connection
        await reused.send(request, 1.0)


async def test_the_request_is_sent_again_once_when_a_reused_connection_was_dead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with (
        serve(SMALL, requests_per_connection=2) as server,
        ring(server.url) as service,
    ):
        with anyio.fail_after(5):
            assert await texts(service) == "ok"
            # The server's close races the next request: the idle check still sees it open.
            pool_transport = service._client._transport
            assert isinstance(pool_transport, PoolTransport)
            (idle,) = next(iter(pool_transport.pool._idle.values()))
            await idle._stream.aclose()
            monkeypatch.setattr(idle, "_stream", DeadStream())
            monkeypatch.setattr(Connection, "is_stale", lambda *_: False)
            assert await texts(service) == "ok"
    assert (server.opened, len(server.requests)) == (2, 2)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_https_streams_and_reuses_its_connection(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(cert))
    async with serve(SMALL, tls=server_tls, requests_per_connection=5) as server:
        transport = PoolTransport(
            max_connections=5, max_keepalive_connections=5, ssl_context=client_tls
        )
        client = httpx.AsyncClient(transport=transport)
        service = LLMRing(
            http_client=client, api_keys={"fake": KEY}, base_urls={"fake": server.url}
        )
        with anyio.fail_after(5):
            assert [await texts(service) for _ in range(3)] == ["ok"] * 3
        await client.aclose()
    assert (server.opened, len(server.requests)) == (1, 3)


async def test_an_unverified_certificate_is_refused(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    events: list[object] = []
    async with (
        serve(SMALL, tls=server_tls, requests_per_connection=1) as server,
        ring(server.url, on_event=events.append) as service,
    ):
        with anyio.fail_after(5), pytest.raises(LLMRingError, match="CERTIFICATE_VERIFY_FAILED"):
            await texts(service)
    # The same certificate fails the same way again: asked once, never retried.
    assert [type(event).__name__ for event in events] == ["RequestStarted", "RequestFailed"]


async def test_a_full_pool_raises_its_own_error_naming_its_size_in_time() -> None:
    async with (
        serve(HANGING) as server,
        ring(server.url, max_connections=1, timeout=0.3) as service,
    ):
        with anyio.fail_after(5):
            async with aclosing(service.chat_stream(REQUEST)) as holder:
                assert (await anext(holder)).delta == "one"  # holds the only connection
                started = time.monotonic()
                with pytest.raises(ConnectionPoolTimeoutError) as caught:
                    async with aclosing(service.chat_stream(REQUEST)) as waiting:
                        await anext(waiting)
                waited = time.monotonic() - started
    error = caught.value
    assert not isinstance(error, ProviderTimeoutError) and error.fallback_eligible is False
    assert error.max_connections == 1 and 0.2 < waited < 2
    assert str(error) == (
        "fake:m1: no connection came free in llmring's pool of 1 within 0.3 s; "
        "raise LLMRing(max_connections=...) or send fewer requests at once"
    )
    assert len(server.requests) == 1  # the waiting request never reached the server


async def test_break_and_cancel_release_every_connection_at_once_at_scale() -> None:
    streams = 100
    async with serve(HANGING) as server, ring(server.url) as service:
        gone = anyio.Event()

        async def consume(stop: str) -> None:
            async with aclosing(service.chat_stream(REQUEST)) as chunks:
                async for _ in chunks:
                    if stop == "break":
                        break
                    await gone.wait()  # held open until cancelled

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                for i in range(streams):
                    tg.start_soon(consume, "break" if i % 2 else "cancel")
                while len(server.requests) < streams or server.closed < streams // 2:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
                tg.cancel_scope.cancel()
            while server.closed < streams:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        pool_transport = service._client._transport
        assert isinstance(pool_transport, PoolTransport)
        assert (pool_transport.pool.connections, pool_transport.pool.idle_connections) == (0, 0)
    assert (server.opened, server.closed) == (streams, streams)


async def test_closing_the_ring_closes_its_idle_connections() -> None:
    async with serve(Reply(body=BODY)) as server:
        async with ring(server.url) as service, anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(texts, service)
        with anyio.fail_after(5):
            while server.closed < server.opened:  # noqa: ASYNC110
                await anyio.sleep(0.01)
    assert (server.opened, server.closed) == (20, 20)
