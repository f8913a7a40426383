"""A real HTTP/1.1 server on 127.0.0.1 that answers every request with one canned response.

For named-provider tests: it plays an OpenAI-compatible (or Anthropic- or Ollama-compatible)
server, sends the body event by event as chunks, then ends it, and keeps what each request
said (request line, headers, JSON body) so tests can check the URL, the headers and the body.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc

_EVENT_END = re.compile(rb"(?<=\n\n)")


@dataclass
class SeenRequest:
    """What one request said."""

    line: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class CompatServer:
    url: str
    requests: list[SeenRequest] = field(default_factory=list)


async def _read_request(stream: anyio.abc.ByteStream) -> SeenRequest:
    data = b""
    while b"\r\n\r\n" not in data:
        data += await stream.receive()
    head, _, body = data.partition(b"\r\n\r\n")
    line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (h.partition(":") for h in header_lines)
    }
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        body += await stream.receive()
    return SeenRequest(line, headers, json.loads(body) if body else {})


def pieces(body: bytes) -> list[bytes]:
    """An SSE body cut after each event; any other body line by line."""
    parts = [part for part in _EVENT_END.split(body) if part]
    if len(parts) > 1:
        return parts
    return body.splitlines(keepends=True) or [body]


@asynccontextmanager
async def serve(
    body: bytes,
    *,
    content_type: str = "text/event-stream",
    status: int = 200,
    chunks: Sequence[bytes] | None = None,
) -> AsyncIterator[CompatServer]:
    """Answer every request with ``status`` and ``body`` (sent as ``chunks``, by default one
    per SSE event), chunked, then end the response."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    server = CompatServer(url=f"http://127.0.0.1:{port}")
    parts = list(chunks) if chunks is not None else pieces(body)

    async def handle(stream: anyio.abc.SocketStream) -> None:
        try:
            async with stream:
                while True:
                    server.requests.append(await _read_request(stream))
                    await stream.send(
                        b"HTTP/1.1 %d X\r\ncontent-type: %s\r\ntransfer-encoding: chunked\r\n\r\n"
                        % (status, content_type.encode())
                    )
                    for part in parts:
                        await stream.send(b"%x\r\n%s\r\n" % (len(part), part))
                    await stream.send(b"0\r\n\r\n")
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        try:
            yield server
        finally:
            tg.cancel_scope.cancel()
