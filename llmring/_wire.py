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

Both are linear and bounded against a hostile or broken server: only newly arrived bytes are
scanned for a line end, the start of an unfinished line is kept as a list of pieces joined
once, and a line or an event over ``max_event_bytes`` raises ``ProviderResponseError`` the
moment it crosses the limit. The decoders see bytes after content decoding, so a compressed
body (a gzip bomb) counts at its decompressed size.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator

import httpx

from llmring.exceptions import ProviderResponseError, ResponseTooLargeError
from llmring.providers.base import WireFormat

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "NDJSONDecoder",
    "SSEDecoder",
    "decoder_for",
    "iter_payloads",
]

_BOM = codecs.BOM_UTF8
# Line ends as ints: ``10 in chunk`` is a memchr, where ``b"\n" in chunk`` sets up a buffer
# and a substring search (~2.4k instructions against ~0.45k a read, under callgrind).
_LF = 0x0A
_CR = 0x0D

#: Enough for a streamed base64 image in one event; far below what would stall the loop.
DEFAULT_MAX_EVENT_BYTES = 32 * 1024 * 1024


def _too_large(limit: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"the stream sent a line or event over {limit} bytes; refused unread "
        "(raise LLMRing(max_event_bytes=...) if the provider really sends events that large)",
        limit=limit,
    )


class _PendingLine:
    """The start of a line whose end has not arrived: pieces kept in a list and joined once,
    when the line end comes, so a long line costs time linear in its length."""

    __slots__ = ("limit", "pieces", "size")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pieces: list[bytes] = []
        self.size = 0

    def hold(self, piece: bytes) -> bool:
        """Keep ``piece``; False (and nothing kept) once the line would pass the limit."""
        self.pieces.append(piece)
        self.size += len(piece)
        if self.size > self.limit:
            self.clear()  # let the memory go at once
            return False
        return True

    def take(self, chunk: bytes) -> bytes:
        """The held bytes followed by ``chunk``; nothing is held afterwards."""
        if not self.pieces:
            return chunk
        self.pieces.append(chunk)
        joined = b"".join(self.pieces)
        self.clear()
        return joined

    def clear(self) -> None:
        self.pieces.clear()
        self.size = 0


def _cut_at_long_line(lines: list[bytes], limit: int) -> bool:
    """Drop the first line over ``limit`` and all after it; True if one was found."""
    for index, line in enumerate(lines):
        if len(line) > limit:
            del lines[index:]
            return True
    return False


class SSEDecoder:
    """Bytes in, the ``data`` of each complete event out.

    A line or an event over ``max_event_bytes`` raises ``ProviderResponseError``. Events that
    completed earlier in the same read are returned first and the error is raised by the next
    ``feed`` or ``finish``, so what arrived before the refusal still reaches the parser.
    """

    __slots__ = (
        "_counted",
        "_data",
        "_data_size",
        "_head",
        "_held",
        "_line",
        "_pending_cr",
        "_refused",
        "_room",
        "_started",
    )

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._head = b""
        self._line = _PendingLine(max_event_bytes)
        self._held = self._line.pieces  # the same list, read on the hot path without a hop
        self._data: list[bytes] = []
        # The event still open after the last read: its size (LFs included), how many of
        # its data lines that counts, and how much more the next read may bring unchecked.
        self._data_size = 0
        self._counted = 0
        self._room = max_event_bytes
        self._pending_cr = False
        self._refused = False
        self._started = False

    def feed(self, chunk: bytes) -> list[str]:
        if not self._started:  # also where a refused decoder goes: off the hot path
            if self._refused:
                raise _too_large(self._line.limit)
            head = self._head + chunk
            if len(head) < len(_BOM) and _BOM.startswith(head):
                self._head = head  # too short to tell whether it is a BOM yet
                return []
            self._started = True
            self._head = b""
            chunk = head.removeprefix(_BOM)
        if self._pending_cr:
            chunk = b"\r" + chunk
            self._pending_cr = False
        if _CR in chunk:
            if chunk[-1] == _CR:
                # It may be the first half of a CRLF: decide when the next read comes.
                self._pending_cr = True
                chunk = chunk[:-1]
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return self._lines(chunk)

    def finish(self) -> list[str]:
        """A CR held back at the very end still ends its line; then whatever event is not
        ended by a blank line is incomplete and is discarded, as the spec says."""
        if self._refused:
            raise _too_large(self._line.limit)
        events = self._lines(b"\n") if self._pending_cr else []
        self._pending_cr = False
        self._line.clear()
        self._data.clear()
        self._data_size = self._counted = 0
        return events

    def _lines(self, chunk: bytes) -> list[str]:
        """Take LF-normalized bytes; return the events the complete lines finish."""
        if self._held:  # a line is unfinished: only the new bytes are scanned for its end
            if b"\n" not in chunk:
                if not self._line.hold(chunk):
                    self._refuse()
                return []
            chunk = self._line.take(chunk)
        lines = chunk.split(b"\n")
        rest = lines.pop()
        # Only a read longer than the room left can hold a line, or finish an event, over the
        # limit: the loop below stays free of size bookkeeping.
        refused = len(chunk) > self._room and self._cut_oversized(lines)
        data = self._data
        events: list[str] = []
        for line in lines:
            if not line:
                if data:
                    events.append(b"\n".join(data).decode("utf-8", "replace"))
                    data.clear()
            elif line.startswith(b"data:"):
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif line == b"data":
                data.append(b"")
        if data or rest or refused or self._counted:
            self._carry(events, rest, refused)
        return events

    def _carry(self, events: list[str], rest: bytes, refused: bool) -> None:
        """After a read that leaves an event open, a line unfinished, or a refusal: keep count
        of the open event (each data line counted once), hold the rest, or refuse."""
        data = self._data
        if events:  # the open event began in this read
            self._data_size = self._counted = 0
        if data:
            self._data_size += sum(len(value) + 1 for value in data[self._counted :])
            self._counted = len(data)
        else:
            self._data_size = self._counted = 0
        self._room = self._line.limit - self._data_size
        if refused or (rest and not self._line.hold(rest)) or self._room < 0:
            self._refuse(quiet=bool(events))

    def _cut_oversized(self, lines: list[bytes]) -> bool:
        """Drop the first line over the limit, or the data line that takes its event over
        it, and everything after; True if there was one."""
        limit = self._line.limit
        size = self._data_size
        for index, line in enumerate(lines):
            if not line:
                size = 0
            elif line.startswith(b"data:"):
                size += len(line) - (5 if line[5:6] == b" " else 4)  # the value, plus its LF
            if len(line) > limit or size > limit:
                del lines[index:]
                return True
        return False

    def _refuse(self, *, quiet: bool = False) -> None:
        """Drop everything held and refuse from now on; raise now unless ``quiet`` (events
        of this read are still to be returned: the next call raises)."""
        self._refused = True
        self._started = False
        self._line.clear()
        self._data.clear()
        self._data_size = self._counted = 0
        if not quiet:
            raise _too_large(self._line.limit)


class NDJSONDecoder:
    """Bytes in, complete non-blank lines out, a trailing ``\\r`` stripped.

    A line over ``max_event_bytes`` raises ``ProviderResponseError``; lines completed earlier
    in the same read are returned first, and the next ``feed`` or ``finish`` raises.
    """

    __slots__ = ("_line", "_refused")

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._line = _PendingLine(max_event_bytes)
        self._refused = False

    def feed(self, chunk: bytes) -> list[str]:
        line_state = self._line
        if self._refused:
            raise _too_large(line_state.limit)
        if _LF not in chunk:  # only the new bytes are scanned for a line end
            if not line_state.hold(chunk):
                self._refused = True
                raise _too_large(line_state.limit)
            return []
        if line_state.pieces:
            chunk = line_state.take(chunk)
        lines = chunk.split(b"\n")
        rest = lines.pop()
        refused = False
        # Only a read longer than the limit can hold a line longer than it.
        if rest or len(chunk) > line_state.limit:
            refused = len(chunk) > line_state.limit and _cut_at_long_line(lines, line_state.limit)
            if refused or (rest and not line_state.hold(rest)):
                self._refused = refused = True
                line_state.clear()
        # A line of only whitespace (``\r``, spaces) is blank too, and skipped. A JSON line
        # starts with a byte above space (``{``), which settles it without a method call; so
        # does its last byte for the ``\r`` of a CRLF. A loop, not a comprehension: usually
        # one line per read, and a comprehension's frame costs more than the line.
        out: list[str] = []
        for line in lines:
            if line and (line[0] > 0x20 or not line.isspace()):
                if line[-1] == _CR:
                    line = line.rstrip(b"\r")
                out.append(line.decode("utf-8", "replace"))
        if refused and not out:
            raise _too_large(line_state.limit)
        return out

    def finish(self) -> list[str]:
        """A last line that had no newline, if any: the parser judges whether it is whole."""
        if self._refused:
            raise _too_large(self._line.limit)
        rest = self._line.take(b"").strip()
        return [rest.decode("utf-8", "replace")] if rest else []


def decoder_for(
    wire: WireFormat,
    response: httpx.Response,
    *,
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
) -> SSEDecoder | NDJSONDecoder:
    """The decoder for ``wire``, after checking the response really is that format.

    A body that is not ``text/event-stream`` where SSE was asked for (a proxy's HTML page
    with status 200, a JSON error) is refused with what it said, never parsed as events.
    """
    if wire == "ndjson":
        # Ollama Cloud sends NDJSON as application/json; any content type is accepted.
        return NDJSONDecoder(max_event_bytes)
    content_type = response.headers.get("content-type", "")
    if "text/event-stream" not in content_type.partition(";")[0]:
        raise ProviderResponseError(
            f"expected a server-sent event stream, got content type {content_type!r}"
        )
    return SSEDecoder(max_event_bytes)


def iter_payloads(response: httpx.Response, wire: WireFormat) -> Iterator[str]:
    """The payloads of a synchronous (e.g. in-memory) response, as they complete."""
    decoder = decoder_for(wire, response)
    for chunk in response.iter_bytes():
        yield from decoder.feed(chunk)
    yield from decoder.finish()
