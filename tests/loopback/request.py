"""What the loopback server captures of each request, and how it reads one off the socket."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio
import anyio.abc

#: The kind of event a server signals with: ``anyio.Event`` for a server in the test's own
#: event loop, ``threading.Event`` for one in a thread (waited for by plain threads).
E = TypeVar("E", anyio.Event, threading.Event)


@dataclass(eq=False)
class Request(Generic[E]):
    """One request as the server read it, and how its answer ended.

    ``completed``: the whole reply was sent. ``client_left``: the client closed the
    connection before that (a break, a cancel, a timeout); ``left`` is set at that moment.
    """

    line: str
    headers: dict[str, str]
    body: bytes
    left: E
    completed: bool = False
    client_left: bool = False

    @property
    def method(self) -> str:
        return self.line.split(" ", 1)[0]

    @property
    def path(self) -> str:
        """The request target: the path with its query string."""
        return self.line.split(" ", 2)[1]

    def json(self) -> Any:
        return json.loads(self.body)


async def read_request(stream: anyio.abc.ByteStream) -> tuple[str, dict[str, str], bytes]:
    """The request line, the headers (names lower-cased) and the body of the next request.

    Raises ``anyio.EndOfStream`` when the client closes the connection instead.
    """
    data = b""
    while b"\r\n\r\n" not in data:
        data += await stream.receive()
    head, _, body = data.partition(b"\r\n\r\n")
    line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (header.partition(":") for header in header_lines)
    }
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        body += await stream.receive()
    return line, headers, body
