"""Ask one model, and ask again after a retryable failure: the one place a retry is decided
and slept. What is retried and for how long comes from ``llmring.retry`` (pure); this module
only runs it and records every attempt in an ``AttemptLog``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from llmring._observe import Observer
from llmring.exceptions import LLMRingError
from llmring.model_ref import ModelRef
from llmring.retry import AttemptRecord, RetryPolicy, retry_wait
from llmring.schemas import Attempt
from llmring.timeouts import CallDeadlines

__all__ = ["AttemptLog", "with_retries"]

T = TypeVar("T")


class AttemptLog:
    """Every request made to serve one call, in the order they were sent."""

    __slots__ = ("records",)

    def __init__(self) -> None:
        self.records: list[AttemptRecord] = []

    def begin(self, model: str, waited: float) -> AttemptRecord:
        """A request to ``model`` is about to be sent, after ``waited`` seconds of backoff."""
        record = AttemptRecord(model=model, waited=waited)
        self.records.append(record)
        return record

    def errors(self) -> list[tuple[str, LLMRingError]]:
        """``(model, error)`` of every failed attempt, for ``AllModelsFailedError``."""
        return [(r.model, r.error) for r in self.records if r.error is not None]

    def public(self) -> list[Attempt]:
        """The attempts as the caller sees them on the final chunk or the response."""
        return [
            Attempt(
                model=r.model,
                outcome="cancelled" if r.outcome == "pending" else r.outcome,
                error=None if r.error is None else f"{type(r.error).__name__}: {r.error}",
                waited=round(r.waited, 3),
            )
            for r in self.records
        ]


async def with_retries(
    ref: ModelRef,
    send: Callable[[int], Awaitable[T]],
    policy: RetryPolicy,
    deadlines: CallDeadlines,
    log: AttemptLog,
    observer: Observer,
) -> T:
    """``send(attempt)``'s result, asking again while ``llmring.retry`` says a failure is
    worth it; ``attempt`` counts from 1 for this model. Each retry is told to ``observer``.

    ``send`` must deliver nothing to the caller: it runs before the first chunk.
    """
    retry = 0
    waited = 0.0
    while True:
        record = log.begin(str(ref), waited)
        try:
            result = await send(retry + 1)
        except LLMRingError as error:
            record.outcome, record.error = "failed", error
            retry += 1
            wait = retry_wait(error, retry, policy, deadlines.remaining())
            if wait is None:
                raise
            observer.retry(ref.provider, ref.model, retry, wait, error)
            await anyio.sleep(wait)  # the one place a retry is slept
            waited = wait
            continue
        except anyio.get_cancelled_exc_class():
            record.outcome = "cancelled"
            raise
        record.outcome = "served"
        return result
