"""One HTTP/1.1 connection: an h11 state machine over an anyio byte stream.

It sends one request at a time and reads its response as it arrives; the pool decides who
holds it. Every failure leaves here as the httpx exception httpcore would have raised, so the
layers above (httpx, then ``llmring._transport``) see nothing new.
"""

from __future__ import annotations

import math
import select
import socket
import ssl
import time

import anyio
import anyio.abc
import h11
import httpx
from anyio.streams.tls import TLSStream

from llmring._pool.connect import connect_tcp
from llmring._pool.socket_stream import SocketStream

__all__ = ["Connection", "NothingSentError", "Origin", "open_connection"]

Origin = tuple[str, str, int]
"""``(scheme, host, port)``: connections are only ever reused for the same origin."""

_READ_SIZE = 4096  # per receive: the most read ahead of the parser; the rest waits in the kernel
_WRITE_BATCH = 65536
_NETWORK_ERRORS = (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError)


class NothingSentError(Exception):
    """A reused connection broke before the first byte of the request was written.

    The server closed it while it sat idle; no byte of this request reached anyone, so the
    transport may send it again on a fresh connection (Go's ``nothingWrittenError`` rule).
    """


class _Mapped:
    """Raises the httpx exception for a timeout, a protocol violation or a network failure.

    A class, not a ``@contextmanager``: no generator per use (one per connection opened and
    per request written, thousands alive at once when thousands of streams start together).
    """

    __slots__ = ("_network_error", "_timeout_error")

    def __init__(
        self,
        timeout_error: type[httpx.TimeoutException],
        network_error: type[httpx.TransportError],
    ) -> None:
        self._timeout_error = timeout_error
        self._network_error = network_error

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is None:
            return
        if isinstance(exc, TimeoutError):
            raise self._timeout_error(str(exc) or self._timeout_error.__name__) from exc
        if isinstance(exc, h11.RemoteProtocolError):
            raise httpx.RemoteProtocolError(str(exc)) from exc
        if isinstance(exc, h11.LocalProtocolError):
            raise httpx.LocalProtocolError(str(exc)) from exc
        if isinstance(exc, _NETWORK_ERRORS):
            raise self._network_error(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc


_CONNECT_ERRORS = _Mapped(httpx.ConnectTimeout, httpx.ConnectError)
_WRITE_ERRORS = _Mapped(httpx.WriteTimeout, httpx.WriteError)


async def open_connection(
    origin: Origin, *, connect_timeout: float | None, ssl_context: ssl.SSLContext | None
) -> Connection:
    """A new connection to ``origin`` (TLS for https), within ``connect_timeout`` seconds."""
    scheme, host, port = origin
    with _CONNECT_ERRORS:
        with _deadline(connect_timeout) as scope:  # not fail_after: no generator per connect
            stream: anyio.abc.ByteStream = await connect_tcp(host, port)
            if scheme == "https":
                assert ssl_context is not None
                try:
                    # Not "standard compatible": closing skips the close_notify round trip, which
                    # HTTP/1.1 does not need (the message framing says where a body ends).
                    stream = await TLSStream.wrap(
                        stream,
                        hostname=host,
                        ssl_context=ssl_context,
                        standard_compatible=False,
                    )
                except BaseException:
                    await anyio.aclose_forcefully(stream)
                    raise
        if scope.cancelled_caught:
            raise TimeoutError
    return Connection(origin, stream)


class Connection:
    """An HTTP/1.1 connection to one origin; one request at a time.

    ``send`` writes a request, ``receive_head`` reads the status and headers, ``receive_data``
    reads the body piece by piece (``None`` at its end). ``reusable`` says whether the
    exchange ended cleanly so the connection can carry the next request.
    """

    __slots__ = ("_h11", "_plain", "_socket", "_stream", "idle_since", "origin", "used")

    def __init__(self, origin: Origin, stream: anyio.abc.ByteStream) -> None:
        self.origin = origin
        self._stream = stream
        self._plain = stream if isinstance(stream, SocketStream) else None  # no TLS on top
        self._h11 = h11.Connection(h11.CLIENT)
        self._socket: socket.socket | None = stream.extra(
            anyio.abc.SocketAttribute.raw_socket, None
        )
        self.idle_since = time.monotonic()
        self.used = False  # carried a request already: a failure may be a stale keep-alive

    async def send(self, request: httpx.Request, write_timeout: float | None) -> None:
        """Write ``request`` (head and body); ``NothingSentError`` if a reused one is dead."""
        reused, self.used = self.used, True
        head = [
            self._h11.send(
                h11.Request(
                    method=request.method,
                    target=request.url.raw_path,
                    headers=request.headers.raw,
                )
            )
            or b""
        ]
        first = True
        pending = head
        size = len(head[0])
        async for part in request.stream:  # type: ignore[union-attr]
            pending.append(self._h11.send(h11.Data(data=part)) or b"")
            size += len(part)
            if size >= _WRITE_BATCH:
                await self._write(b"".join(pending), write_timeout, reused and first)
                first, pending, size = False, [], 0
        pending.append(self._h11.send(h11.EndOfMessage()) or b"")
        await self._write(b"".join(pending), write_timeout, reused and first)

    async def _write(self, data: bytes, write_timeout: float | None, may_retry: bool) -> None:
        try:
            with _WRITE_ERRORS:
                with _deadline(write_timeout) as scope:
                    await self._stream.send(data)
                if scope.cancelled_caught:
                    raise TimeoutError
        except httpx.WriteError as exc:
            if may_retry:
                raise NothingSentError(str(exc)) from exc
            raise

    async def receive_head(self, read_timeout: float | None) -> h11.Response:
        """The final response head (informational 1xx answers are skipped)."""
        while True:
            event = await self._next_event(read_timeout)
            if isinstance(event, h11.Response):
                return event
            if not isinstance(event, h11.InformationalResponse):
                raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} event")

    async def receive_data(self, read_timeout: float | None) -> bytes | None:
        """The next piece of the body as it arrives; ``None`` once the body is complete."""
        event = await self._next_event(read_timeout)
        if type(event) is h11.Data:
            return bytes(event.data)
        if type(event) is h11.EndOfMessage:
            return None
        raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} in a response body")

    async def _next_event(self, read_timeout: float | None) -> object:
        # The per-chunk path: plain try/except (free in 3.11), no context manager per call.
        connection = self._h11
        try:
            while True:
                event = connection.next_event()
                if event is not h11.NEED_DATA:  # PAUSED cannot happen: one request at a time
                    if type(event) is h11.ConnectionClosed:
                        raise httpx.RemoteProtocolError(
                            "the server closed the connection without sending a complete response"
                        )
                    return event
                # Once per read, thousands of streams waiting in it at once: no scope at all
                # without a timeout; on a bare socket, one only if the read has to wait; over
                # TLS a bare one (``_deadline``) around the read.
                scope = None
                try:
                    if read_timeout is None:
                        data = await self._stream.receive(_READ_SIZE)
                    elif self._plain is not None:
                        data = await self._plain.receive(_READ_SIZE, read_timeout)
                    else:
                        with _deadline(read_timeout) as scope:
                            data = await self._stream.receive(_READ_SIZE)
                except anyio.EndOfStream:
                    data = b""
                if scope is not None and scope.cancelled_caught:
                    raise TimeoutError
                connection.receive_data(data)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "ReadTimeout") from exc
        except h11.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc)) from exc
        except _NETWORK_ERRORS as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc

    def finish_cycle(self) -> bool:
        """After a response: ready the connection for the next request, if it can take one."""
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
            return True
        return False

    def is_stale(self, now: float, keepalive_expiry: float | None) -> bool:
        """Idle too long, or the server closed it (or sent bytes nobody asked for) meanwhile."""
        if keepalive_expiry is not None and now - self.idle_since > keepalive_expiry:
            return True
        return _readable(self._socket)

    async def aclose(self) -> None:
        """Close the socket now; never waits on the peer."""
        with anyio.CancelScope(shield=True):
            await anyio.aclose_forcefully(self._stream)


def _deadline(timeout: float | None) -> anyio.CancelScope:
    """A cancel scope that ends ``timeout`` seconds from now (``None``: never); cheaper than
    ``anyio.fail_after``, a generator-based context manager."""
    return anyio.CancelScope(
        deadline=math.inf if timeout is None else anyio.current_time() + timeout
    )


def _readable(sock: socket.socket | None) -> bool:
    """Whether an idle socket has something to read: for an idle HTTP/1.1 connection that can
    only be the server's close (or garbage), so the connection must not be reused."""
    if sock is None or sock.fileno() < 0:
        return True
    if hasattr(select, "poll"):  # select() cannot watch descriptors past 1024
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)
