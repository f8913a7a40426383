"""``LLMRequest``'s normalized options as Ollama ``/api/chat`` fields (pure).

https://docs.ollama.com/api/chat, https://docs.ollama.com/capabilities/thinking,
https://docs.ollama.com/modelfile#valid-parameters-and-values

- ``reasoning`` is ``think``: ``true`` / ``false`` for the models that think (Qwen 3,
  DeepSeek R1 and V3.1, Magistral), a level for gpt-oss, which takes "low" to "high" and
  cannot stop thinking. Ollama refuses ``think`` for any other model, so those get no field;
  for a thinking model llmring does not know, send
  ``provider_params={"ollama": {"think": True}}``.
- ``temperature`` (clamped to 0-2), ``top_p``, ``seed`` and ``stop`` go in ``options``.
  Ollama has no switch for parallel tool calls and no prompt caching to ask for.
"""

from __future__ import annotations

from typing import Any, Literal

from llmring.providers._options import (
    SamplingFields,
    add_sampling,
    effort_for,
    log_adjusted,
    log_dropped,
    nearest_effort,
)
from llmring.schemas import LLMRequest, ReasoningEffort

__all__ = ["apply_options", "think_control"]

_PROVIDER = "ollama"
_HIGHEST_TEMPERATURE = 2.0
_SAMPLING = SamplingFields(
    _PROVIDER,
    _HIGHEST_TEMPERATURE,
    temperature="temperature",
    top_p="top_p",
    seed="seed",
    stop="stop",
)
_SWITCHED = ("qwen3", "deepseek-r1", "deepseek-v3.1", "magistral")
_NOT_THINKING = ("qwen3-coder",)
_GPT_OSS_LEVELS: tuple[ReasoningEffort, ...] = ("low", "medium", "high")


def think_control(model: str) -> Literal["switch"] | tuple[ReasoningEffort, ...] | None:
    """How ``model`` takes ``think``: on/off, its levels, or ``None`` (it does not think).

    ``namespace/name:tag`` is judged by its name.
    """
    name = model.lower().rsplit("/", 1)[-1].split(":", 1)[0]
    if name.startswith("gpt-oss"):
        return _GPT_OSS_LEVELS
    if name.startswith(_SWITCHED) and not name.startswith(_NOT_THINKING):
        return "switch"
    return None


def apply_options(
    body: dict[str, Any], options: dict[str, Any], request: LLMRequest, model: str
) -> None:
    """Add ``think`` to ``body`` and the sampling settings to ``options``."""
    think = _think(request, model)
    if think is not None:
        body["think"] = think
    add_sampling(options, request, _SAMPLING, model)
    if request.parallel_tool_calls is not None:
        log_dropped(_PROVIDER, model, "parallel_tool_calls", "Ollama has no such switch")


def _think(request: LLMRequest, model: str) -> bool | str | None:
    if request.reasoning is None:
        return None
    control = think_control(model)
    if control is None:
        log_dropped(_PROVIDER, model, "reasoning", "the model does not think")
        return None
    effort = effort_for(request.reasoning)
    if control == "switch":
        return effort != "none"
    level = nearest_effort(effort, control)
    if level != request.reasoning:
        log_adjusted(_PROVIDER, model, "reasoning", request.reasoning, level, "gpt-oss's levels")
    return level
