"""Typed events about each call, for metrics and tracing without a dependency.

``LLMRing(on_event=hook)`` calls ``hook(event)`` synchronously for each of these, in order:

    RequestStarted    a request is about to be sent (once per attempt)
    FirstChunk        the first chunk of a stream reached llmring (streams only)
    Retry             an attempt failed and the same model will be tried again after ``delay``
    Fallback          a model failed and the next model of the alias will be tried
    RequestFinished   the answer is complete (the final chunk, or the whole response)
    RequestFailed     the attempt ended without an answer: an error, or the caller stopped
                      reading (``cancelled``)

Every event of one attempt carries the same ``call_id``. Events never hold a key, nor prompt
or answer text. A hook that raises is logged and otherwise ignored: observing a call must not
break it. ``llmring.otel`` turns these events into OpenTelemetry spans.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from llmring.exceptions import LLMRingError
from llmring.schemas import FinishReason, Timing, Usage

__all__ = [
    "Event",
    "EventHook",
    "Fallback",
    "FirstChunk",
    "RequestFailed",
    "RequestFinished",
    "RequestStarted",
    "Retry",
]


@dataclass(frozen=True, slots=True)
class RequestStarted:
    """A request to ``provider``/``model`` is about to be sent to ``url`` (no query string)."""

    call_id: int
    provider: str
    model: str
    url: str
    stream: bool
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class FirstChunk:
    """A stream's first chunk arrived ``time_to_first_chunk`` seconds after the request."""

    call_id: int
    provider: str
    model: str
    time_to_first_chunk: float


@dataclass(frozen=True, slots=True)
class Retry:
    """Attempt ``attempt`` failed with ``error``; the same model is tried again after
    ``delay`` seconds."""

    call_id: int
    provider: str
    model: str
    attempt: int
    delay: float
    error: LLMRingError


@dataclass(frozen=True, slots=True)
class Fallback:
    """``failed`` (``provider:model``) failed with ``error``; ``next`` is tried instead.
    ``name`` is what the caller asked for (the alias)."""

    name: str
    failed: str
    next: str
    error: LLMRingError


@dataclass(frozen=True, slots=True)
class RequestFinished:
    """The answer is complete: the provider's ids, the finish reason, usage and timing."""

    call_id: int
    provider: str
    model: str
    stream: bool
    response_id: str | None
    served_model: str | None
    finish_reason: FinishReason | None
    usage: Usage | None
    timing: Timing


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """The attempt ended without an answer. ``cancelled``: the caller stopped reading (a
    ``break``, a cancellation) and ``error`` is the exception that closed the stream."""

    call_id: int
    provider: str
    model: str
    stream: bool
    error: BaseException
    cancelled: bool
    duration: float


Event: TypeAlias = RequestStarted | FirstChunk | Retry | Fallback | RequestFinished | RequestFailed
EventHook: TypeAlias = Callable[[Event], None]
