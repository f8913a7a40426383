"""Body bytes to wire payloads: SSE event data, or NDJSON lines.

SSE goes through httpx-sse's ``EventSource`` (a spec-following line splitter and decoder;
https://html.spec.whatwg.org/multipage/server-sent-events.html). NDJSON is ours:
``NDJSONDecoder`` decodes UTF-8 incrementally, so a character or a ``\\r\\n`` split across
network chunks is put back together before any line is handed on.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing

import httpx
from httpx_sse import EventSource, SSEError

from llmring.exceptions import ProviderResponseError
from llmring.providers.base import WireFormat

__all__ = ["NDJSONDecoder", "aiter_payloads", "iter_payloads"]


class NDJSONDecoder:
    """Bytes in, complete lines out; blank lines are dropped, a trailing ``\\r`` stripped."""

    __slots__ = ("_buffer", "_decoder")

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""

    def feed(self, data: bytes) -> list[str]:
        text = self._buffer + self._decoder.decode(data)
        if "\n" not in text:
            self._buffer = text
            return []
        *lines, self._buffer = text.split("\n")
        return [stripped for line in lines if (stripped := line.rstrip("\r"))]

    def finish(self) -> list[str]:
        """Whatever is left: a last line that had no newline, if any."""
        rest = (self._buffer + self._decoder.decode(b"", final=True)).strip()
        self._buffer = ""
        return [rest] if rest else []


def _not_sse(error: SSEError, body: bytes) -> ProviderResponseError:
    # A proxy's HTML page with status 200 lands here; show the person what it said.
    return ProviderResponseError(
        f"expected a server-sent event stream: {error}",
        body_excerpt=body[:500].decode("utf-8", "replace"),
    )


async def aiter_payloads(response: httpx.Response, wire: WireFormat) -> AsyncGenerator[str, None]:
    """The payloads of a streaming response, as they complete."""
    if wire == "sse":
        events = EventSource(response).aiter_sse()
        try:
            async for event in events:
                if event.data:
                    yield event.data
        except SSEError as exc:
            raise _not_sse(exc, await response.aread()) from exc
        finally:
            await events.aclose()
    else:
        decoder = NDJSONDecoder()
        async with aclosing(response.aiter_bytes()) as chunks:
            async for data in chunks:
                for line in decoder.feed(data):
                    yield line
        for line in decoder.finish():
            yield line


def iter_payloads(response: httpx.Response, wire: WireFormat) -> Iterator[str]:
    """The same as ``aiter_payloads`` for a synchronous (in-memory) response."""
    if wire == "sse":
        try:
            for event in EventSource(response).iter_sse():
                if event.data:
                    yield event.data
        except SSEError as exc:
            raise _not_sse(exc, response.read()) from exc
    else:
        decoder = NDJSONDecoder()
        for data in response.iter_bytes():
            yield from decoder.feed(data)
        yield from decoder.finish()
