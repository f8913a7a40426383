"""Real HTTP/1.1 servers on 127.0.0.1, for connection and timing tests.

Mocked transports have no connection pool and no clock, so they cannot show that a connection
was given back, or that a retry waited, or that a deadline fired. These servers can:
``serve_stream`` streams one body slowly and counts connections opened and closed;
``serve_script`` answers each request as scripted (status, headers, a delay before the headers,
pauses between pieces, a body that never ends) and records whether the client left early.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.abc


@dataclass
class LoopbackServer:
    url: str
    chunks: Sequence[bytes]
    opened: int = 0
    closed: int = 0
    requests: list[bytes] = field(default_factory=list)
    client_gone: anyio.Event = field(default_factory=anyio.Event)


async def _read_request(stream: anyio.abc.ByteStream) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += await stream.receive()
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        body += await stream.receive()
    return head


@asynccontextmanager
async def serve_stream(
    chunks: Sequence[bytes], *, content_type: str = "application/x-ndjson", hang: bool = True
) -> AsyncIterator[LoopbackServer]:
    """Serve ``chunks`` (chunked encoding) to every request; then hang if ``hang``."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    server = LoopbackServer(url=f"http://127.0.0.1:{port}", chunks=chunks)

    async def handle(stream: anyio.abc.SocketStream) -> None:
        server.opened += 1
        try:
            async with stream:
                while True:
                    server.requests.append(await _read_request(stream))
                    await stream.send(
                        b"HTTP/1.1 200 OK\r\ncontent-type: "
                        + content_type.encode()
                        + b"\r\ntransfer-encoding: chunked\r\n\r\n"
                    )
                    for chunk in chunks:
                        await stream.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    if hang:
                        # Keep the response open: only the client can end it now.
                        while await stream.receive():
                            pass
                    await stream.send(b"0\r\n\r\n")
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
        finally:
            server.closed += 1
            server.client_gone.set()

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        try:
            yield server
        finally:
            tg.cancel_scope.cancel()


# --- a scriptable server: status, headers, delays, trickles, in-band errors -----------------


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``body`` pieces are sent as chunks; a number in it is a pause (s).

    ``delay`` is slept before the status line (a server slow to answer at all). ``hang`` keeps
    the response open after the body: only the client can end it. ``cut`` closes the
    connection after the body without ending it properly (a connection broken mid-stream).
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Sequence[bytes | float] = ()
    delay: float = 0.0
    hang: bool = False
    cut: bool = False
    content_type: str = "application/x-ndjson"


@dataclass
class Served:
    """What happened to one request: its path, and whether the client left before the end."""

    path: str
    started: float
    client_left: bool = False
    completed: bool = False
    left: anyio.Event = field(default_factory=anyio.Event)


@dataclass
class ScriptedServer:
    url: str
    served: list[Served] = field(default_factory=list)
    opened: int = 0
    closed: int = 0

    def count(self, path: str) -> int:
        return sum(1 for item in self.served if item.path == path)


class _ClientLeft(Exception):
    pass


class _Cut(Exception):
    pass


async def _pause(stream: anyio.abc.SocketStream, seconds: float) -> None:
    """Sleep ``seconds``, noticing at once if the client closes the connection meanwhile."""
    with anyio.move_on_after(seconds):
        try:
            while await stream.receive():
                pass  # HTTP/1.1 clients send nothing more until the answer is complete
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass
        raise _ClientLeft


def in_order(script: Mapping[str, Sequence[Reply]]) -> Callable[[str, int], Reply]:
    """The n-th request to a path gets that path's n-th reply (the last one repeats)."""

    def reply(path: str, n: int) -> Reply:
        replies = script[path]
        return replies[min(n, len(replies) - 1)]

    return reply


@asynccontextmanager
async def serve_script(
    script: Mapping[str, Sequence[Reply]] | Callable[[str, int], Reply],
) -> AsyncIterator[ScriptedServer]:
    """A real HTTP/1.1 server on 127.0.0.1 answering each request as ``script`` says."""
    reply_for = in_order(script) if isinstance(script, Mapping) else script
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    server = ScriptedServer(url=f"http://127.0.0.1:{port}")
    counts: dict[str, int] = {}

    async def answer(stream: anyio.abc.SocketStream, served: Served, reply: Reply) -> None:
        if reply.delay:
            await _pause(stream, reply.delay)
        head = f"HTTP/1.1 {reply.status} X\r\ncontent-type: {reply.content_type}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in reply.headers.items())
        await stream.send(head.encode() + b"transfer-encoding: chunked\r\n\r\n")
        for piece in reply.body:
            if isinstance(piece, bytes):
                await stream.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                await _pause(stream, piece)
        if reply.hang:
            await _pause(stream, math.inf)
        if reply.cut:
            raise _Cut
        await stream.send(b"0\r\n\r\n")
        served.completed = True

    async def handle(stream: anyio.abc.SocketStream) -> None:
        server.opened += 1
        served: Served | None = None
        try:
            async with stream:
                while True:
                    head = await _read_request(stream)
                    path = head.split(b" ", 2)[1].decode()
                    served = Served(path, anyio.current_time())
                    server.served.append(served)
                    n = counts.get(path, 0)
                    counts[path] = n + 1
                    await answer(stream, served, reply_for(path, n))
        except _Cut:
            pass
        except (
            _ClientLeft,
            anyio.EndOfStream,
            anyio.BrokenResourceError,
            anyio.ClosedResourceError,
        ):
            if served is not None and not served.completed:
                served.client_left = True
                served.left.set()
        finally:
            server.closed += 1

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        try:
            yield server
        finally:
            tg.cancel_scope.cancel()
