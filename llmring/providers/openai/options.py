"""``LLMRequest``'s normalized options as Chat Completions and Responses API fields (pure).

https://platform.openai.com/docs/api-reference/chat/create,
https://platform.openai.com/docs/api-reference/responses/create,
https://platform.openai.com/docs/guides/reasoning

- ``reasoning`` is ``reasoning_effort`` (Chat) or ``reasoning: {effort, summary: "auto"}``
  (Responses), sent only to reasoning models (o1, o3, o4, gpt-5, gpt-oss; see
  ``reasoning_efforts``) and moved to the nearest effort the model takes: "none" exists from
  gpt-5.1 on, "minimal" only on gpt-5. Other models, and unknown names on compatible servers,
  get no field (pass ``provider_params={"openai": {"reasoning_effort": ...}}`` there).
- Reasoning models refuse ``temperature``, ``top_p`` and ``stop`` (only gpt-5.1 and later
  take the first two, and only at effort "none"), so those are dropped for them.
- ``stop``, ``top_p``, ``seed`` and ``parallel_tool_calls`` (only with tools) map by name;
  the Responses API has no ``stop`` and no ``seed``.
- Prompt caching is automatic: ``cache`` and ``cache_tools`` send nothing.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from llmring.providers._options import (
    clamp_temperature,
    effort_for,
    log_adjusted,
    log_dropped,
    nearest_effort,
)
from llmring.schemas import LLMRequest, ReasoningEffort

__all__ = ["apply_chat_options", "apply_responses_options", "reasoning_efforts"]

_API = Literal["chat", "responses"]
_PROVIDER: dict[_API, str] = {"chat": "openai", "responses": "openai-responses"}
_HIGHEST_TEMPERATURE = 2.0

_LEVELS: tuple[ReasoningEffort, ...] = ("low", "medium", "high")
_GPT5_1_ON = re.compile(r"gpt-5\.\d")
_O_SERIES = re.compile(r"o[134](-|$)")


def reasoning_efforts(model: str) -> tuple[ReasoningEffort, ...] | None:
    """The efforts ``model`` accepts, or ``None`` for a model that does not reason.

    A compatible server's ``org/model`` is judged by its last part.
    """
    name = model.rsplit("/", 1)[-1].lower()
    if name.startswith("gpt-5"):
        if "chat" in name:  # gpt-5-chat-latest is the non-reasoning ChatGPT model
            return None
        if name.startswith("gpt-5-pro"):
            return ("high",)
        if _GPT5_1_ON.match(name):
            return ("none", *_LEVELS)
        return ("minimal", *_LEVELS)
    if _O_SERIES.match(name) and not name.startswith(("o1-mini", "o1-preview")):
        return _LEVELS
    if name.startswith("gpt-oss"):
        return _LEVELS
    return None


def apply_chat_options(body: dict[str, Any], request: LLMRequest, model: str) -> None:
    """Add the Chat Completions fields for the request's options to ``body``."""
    effort = _effort(request, model, "chat")
    if effort is not None:
        body["reasoning_effort"] = effort
    _sampling(body, request, model, "chat", effort)
    if request.seed is not None:
        body["seed"] = request.seed
    _parallel_tool_calls(body, request, model, "chat")


def apply_responses_options(body: dict[str, Any], request: LLMRequest, model: str) -> None:
    """Add the Responses API fields for the request's options to ``body``."""
    effort = _effort(request, model, "responses")
    if effort == "none":
        body["reasoning"] = {"effort": "none"}
    elif effort is not None:
        # "auto" asks for the reasoning summary, which streams into chunk.reasoning.
        body["reasoning"] = {"effort": effort, "summary": "auto"}
    _sampling(body, request, model, "responses", effort)
    if request.seed is not None:
        log_dropped("openai-responses", model, "seed", "the Responses API has no seed")
    _parallel_tool_calls(body, request, model, "responses")


def _effort(request: LLMRequest, model: str, api: _API) -> ReasoningEffort | None:
    if request.reasoning is None:
        return None
    supported = reasoning_efforts(model)
    if supported is None:
        log_dropped(_PROVIDER[api], model, "reasoning", "not a reasoning model")
        return None
    effort = nearest_effort(effort_for(request.reasoning), supported)
    if effort != request.reasoning:
        log_adjusted(
            _PROVIDER[api], model, "reasoning", request.reasoning, effort, "the model's efforts"
        )
    return effort


def _sampling(
    body: dict[str, Any], request: LLMRequest, model: str, api: _API, effort: str | None
) -> None:
    provider = _PROVIDER[api]
    # Reasoning models answer 400 to any sampling setting, except gpt-5.1+ at effort "none".
    reasoning = reasoning_efforts(model) is not None and effort != "none"
    why = "reasoning models take no sampling settings"
    if request.temperature is not None:
        if reasoning:
            log_dropped(provider, model, "temperature", why)
        else:
            body["temperature"] = clamp_temperature(
                request.temperature, _HIGHEST_TEMPERATURE, provider, model
            )
    if request.top_p is not None:
        if reasoning:
            log_dropped(provider, model, "top_p", why)
        else:
            body["top_p"] = request.top_p
    if request.stop:
        if api == "responses":
            log_dropped(provider, model, "stop", "the Responses API has no stop sequences")
        elif reasoning_efforts(model) is not None:
            log_dropped(provider, model, "stop", "reasoning models take no stop sequences")
        else:
            body["stop"] = request.stop


def _parallel_tool_calls(body: dict[str, Any], request: LLMRequest, model: str, api: _API) -> None:
    if request.parallel_tool_calls is None:
        return
    if "tools" in body:
        body["parallel_tool_calls"] = request.parallel_tool_calls
    else:  # OpenAI answers 400 to parallel_tool_calls without tools
        log_dropped(_PROVIDER[api], model, "parallel_tool_calls", "no tools are sent")
