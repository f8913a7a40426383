"""The two byte streams a cassette puts under httpx: one that records, one that replays.

``RecordingStream`` passes the network's reads through untouched and notes each one's size
and time. ``CassetteReplayStream`` serves recorded bytes: cut where the network cut them, or
at random points (``rechunk=<seed>``, cuts inside UTF-8 characters and CRLFs included), at
once, at the recorded pace, or a fixed number of seconds per read.
"""

from __future__ import annotations

import bisect
import itertools
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Literal

import anyio
import httpx

__all__ = ["CassetteReplayStream", "Pace", "RecordingStream", "random_cuts", "replay_pieces"]

#: ``"instant"``, ``"recorded"`` (the recorded gaps between reads), or seconds per read.
Pace = Literal["instant", "recorded"] | float


class RecordingStream(httpx.AsyncByteStream):
    """Passes ``inner``'s reads through, keeping the bytes and ``(seconds, size)`` per read.

    ``on_close`` is called once, when httpx closes the response; ``complete`` says whether
    the body had been read to its end by then.
    """

    def __init__(
        self, inner: httpx.AsyncByteStream, on_close: Callable[[RecordingStream], None]
    ) -> None:
        self._inner = inner
        self._on_close = on_close
        self._start = time.perf_counter()
        self.body = bytearray()
        self.reads: list[tuple[float, int]] = []
        self.complete = False
        self._closed = False
        self._reading: AsyncIterator[bytes] | None = None

    # An iterator object, not an async generator: an application that stops reading early
    # must leave no half-run generator behind for the event loop to finalize.
    # ``__aiter__`` returns the iterator as it stands, as an iterator's must: a reader may
    # call it again (``async for`` over the same body twice) and must not start over.
    def __aiter__(self) -> RecordingStream:
        if self._reading is None:
            self._reading = aiter(self._inner)
        return self

    async def __anext__(self) -> bytes:
        if self._reading is None:
            self._reading = aiter(self._inner)
        try:
            chunk = await anext(self._reading)
        except StopAsyncIteration:
            self.complete = True
            raise
        if chunk:
            self.reads.append((round(time.perf_counter() - self._start, 6), len(chunk)))
            self.body += chunk
        return chunk

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._inner.aclose()
        finally:
            self._on_close(self)


class CassetteReplayStream(httpx.AsyncByteStream):
    """Serves ``pieces``; at ``pace="recorded"`` piece i follows piece i-1 after the recorded
    gap ``times[i] - times[i-1]`` (the first after ``times[0]``)."""

    def __init__(self, pieces: Sequence[bytes], times: Sequence[float], pace: Pace) -> None:
        self.pieces = list(pieces)
        self.times = list(times)
        self.pace = pace
        self.closed = False
        self._next = 0
        self._start: float | None = None  # when the first piece was asked for

    def __aiter__(self) -> CassetteReplayStream:  # an iterator object, as RecordingStream
        return self

    async def __anext__(self) -> bytes:
        index = self._next
        if index >= len(self.pieces):
            raise StopAsyncIteration
        if self._start is None:
            self._start = anyio.current_time()
        if self.pace == "recorded":
            # Each gap is kept (from the previous piece handed out), not each absolute time:
            # a consumer that was late once does not get the next piece early to catch up.
            gap = self.times[index] - (self.times[index - 1] if index else 0.0)
            delay = self._start + gap - anyio.current_time()
            if delay > 0:
                await anyio.sleep(delay)
            self._start = anyio.current_time()
        elif self.pace != "instant" and index:
            await anyio.sleep(self.pace)
        self._next = index + 1
        return self.pieces[index]

    async def aclose(self) -> None:
        self.closed = True


def replay_pieces(
    body: bytes, reads: Sequence[tuple[float, int]], rechunk: int | None
) -> tuple[list[bytes], list[float]]:
    """The pieces to serve and the second at which each became available.

    Without ``rechunk`` the pieces are the recorded reads (the whole body as one read when
    none were recorded); with it, random cuts seeded by ``rechunk``. A piece is available when
    the recorded read holding its last byte arrived.
    """
    ends = list(itertools.accumulate(size for _, size in reads))
    at = [seconds for seconds, _ in reads]
    if not ends or ends[-1] != len(body):  # no reads recorded, or the body was edited
        kept = [i for i, end in enumerate(ends) if end < len(body)]
        last = at[-1] if at else 0.0
        ends = [*(ends[i] for i in kept), len(body)]
        at = [*(at[i] for i in kept), last]
    cuts = ends[:-1] if rechunk is None else random_cuts(body, rechunk)
    points = sorted({cut for cut in cuts if 0 < cut < len(body)})
    edges = [0, *points, len(body)]
    pieces = [body[start:end] for start, end in itertools.pairwise(edges) if end > start]
    times = [at[bisect.bisect_left(ends, end)] for end in edges[1:] if end > 0]
    return pieces, times[: len(pieces)]


def random_cuts(body: bytes, seed: int) -> list[int]:
    """Random cut points in ``body``, reproducible from ``seed``: about one per 24 bytes, and
    always some inside a multi-byte UTF-8 character and between a CR and its LF, if any."""
    rng = random.Random(seed)
    if len(body) < 2:
        return []
    cuts = {rng.randrange(1, len(body)) for _ in range(len(body) // 24 + 1)}
    inside_char = [i for i in range(1, len(body)) if 0x80 <= body[i] < 0xC0]
    inside_crlf = [i for i in range(1, len(body)) if body[i - 1 : i + 1] == b"\r\n"]
    for candidates in (inside_char, inside_crlf):
        cuts.update(rng.sample(candidates, min(3, len(candidates))))
    return sorted(cuts)
