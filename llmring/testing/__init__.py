"""Test an LLM application offline: cassettes of real traffic, and replay helpers.

``cassette(path, mode=...)`` records every ``LLMRing`` created inside it to a directory and
replays it later (``llmring.testing.cassette``); the pytest plugin
(``llmring.testing.pytest_plugin``, loaded by pytest through its entry point) gives each test
its own. ``Recording``, ``load_recording`` and the rest replay single recorded bodies, as
llmring's own tests do (``llmring.testing._replay``). Nothing here imports pytest or respx.
"""

from llmring.exceptions import CassetteMismatchError
from llmring.testing._replay import (
    Recording,
    ReplayStream,
    iter_recordings,
    load_recording,
    mock_recording,
    rechunk,
    replay_transport,
    split_events,
)
from llmring.testing.cassette import MODES, Cassette, CassetteMode, cassette
from llmring.testing.streams import Pace

__all__ = [
    "MODES",
    "Cassette",
    "CassetteMismatchError",
    "CassetteMode",
    "Pace",
    "Recording",
    "ReplayStream",
    "cassette",
    "iter_recordings",
    "load_recording",
    "mock_recording",
    "rechunk",
    "replay_transport",
    "split_events",
]
