"""Which failures are asked again, and how long to wait first. Pure: no I/O, no clock.

The rule (only ever applied before the first chunk reached the caller):

- Retried: connection errors, connect / first-token / idle timeouts, HTTP 408, 409, 429, 500,
  502, 503, 504, 529, and an error that arrives in-band as the stream's first event (read from
  its class: ``retryable`` is True for rate limits, overload, timeouts, connection errors).
- Never retried: any other status (400, 401, 403, 404, 413, 422, ...), a ``total`` timeout, and
  any error class that does not say ``retryable = True`` (the default on ``LLMRingError``).
- ``x-should-retry: true|false`` from the server overrides the status rule.
- Wait: the server's word first (``retry-after-ms``, ``Retry-After``, the body's hint such as
  Gemini's ``RetryInfo``, all already on ``error.retry_after``), else exponential backoff from
  0.5 s doubling to 8 s with up to 25% jitter, as the official SDKs do.
- A wait the server asks for beyond ``max_wait`` is not slept: the error is raised at once so
  a fallback model can serve. A wait that would run past the call's ``total`` deadline is not
  slept either.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from llmring.exceptions import LLMRingError, ProviderError, ProviderTimeoutError

__all__ = [
    "INITIAL_BACKOFF",
    "MAX_BACKOFF",
    "RETRY_STATUSES",
    "AttemptRecord",
    "RetryPolicy",
    "backoff",
    "is_retryable",
    "retry_wait",
]

#: HTTP statuses worth asking again: the server may answer differently in a moment.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times one model is asked again, and the longest server-requested wait slept."""

    max_retries: int = 2
    max_wait: float = 60.0
    #: Returns a float in [0, 1); replaceable so tests can pin the jitter.
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)


@dataclass(slots=True)
class AttemptRecord:
    """One request sent to one model: how it ended, its error, and the wait slept before it.

    ``outcome`` is ``pending`` while the request runs.
    """

    model: str
    waited: float = 0.0
    outcome: Literal["pending", "served", "failed", "cancelled"] = "pending"
    error: LLMRingError | None = None


def is_retryable(error: LLMRingError) -> bool:
    """Whether asking the same model again, before any output, could succeed."""
    if isinstance(error, ProviderError):
        if error.should_retry is not None:
            return error.should_retry
        if error.status_code is not None:
            return error.status_code in RETRY_STATUSES
        if isinstance(error, ProviderTimeoutError) and error.phase == "total":
            return False  # the whole call's budget is spent: nothing may run past it
    return error.retryable


def backoff(retry: int, rand: Callable[[], float] = random.random) -> float:
    """The wait before retry number ``retry`` (1, 2, ...) when the server named none."""
    base = min(INITIAL_BACKOFF * 2.0 ** (retry - 1), MAX_BACKOFF)
    return base * (1 - 0.25 * rand())


def retry_wait(
    error: LLMRingError, retry: int, policy: RetryPolicy, remaining: float
) -> float | None:
    """Seconds to sleep before retry number ``retry`` after ``error``, or None to give up.

    ``remaining`` is the time left before the call's ``total`` deadline (``inf`` if none).
    """
    if retry > policy.max_retries or not is_retryable(error):
        return None
    asked = error.retry_after if isinstance(error, ProviderError) else None
    if asked is not None and asked > policy.max_wait:
        return None  # not worth holding the caller: let a fallback model serve instead
    wait = backoff(retry, policy.random) if asked is None else asked
    return None if wait >= remaining else wait
