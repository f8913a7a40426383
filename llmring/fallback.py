"""Try the models of an alias in order, and commit to the first one that answers.

The rule, in full:

- Each model first gets its own retries (``llmring.retry``); only then does the next one run.
- Move to the next model only on an error another model could avoid: provider not
  configured, rate limited, overloaded or 5xx, timed out, connection failed, model not found
  (the error classes with ``fallback_eligible = True``).
- An authentication error moves on only to a model of *another* provider: a refused key is a
  property of one provider's account, but the next model on the same provider would be refused
  too, and a typo in a key should not hide behind a silent switch. A bad request (400/422) is
  never hidden: it is the caller's own and would fail everywhere. The exception is
  ``ProviderUnsupportedError``, refused before sending because this provider lacks what the
  request asks for (a JSON Schema keyword): another provider may have it.
- A stream commits at its first chunk. Once anything has reached the caller the model never
  changes: a later failure raises its typed error with ``partial`` set. Everything here runs
  before that first chunk is handed over, so nothing in this module ever yields to the caller.
- Hedging (``hedge_after``): when the running model has produced nothing after ``hedge_after``
  seconds, the next model is started beside it. The first to produce a chunk is committed; the
  others are cancelled at once (their connections closed), so only one model's chunks are ever
  seen.
- One model: its (last) error is raised as it is. Several, all failed: ``AllModelsFailedError``
  with every attempt's error.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from llmring._attempts import AttemptLog
from llmring.exceptions import AllModelsFailedError, LLMRingError, ProviderAuthenticationError
from llmring.model_ref import ModelRef

__all__ = ["first_to_answer", "may_fall_back"]

T = TypeVar("T")
#: Told ``(alias, failed model, next model, error)`` when a failure moves a call on.
FallbackHook = Callable[[str, str, str, LLMRingError], None]


def may_fall_back(error: LLMRingError, failed: ModelRef, remaining: Sequence[ModelRef]) -> bool:
    """Whether ``error`` from ``failed`` is one the models in ``remaining`` could avoid."""
    if isinstance(error, ProviderAuthenticationError):
        return any(ref.provider != failed.provider for ref in remaining)
    return error.fallback_eligible


async def first_to_answer(
    name: str,
    refs: Sequence[ModelRef],
    start: Callable[[ModelRef], Awaitable[T]],
    log: AttemptLog,
    *,
    hedge_after: float | None = None,
    discard: Callable[[T], Awaitable[None]] | None = None,
    on_fallback: FallbackHook | None = None,
) -> T:
    """What ``start`` gives for the first model in ``refs`` that answers; ``name`` is the alias.

    ``start(ref)`` opens one model (its retries included) without delivering anything.
    ``discard`` releases an answer that lost a hedged race. ``on_fallback(name, failed, next,
    error)`` hears of each move to the next model after a failure.
    """
    if hedge_after is None or len(refs) < 2:
        for position, ref in enumerate(refs):
            try:
                return await start(ref)
            except LLMRingError as error:
                if may_fall_back(error, ref, refs[position + 1 :]):
                    if on_fallback is not None and position + 1 < len(refs):
                        on_fallback(name, str(ref), str(refs[position + 1]), error)
                    continue
                _note_earlier(error, log)
                raise
        raise _give_up(name, log)
    return await _hedged(name, refs, start, log, hedge_after, discard, on_fallback)


async def _hedged(
    name: str,
    refs: Sequence[ModelRef],
    start: Callable[[ModelRef], Awaitable[T]],
    log: AttemptLog,
    hedge_after: float,
    discard: Callable[[T], Awaitable[None]] | None,
    on_fallback: FallbackHook | None,
) -> T:
    """``first_to_answer`` with the next model started whenever the running ones are slow."""
    send, receive = anyio.create_memory_object_stream[tuple[int, T | LLMRingError]](len(refs))

    async def race(position: int) -> None:
        try:
            outcome: T | LLMRingError = await start(refs[position])
        except LLMRingError as error:
            outcome = error
        send.send_nowait((position, outcome))  # no checkpoint between the answer and this

    winner: list[T] = []
    failure: list[LLMRingError] = []
    with send, receive:
        try:
            async with anyio.create_task_group() as tg:
                started, running = 1, 1
                tg.start_soon(race, 0)
                while True:
                    wait = hedge_after if started < len(refs) else math.inf
                    with anyio.move_on_after(wait):
                        position, outcome = await receive.receive()
                        running -= 1
                        if not isinstance(outcome, LLMRingError):
                            winner.append(outcome)
                            break
                        if not may_fall_back(outcome, refs[position], refs[position + 1 :]):
                            failure.append(outcome)
                            break
                        if running:
                            continue  # another model is still on its way
                        if started == len(refs):
                            break  # every model failed
                        if on_fallback is not None:
                            on_fallback(name, str(refs[position]), str(refs[started]), outcome)
                    # Slow (or failed with nothing else running): start the next model beside it.
                    tg.start_soon(race, started)
                    started, running = started + 1, running + 1
                tg.cancel_scope.cancel()
        except BaseException:
            # The call itself was cancelled (or failed) as the race ended: nobody will take
            # the winner, so it is released with the late ones below.
            late_winner = winner[:]
            winner.clear()
            await _release(late_winner, receive, discard)
            raise
        # A loser that finished opening while the winner was chosen: release it.
        await _release([], receive, discard)
    if winner:
        return winner[0]
    if failure:
        _note_earlier(failure[0], log)
        raise failure[0]
    raise _give_up(name, log)


async def _release(
    answers: list[T],
    receive: MemoryObjectReceiveStream[tuple[int, T | LLMRingError]],
    discard: Callable[[T], Awaitable[None]] | None,
) -> None:
    """Release ``answers`` and every answer still queued in ``receive`` (shielded: it runs
    while the call is being cancelled, too)."""
    with anyio.CancelScope(shield=True):
        while True:
            try:
                _, late = receive.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
            if not isinstance(late, LLMRingError):
                answers.append(late)
        if discard is not None:
            for answer in answers:
                await discard(answer)


def _note_earlier(error: LLMRingError, log: AttemptLog) -> None:
    """Keep the answers of the attempts made before the one whose error is raised."""
    for model, earlier in log.errors():
        if earlier is not error:
            error.add_note(f"tried first: {model}: {earlier}")


def _give_up(name: str, log: AttemptLog) -> LLMRingError:
    """Every model failed with an error another model might have avoided."""
    attempts = log.errors()
    if len({model for model, _ in attempts}) == 1:
        return attempts[-1][1]
    return AllModelsFailedError(name, attempts)
