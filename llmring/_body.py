"""A streamed response's body bytes, closed so that nothing is left to the garbage collector
(internal); and a whole body read only up to a bound.

httpx and httpcore deliver a body through a chain of async generators (``aiter_raw`` over
``BoundAsyncStream`` over httpcore's pool and connection streams). Closing only the outermost
leaves the inner ones suspended until the garbage collector finalizes them, and trio reports
each one as a ``ResourceWarning``. ``read_body`` instead closes the response and then runs the
outermost iterator on: the next read fails on the closed connection, and that failure unwinds
every generator in the chain, on asyncio and trio alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx

__all__ = ["read_at_most", "read_body"]


@asynccontextmanager
async def read_body(response: httpx.Response) -> AsyncIterator[AsyncIterator[bytes]]:
    """The body's bytes as they arrive; skips httpx's decoder layer when there is no encoding.

    On exit the response is closed and then the byte iterator is run to its end, so every
    async generator in httpx's and httpcore's chain finishes by itself. Merely closing the
    outer one would leave the inner ones to the garbage collector, and trio warns about each.
    """
    if response.headers.get("content-encoding", "identity") == "identity":
        body = response.aiter_raw()
    else:
        body = response.aiter_bytes()
    try:
        yield body
    finally:
        await _finish_chain(response, body)


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
    async with read_body(response) as body:
        async for piece in body:
            pieces.append(piece)
            size += len(piece)
            if size > limit:
                return _head(pieces, limit if keep is None else min(keep, limit)), False
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
