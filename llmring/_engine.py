"""The one provider-agnostic loop: send, decode, feed the parser, yield, finish, wrap errors.

Every provider goes through ``stream`` and ``complete``; providers only build the call and
parse what comes back. Any error raised once a stream is under way carries ``partial``, the
response assembled so far, so nothing received is lost. Each call is watched
(``_observe.CallWatch``): three clock reads per stream, and the final chunk gets its ``timing``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator

import httpx

from llmring._body import read_body
from llmring._observe import SILENT, CallWatch, Observer
from llmring._redaction import redact_error
from llmring._transport import map_transport_errors, open_stream, post
from llmring._wire import DEFAULT_MAX_EVENT_BYTES, NDJSONDecoder, SSEDecoder, decoder_for
from llmring.exceptions import ProviderError, ProviderResponseError
from llmring.model_ref import ModelRef
from llmring.providers.base import Provider, StreamParser
from llmring.schemas import LLMRequest, LLMResponse, StreamChunk

__all__ = ["complete", "stream"]


async def stream(
    client: httpx.AsyncClient,
    provider: Provider,
    request: LLMRequest,
    ref: ModelRef,
    *,
    http_timeout: float | None = None,
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    observer: Observer = SILENT,
) -> AsyncGenerator[StreamChunk, None]:
    """Stream ``request`` from ``ref``'s provider, chunk by chunk as they arrive.

    ``http_timeout`` (seconds) bounds the connect and each gap between reads; ``None`` leaves the
    client's own. A line or event over ``max_event_bytes`` (after content decoding) is refused.
    ``observer`` hears of the start, the first chunk and the end.

    The response is closed when this generator is closed: on ``break`` (at finalization, or
    at once under ``contextlib.aclosing``), on cancellation, and on error; and as soon as the
    provider's terminal event arrives, before the final chunk is yielded.
    """
    label = str(ref)
    call = provider.build_call(request, ref.model, stream=True)
    parser = provider.stream_parser(label)
    watch = observer.start(provider.name, ref.model, call.url, stream=True, request=request)
    count = 0
    final: StreamChunk | None = None
    try:
        async with open_stream(
            client, call, provider, ref.model, http_timeout=http_timeout
        ) as response:
            decoder = await _decoder(response, provider, max_event_bytes)
            # One flat loop, no generator per layer: this is the per-chunk hot path. The
            # watch is told only of the first chunk and the final one (no clock per chunk).
            with map_transport_errors(provider.name, ref.model):
                async with read_body(response) as body:
                    async for data in body:
                        for payload in decoder.feed(data):
                            for chunk in parser.feed(payload):
                                count += 1
                                if chunk.finish_reason is not None:
                                    final = chunk  # the terminal event: stop reading
                                    break
                                if count == 1:
                                    chunk = _watched(watch, chunk, count, parser)
                                yield chunk
                            if final is not None:
                                break
                        if final is not None:
                            break
            if final is None:
                # The body ended first: what the decoder held back, then the parser's verdict
                # (its final chunk, or an error for a stream cut short).
                for chunk in _tail(decoder, parser):
                    count += 1
                    if chunk.finish_reason is not None:
                        final = chunk
                    else:
                        yield _watched(watch, chunk, count, parser)
    except ProviderError as exc:
        _complete_error(exc, provider.name, ref.model, parser.snapshot())
        watch.failed(exc)
        raise
    except ValueError as exc:  # a parser tripped on a shape its wire models did not expect
        error = ProviderResponseError(f"could not parse the stream: {exc}")
        _complete_error(error, provider.name, ref.model, parser.snapshot())
        watch.failed(error)
        raise error from exc
    except BaseException as exc:  # the caller stopped reading: break, cancellation, Ctrl-C
        watch.failed(exc, cancelled=True)
        raise
    if final is not None:
        # Yielded once the response is closed: a server that keeps the connection open after
        # its terminal event, or sends more ([DONE] after response.completed, keep-alives),
        # neither delays nor spoils a complete answer.
        yield _watched(watch, final, count, parser)


def _tail(decoder: SSEDecoder | NDJSONDecoder, parser: StreamParser) -> Iterator[StreamChunk]:
    """The chunks end of input gives: the decoder's last payload, then ``parser.finish()``."""
    for payload in decoder.finish():
        yield from parser.feed(payload)
    yield from parser.finish()


def _watched(watch: CallWatch, chunk: StreamChunk, count: int, parser: StreamParser) -> StreamChunk:
    """Tell ``watch`` of the first chunk and of the final one, which gets its ``timing``."""
    if count == 1 and watch.first is None:
        watch.first_chunk()
    if chunk.finish_reason is None:
        return chunk
    watch.log_answer(parser.snapshot)
    return watch.final_chunk(chunk, count)


async def complete(
    client: httpx.AsyncClient,
    provider: Provider,
    request: LLMRequest,
    ref: ModelRef,
    *,
    http_timeout: float | None = None,
    observer: Observer = SILENT,
) -> LLMResponse:
    """Send ``request`` to the non-streaming endpoint and parse the whole answer."""
    call = provider.build_call(request, ref.model, stream=False)
    watch = observer.start(provider.name, ref.model, call.url, stream=False, request=request)
    body = b""
    try:
        body = await post(client, call, provider, ref.model, http_timeout=http_timeout)
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
        error.body_excerpt = (await response.aread())[:500].decode("utf-8", "replace")
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
