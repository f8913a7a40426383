"""A streamed response's body bytes, closed so that nothing is left to the garbage collector
(internal).

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

__all__ = ["read_body"]


@asynccontextmanager
async def read_body(response: httpx.Response) -> AsyncIterator[AsyncIterator[bytes]]:
    """The body's bytes as they arrive; without a content encoding, straight from the
    response's stream, one async generator fewer per read than ``aiter_raw``.

    ``aiter_raw`` adds a generator, a chunker call and a byte count to every read (~3k of
    the ~34k instructions an Ollama chunk took, callgrind), and its other duties are kept
    elsewhere: the stream is marked consumed here, the response closed on exit, and a
    transport error mid-body is given its request by ``map_transport_errors(request=...)``.
    ``response.num_bytes_downloaded`` is not counted (nothing in llmring reads it).

    On exit the response is closed and then the byte iterator is run to its end, so every
    async generator in httpx's and httpcore's chain finishes by itself. Merely closing the
    outer one would leave the inner ones to the garbage collector, and trio warns about each.
    """
    body: AsyncIterator[bytes]
    identity = response.headers.get("content-encoding", "identity") == "identity"
    if identity and isinstance(response.stream, httpx.AsyncByteStream) and not response.is_closed:
        if response.is_stream_consumed:
            raise httpx.StreamConsumed()
        response.is_stream_consumed = True
        body = response.stream.__aiter__()
    elif identity:
        body = response.aiter_raw()  # raises what httpx raises for a closed or sync stream
    else:
        body = response.aiter_bytes()
    try:
        yield body
    finally:
        await _finish_chain(response, body)


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
