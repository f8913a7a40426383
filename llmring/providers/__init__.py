"""Provider registry (internal: free to change). One subpackage per provider, same shape each:

    providers/<name>/__init__.py   the Provider: endpoints, headers, error bodies
    providers/<name>/request.py    LLMRequest -> JSON body (pure)
    providers/<name>/stream.py     the stream parser: wire payloads -> StreamChunks (pure)
    providers/<name>/response.py   non-streaming body -> LLMResponse; finish-reason and usage tables

Provider modules are imported on first use, so ``import llmring`` stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from llmring._suggest import closest
from llmring.exceptions import ProviderNotFoundError
from llmring.providers.base import Provider

__all__ = [
    "canonical_name",
    "closest_provider",
    "create_provider",
    "provider_class",
    "provider_names",
    "register_provider",
]

_CLASSES: dict[str, str | type[Provider]] = {
    "anthropic": "llmring.providers.anthropic:AnthropicProvider",
    "google": "llmring.providers.google:GoogleProvider",
    "ollama": "llmring.providers.ollama:OllamaProvider",
    "openai": "llmring.providers.openai:OpenAIProvider",
    # OpenAI's Responses API, for models and features Chat Completions lacks.
    "openai-responses": "llmring.providers.openai_responses:OpenAIResponsesProvider",
}
_ALIASES: dict[str, str] = {"gemini": "google"}


def register_provider(name: str, target: str | type[Provider]) -> None:
    """Add (or replace) a provider: a class, or ``"module:Class"`` to import on first use.

    The built-in providers are registered the same way.
    """
    _CLASSES[name.strip().lower()] = target


def provider_names() -> tuple[str, ...]:
    """Every registered provider name, built-in or added."""
    return tuple(sorted(_CLASSES))


def canonical_name(name: str) -> str:
    """``gemini`` -> ``google``; raises ``ProviderNotFoundError`` for an unknown name."""
    lowered = name.strip().lower()
    lowered = _ALIASES.get(lowered, lowered)
    if lowered not in _CLASSES:
        known = [*provider_names(), *_ALIASES]
        guess = closest_provider(lowered)
        hint = f"; did you mean {guess!r}?" if guess is not None else ""
        raise ProviderNotFoundError(f"unknown provider {name!r} (known: {', '.join(known)}){hint}")
    return lowered


def closest_provider(name: str) -> str | None:
    """The known provider name (or alias) ``name`` is most likely a misspelling of."""
    return closest(name, [*provider_names(), *_ALIASES])


def provider_class(name: str) -> type[Provider]:
    """The Provider class for ``name``, imported on first use."""
    target = _CLASSES[canonical_name(name)]
    if isinstance(target, str):
        module_name, _, class_name = target.partition(":")
        target = _CLASSES[canonical_name(name)] = getattr(
            importlib.import_module(module_name), class_name
        )
    return target


def create_provider(
    name: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Provider:
    """A configured provider instance; key and base URL default to the environment."""
    return provider_class(name)(api_key=api_key, base_url=base_url, environ=environ)
