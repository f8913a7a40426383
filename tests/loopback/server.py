"""The loopback HTTP/1.1 server: real sockets on 127.0.0.1, answering as a script says.

One implementation, run two ways: ``serve`` in the test's own event loop (asyncio or trio,
whichever the test runs on), and ``serve_in_thread`` on an event loop of its own in a thread,
for sync code, for code that starts its own event loop and for subprocesses. It counts the
connections opened and closed, keeps every request, and notices when a client leaves.
"""

from __future__ import annotations

import math
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Generic

import anyio
import anyio.abc
from anyio.from_thread import start_blocking_portal
from anyio.streams.tls import TLSListener

from tests.loopback.reply import Reply, Script, answerer
from tests.loopback.request import E, Request, read_request

_GONE = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError)


@dataclass(eq=False)
class Server(Generic[E]):
    """A running server: where it listens and what it has seen so far.

    ``client_gone`` is set each time a client closes a connection (never when the server
    closes one itself).
    """

    url: str
    client_gone: E
    requests: list[Request[E]] = field(default_factory=list)
    opened: int = 0
    closed: int = 0

    def count(self, path: str) -> int:
        """How many requests came for ``path``."""
        return sum(1 for request in self.requests if request.path == path)


class _ClientLeft(Exception):
    pass


class _Closing(Exception):
    """The reply ends the connection: a cut, or a body framed by closing it."""


async def _pause(stream: anyio.abc.ByteStream, seconds: float) -> None:
    """Wait ``seconds``, noticing at once if the client closes the connection meanwhile."""
    with anyio.move_on_after(seconds):
        try:
            while await stream.receive():
                pass  # HTTP/1.1 clients send nothing more until the answer is complete
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass
        raise _ClientLeft


def _head(reply: Reply) -> bytes:
    try:
        reason = HTTPStatus(reply.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {reply.status} {reason}", f"content-type: {reply.content_type}"]
    lines += [f"{name}: {value}" for name, value in reply.headers.items()]
    declared = {name.lower() for name in reply.headers}
    if reply.framing == "chunked":
        lines.append("transfer-encoding: chunked")
    elif reply.framing == "length" and "content-length" not in declared:
        lines.append(f"content-length: {sum(len(piece) for piece in reply.pieces)}")
    elif reply.framing == "close":
        lines.append("connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _answer(stream: anyio.abc.ByteStream, request: Request[Any], reply: Reply) -> None:
    if reply.delay:
        await _pause(stream, reply.delay)
    await stream.send(_head(reply))
    for piece in reply.body:
        if not isinstance(piece, bytes):
            await _pause(stream, piece)
        elif piece and reply.framing == "chunked":
            await stream.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        elif piece:
            await stream.send(piece)
    if reply.hang:
        await _pause(stream, math.inf)
    if reply.cut:
        raise _Closing
    if reply.framing == "chunked":
        await stream.send(b"0\r\n\r\n")
    request.completed = True
    if reply.framing == "close":
        raise _Closing


@asynccontextmanager
async def _running(
    script: Script,
    new_event: Callable[[], E],
    tls: ssl.SSLContext | None,
    requests_per_connection: int | None,
) -> AsyncIterator[Server[E]]:
    reply_for = answerer(script)
    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = tcp.extra(anyio.abc.SocketAttribute.local_port)
    listener: anyio.abc.Listener[Any] = (
        TLSListener(tcp, tls, standard_compatible=False) if tls else tcp
    )
    server = Server(f"{'https' if tls else 'http'}://127.0.0.1:{port}", new_event())

    async def connection(stream: anyio.abc.ByteStream) -> None:
        server.opened += 1
        request: Request[E] | None = None
        try:
            async with stream:
                served = 0
                while requests_per_connection is None or served < requests_per_connection:
                    request = Request(*await read_request(stream), left=new_event())
                    server.requests.append(request)
                    await _answer(stream, request, reply_for(request))
                    served += 1
        except _Closing:
            pass
        except (_ClientLeft, *_GONE):
            if request is not None and not request.completed:
                request.client_left = True
                request.left.set()
            server.client_gone.set()
        finally:
            server.closed += 1

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, connection)
        try:
            yield server
        finally:
            tg.cancel_scope.cancel()


@asynccontextmanager
async def serve(
    script: Script,
    *,
    tls: ssl.SSLContext | None = None,
    requests_per_connection: int | None = None,
) -> AsyncIterator[Server[anyio.Event]]:
    """Serve ``script`` in the current event loop until the block ends.

    With ``tls`` the server speaks HTTPS. ``requests_per_connection`` closes each connection
    after that many answers (keep-alive ended by the server); by default a connection serves
    requests until the client closes it.
    """
    async with _running(script, anyio.Event, tls, requests_per_connection) as server:
        yield server


@contextmanager
def serve_in_thread(
    script: Script,
    *,
    tls: ssl.SSLContext | None = None,
    requests_per_connection: int | None = None,
) -> Iterator[Server[threading.Event]]:
    """Serve ``script`` from a thread with its own event loop until the block ends.

    Stopping takes no polling interval: leaving the block cancels the server at once.
    """
    running = _running(script, threading.Event, tls, requests_per_connection)
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(running) as server:
        yield server
