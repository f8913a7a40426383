"""``LLMRequest``'s normalized options as Messages API fields (pure).

https://docs.anthropic.com/en/api/messages,
https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking

- ``reasoning`` is ``thinking: {"type": "enabled", "budget_tokens": N}``, an effort becoming
  a budget through ``EFFORT_BUDGETS`` (at least 1024, the API's minimum), and ``"none"`` is
  ``{"type": "disabled"}``. Models before Claude 3.7 Sonnet cannot think and get no field.
  ``max_tokens`` must exceed the budget: when it does not, it is raised to the budget plus
  what was asked for (or the default), so the answer keeps its room.
- While thinking, Anthropic refuses ``temperature``, ``top_p`` below 0.95 and a forced tool
  call: the temperature is left out, ``top_p`` raised to 0.95, and with a forced tool call
  thinking is left out instead.
- ``temperature`` is clamped to 0-1. The newer models refuse ``temperature`` and ``top_p``
  together, so ``top_p`` is left out when a temperature is sent.
- ``stop`` is ``stop_sequences``; ``parallel_tool_calls=False`` is
  ``tool_choice.disable_parallel_tool_use``; there is no ``seed``.
"""

from __future__ import annotations

import re
from typing import Any

from llmring.providers._options import (
    budget_for,
    clamp_temperature,
    log_adjusted,
    log_dropped,
)
from llmring.schemas import LLMRequest, ToolChoice

__all__ = ["MIN_THINKING_BUDGET", "apply_options", "can_think"]

#: The smallest ``budget_tokens`` the API accepts.
MIN_THINKING_BUDGET = 1024
#: The lowest ``top_p`` allowed while thinking.
_THINKING_MIN_TOP_P = 0.95
_PROVIDER = "anthropic"
_BEFORE_THINKING = re.compile(r"claude-(instant|2|3-(5-)?(haiku|sonnet|opus))")


def can_think(model: str) -> bool:
    """Whether ``model`` takes ``thinking``: Claude 3.7 Sonnet and every later model."""
    return _BEFORE_THINKING.match(model.lower()) is None


def apply_options(body: dict[str, Any], request: LLMRequest, model: str) -> None:
    """Add the fields for the request's options to ``body`` (which has ``max_tokens`` and
    any ``tools`` / ``tool_choice`` already)."""
    thinking = _thinking(request, model)
    if thinking is not None:
        body["thinking"] = thinking
    thinking_on = thinking is not None and thinking["type"] == "enabled"
    if thinking is not None and thinking_on:
        budget: int = thinking["budget_tokens"]
        if body["max_tokens"] <= budget:
            raised = budget + body["max_tokens"]
            log_adjusted(
                _PROVIDER, model, "max_tokens", body["max_tokens"], raised, "must exceed the budget"
            )
            body["max_tokens"] = raised
    if request.temperature is not None:
        if thinking_on:
            log_dropped(_PROVIDER, model, "temperature", "Anthropic takes none while thinking")
        else:
            body["temperature"] = clamp_temperature(request.temperature, 1.0, _PROVIDER, model)
    if request.top_p is not None:
        _top_p(body, request.top_p, model, thinking_on=thinking_on)
    if request.stop:
        body["stop_sequences"] = request.stop
    if request.seed is not None:
        log_dropped(_PROVIDER, model, "seed", "Anthropic has no seed")
    if request.parallel_tool_calls is False:
        _one_tool_call_at_a_time(body, model)


def _thinking(request: LLMRequest, model: str) -> dict[str, Any] | None:
    if request.reasoning is None:
        return None
    if not can_think(model):
        log_dropped(_PROVIDER, model, "reasoning", "the model cannot think")
        return None
    budget = budget_for(request.reasoning)
    if budget is None:
        return {"type": "disabled"}
    if request.tools and (
        request.tool_choice == "required" or isinstance(request.tool_choice, ToolChoice)
    ):
        log_dropped(_PROVIDER, model, "reasoning", "Anthropic cannot think while forcing a tool")
        return None
    if budget < MIN_THINKING_BUDGET:
        log_adjusted(_PROVIDER, model, "budget_tokens", budget, MIN_THINKING_BUDGET, "the minimum")
        budget = MIN_THINKING_BUDGET
    return {"type": "enabled", "budget_tokens": budget}


def _top_p(body: dict[str, Any], top_p: float, model: str, *, thinking_on: bool) -> None:
    if "temperature" in body:
        log_dropped(_PROVIDER, model, "top_p", "Anthropic takes temperature or top_p, not both")
    elif thinking_on and top_p < _THINKING_MIN_TOP_P:
        least = _THINKING_MIN_TOP_P
        log_adjusted(_PROVIDER, model, "top_p", top_p, least, "the least while thinking")
        body["top_p"] = _THINKING_MIN_TOP_P
    else:
        body["top_p"] = top_p


def _one_tool_call_at_a_time(body: dict[str, Any], model: str) -> None:
    choice = body.get("tool_choice", {"type": "auto"})
    if "tools" not in body or choice["type"] == "none":
        log_dropped(_PROVIDER, model, "parallel_tool_calls", "no tools can be called")
        return
    body["tool_choice"] = {**choice, "disable_parallel_tool_use": True}
