"""Provider registry (internal: free to change). One subpackage per provider, same shape each:

    providers/<name>/__init__.py   the Provider: endpoints, headers, error bodies
    providers/<name>/request.py    LLMRequest -> JSON body (pure)
    providers/<name>/stream.py     the stream parser: wire payloads -> StreamChunks (pure)
    providers/<name>/response.py   non-streaming body -> LLMResponse; finish-reason and usage tables

Besides these, named providers speak one of those wire kinds at another base URL: the
presets (``presets.PRESETS``: groq, openrouter, vllm, ...), a lockfile's ``[providers.<name>]``
and ``LLMRing(providers={...})``. Each is registered here by its ``ProviderSettings`` and
becomes a class (``compatible.provider_class_for``) on first use.

Provider modules are imported on first use, so ``import llmring`` stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from llmring._suggest import closest
from llmring.exceptions import ProviderNotFoundError
from llmring.providers.base import Provider
from llmring.providers.presets import BUILT_IN_NAMES, PRESETS, ProviderSettings

__all__ = [
    "canonical_name",
    "closest_provider",
    "create_provider",
    "provider_class",
    "provider_names",
    "provider_settings",
    "register_provider",
]

_CLASSES: dict[str, str | type[Provider] | ProviderSettings] = {
    "anthropic": "llmring.providers.anthropic:AnthropicProvider",
    "google": "llmring.providers.google:GoogleProvider",
    "ollama": "llmring.providers.ollama:OllamaProvider",
    "openai": "llmring.providers.openai:OpenAIProvider",
    # OpenAI's Responses API, for models and features Chat Completions lacks.
    "openai-responses": "llmring.providers.openai_responses:OpenAIResponsesProvider",
}
_CLASSES.update(PRESETS)
_ALIASES: dict[str, str] = {"gemini": "google"}


def register_provider(name: str, target: str | type[Provider] | ProviderSettings) -> None:
    """Add (or replace) a provider: a class, ``"module:Class"`` to import on first use, or
    the ``ProviderSettings`` of a named server.

    The built-in providers and the presets are registered the same way. Settings may not
    take the name of a built-in provider (set its ``*_BASE_URL`` instead).
    """
    name = name.strip().lower()
    if isinstance(target, ProviderSettings) and name in BUILT_IN_NAMES:
        raise ValueError(
            f"{name!r} is a built-in provider: set its base URL instead of declaring it"
        )
    if name in _CLASSES and target == _settings_of(_CLASSES[name]):
        return  # declared again as before (a lockfile re-read): keep the class built for it
    _CLASSES[name] = target


def provider_settings(name: str) -> ProviderSettings | None:
    """The settings of a named provider (a preset or a declared one); None for the built-ins."""
    return _settings_of(_CLASSES[canonical_name(name)])


def _settings_of(target: str | type[Provider] | ProviderSettings) -> ProviderSettings | None:
    if isinstance(target, ProviderSettings):
        return target
    settings = getattr(target, "settings", None)
    return settings if isinstance(settings, ProviderSettings) else None


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
    name = canonical_name(name)
    target = _CLASSES[name]
    if isinstance(target, ProviderSettings):
        from llmring.providers.compatible import provider_class_for

        target = _CLASSES[name] = provider_class_for(name, target)
    elif isinstance(target, str):
        module_name, _, class_name = target.partition(":")
        target = _CLASSES[name] = getattr(importlib.import_module(module_name), class_name)
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
