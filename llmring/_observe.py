"""Observing calls: timing, the ``llmring`` logger and the ``on_event`` hook, in one place.

The engine asks ``Observer.start`` for a ``CallWatch`` per attempt and tells it three things:
the first chunk, the end (an answer or a failure). That is three clock reads per stream,
none per chunk. Each moment becomes a typed event (``llmring.events``) for the hook and, at
DEBUG, one log line at the start and one at the end; retries and fallbacks log at WARNING.

Logs never carry a key (headers are never logged; URLs lose their query string), and carry
prompt or answer text only when ``LLMRING_LOG_CONTENT=1``.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Callable
from typing import Final

from llmring.events import (
    Event,
    EventHook,
    Fallback,
    FirstChunk,
    RequestFailed,
    RequestFinished,
    RequestStarted,
    Retry,
)
from llmring.exceptions import LLMRingError, ProviderError
from llmring.schemas import FinishReason, LLMRequest, LLMResponse, StreamChunk, Timing, Usage

__all__ = ["LOG_CONTENT_ENV", "CallWatch", "Observer", "logger"]

logger: Final = logging.getLogger("llmring")
# A library configures no output: without this, Python's last-resort handler would print
# WARNING lines (retries, fallbacks) to stderr of every application that set up no logging.
logger.addHandler(logging.NullHandler())
LOG_CONTENT_ENV: Final = "LLMRING_LOG_CONTENT"

_clock = time.perf_counter
_call_ids = itertools.count(1)


def _log_content() -> bool:
    return os.environ.get(LOG_CONTENT_ENV) == "1"


def _strip_query(url: str) -> str:
    return url.partition("?")[0]


def _timing(
    started: float, first: float | None, ended: float, chunks: int, usage: Usage | None
) -> Timing:
    # Tokens per second over the generation: from the first chunk when there was one.
    span = ended - (first if first is not None else started)
    tokens = usage.completion_tokens if usage is not None else 0
    return Timing(
        time_to_first_chunk=None if first is None else first - started,
        duration=ended - started,
        chunks=chunks,
        output_tokens_per_second=tokens / span if tokens and span > 0 else None,
    )


class Observer:
    """Where a ``LLMRing``'s calls report to: the ``llmring`` logger and an optional hook."""

    __slots__ = ("_hook",)

    def __init__(self, hook: EventHook | None = None) -> None:
        self._hook = hook

    def emit(self, event: Event) -> None:
        """Give ``event`` to the hook; a hook that raises is logged, never propagated."""
        if self._hook is None:
            return
        try:
            self._hook(event)
        except Exception:
            logger.exception("llmring on_event hook raised on %s", type(event).__name__)

    def start(
        self,
        provider: str,
        model: str,
        url: str,
        *,
        stream: bool,
        request: LLMRequest | None = None,
        attempt: int = 1,
    ) -> CallWatch:
        """A request is about to be sent: the clock starts, the start is logged and emitted."""
        watch = CallWatch(self, next(_call_ids), provider, model, stream)
        url = _strip_query(url)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "request start: %s:%s stream=%s attempt=%d url=%s",
                *(provider, model, stream, attempt, url),
            )
            if request is not None and _log_content():
                logger.debug("request messages: %s", request.model_dump_json(include={"messages"}))
        self.emit(RequestStarted(watch.call_id, provider, model, url, stream, attempt))
        return watch

    def fallback(self, name: str, failed: str, next_model: str, error: LLMRingError) -> None:
        """``failed`` gave ``error``; ``next_model`` is tried instead (WARNING)."""
        logger.warning("falling back from %s to %s for %r: %s", failed, next_model, name, error)
        self.emit(Fallback(name, failed, next_model, error))

    def retry(
        self,
        provider: str,
        model: str,
        attempt: int,
        delay: float,
        error: LLMRingError,
        *,
        call_id: int = 0,
    ) -> None:
        """Attempt ``attempt`` (``call_id``) gave ``error``; the same model is tried again
        after ``delay`` seconds (WARNING)."""
        logger.warning(
            "retrying %s:%s after attempt %d in %.2fs: %s", provider, model, attempt, delay, error
        )
        self.emit(Retry(call_id, provider, model, attempt, delay, error))


#: Observes nothing but still times: for engine calls made without a ``LLMRing``.
SILENT = Observer()


class CallWatch:
    """One attempt under watch: its clock reads, its chunk count, whether it has ended."""

    __slots__ = ("_observer", "call_id", "ended", "first", "model", "provider", "started", "stream")

    def __init__(
        self, observer: Observer, call_id: int, provider: str, model: str, stream: bool
    ) -> None:
        self._observer = observer
        self.call_id = call_id
        self.provider = provider
        self.model = model
        self.stream = stream
        self.first: float | None = None
        self.ended = False
        self.started = _clock()

    def first_chunk(self) -> None:
        """The first chunk has arrived."""
        self.first = now = _clock()
        self._observer.emit(FirstChunk(self.call_id, self.provider, self.model, now - self.started))

    def final_chunk(self, chunk: StreamChunk, chunks: int) -> StreamChunk:
        """``chunk`` (the final one, the ``chunks``-th) with its ``timing``; ends the watch."""
        if self.first is None:
            self.first_chunk()
        timing = _timing(self.started, self.first, _clock(), chunks, chunk.usage)
        self._finished(
            chunk.response_id, chunk.served_model, chunk.finish_reason, chunk.usage, timing
        )
        update: dict[str, object] = {"timing": timing}
        if chunk.response is not None:  # the whole response the final chunk carries, too
            update["response"] = chunk.response.model_copy(update={"timing": timing})
        return chunk.model_copy(update=update)

    def timed(self, partial: LLMResponse, chunks: int) -> LLMResponse:
        """``partial`` (what a failed attempt had delivered, ``chunks`` chunks) with the
        attempt's ``timing`` up to now: one clock read, on the failure path only."""
        timing = _timing(self.started, self.first, _clock(), chunks, partial.usage)
        return partial.model_copy(update={"timing": timing})

    def response(self, response: LLMResponse) -> LLMResponse:
        """A whole (non-streamed) response with its ``timing``; ends the watch."""
        timing = _timing(self.started, None, _clock(), 0, response.usage)
        self._finished(
            response.response_id,
            response.served_model,
            response.finish_reason,
            response.usage,
            timing,
        )
        return response.model_copy(update={"timing": timing})

    def _finished(
        self,
        response_id: str | None,
        served_model: str | None,
        finish_reason: FinishReason | None,
        usage: Usage | None,
        timing: Timing,
    ) -> None:
        self.ended = True
        if logger.isEnabledFor(logging.DEBUG):
            tps = timing.output_tokens_per_second
            ttfc = timing.time_to_first_chunk
            logger.debug(
                "request end: %s:%s status=ok finish_reason=%s response_id=%s served_model=%s "
                "ttfc=%s duration=%.3fs chunks=%d tokens/s=%s",
                *(self.provider, self.model, finish_reason, response_id, served_model),
                "-" if ttfc is None else f"{ttfc:.3f}s",
                *(timing.duration, timing.chunks),
                "-" if tps is None else f"{tps:.1f}",
            )
        self._observer.emit(
            RequestFinished(
                self.call_id,
                self.provider,
                self.model,
                self.stream,
                response_id,
                served_model,
                finish_reason,
                usage,
                timing,
            )
        )

    def log_answer(self, response: Callable[[], LLMResponse]) -> None:
        """Log the answer at DEBUG, only when ``LLMRING_LOG_CONTENT=1`` (``response`` is
        called only then)."""
        if logger.isEnabledFor(logging.DEBUG) and _log_content():
            logger.debug("response content: %r", response().content)

    def failed(self, error: BaseException, *, cancelled: bool = False) -> None:
        """The attempt ended without an answer; a second end is ignored."""
        if self.ended:
            return
        self.ended = True
        duration = _clock() - self.started
        if logger.isEnabledFor(logging.DEBUG):
            status = (
                getattr(error, "status_code", None) if isinstance(error, ProviderError) else None
            )
            logger.debug(
                "request end: %s:%s status=%s error=%s http_status=%s duration=%.3fs",
                *(self.provider, self.model, "cancelled" if cancelled else "error"),
                *(type(error).__name__, status, duration),
            )
        self._observer.emit(
            RequestFailed(
                self.call_id, self.provider, self.model, self.stream, error, cancelled, duration
            )
        )
