"""A real HTTP/1.1 server on 127.0.0.1 that streams a body slowly, for connection tests.

Mocked transports have no connection pool, so they cannot show that a connection was given
back. This server can: it counts connections opened and closed by the client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
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
