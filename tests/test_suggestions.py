"""A name that resolves to nothing says what it probably meant.

A misspelled provider names the known ones and the closest; a bare model name of a family
only one provider serves suggests ``provider:name``. Both are raised by ``chat_stream`` at
once, before anything is sent.
"""

from __future__ import annotations

import pytest

from llmring import LLMRequest, LLMRing, Message
from llmring.exceptions import AliasNotFoundError, ProviderNotFoundError

KNOWN = (
    "anthropic, deepseek, fireworks, google, groq, llamacpp, lmstudio, mistral, ollama, openai, "
    "openai-responses, openrouter, together, vllm, xai, gemini"
)


def request(model: str) -> LLMRequest:
    return LLMRequest(model=model, messages=[Message(role="user", content="hi")])


@pytest.mark.parametrize(
    ("name", "closest"),
    [
        ("antropic:claude-3-5-haiku-20241022", "anthropic"),
        ("opneai:gpt-4o-mini", "openai"),
        ("gemni:gemini-2.5-flash", "gemini"),
        ("olama:llama3.2", "ollama"),
    ],
)
def test_a_misspelled_provider_names_the_known_ones_and_the_closest(
    name: str, closest: str
) -> None:
    with pytest.raises(ProviderNotFoundError) as caught:
        LLMRing().chat_stream(request(name))
    provider = name.partition(":")[0]
    assert str(caught.value) == (
        f"unknown provider {provider!r} (known: {KNOWN}); did you mean {closest!r}?"
    )


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("gpt-4o-mini", "openai:gpt-4o-mini"),
        ("o3-mini", "openai:o3-mini"),
        ("claude-3-5-haiku-20241022", "anthropic:claude-3-5-haiku-20241022"),
        ("gemini-2.5-flash", "google:gemini-2.5-flash"),
        ("llama3.2", "ollama:llama3.2"),
    ],
)
def test_a_bare_model_name_suggests_its_provider(name: str, suggestion: str) -> None:
    with pytest.raises(AliasNotFoundError) as caught:
        LLMRing().chat_stream(request(name))
    assert caught.value.suggestion == suggestion
    assert str(caught.value).endswith(f"; did you mean {suggestion!r}?")
    assert str(caught.value).startswith(f"unknown alias {name!r} in profile 'default' (known: ")


@pytest.mark.parametrize("name", ["chatbot", "mypackage:summarizer", "something-else"])
def test_other_unknown_names_stay_unknown_aliases_without_a_guess(name: str) -> None:
    with pytest.raises(AliasNotFoundError) as caught:
        LLMRing().chat_stream(request(name))
    assert caught.value.suggestion is None
    assert "did you mean" not in str(caught.value)
