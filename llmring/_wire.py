"""Body bytes to wire payloads: the ``data`` of each SSE event, or each NDJSON line.

Both decoders work on bytes and share the house verbs: ``feed(bytes) -> list[str]`` and
``finish() -> list[str]``. They split lines before decoding text, which is safe because no
byte of a multi-byte UTF-8 character is ``\\r`` or ``\\n``; a character or a ``\\r\\n`` cut
across network reads is therefore put back together for free, and no incremental text
decoder runs on the hot path.

SSE follows https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation:
lines end in CRLF, LF or CR; one space after the colon is stripped; ``data`` lines are joined
with ``\\n``; a blank line dispatches an event that had data; comments and the ``event``,
``id`` and ``retry`` fields carry nothing llmring needs (every provider repeats the event
name inside the JSON payload); an event cut off by the end of the body is discarded.
httpx-sse implements the same algorithm over text; this one exists because the per-chunk
budget (see benchmarks/) does not leave room for decoding text twice.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator

import httpx

from llmring.exceptions import ProviderResponseError
from llmring.providers.base import WireFormat

__all__ = ["NDJSONDecoder", "SSEDecoder", "decoder_for", "iter_payloads"]

_BOM = codecs.BOM_UTF8


class SSEDecoder:
    """Bytes in, the ``data`` of each complete event out."""

    __slots__ = ("_buffer", "_data", "_pending_cr", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []
        self._pending_cr = False
        self._started = False

    def feed(self, chunk: bytes) -> list[str]:
        if not self._started:
            head = self._buffer + chunk
            if len(head) < len(_BOM) and _BOM.startswith(head):
                self._buffer = head  # too short to tell whether it is a BOM yet
                return []
            self._started = True
            self._buffer = b""
            chunk = head.removeprefix(_BOM)
        if self._pending_cr:
            chunk = b"\r" + chunk
            self._pending_cr = False
        if b"\r" in chunk:
            if chunk.endswith(b"\r"):
                # It may be the first half of a CRLF: decide when the next read comes.
                self._pending_cr = True
                chunk = chunk[:-1]
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return self._lines(chunk)

    def finish(self) -> list[str]:
        """A CR held back at the very end still ends its line; then whatever event is not
        ended by a blank line is incomplete and is discarded, as the spec says."""
        events = self._lines(b"\n") if self._pending_cr else []
        self._pending_cr = False
        self._buffer = b""
        self._data.clear()
        return events

    def _lines(self, chunk: bytes) -> list[str]:
        """Take LF-normalized bytes; return the events the complete lines finish."""
        lines = (self._buffer + chunk).split(b"\n")
        self._buffer = lines.pop()
        events: list[str] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(b"\n".join(data).decode("utf-8", "replace"))
                    data.clear()
            elif line.startswith(b"data:"):
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif line == b"data":
                data.append(b"")
        return events


class NDJSONDecoder:
    """Bytes in, complete non-blank lines out, a trailing ``\\r`` stripped."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[str]:
        if b"\n" not in chunk:
            self._buffer += chunk
            return []
        *lines, rest = (self._buffer + chunk).split(b"\n")
        self._buffer = rest
        return [
            line.rstrip(b"\r").decode("utf-8", "replace")
            for line in lines
            if line and line != b"\r"
        ]

    def finish(self) -> list[str]:
        """A last line that had no newline, if any: the parser judges whether it is whole."""
        rest = self._buffer.strip()
        self._buffer = b""
        return [rest.decode("utf-8", "replace")] if rest else []


def decoder_for(wire: WireFormat, response: httpx.Response) -> SSEDecoder | NDJSONDecoder:
    """The decoder for ``wire``, after checking the response really is that format.

    A body that is not ``text/event-stream`` where SSE was asked for (a proxy's HTML page
    with status 200, a JSON error) is refused with what it said, never parsed as events.
    """
    if wire == "ndjson":
        # Ollama Cloud sends NDJSON as application/json; any content type is accepted.
        return NDJSONDecoder()
    content_type = response.headers.get("content-type", "")
    if "text/event-stream" not in content_type.partition(";")[0]:
        raise ProviderResponseError(
            f"expected a server-sent event stream, got content type {content_type!r}"
        )
    return SSEDecoder()


def iter_payloads(response: httpx.Response, wire: WireFormat) -> Iterator[str]:
    """The payloads of a synchronous (e.g. in-memory) response, as they complete."""
    decoder = decoder_for(wire, response)
    for chunk in response.iter_bytes():
        yield from decoder.feed(chunk)
    yield from decoder.finish()
