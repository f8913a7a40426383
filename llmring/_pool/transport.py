"""``PoolTransport``: llmring's pool under httpx's client API, as an ``httpx.AsyncBaseTransport``.

httpx stays what every caller sees (requests, responses, timeouts, event hooks, proxies from
the environment, which httpx routes to its own transport); only the connection pool below it
is ours. HTTP/1.1 only: LLM streams are one request per connection anyway.
"""

from __future__ import annotations

import functools
import ssl
import sys
from collections.abc import Callable
from typing import Any

import httpx

from llmring._pool.connection import Connection, NothingSentError, Origin, open_connection
from llmring._pool.pool import ConnectionPool

__all__ = ["PoolTransport"]

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Test libraries (respx, pytest-httpx) intercept requests by patching one of these two methods;
# while one is patched the request goes through httpx's own transport so the mock sees it.
# httpcore is only looked at once something imported it (httpx does not until its own
# transport is made), so ``import llmring`` does not pay for httpcore and the trio it imports.
_HTTPX_HANDLE = httpx.AsyncHTTPTransport.handle_async_request


class PoolTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over ``ConnectionPool`` (plain TCP or TLS), for ``httpx.AsyncClient``."""

    def __init__(
        self,
        *,
        max_connections: int,
        max_keepalive_connections: int,
        keepalive_expiry: float | None = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.pool = ConnectionPool(
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
        )
        self._ssl_context = ssl_context
        self._mocked_route: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` on a pooled connection; the body streams from the same one."""
        if _mock_active():
            return await self._mock_route().handle_async_request(request)
        scheme = request.url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"llmring's pool speaks http and https, not {scheme!r}")
        origin: Origin = (scheme, request.url.host, request.url.port or _DEFAULT_PORTS[scheme])
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        connection = await self.pool.acquire(origin, timeouts.get("pool"))
        try:
            if connection is None:
                connection = await self._open(origin, timeouts.get("connect"))
            try:
                await connection.send(request, timeouts.get("write"))
            except NothingSentError:
                # The server closed this idle keep-alive connection as we took it, and no byte
                # of the request went out: send it once more on a new connection in its slot.
                await connection.aclose()
                self.pool.discard(connection)
                connection = await self._open(origin, timeouts.get("connect"))
                await connection.send(request, timeouts.get("write"))
            head = await connection.receive_head(timeouts.get("read"))
        except BaseException:
            if connection is None:
                self.pool.release_slot()
            else:
                await self.pool.release(connection, reusable=False)
            raise
        return httpx.Response(
            head.status_code,
            headers=head.headers.raw_items(),
            stream=ResponseStream(self.pool, connection, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": bytes(head.reason)},
        )

    async def _open(self, origin: Origin, connect_timeout: float | None) -> Connection:
        if origin[0] == "https" and self._ssl_context is None:
            self._ssl_context = _default_ssl_context()
        connection = await open_connection(
            origin, connect_timeout=connect_timeout, ssl_context=self._ssl_context
        )
        self.pool.opened(connection)
        return connection

    def _mock_route(self) -> httpx.AsyncHTTPTransport:
        if self._mocked_route is None:
            # The shared context: loading the CA bundle anew costs ~50 ms per transport.
            self._mocked_route = httpx.AsyncHTTPTransport(verify=_default_ssl_context())
        return self._mocked_route

    async def aclose(self) -> None:
        """Close every connection of the pool."""
        await self.pool.aclose()
        if self._mocked_route is not None:
            await self._mocked_route.aclose()


class ResponseStream(httpx.AsyncByteStream):
    """A response body read straight off its connection; the connection goes back to the pool
    the moment the body ends, and is closed if the reader stops early."""

    __slots__ = ("_connection", "_pool", "_read_timeout")

    def __init__(
        self, pool: ConnectionPool, connection: Connection, read_timeout: float | None
    ) -> None:
        self._pool = pool
        self._connection: Connection | None = connection
        self._read_timeout = read_timeout

    # An iterator object, not an async generator: nothing for an event loop to finalize
    # when httpx drops it, and no generator frame per chunk.
    def __aiter__(self) -> ResponseStream:
        return self

    async def __anext__(self) -> bytes:
        connection = self._connection
        if connection is None:
            raise StopAsyncIteration
        data = await connection.receive_data(self._read_timeout)
        if data is None:
            await self._release(reusable=connection.finish_cycle())
            raise StopAsyncIteration
        return data

    async def aclose(self) -> None:
        """Give the connection back: reusable only if the whole response was read."""
        if self._connection is not None:
            await self._release(reusable=self._connection.finish_cycle())

    async def _release(self, *, reusable: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await self._pool.release(connection, reusable=reusable)


def _mock_active() -> bool:
    if httpx.AsyncHTTPTransport.handle_async_request is not _HTTPX_HANDLE:
        return True
    httpcore = sys.modules.get("httpcore")
    return httpcore is not None and not _is_original(
        httpcore.AsyncConnectionPool.handle_async_request, "AsyncConnectionPool"
    )


def _is_original(method: Callable[..., Any], owner: str) -> bool:
    """Whether ``method`` is still the library's own function (a patch is a mock or another
    function, whose qualified name differs)."""
    return getattr(method, "__qualname__", "") == f"{owner}.handle_async_request"


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """httpx's own verified context (certifi, ``SSL_CERT_FILE``), limited to HTTP/1.1; made
    once per process, since loading the CA bundle is the slow part of opening a client."""
    context = httpx.create_ssl_context()
    context.set_alpn_protocols(["http/1.1"])
    return context
