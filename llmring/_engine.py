"""The one provider-agnostic loop: send, decode, feed the parser, yield, finish, wrap errors.

Every provider goes through ``stream`` and ``complete``; providers only build the call and
parse what comes back. Any error raised once a stream is under way carries ``partial``, the
response assembled so far, so nothing received is lost.

A stream runs in two phases. ``open_attempt`` sends one request and reads until the parser
produces its first chunks, under one anyio deadline (``first_token``, capped by ``total``);
nothing is yielded there, so retries, fallback and hedging can run it, start it again or
cancel it, all before the caller sees a byte. ``stream`` then yields those chunks and runs the
flat per-chunk loop. No cancel scope is ever open across a ``yield``: the gaps between reads
are bounded by httpx's read timeout (``idle``), and ``total`` by a deadline checked per read,
with a scope around a read only when the time left is shorter than that read timeout.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass, field
from typing import cast

import anyio
import httpx

from llmring._transport import map_transport_errors, open_stream, post
from llmring._wire import NDJSONDecoder, SSEDecoder, decoder_for
from llmring.exceptions import ProviderError, ProviderResponseError, ProviderTimeoutError
from llmring.model_ref import ModelRef
from llmring.providers.base import Provider, StreamParser
from llmring.schemas import Attempt, LLMRequest, LLMResponse, StreamChunk
from llmring.timeouts import CallDeadlines, TimeoutPhase

__all__ = ["OpenedStream", "complete", "open_attempt", "stream"]


@dataclass(eq=False)
class OpenedStream:
    """A request whose first chunks have arrived; the rest of its body is still to be read."""

    provider: str
    model: str
    parser: StreamParser
    decoder: SSEDecoder | NDJSONDecoder
    body: AsyncGenerator[bytes, None]
    first: list[StreamChunk]
    resources: AsyncExitStack
    #: Payloads of the read that gave the first chunks, still to feed after those are yielded:
    #: an error among them then comes after the caller saw output, as on the wire.
    pending: list[str] = field(default_factory=list)
    #: The body was read to its end; ``parser.finish()`` is still to be called unless ``finished``.
    ended: bool = False
    finished: bool = False
    #: Every request made to serve the call, filled in by retries, fallback and hedging.
    attempts: list[Attempt] = field(default_factory=list)

    async def aclose(self) -> None:
        """Close the response (and its connection, if unread) even while being cancelled."""
        with anyio.CancelScope(shield=True):
            await self.resources.aclose()


async def open_attempt(
    client: httpx.AsyncClient,
    provider: Provider,
    request: LLMRequest,
    ref: ModelRef,
    deadlines: CallDeadlines,
) -> OpenedStream:
    """Send ``request`` to ``ref`` and read until its first chunks (or its end) arrive."""
    label = str(ref)
    call = provider.build_call(request, ref.model, stream=True)
    parser = provider.stream_parser(label)
    resources = AsyncExitStack()
    deadline = deadlines.first_token_deadline()
    try:
        with anyio.CancelScope(deadline=deadline) as scope:
            response = await resources.enter_async_context(
                open_stream(client, call, provider, ref.model, http_timeout=deadlines.http)
            )
            decoder = await _decoder(response, provider)
            body = await resources.enter_async_context(aclosing(_body(response)))
            opened = OpenedStream(provider.name, ref.model, parser, decoder, body, [], resources)
            with map_transport_errors(provider.name, ref.model):
                await _read_first(opened)
        if scope.cancelled_caught:
            phase: TimeoutPhase = "total" if deadline >= deadlines.total else "first_token"
            limit = deadlines.first_token if phase == "first_token" else None
            text = f"no output within the first_token timeout ({limit} s)" if limit else ""
            raise ProviderTimeoutError(
                text or "the call's total timeout ran out before any output", phase=phase
            )
        return opened
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            await resources.aclose()
        if isinstance(exc, ProviderError):
            _complete_error(exc, provider.name, ref.model, parser.snapshot())
        elif isinstance(exc, ValueError):  # a parser tripped on a shape it did not expect
            error = ProviderResponseError(f"could not parse the stream: {exc}")
            _complete_error(error, provider.name, ref.model, parser.snapshot())
            raise error from exc
        raise


async def _read_first(opened: OpenedStream) -> None:
    """Read until the parser produces its first chunks; later payloads wait in ``pending``."""
    decoder = opened.decoder
    async for data in opened.body:
        if _feed_first(opened, decoder.feed(data)):
            return
    opened.ended = True
    if not _feed_first(opened, decoder.finish()):
        opened.first, opened.finished = opened.parser.finish(), True


def _feed_first(opened: OpenedStream, payloads: list[str]) -> bool:
    for index, payload in enumerate(payloads):
        if first := opened.parser.feed(payload):
            opened.first, opened.pending = first, payloads[index + 1 :]
            return True
    return False


async def stream(
    open_first: Callable[[CallDeadlines], Awaitable[OpenedStream]],
    start: Callable[[], CallDeadlines],
) -> AsyncGenerator[StreamChunk, None]:
    """The chunks of the stream ``open_first`` opens (after any retries and fallback).

    ``start`` fixes the call's deadlines when the first chunk is asked for: the call starts then.

    The response is closed when this generator is closed: on ``break`` (at finalization, or
    at once under ``contextlib.aclosing``), on cancellation, and on error. The final chunk
    carries ``attempts``.
    """
    deadlines = start()
    opened = await open_first(deadlines)
    parser, decoder = opened.parser, opened.decoder
    try:
        for chunk in opened.first:
            yield _stamped(chunk, opened) if chunk.finish_reason is not None else chunk
        for payload in opened.pending:
            for chunk in parser.feed(payload):
                yield _stamped(chunk, opened) if chunk.finish_reason is not None else chunk
        if opened.ended:
            if not opened.finished:
                for chunk in parser.finish():
                    yield _stamped(chunk, opened) if chunk.finish_reason is not None else chunk
            return
        # One flat loop, no generator per layer: this is the per-chunk hot path.
        with map_transport_errors(opened.provider, opened.model):
            if deadlines.total == math.inf:
                async for data in opened.body:
                    for payload in decoder.feed(data):
                        for chunk in parser.feed(payload):
                            if chunk.finish_reason is not None:
                                chunk = _stamped(chunk, opened)
                            yield chunk
            else:
                body, idle = opened.body, deadlines.idle
                # On the monotonic clock: one cheap call per read, no generator layer.
                end = time.monotonic() + deadlines.remaining()
                while True:
                    remaining = end - time.monotonic()
                    if remaining <= 0:
                        raise _total_timeout()
                    try:
                        if idle is not None and remaining > idle:
                            # httpx's read timeout (idle) fires before the deadline could.
                            data = await body.__anext__()
                        else:
                            data = await _read_before(body, remaining)
                    except StopAsyncIteration:
                        break
                    for payload in decoder.feed(data):
                        for chunk in parser.feed(payload):
                            if chunk.finish_reason is not None:
                                chunk = _stamped(chunk, opened)
                            yield chunk
        for payload in decoder.finish():
            for chunk in parser.feed(payload):
                yield _stamped(chunk, opened) if chunk.finish_reason is not None else chunk
        for chunk in parser.finish():
            yield _stamped(chunk, opened) if chunk.finish_reason is not None else chunk
    except ProviderError as exc:
        _complete_error(exc, opened.provider, opened.model, parser.snapshot())
        raise
    except ValueError as exc:  # a parser tripped on a shape its wire models did not expect
        error = ProviderResponseError(f"could not parse the stream: {exc}")
        _complete_error(error, opened.provider, opened.model, parser.snapshot())
        raise error from exc
    finally:
        await opened.aclose()


async def _read_before(body: AsyncGenerator[bytes, None], seconds: float) -> bytes:
    """The next read, unless ``total`` runs out first. The scope is closed before returning,
    so it never spans the caller's ``yield``."""
    with anyio.move_on_after(seconds):
        return await body.__anext__()
    raise _total_timeout()


def _total_timeout() -> ProviderTimeoutError:
    return ProviderTimeoutError("the call's total timeout ran out mid-stream", phase="total")


def _stamped(chunk: StreamChunk, opened: OpenedStream) -> StreamChunk:
    """The final chunk, with the attempts made to serve it."""
    return chunk.model_copy(update={"attempts": list(opened.attempts)})


async def complete(
    client: httpx.AsyncClient,
    provider: Provider,
    request: LLMRequest,
    ref: ModelRef,
    deadlines: CallDeadlines,
) -> LLMResponse:
    """Send ``request`` to the non-streaming endpoint and parse the whole answer.

    The whole answer is the first "token" here: it must arrive within ``first_token``.
    """
    call = provider.build_call(request, ref.model, stream=False)
    deadline = deadlines.first_token_deadline()
    with anyio.CancelScope(deadline=deadline) as scope:
        body = await post(client, call, provider, ref.model, http_timeout=deadlines.http)
    if scope.cancelled_caught:
        phase: TimeoutPhase = "total" if deadline >= deadlines.total else "first_token"
        raise ProviderTimeoutError(
            f"no answer within the {phase} timeout",
            phase=phase,
            provider=provider.name,
            model=ref.model,
        )
    try:
        return provider.parse_response(body, str(ref))
    except ProviderError as exc:
        _complete_error(exc, provider.name, ref.model, None)
        raise
    except ValueError as exc:
        error = ProviderResponseError(
            f"could not parse the response: {exc}",
            body_excerpt=body[:500].decode("utf-8", "replace"),
        )
        _complete_error(error, provider.name, ref.model, None)
        raise error from exc


async def _decoder(response: httpx.Response, provider: Provider) -> SSEDecoder | NDJSONDecoder:
    """The body's decoder; a body of the wrong kind is refused showing what it said."""
    try:
        return decoder_for(provider.stream_format, response)
    except ProviderResponseError as error:
        error.body_excerpt = (await response.aread())[:500].decode("utf-8", "replace")
        raise


def _body(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """The body's bytes as they arrive; skips httpx's decoder layer when there is no encoding."""
    if response.headers.get("content-encoding", "identity") == "identity":
        body = response.aiter_raw()
    else:
        body = response.aiter_bytes()
    return cast("AsyncGenerator[bytes, None]", body)  # httpx types them as AsyncIterator


def _complete_error(
    error: ProviderError, provider: str, model: str, partial: LLMResponse | None
) -> None:
    """Fill in what a pure parser could not know: who failed, and what had arrived."""
    if error.provider is None:
        error.provider = provider
    if error.model is None:
        error.model = model
    if error.partial is None:
        error.partial = partial
