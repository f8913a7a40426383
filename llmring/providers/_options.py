"""The provider-neutral half of the normalized request options (pure).

Each provider's ``options.py`` maps ``LLMRequest.reasoning``, ``stop``, ``top_p``, ``seed``,
``parallel_tool_calls`` and ``temperature`` to its own fields. What does not depend on the
wire lives here once: the effort ladder and its token budgets, picking the nearest effort a
model takes, clamping a temperature, and the DEBUG line logged whenever an option is left out
or changed. Nothing here raises: an option a model cannot take is dropped, never sent to
earn a 400, because a 400 does not fall back to the alias's next model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

from llmring.schemas import LLMRequest, ReasoningBudget, ReasoningEffort

__all__ = [
    "EFFORTS",
    "EFFORT_BUDGETS",
    "LOGGER",
    "SamplingFields",
    "add_sampling",
    "budget_for",
    "clamp_temperature",
    "effort_for",
    "log_adjusted",
    "log_dropped",
    "nearest_effort",
]

#: llmring's one logger; option mapping speaks only at DEBUG.
LOGGER: Final = logging.getLogger("llmring")

#: Every effort, weakest first: "nearest" is measured along this ladder.
EFFORTS: Final[tuple[ReasoningEffort, ...]] = ("none", "minimal", "low", "medium", "high")

#: Thinking tokens granted for an effort where a provider takes a budget (Anthropic, Gemini
#: 2.5). 1024 is Anthropic's minimum; 24576 is Gemini 2.5 Flash's maximum, and leaves room
#: for an answer under Claude Opus 4's 32k output limit.
EFFORT_BUDGETS: Final[dict[ReasoningEffort, int]] = {
    "minimal": 1024,
    "low": 4096,
    "medium": 10240,
    "high": 24576,
}


def budget_for(reasoning: ReasoningEffort | ReasoningBudget) -> int | None:
    """The thinking budget in tokens; ``None`` for ``"none"`` (thinking off)."""
    if isinstance(reasoning, ReasoningBudget):
        return reasoning.budget_tokens
    return EFFORT_BUDGETS.get(reasoning)


def effort_for(reasoning: ReasoningEffort | ReasoningBudget) -> ReasoningEffort:
    """The effort for a provider that takes only levels: a budget becomes the weakest
    effort whose own budget covers it (``high`` past the table)."""
    if not isinstance(reasoning, ReasoningBudget):
        return reasoning
    for effort, budget in EFFORT_BUDGETS.items():
        if reasoning.budget_tokens <= budget:
            return effort
    return "high"


def nearest_effort(
    wanted: ReasoningEffort, supported: Sequence[ReasoningEffort]
) -> ReasoningEffort:
    """The effort of ``supported`` closest to ``wanted`` on the ladder; a tie goes up.

    ``"none"`` on a model that cannot stop thinking thus becomes its weakest effort.
    """
    rank = EFFORTS.index(wanted)

    def distance(effort: ReasoningEffort) -> tuple[int, int]:
        step = EFFORTS.index(effort)
        return abs(step - rank), -step

    return min(supported, key=distance)


def clamp_temperature(value: float, highest: float, provider: str, model: str) -> float:
    """``value`` within ``[0, highest]``, logging when it had to move."""
    clamped = min(max(value, 0.0), highest)
    if clamped != value:
        log_adjusted(provider, model, "temperature", value, clamped, f"its range is 0-{highest:g}")
    return clamped


def log_dropped(provider: str, model: str, option: str, reason: str) -> None:
    """Say at DEBUG that ``option`` was left out of the body for ``provider:model``."""
    LOGGER.debug("%s not sent to %s:%s: %s", option, provider, model, reason)


def log_adjusted(
    provider: str, model: str, option: str, given: object, sent: object, reason: str
) -> None:
    """Say at DEBUG that ``option`` was sent as ``sent`` rather than ``given``."""
    LOGGER.debug("%s sent to %s:%s as %r, not %r: %s", option, provider, model, sent, given, reason)


class SamplingFields(NamedTuple):
    """A provider's names for the sampling options it takes as plain fields, and its range."""

    provider: str
    highest_temperature: float
    temperature: str
    top_p: str
    seed: str
    stop: str


def add_sampling(
    target: dict[str, Any], request: LLMRequest, names: SamplingFields, model: str
) -> None:
    """Put the request's temperature (clamped), top_p, seed and stop into ``target`` under
    ``names``: the same four fields, spelled each provider's way (Gemini, Ollama)."""
    if request.temperature is not None:
        target[names.temperature] = clamp_temperature(
            request.temperature, names.highest_temperature, names.provider, model
        )
    if request.top_p is not None:
        target[names.top_p] = request.top_p
    if request.seed is not None:
        target[names.seed] = request.seed
    if request.stop:
        target[names.stop] = request.stop
