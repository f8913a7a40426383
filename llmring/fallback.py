"""Try the models of an alias in order, and commit to the first one that answers.

The rule, in full:

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
  changes: a later failure raises its typed error with ``partial`` set.
- One model: its error is raised as it is. Several, all failed: ``AllModelsFailedError`` with
  every model's answer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import TypeAlias

from llmring.exceptions import AllModelsFailedError, LLMRingError, ProviderAuthenticationError
from llmring.model_ref import ModelRef
from llmring.schemas import LLMResponse, StreamChunk

__all__ = ["FallbackHook", "first_response", "first_stream", "may_fall_back"]

#: Told ``(name, failed model, next model, error)`` each time a model is given up for the next.
FallbackHook: TypeAlias = Callable[[str, str, str, LLMRingError], None]


def may_fall_back(error: LLMRingError, failed: ModelRef, remaining: Sequence[ModelRef]) -> bool:
    """Whether ``error`` from ``failed`` is one the models in ``remaining`` could avoid."""
    if isinstance(error, ProviderAuthenticationError):
        return any(ref.provider != failed.provider for ref in remaining)
    return error.fallback_eligible


async def first_stream(
    name: str,
    refs: Sequence[ModelRef],
    start: Callable[[ModelRef], AsyncGenerator[StreamChunk, None]],
    *,
    on_fallback: FallbackHook | None = None,
) -> AsyncGenerator[StreamChunk, None]:
    """Chunks from the first model in ``refs`` that yields one; ``name`` is the alias."""
    attempts: list[tuple[str, LLMRingError]] = []
    for position, ref in enumerate(refs):
        chunks = start(ref)
        try:
            first = await anext(chunks)
        except LLMRingError as error:
            await chunks.aclose()
            attempts.append((str(ref), error))
            if may_fall_back(error, ref, refs[position + 1 :]):
                _tell(on_fallback, name, ref, refs, position, error)
                continue
            _note_earlier(error, attempts)
            raise
        async with aclosing(chunks):
            yield first
            async for chunk in chunks:
                yield chunk
        return
    raise _give_up(name, attempts)


async def first_response(
    name: str,
    refs: Sequence[ModelRef],
    send: Callable[[ModelRef], Awaitable[LLMResponse]],
    *,
    on_fallback: FallbackHook | None = None,
) -> LLMResponse:
    """The response of the first model in ``refs`` that answers."""
    attempts: list[tuple[str, LLMRingError]] = []
    for position, ref in enumerate(refs):
        try:
            return await send(ref)
        except LLMRingError as error:
            attempts.append((str(ref), error))
            if may_fall_back(error, ref, refs[position + 1 :]):
                _tell(on_fallback, name, ref, refs, position, error)
                continue
            _note_earlier(error, attempts)
            raise
    raise _give_up(name, attempts)


def _tell(
    hook: FallbackHook | None,
    name: str,
    failed: ModelRef,
    refs: Sequence[ModelRef],
    position: int,
    error: LLMRingError,
) -> None:
    """Report a move to the next model (not the give-up after the last one)."""
    if hook is not None and position + 1 < len(refs):
        hook(name, str(failed), str(refs[position + 1]), error)


def _note_earlier(error: LLMRingError, attempts: list[tuple[str, LLMRingError]]) -> None:
    """Keep the answers of the models tried before the one whose error is raised."""
    for model, earlier in attempts[:-1]:
        error.add_note(f"tried first: {model}: {earlier}")


def _give_up(name: str, attempts: list[tuple[str, LLMRingError]]) -> LLMRingError:
    """Every model failed with an error another model might have avoided."""
    if len(attempts) == 1:
        return attempts[0][1]
    return AllModelsFailedError(name, attempts)
