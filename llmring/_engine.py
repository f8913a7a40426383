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

The loop stops at the provider's terminal event: the response is closed first and the final
chunk yielded after, so a server that holds the connection open (or sends more) after it
neither delays nor spoils a complete answer. Each attempt is watched (``_observe.CallWatch``):
three clock reads per stream, and the final chunk gets its ``timing`` and ``attempts``; a
failure's ``partial`` gets the ``timing`` up to the failure.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field

import anyio
import httpx

from llmring._attempts import AttemptLog
from llmring._body import BodyReader, read_at_most
from llmring._observe import SILENT, CallWatch, Observer
from llmring._redaction import redact_error
from llmring._transport import (
    DEFAULT_MAX_RESPONSE_BYTES,
    build_request,
    map_transport_errors,
    open_stream,
    post,
)
from llmring._wire import DEFAULT_MAX_EVENT_BYTES, NDJSONDecoder, SSEDecoder, decoder_for
from llmring.exceptions import ProviderError, ProviderResponseError, ProviderTimeoutError
from llmring.model_ref import ModelRef
from llmring.providers.base import Provider, StreamParser
from llmring.schemas import LLMRequest, LLMResponse, StreamChunk
from llmring.timeouts import CallDeadlines, TimeoutPhase

__all__ = ["OpenedStream", "complete", "open_attempt", "stream"]


@dataclass(eq=False, slots=True)  # one per open stream: no instance dict
class OpenedStream:
    """A request whose first chunks have arrived; the rest of its body is still to be read."""

    provider: str
    model: str
    parser: StreamParser
    decoder: SSEDecoder | NDJSONDecoder
    reader: BodyReader
    watch: CallWatch
    first: list[StreamChunk] = field(default_factory=list)
    #: Payloads of the read that gave the first chunks, still to feed after those are yielded:
    #: an error among them then comes after the caller saw output, as on the wire.
    pending: list[str] = field(default_factory=list)
    #: The body was read to its end; ``parser.finish()`` is still to be called unless ``finished``.
    ended: bool = False
    finished: bool = False
    #: Every request made to serve the call (retries, fallback, hedging); read at the end.
    log: AttemptLog | None = None
    #: Where the request went: a transport error raised while the body is read names it.
    url: str | None = None

    @property
    def body(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive (read once per stream, not per chunk)."""
        return self.reader.chunks

    async def aclose(self) -> None:
        """Close the response (and its connection, if unread) even while being cancelled."""
        with anyio.CancelScope(shield=True):
            await self.reader.aclose()


_NO_SCOPE = nullcontext()  # reusable: stands in for the deadline scope of a call without one


async def open_attempt(
    client: httpx.AsyncClient,
    provider: Provider,
    request: LLMRequest,
    ref: ModelRef,
    deadlines: CallDeadlines,
    *,
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    observer: Observer = SILENT,
    attempt: int = 1,
) -> OpenedStream:
    """Send ``request`` to ``ref`` and read until its first chunks (or its end) arrive.

    A line or event over ``max_event_bytes`` (after content decoding) is refused.
    """
    call = provider.build_call(request, ref.model, stream=True)
    parser = provider.stream_parser(str(ref))
    watch = observer.start(
        provider.name, ref.model, call.url, stream=True, request=request, attempt=attempt
    )
    response: httpx.Response | None = None
    reader: BodyReader | None = None
    deadline = deadlines.first_token_deadline()
    # No scope at all without a deadline (the default): thousands of streams wait in here.
    scope = None if deadline == math.inf else anyio.CancelScope(deadline=deadline)
    try:
        url, sent = call.url, build_request(client, call, deadlines.http)
        del call  # while the stream waits, the payload is held once: as the request's JSON
        with scope or _NO_SCOPE:
            response = await open_stream(client, sent, provider, ref.model)
            decoder = await _decoder(response, provider, max_event_bytes)
            reader = BodyReader(response)
            opened = OpenedStream(provider.name, ref.model, parser, decoder, reader, watch, url=url)
            with map_transport_errors(provider.name, ref.model, url):
                await _read_first(opened)
        if scope is not None and scope.cancelled_caught:
            phase: TimeoutPhase = "total" if deadline >= deadlines.total else "first_token"
            limit = deadlines.first_token if phase == "first_token" else None
            text = f"no output within the first_token timeout ({limit} s)" if limit else ""
            raise ProviderTimeoutError(
                text or "the call's total timeout ran out before any output", phase=phase
            )
        watch.first_chunk()
        return opened
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            if reader is not None:
                await reader.aclose()
            elif response is not None:
                await response.aclose()
        if isinstance(exc, ProviderError):
            _complete_error(exc, provider.name, ref.model, watch.timed(parser.snapshot(), 0))
            watch.failed(exc)
        elif isinstance(exc, ValueError):  # a parser tripped on a shape it did not expect
            error = ProviderResponseError(f"could not parse the stream: {exc}")
            _complete_error(error, provider.name, ref.model, watch.timed(parser.snapshot(), 0))
            watch.failed(error)
            raise error from exc
        else:  # cancelled: a hedge lost, a deadline, the caller
            watch.failed(exc, cancelled=True)
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
    open_first: Callable[[CallDeadlines], tuple[Awaitable[OpenedStream], AttemptLog]],
    start: Callable[[], CallDeadlines],
) -> AsyncGenerator[StreamChunk, None]:
    """The chunks of the stream ``open_first`` opens (after any retries and fallback): it
    gives what to await for the opened stream, and the log of the attempts made for it.

    ``start`` fixes the call's deadlines when the first chunk is asked for: the call starts then.

    The response is closed when this generator is closed: on ``break`` (at finalization, or
    at once under ``contextlib.aclosing``), on cancellation, and on error; and as soon as the
    terminal event arrives, before the final chunk is yielded. The final chunk carries
    ``timing`` and ``attempts``.
    """
    deadlines = start()
    opening, log = open_first(deadlines)
    opened = await opening
    opened.log = log
    parser, decoder = opened.parser, opened.decoder
    count = 0
    final: StreamChunk | None = None
    try:
        for chunk in _opening(opened):
            count += 1
            if chunk.finish_reason is not None:
                final = chunk
                break
            yield chunk
        if final is None and not opened.ended:
            # One flat loop, no generator per layer: this is the per-chunk hot path. Without a
            # ``total`` deadline the body is read as it is; with one, each read is checked.
            body = (
                opened.body if deadlines.total == math.inf else _TimedReads(opened.body, deadlines)
            )
            with map_transport_errors(opened.provider, opened.model, opened.url):
                async for data in body:
                    for payload in decoder.feed(data):
                        for chunk in parser.feed(payload):
                            count += 1
                            if chunk.finish_reason is not None:
                                final = chunk  # the terminal event: stop reading
                                break
                            yield chunk
                        if final is not None:
                            break
                    if final is not None:
                        break
        if final is None:
            for chunk in _ending(opened):
                count += 1
                if chunk.finish_reason is not None:
                    final = chunk
                    break
                yield chunk
    except ProviderError as exc:
        # The partial carries the attempt's timing (time to first chunk, chunks so far):
        # computed here, once, so the per-chunk loop pays nothing for it.
        partial = opened.watch.timed(parser.snapshot(), count)
        _complete_error(exc, opened.provider, opened.model, partial)
        opened.watch.failed(exc)
        raise
    except ValueError as exc:  # a parser tripped on a shape its wire models did not expect
        error = ProviderResponseError(f"could not parse the stream: {exc}")
        partial = opened.watch.timed(parser.snapshot(), count)
        _complete_error(error, opened.provider, opened.model, partial)
        opened.watch.failed(error)
        raise error from exc
    except BaseException as exc:  # the caller stopped reading: break, cancellation, Ctrl-C
        opened.watch.failed(exc, cancelled=True)
        raise
    finally:
        if final is not None and not opened.ended:
            await _read_to_end(opened.body)
        await opened.aclose()
    if final is not None:
        yield _finished(final, count, opened)


#: How long the rest of a body may take once its terminal event has arrived. The end of the
#: HTTP response (the chunked terminator) normally follows at once, and reading it lets the
#: pool keep the connection alive; a server that holds the response open is cut off after this.
_END_GRACE = 0.05


async def _read_to_end(body: AsyncIterator[bytes]) -> None:
    """Read what follows the terminal event (``[DONE]`` after ``response.completed``,
    keep-alives, the end of the response) for at most ``_END_GRACE`` seconds, ignoring it:
    the answer is complete, so nothing here can spoil it."""
    with anyio.move_on_after(_END_GRACE):
        try:
            async for _ in body:
                pass
        except httpx.HTTPError:
            pass


def _opening(opened: OpenedStream) -> Iterator[StreamChunk]:
    """The chunks of the read that committed the attempt: its first ones, then the rest."""
    yield from opened.first
    for payload in opened.pending:
        yield from opened.parser.feed(payload)


def _ending(opened: OpenedStream) -> Iterator[StreamChunk]:
    """End of input: what the decoder held back (unless already fed), then ``finish()``."""
    if not opened.ended:
        for payload in opened.decoder.finish():
            yield from opened.parser.feed(payload)
    if not opened.finished:
        yield from opened.parser.finish()


class _TimedReads:
    """``body``'s reads, each checked against the call's ``total`` deadline on the monotonic
    clock (one cheap call per read). A cancel scope is opened only around a read that could
    outlast the deadline, and closed before the read is returned: it never spans a yield."""

    __slots__ = ("_body", "_end", "_idle")

    def __init__(self, body: AsyncIterator[bytes], deadlines: CallDeadlines) -> None:
        self._body = body
        self._idle = deadlines.idle
        self._end = time.monotonic() + deadlines.remaining()

    def __aiter__(self) -> _TimedReads:
        return self

    async def __anext__(self) -> bytes:
        remaining = self._end - time.monotonic()
        if remaining <= 0:
            raise _total_timeout()
        if self._idle is not None and remaining > self._idle:
            return await self._body.__anext__()  # httpx's read timeout (idle) fires first
        with anyio.move_on_after(remaining):
            return await self._body.__anext__()
        raise _total_timeout()


def _total_timeout() -> ProviderTimeoutError:
    return ProviderTimeoutError("the call's total timeout ran out mid-stream", phase="total")


def _finished(final: StreamChunk, count: int, opened: OpenedStream) -> StreamChunk:
    """The final chunk (the ``count``-th), and the response it carries, with the attempts made
    to serve it and the call's ``timing``."""
    attempts = [] if opened.log is None else opened.log.public()
    update: dict[str, object] = {"attempts": attempts}
    if final.response is not None:
        update["response"] = final.response.model_copy(update={"attempts": attempts})
    opened.watch.log_answer(opened.parser.snapshot)
    return opened.watch.final_chunk(final.model_copy(update=update), count)


async def complete(
    client: httpx.AsyncClient,
    provider: Provider,
    request: LLMRequest,
    ref: ModelRef,
    deadlines: CallDeadlines,
    *,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    observer: Observer = SILENT,
    attempt: int = 1,
) -> LLMResponse:
    """Send ``request`` to the non-streaming endpoint and parse the whole answer.

    The whole answer is the first "token" here: it must arrive within ``first_token``. A
    body over ``max_response_bytes`` (after content decoding) is refused unread beyond it.
    """
    call = provider.build_call(request, ref.model, stream=False)
    watch = observer.start(
        provider.name, ref.model, call.url, stream=False, request=request, attempt=attempt
    )
    deadline = deadlines.first_token_deadline()
    body = b""
    try:
        with anyio.CancelScope(deadline=deadline) as scope:
            body = await post(
                client,
                call,
                provider,
                ref.model,
                http_timeout=deadlines.http,
                max_bytes=max_response_bytes,
            )
        if scope.cancelled_caught:
            phase: TimeoutPhase = "total" if deadline >= deadlines.total else "first_token"
            raise ProviderTimeoutError(f"no answer within the {phase} timeout", phase=phase)
        response = provider.parse_response(body, str(ref))
    except ProviderError as exc:
        _complete_error(exc, provider.name, ref.model, None)
        watch.failed(exc)
        raise
    except ValueError as exc:
        error = ProviderResponseError(
            f"could not parse the response: {exc}",
            body_excerpt=body[:500].decode("utf-8", "replace"),
        )
        _complete_error(error, provider.name, ref.model, None)
        watch.failed(error)
        raise error from exc
    except BaseException as exc:
        watch.failed(exc, cancelled=not isinstance(exc, Exception))
        raise
    watch.log_answer(lambda: response)
    return watch.response(response)


async def _decoder(
    response: httpx.Response, provider: Provider, max_event_bytes: int
) -> SSEDecoder | NDJSONDecoder:
    """The body's decoder; a body of the wrong kind is refused showing what it said."""
    try:
        return decoder_for(provider.stream_format, response, max_event_bytes=max_event_bytes)
    except ProviderResponseError as error:
        excerpt, _ = await read_at_most(response, 500)  # never the whole body
        error.body_excerpt = excerpt[:500].decode("utf-8", "replace")
        raise


def _complete_error(
    error: ProviderError, provider: str, model: str, partial: LLMResponse | None
) -> None:
    """Fill in what a pure parser could not know: who failed, and what had arrived; then
    scrub every configured key from it (the one place errors leave the engine through)."""
    if error.provider is None:
        error.provider = provider
    if error.model is None:
        error.model = model
    if error.partial is None:
        error.partial = partial
    redact_error(error)
