"""``LLMRequest``'s normalized options as Gemini ``generationConfig`` fields (pure).

https://ai.google.dev/api/generate-content#generationconfig,
https://ai.google.dev/gemini-api/docs/thinking

- ``reasoning`` is ``thinkingConfig`` with ``includeThoughts: true`` (so thought summaries
  stream into ``chunk.reasoning``). Gemini 3 and later take ``thinkingLevel`` (Pro: low and
  high; Flash: minimal to high), moved to the nearest level the model has. Gemini 2.5 takes
  ``thinkingBudget``, an effort becoming a budget through ``EFFORT_BUDGETS``, kept within the
  model's range. ``"none"`` is a budget of 0 on 2.5 Flash and Flash-Lite; models that cannot
  stop thinking (2.5 Pro, Gemini 3) get their least. Earlier models get no field.
- ``temperature`` is clamped to 0-2; ``top_p`` is ``topP``, ``seed`` ``seed``, ``stop``
  ``stopSequences``. Gemini has no switch for parallel tool calls.
- Prompt caching is implicit on Gemini: ``cache`` and ``cache_tools`` send nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from llmring.providers._options import (
    SamplingFields,
    add_sampling,
    budget_for,
    effort_for,
    log_adjusted,
    log_dropped,
    nearest_effort,
)
from llmring.schemas import LLMRequest, ReasoningEffort

__all__ = ["BudgetRange", "apply_options", "thinking_control"]

_PROVIDER = "google"
_HIGHEST_TEMPERATURE = 2.0
_SAMPLING = SamplingFields(
    _PROVIDER,
    _HIGHEST_TEMPERATURE,
    temperature="temperature",
    top_p="topP",
    seed="seed",
    stop="stopSequences",
)
_VERSION = re.compile(r"gemini-(\d+)(?:\.(\d+))?")


@dataclass(frozen=True, slots=True)
class BudgetRange:
    """The ``thinkingBudget`` values a Gemini 2.5 model takes; 0 turns thinking off if it can."""

    least: int
    most: int
    can_disable: bool


def thinking_control(model: str) -> BudgetRange | tuple[ReasoningEffort, ...] | None:
    """How ``model`` is told to think: a budget range (2.5), its levels (3 and later), or
    ``None`` for a model that does not think."""
    name = model.lower().removeprefix("models/")
    version = _VERSION.match(name)
    if version is None:
        return None
    major, minor = int(version[1]), int(version[2] or 0)
    if major >= 3:
        return ("minimal", "low", "medium", "high") if "flash" in name else ("low", "high")
    if (major, minor) != (2, 5):
        return None
    if "flash-lite" in name:
        return BudgetRange(512, 24576, can_disable=True)
    if "flash" in name:
        return BudgetRange(1, 24576, can_disable=True)
    return BudgetRange(128, 32768, can_disable=False)


def apply_options(config: dict[str, Any], request: LLMRequest, model: str) -> None:
    """Add the fields for the request's options to ``config``, the ``generationConfig``."""
    thinking = _thinking_config(request, model)
    if thinking is not None:
        config["thinkingConfig"] = thinking
    add_sampling(config, request, _SAMPLING, model)
    if request.parallel_tool_calls is not None:
        log_dropped(_PROVIDER, model, "parallel_tool_calls", "Gemini has no such switch")


def _thinking_config(request: LLMRequest, model: str) -> dict[str, Any] | None:
    if request.reasoning is None:
        return None
    control = thinking_control(model)
    if control is None:
        log_dropped(_PROVIDER, model, "reasoning", "the model does not think")
        return None
    if isinstance(control, tuple):
        level = nearest_effort(effort_for(request.reasoning), control)
        if level != request.reasoning:
            log_adjusted(_PROVIDER, model, "reasoning", request.reasoning, level, "its levels")
        return {"includeThoughts": True, "thinkingLevel": level}
    budget = budget_for(request.reasoning)
    if budget is None and control.can_disable:
        return {"thinkingBudget": 0}
    sent = min(max(budget or 0, control.least), control.most)
    if budget is None:
        log_adjusted(_PROVIDER, model, "reasoning", "none", sent, "the model cannot stop thinking")
    elif sent != budget:
        log_adjusted(_PROVIDER, model, "thinking budget", budget, sent, "the model's range")
    return {"includeThoughts": True, "thinkingBudget": sent}
