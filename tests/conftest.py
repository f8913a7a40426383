"""Shared fixtures: every async test runs on asyncio and trio; the environment is cleared."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmring.testing import Recording, load_recording

# Helpers that assert on a test's behalf: their failures get pytest's detailed diffs too.
pytest.register_assert_rewrite("tests.providers.invariants", "tests.providers.recorded")

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "recordings"
FIXTURES = ROOT / "fixtures"
SHARED_WIRE = ROOT.parent / "shared" / "wire"

_PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "GOOGLE_GEMINI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "OLLAMA_BASE_URL",
    "OLLAMA_API_KEY",
)
# The presets' and declared providers' variables (GROQ_API_KEY, VLLM_BASE_URL, ...).
_NAMED_ENV = ("_API_KEY", "_BASE_URL")


def rec(name: str) -> Recording:
    """The recording ``recordings/<name>``."""
    return load_recording(RECORDINGS / name)


def lockfile(tmp_path: Path, *models: str) -> Path:
    """A lockfile in ``tmp_path`` binding the alias ``chatbot`` to ``models``, in order."""
    path = tmp_path / "llmring.lock"
    quoted = ", ".join(f'"{m}"' for m in models)
    path.write_text(
        'version = "1.0"\ndefault_profile = "default"\n[profiles.default]\nname = "default"\n'
        f'[[profiles.default.bindings]]\nalias = "chatbot"\nmodels = [{quoted}]\n'
    )
    return path


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's keys, base URLs or llmring settings."""
    for name in list(os.environ):
        if name in _PROVIDER_ENV or name.startswith("LLMRING_") or name.endswith(_NAMED_ENV):
            monkeypatch.delenv(name)
    yield


@pytest.fixture(autouse=True)
def clean_provider_registry() -> Iterator[None]:
    """Providers a test declares (lockfile tables, ``LLMRing(providers=...)``) end with it."""
    from llmring import providers

    saved = dict(providers._CLASSES)
    yield
    providers._CLASSES.clear()
    providers._CLASSES.update(saved)
