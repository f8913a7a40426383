"""A streamed response's body bytes, closed so that nothing is left to the garbage collector
(internal); and a whole body read only up to a bound.

httpx and httpcore deliver a body through a chain of async generators (``aiter_raw`` over
``BoundAsyncStream`` over httpcore's pool and connection streams). Closing only the outermost
leaves the inner ones suspended until the garbage collector finalizes them, and trio reports
each one as a ``ResourceWarning``. ``BodyReader.aclose`` instead closes the response and then
runs the outermost iterator on: the next read fails on the closed connection, and that failure
unwinds every generator in the chain, on asyncio and trio alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx

__all__ = ["BodyReader", "read_at_most"]


class BodyReader:
    """A streamed response's body: ``chunks``, its bytes as they arrive (httpx's decoder layer
    skipped when there is no encoding), and ``aclose``, which must follow.

    ``aclose`` closes the response and then runs the byte iterator to its end, so every async
    generator in httpx's and httpcore's chain finishes by itself. Merely closing the outer one
    would leave the inner ones to the garbage collector, and trio warns about each. A plain
    object, not an async context manager: one is alive per open stream, thousands at once.
    """

    __slots__ = ("chunks", "response")

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.chunks: AsyncIterator[bytes]
        identity = response.headers.get("content-encoding", "identity") == "identity"
        stream = response.stream
        if identity and isinstance(stream, httpx.AsyncByteStream) and not response.is_closed:
            # Straight off the response's stream: ``aiter_raw`` would add an async generator
            # (which the event loop tracks), a context manager per stream and a chunker call
            # and byte count per read (~3k of ~34k instructions an Ollama chunk took,
            # callgrind). Its other duties are kept: the stream is marked consumed here, and a
            # transport error mid-body is given a request by ``map_transport_errors(url=...)``.
            # ``response.num_bytes_downloaded`` is not counted (nothing in llmring reads it).
            if response.is_stream_consumed:
                raise httpx.StreamConsumed()
            response.is_stream_consumed = True
            self.chunks = stream.__aiter__()
        elif identity:
            self.chunks = response.aiter_raw()  # raises what httpx raises for a closed stream
        else:
            self.chunks = response.aiter_bytes()

    async def aclose(self) -> None:
        await _finish_chain(self.response, self.chunks)


async def read_at_most(
    response: httpx.Response, limit: int, *, keep: int | None = None
) -> tuple[bytes, bool]:
    """The whole body (after content decoding) and True if it is at most ``limit`` bytes;
    else its first ``keep`` bytes (default ``limit``) and False.

    Reading stops at the first read that crosses ``limit``: a body longer than that (a
    hostile error page, a compressed bomb) is never held whole. The response is closed
    either way, and one left unread drops its connection instead of going back to the pool.
    """
    pieces: list[bytes] = []
    size = 0
    reader = BodyReader(response)
    try:
        async for piece in reader.chunks:
            pieces.append(piece)
            size += len(piece)
            if size > limit:
                return _head(pieces, limit if keep is None else min(keep, limit)), False
    finally:
        await reader.aclose()
    return b"".join(pieces), True


def _head(pieces: list[bytes], size: int) -> bytes:
    """The first ``size`` bytes of ``pieces``, joining no more of them than that takes."""
    taken, total = [], 0
    for piece in pieces:
        if total >= size:
            break
        taken.append(piece[: size - total])
        total += len(taken[-1])
    return b"".join(taken)


#: What draining may take once the response is closed: a real connection fails the next
#: read at once; this only bounds a transport that would keep producing (a mock).
_DRAIN_CHUNKS = 8
_DRAIN_SECONDS = 0.25


async def _finish_chain(response: httpx.Response, body: AsyncIterator[bytes]) -> None:
    """Close ``response``, then run ``body`` on until the closed connection ends it. Shielded,
    so a cancelled consumer still cleans up; bounded, so a transport that ignores the close
    (a mock) cannot keep it here."""
    with anyio.CancelScope(shield=True, deadline=anyio.current_time() + _DRAIN_SECONDS):
        await response.aclose()
        try:
            for _ in range(_DRAIN_CHUNKS):
                await anext(body)
        except StopAsyncIteration:
            return
        except Exception:  # the read on the closed connection fails: the chain has unwound
            return
    # Still producing or the drain timed out: close what can be closed.
    aclose = getattr(body, "aclose", None)
    if aclose is not None:
        with anyio.CancelScope(shield=True):
            await aclose()
