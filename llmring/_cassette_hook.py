"""Where ``LLMRing`` meets ``llmring.testing.cassette``: a context variable and nothing else.

``cassette(...)`` sets the variable; ``LLMRing`` asks ``wrap_transport`` for its transport when it
builds its HTTP client, so every ring created inside the block records or replays through the
cassette without anything being passed around and without patching httpx. With no cassette
active this costs one ``ContextVar.get`` per ``LLMRing``, and nothing per request or chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Protocol

import httpx

__all__ = ["CassetteHook", "active", "set_test_default", "wrap_transport"]


class CassetteHook(Protocol):
    """What a cassette offers the ring: a transport that records to or replays from it."""

    def wrap(
        self, transport: Callable[[], httpx.AsyncBaseTransport], secrets: Iterable[str]
    ) -> httpx.AsyncBaseTransport: ...


ACTIVE: ContextVar[CassetteHook | None] = ContextVar("llmring_cassette", default=None)

# The pytest plugin's cassette for the running test. Test runners (anyio's, pytest-asyncio's)
# may run a test in a task whose context was copied before the test's fixtures set ACTIVE, so
# the plugin also names the cassette here for the length of the test. Outside pytest it stays
# None, and the context variable always wins.
_test_default: CassetteHook | None = None


def set_test_default(hook: CassetteHook | None) -> None:
    """Name (or clear, with ``None``) the cassette of the running pytest test."""
    global _test_default
    _test_default = hook


def active() -> CassetteHook | None:
    """The cassette in effect here, if any."""
    return ACTIVE.get() or _test_default


def wrap_transport(
    transport: Callable[[], httpx.AsyncBaseTransport], secrets: Iterable[str] = ()
) -> httpx.AsyncBaseTransport | None:
    """None when no cassette is active; else the active cassette's wrapper around the
    transport ``transport()`` builds (only once it has something to record: a replay never
    builds it). ``secrets`` are the keys the ring was configured with, so the cassette can
    scrub them wherever they appear."""
    hook = active()
    return None if hook is None else hook.wrap(transport, secrets)
