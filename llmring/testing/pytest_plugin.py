"""The pytest plugin: a cassette per test, recorded once and replayed offline after.

pytest loads it through the ``pytest11`` entry point ``llmring``; nothing else imports it,
so llmring never imports pytest at run time.

- ``llmring_cassette``: a fixture that holds a cassette open for the test and yields it.
- ``@pytest.mark.llmring_cassette(name=None, **options)``: the same without asking for the
  fixture; ``name`` replaces the test's name in the path, the options go to ``cassette()``
  (``match_on``, ``ignore``, ``pace``, ``rechunk``, ``secrets``, ``mode``).
- The cassette is ``<test file's directory>/cassettes/<module>/<test name>``, e.g.
  ``tests/cassettes/test_checkout/test_pays``.
- ``--llmring-record=once|none|new_episodes|all``: the mode (default ``none`` when the ``CI``
  environment variable is set, so CI never calls a real provider, else ``once``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmring import _cassette_hook
from llmring.testing.cassette import MODES, Cassette, CassetteMode, cassette

__all__ = ["cassette_path", "default_mode", "llmring_cassette"]

MARKER = "llmring_cassette"
_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--llmring-record``."""
    group = parser.getgroup("llmring", "llmring cassettes")
    group.addoption(
        "--llmring-record",
        choices=MODES,
        default=None,
        help="cassette mode for llmring_cassette tests (default: none if CI is set, else once)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``llmring_cassette`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name=None, **options): record/replay this test's LLM calls in a cassette",
    )


def default_mode(config: pytest.Config) -> CassetteMode:
    """``--llmring-record``, else ``none`` under CI, else ``once``."""
    chosen: CassetteMode | None = config.getoption("--llmring-record")
    if chosen is not None:
        return chosen
    return "none" if os.environ.get("CI") else "once"


def cassette_path(node: pytest.Item, name: str | None = None) -> Path:
    """``<test file's directory>/cassettes/<module>/<name or test name>``."""
    module = node.path.stem
    return node.path.parent / "cassettes" / module / _UNSAFE.sub("-", name or node.name).strip("-")


@pytest.fixture
def llmring_cassette(request: pytest.FixtureRequest) -> Iterator[Cassette]:
    """The test's cassette, active for the whole test (every LLMRing it creates uses it)."""
    marker = request.node.get_closest_marker(MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    name = options.pop("name", None)
    mode = options.pop("mode", default_mode(request.config))
    tape = cassette(cassette_path(request.node, name), mode=mode, **options)
    # The context variable covers the test's own context; the test default covers a test
    # run by an async plugin in a task whose context was copied before this fixture ran.
    _cassette_hook.set_test_default(tape)
    try:
        with tape:
            yield tape
    finally:
        _cassette_hook.set_test_default(None)


@pytest.fixture(autouse=True)
def _llmring_cassette_marker(request: pytest.FixtureRequest) -> None:
    """Marked tests get their cassette without asking for the fixture."""
    if request.node.get_closest_marker(MARKER) is not None:
        request.getfixturevalue("llmring_cassette")
