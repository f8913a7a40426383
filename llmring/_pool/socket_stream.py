"""``SocketStream``: an anyio byte stream straight over a non-blocking socket.

Under asyncio, anyio's own socket stream is a transport and a protocol with a read queue and
two ``asyncio.Event`` objects (each with its own deque), about 4 KB per connection, and it
pauses and resumes the transport around every receive. Here a connection is the socket and
this object: ``receive`` calls ``recv`` first and waits for readability (``anyio.wait_readable``)
only when nothing is there, so a backlogged stream reads without touching the event loop's
selector, and what is not read stays in the kernel's socket buffer, bounded by TCP flow
control. Under trio this is what trio's own socket stream does.

A failing socket raises its ``OSError`` (the pool maps it to httpx's errors). Of two receives
in a row at least one is a checkpoint: a stream whose data is always ready cannot starve the
other tasks, and no task waits its turn holding bytes it has read (see ``receive``; ``send``
is not a checkpoint, see there).
"""

from __future__ import annotations

import socket
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel

__all__ = ["SocketStream"]


class SocketStream(anyio.abc.ByteStream):
    """A connected non-blocking TCP socket as an anyio ``ByteStream`` (TLS goes on top)."""

    __slots__ = ("_closed", "_owes_checkpoint", "_sock")

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._closed = False
        self._owes_checkpoint = False

    @property
    def extra_attributes(self) -> dict[Any, Any]:
        sock = self._sock
        return {
            anyio.abc.SocketAttribute.raw_socket: lambda: sock,
            anyio.abc.SocketAttribute.family: lambda: sock.family,
            anyio.abc.SocketAttribute.local_address: sock.getsockname,
            anyio.abc.SocketAttribute.remote_address: sock.getpeername,
        }

    async def receive(self, max_bytes: int = 65536, idle: float | None = None) -> bytes:
        """Up to ``max_bytes``; ``TimeoutError`` if none came for ``idle`` seconds of waiting.

        The idle limit's cancel scope is made only when the read has to wait: a backlogged stream
        reads without one (a scope and its timer per read were most of a ready read's cost).
        """
        sock = self._sock
        # A receive that found its data ready returns it without yielding, so no task ever
        # waits in the event loop's queue holding bytes it has read (at 5,000 backlogged
        # streams, up to 4 KB each); it owes a checkpoint, which the next receive pays first.
        if self._owes_checkpoint:
            await anyio.lowlevel.checkpoint()
        waited = False
        while True:
            if self._closed:
                raise anyio.ClosedResourceError
            try:
                data = sock.recv(max_bytes)
            except BlockingIOError:
                if idle is None:
                    await anyio.wait_readable(sock)
                else:
                    with anyio.CancelScope(deadline=anyio.current_time() + idle) as scope:
                        await anyio.wait_readable(sock)
                    if scope.cancelled_caught:
                        raise TimeoutError from None
                waited = True
                continue
            break
        self._owes_checkpoint = not waited
        if not data:
            raise anyio.EndOfStream
        return data

    async def send(self, item: bytes) -> None:
        """Write all of ``item``, waiting only while the socket's buffer is full.

        Not a checkpoint by itself: the pool reads the response right after writing a request,
        and that read is one. Yielding here too would park every new stream with its request
        bytes still alive (at thousands of streams starting at once, that was their peak).
        """
        sock = self._sock
        view = memoryview(item)
        while view:
            if self._closed:
                raise anyio.ClosedResourceError
            try:
                sent = sock.send(view)
            except BlockingIOError:
                await anyio.wait_writable(sock)
                continue
            view = view[sent:]

    async def send_eof(self) -> None:
        self._sock.shutdown(socket.SHUT_WR)

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            if self._sock.fileno() >= 0:
                anyio.notify_closing(self._sock)  # wakes a task waiting on it, to fail
            self._sock.close()
        await anyio.lowlevel.checkpoint()
