"""The normalized request options: the shared ladder, each provider's model table, the DEBUG
lines for what is dropped, the cache refusals, and ``provider_params`` staying with its
provider. The bodies themselves are compared whole in the fixtures
(``fixtures/<provider>/{reasoning,sampling,cache,provider-params,temperature}-*.json``).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import ValidationError

from llmring.exceptions import ProviderBadRequestError
from llmring.providers import create_provider
from llmring.providers._options import (
    EFFORT_BUDGETS,
    budget_for,
    effort_for,
    nearest_effort,
)
from llmring.providers.anthropic.options import can_think
from llmring.providers.google.options import BudgetRange, thinking_control
from llmring.providers.ollama.options import think_control
from llmring.providers.openai.options import reasoning_efforts
from llmring.schemas import LLMRequest, ReasoningBudget, ReasoningEffort
from tests.providers.request_fixtures import fixture_paths

PROVIDERS = ["anthropic", "openai", "openai-responses", "google", "ollama"]

# --- every option has a whole-body fixture on every provider ----------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_option_has_a_fixture(provider: str) -> None:
    names = {path.stem for path in fixture_paths(provider)}
    options = {
        "reasoning": any(name.startswith("reasoning-") for name in names),
        "reasoning off": any(name.startswith("reasoning-none") for name in names),
        "no reasoning field for a model that cannot": any(
            name in {"reasoning-old-model", "reasoning-not-a-reasoning-model"} for name in names
        ),
        "stop, top_p, seed, parallel_tool_calls, temperature range": "sampling-options" in names,
        "cache": any(name.startswith("cache-") for name in names),
        "provider_params": "provider-params" in names,
    }
    assert [option for option, covered in options.items() if not covered] == []


# --- the shared ladder -------------------------------------------------------------------


def test_budgets_per_effort() -> None:
    assert EFFORT_BUDGETS == {"minimal": 1024, "low": 4096, "medium": 10240, "high": 24576}
    assert [budget_for(effort) for effort in ("none", "minimal", "high")] == [None, 1024, 24576]
    assert budget_for(ReasoningBudget(budget_tokens=3000)) == 3000


@pytest.mark.parametrize(
    ("budget", "effort"),
    [(1, "minimal"), (1024, "minimal"), (1025, "low"), (10240, "medium"), (99999, "high")],
)
def test_a_budget_becomes_the_weakest_effort_that_covers_it(budget: int, effort: str) -> None:
    assert effort_for(ReasoningBudget(budget_tokens=budget)) == effort


@pytest.mark.parametrize(
    ("wanted", "supported", "nearest"),
    [
        ("none", ("low", "medium", "high"), "low"),
        ("none", ("minimal", "low", "medium", "high"), "minimal"),
        ("minimal", ("none", "low", "medium", "high"), "low"),  # a tie goes up
        ("medium", ("low", "high"), "high"),
        ("high", ("high",), "high"),
        ("low", ("none", "low", "medium", "high"), "low"),
    ],
)
def test_nearest_effort(
    wanted: ReasoningEffort, supported: tuple[ReasoningEffort, ...], nearest: str
) -> None:
    assert nearest_effort(wanted, supported) == nearest


# --- which models reason, and how ---------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "efforts"),
    [
        ("o4-mini", ("low", "medium", "high")),
        ("o3", ("low", "medium", "high")),
        ("o1-mini", None),
        ("gpt-5", ("minimal", "low", "medium", "high")),
        ("gpt-5-mini-2025-08-07", ("minimal", "low", "medium", "high")),
        ("gpt-5.1", ("none", "low", "medium", "high")),
        ("gpt-5-pro", ("high",)),
        ("gpt-5-chat-latest", None),
        ("openai/gpt-oss-120b", ("low", "medium", "high")),
        ("gpt-4o-mini", None),
        ("gpt-4.1", None),
        ("omni-moderation-latest", None),
    ],
)
def test_openai_reasoning_models(model: str, efforts: tuple[str, ...] | None) -> None:
    assert reasoning_efforts(model) == efforts


@pytest.mark.parametrize(
    ("model", "thinks"),
    [
        ("claude-3-5-haiku-20241022", False),
        ("claude-3-5-sonnet-latest", False),
        ("claude-3-haiku-20240307", False),
        ("claude-3-7-sonnet-20250219", True),
        ("claude-sonnet-4-5", True),
        ("claude-opus-4-1-20250805", True),
        ("claude-haiku-4-5", True),
    ],
)
def test_anthropic_thinking_models(model: str, thinks: bool) -> None:
    assert can_think(model) is thinks


@pytest.mark.parametrize(
    ("model", "control"),
    [
        ("gemini-2.5-pro", BudgetRange(128, 32768, can_disable=False)),
        ("gemini-2.5-flash", BudgetRange(1, 24576, can_disable=True)),
        ("gemini-2.5-flash-lite", BudgetRange(512, 24576, can_disable=True)),
        ("models/gemini-3-pro-preview", ("low", "high")),
        ("gemini-3-flash-preview", ("minimal", "low", "medium", "high")),
        ("gemini-2.0-flash", None),
        ("gemini-1.5-pro", None),
        ("gemma-3-27b-it", None),
    ],
)
def test_gemini_thinking_models(model: str, control: object) -> None:
    assert thinking_control(model) == control


@pytest.mark.parametrize(
    ("model", "control"),
    [
        ("qwen3:8b", "switch"),
        ("deepseek-r1", "switch"),
        ("library/deepseek-v3.1:671b", "switch"),
        ("gpt-oss:20b", ("low", "medium", "high")),
        ("qwen3-coder:30b", None),
        ("llama3.2", None),
    ],
)
def test_ollama_thinking_models(model: str, control: object) -> None:
    assert think_control(model) == control


# --- a cross-provider request never carries another provider's fields --------------------

EVERYTHING: dict[str, Any] = {
    "messages": [
        {"role": "system", "content": "Be brief.", "cache": True},
        {"role": "user", "content": "Weather in Paris?"},
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather"}}],
    "cache_tools": True,
    "reasoning": "high",
    "temperature": 1.5,
    "top_p": 0.9,
    "stop": ["END"],
    "seed": 7,
    "parallel_tool_calls": False,
    "max_tokens": 500,
}

#: Every top-level field each provider may be sent for ``EVERYTHING`` (its own spelling).
OWN_FIELDS = {
    ("anthropic", "claude-sonnet-4-5"): {
        "model", "max_tokens", "system", "messages", "tools", "tool_choice", "thinking", "top_p",
        "stop_sequences", "stream",
    },
    ("openai", "gpt-4.1"): {
        "model", "messages", "stream", "stream_options", "max_completion_tokens", "tools",
        "temperature", "top_p", "stop", "seed", "parallel_tool_calls",
    },
    ("openai", "o4-mini"): {
        "model", "messages", "stream", "stream_options", "max_completion_tokens", "tools",
        "reasoning_effort", "seed", "parallel_tool_calls",
    },
    ("openai-responses", "o4-mini"): {
        "model", "input", "instructions", "stream", "max_output_tokens", "tools", "reasoning",
        "parallel_tool_calls",
    },
    ("google", "gemini-2.5-flash"): {"contents", "systemInstruction", "tools", "generationConfig"},
    ("ollama", "qwen3:8b"): {"model", "messages", "stream", "tools", "think", "options"},
}  # fmt: skip


@pytest.mark.parametrize(("provider", "model"), list(OWN_FIELDS))
def test_every_option_at_once_sends_only_the_providers_own_fields(
    provider: str, model: str
) -> None:
    request = LLMRequest.model_validate({"model": f"{provider}:{model}", **EVERYTHING})
    call = create_provider(provider, api_key="k").build_call(request, model, stream=True)
    assert set(call.body) == OWN_FIELDS[provider, model]


# --- DEBUG lines for what is left out or changed --------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "fields", "lines"),
    [
        (
            "anthropic",
            "claude-sonnet-4-5",
            {"seed": 1, "temperature": 0.5, "top_p": 0.5},
            [
                "top_p not sent to anthropic:claude-sonnet-4-5: "
                "Anthropic takes temperature or top_p, not both",
                "seed not sent to anthropic:claude-sonnet-4-5: Anthropic has no seed",
            ],
        ),
        (
            "anthropic",
            "claude-3-5-haiku-latest",
            {"reasoning": "high"},
            ["reasoning not sent to anthropic:claude-3-5-haiku-latest: the model cannot think"],
        ),
        (
            "openai",
            "o3",
            {"temperature": 0.5, "stop": ["x"], "parallel_tool_calls": True},
            [
                "temperature not sent to openai:o3: reasoning models take no sampling settings",
                "stop not sent to openai:o3: reasoning models take no stop sequences",
                "parallel_tool_calls not sent to openai:o3: no tools are sent",
            ],
        ),
        (
            "openai-responses",
            "gpt-4.1",
            {"stop": ["x"], "seed": 1},
            [
                "stop not sent to openai-responses:gpt-4.1: the Responses API has no stop "
                "sequences",
                "seed not sent to openai-responses:gpt-4.1: the Responses API has no seed",
            ],
        ),
        (
            "google",
            "gemini-2.5-pro",
            {"reasoning": "none", "parallel_tool_calls": False},
            [
                "reasoning sent to google:gemini-2.5-pro as 128, not 'none': "
                "the model cannot stop thinking",
                "parallel_tool_calls not sent to google:gemini-2.5-pro: Gemini has no such switch",
            ],
        ),
        (
            "ollama",
            "llama3.2",
            {"reasoning": "low", "temperature": -1},
            [
                "reasoning not sent to ollama:llama3.2: the model does not think",
                "temperature sent to ollama:llama3.2 as 0.0, not -1.0: its range is 0-2",
            ],
        ),
    ],
)
def test_what_is_not_sent_is_logged_at_debug(
    caplog: pytest.LogCaptureFixture,
    provider: str,
    model: str,
    fields: dict[str, Any],
    lines: list[str],
) -> None:
    caplog.set_level(logging.DEBUG, logger="llmring")
    request = LLMRequest.model_validate(
        {"model": "x", "messages": [{"role": "user", "content": "Hi"}], **fields}
    )
    create_provider(provider, api_key="k").build_call(request, model, stream=False)
    assert [(r.name, r.levelname) for r in caplog.records] == [("llmring", "DEBUG")] * len(lines)
    assert [r.getMessage() for r in caplog.records] == lines


# --- Anthropic's limits on cache breakpoints ------------------------------------------------


def anthropic_body(**fields: Any) -> dict[str, Any]:
    request = LLMRequest.model_validate({"model": "anthropic:claude-sonnet-4-5", **fields})
    return create_provider("anthropic", api_key="k").build_body(
        request, "claude-sonnet-4-5", stream=False
    )


def test_more_than_four_breakpoints_is_refused() -> None:
    messages = [{"role": "user", "content": f"part {n}", "cache": True} for n in range(5)]
    with pytest.raises(ProviderBadRequestError) as caught:
        anthropic_body(messages=messages)
    assert str(caught.value) == (
        "5 prompt-cache breakpoints (cache=... on messages, cache_tools); Anthropic takes at most 4"
    )


def test_a_one_hour_breakpoint_after_a_five_minute_one_is_refused() -> None:
    messages = [
        {"role": "system", "content": "rules", "cache": True},
        {"role": "user", "content": "document", "cache": "1h"},
    ]
    with pytest.raises(ProviderBadRequestError, match="needs the longer lifetimes first"):
        anthropic_body(messages=messages)


def test_a_breakpoint_on_merged_turns_goes_on_its_own_message_block() -> None:
    body = anthropic_body(
        messages=[
            {"role": "user", "content": "first", "cache": True},
            {"role": "user", "content": "second"},
        ]
    )
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "first", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "second"},
            ],
        }
    ]


def test_a_breakpoint_on_an_assistant_tool_call_goes_on_the_call() -> None:
    call = {"id": "t1", "function": {"name": "f", "arguments": "{}"}}
    body = anthropic_body(
        messages=[
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": "Calling.", "tool_calls": [call], "cache": "5m"},
            {"role": "tool", "tool_call_id": "t1", "content": "done"},
        ]
    )
    assert body["messages"][1]["content"] == [
        {"type": "text", "text": "Calling."},
        {
            "type": "tool_use",
            "id": "t1",
            "name": "f",
            "input": {},
            "cache_control": {"type": "ephemeral", "ttl": "5m"},
        },
    ]


# --- provider_params -----------------------------------------------------------------------


def test_provider_params_keys_are_provider_names() -> None:
    request = LLMRequest.model_validate(
        {"model": "x", "messages": [], "provider_params": {"Gemini": {"a": 1}, "openai": {}}}
    )
    assert request.provider_params == {"google": {"a": 1}, "openai": {}}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"antropic": {}}, "provider_params: unknown provider 'antropic'"),
        ({"gemini": {}, "google": {}}, "provider_params names 'google' twice"),
    ],
)
def test_provider_params_refuses_unknown_or_repeated_names(
    params: dict[str, Any], error: str
) -> None:
    with pytest.raises(ValidationError, match=error):
        LLMRequest.model_validate({"model": "x", "messages": [], "provider_params": params})


def test_provider_params_win_over_extra_params() -> None:
    request = LLMRequest.model_validate(
        {
            "model": "x",
            "messages": [{"role": "user", "content": "Hi"}],
            "extra_params": {"service_tier": "auto", "user": "u1"},
            "provider_params": {"openai": {"service_tier": "flex", "user": None}},
        }
    )
    body = create_provider("openai", api_key="k").build_call(request, "m", stream=False).body
    assert body == {
        "model": "m",
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": False,
        "service_tier": "flex",
    }
