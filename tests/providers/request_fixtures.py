"""The hand-written request fixtures, ``fixtures/<provider>/<case>.json``.

Each holds an ``LLMRequest``, the model and mode to build it for, and the whole body the
provider must send; ``build_fixture`` builds the call so a test can compare the two.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llmring.providers.base import HTTPCall, Provider
from llmring.schemas import LLMRequest
from tests.conftest import FIXTURES


def fixture_paths(provider: str) -> list[Path]:
    """Every fixture of ``provider`` (its folder under ``fixtures/``), in name order."""
    return sorted((FIXTURES / provider).glob("*.json"))


def build_fixture(provider: Provider, path: Path) -> tuple[HTTPCall, dict[str, Any]]:
    """The call ``provider`` builds for the fixture at ``path``, and the body it expects."""
    case = json.loads(path.read_text("utf-8"))
    request = LLMRequest.model_validate(case["request"])
    return provider.build_call(request, case["model"], stream=case["stream"]), case["body"]
