"""The public surface: names importable as the issues fix them, and a light ``import llmring``."""

from __future__ import annotations

import json
import subprocess
import sys

import llmring
from llmring import exceptions, schemas


def test_public_names_import_as_documented() -> None:
    from llmring import LLMRequest, LLMResponse, LLMRing, Message, StreamChunk
    from llmring.exceptions import (
        LLMRingError,
        ModelNotFoundError,
        ProviderAuthenticationError,
        ProviderNotFoundError,
        ProviderRateLimitError,
        ProviderResponseError,
        ProviderTimeoutError,
    )
    from llmring.schemas import StreamChunk as SchemaStreamChunk

    assert SchemaStreamChunk is StreamChunk
    assert [LLMRing, LLMRequest, LLMResponse, Message] == [
        llmring.LLMRing,
        llmring.LLMRequest,
        llmring.LLMResponse,
        llmring.Message,
    ]
    for error in (
        ModelNotFoundError,
        ProviderAuthenticationError,
        ProviderNotFoundError,
        ProviderRateLimitError,
        ProviderResponseError,
        ProviderTimeoutError,
    ):
        assert issubclass(error, LLMRingError)


def test_all_lists_are_sorted_and_resolve() -> None:
    for module in (llmring, exceptions, schemas):
        assert module.__all__ == sorted(module.__all__)
        assert [name for name in module.__all__ if not hasattr(module, name)] == []


def test_every_error_class_is_drawn_in_the_tree() -> None:
    doc = exceptions.__doc__ or ""
    classes = [
        name
        for name in exceptions.__all__
        if isinstance(getattr(exceptions, name), type)
        and issubclass(getattr(exceptions, name), Exception)
    ]
    assert [name for name in classes if name not in doc] == []


def test_import_is_light() -> None:
    """No provider module, lockfile code, respx or vendor SDK loads on ``import llmring``."""
    code = (
        "import sys, json, llmring; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(("
        "'llmring.providers.', 'llmring.config', 'tomlkit', "
        "'respx', 'openai', 'anthropic', 'google', 'ollama', 'hypothesis')))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    # presets: the preset table is plain data the registry lists (no provider module).
    assert json.loads(out) == ["llmring.providers.base", "llmring.providers.presets"]
