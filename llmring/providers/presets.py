"""Named providers by configuration: ``ProviderSettings`` and the built-in presets.

A named provider is one of four wire kinds (``openai`` Chat Completions, ``openai-responses``,
``anthropic`` Messages, ``ollama``) at a base URL, with its key in an environment variable.
The presets below are such settings; a lockfile's ``[providers.<name>]`` tables and
``LLMRing(providers={...})`` declare more. ``<NAME>_BASE_URL`` overrides any of them.

Pure data (pydantic only), so the registry can list the presets without importing a provider.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BUILT_IN_NAMES", "KINDS", "PRESETS", "ProviderKind", "ProviderSettings", "env_prefix"]

ProviderKind: TypeAlias = Literal["openai", "openai-responses", "anthropic", "ollama"]
KINDS: tuple[ProviderKind, ...] = ("openai", "openai-responses", "anthropic", "ollama")

#: Provider names with their own module: a declaration may not reuse them (set their
#: ``*_BASE_URL`` instead).
BUILT_IN_NAMES: frozenset[str] = frozenset(
    {"anthropic", "gemini", "google", "ollama", "openai", "openai-responses"}
)


class ProviderSettings(BaseModel):
    """A server that speaks one of llmring's wire kinds.

    ``api_key_env`` names the variable holding the key; without one no key is needed (a
    local server). ``headers`` are sent with every request (e.g. OpenRouter's
    ``HTTP-Referer``). ``stream_usage = False`` stops asking for usage in streams
    (``stream_options``), for servers that reject the option.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ProviderKind = "openai"
    base_url: str = Field(min_length=1)
    api_key_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    stream_usage: bool = True


def _preset(base_url: str, api_key_env: str | None = None, **more: bool) -> ProviderSettings:
    return ProviderSettings(base_url=base_url, api_key_env=api_key_env, **more)


#: The built-in presets: ``name: base URL, key variable``. All speak Chat Completions.
PRESETS: dict[str, ProviderSettings] = {
    "openrouter": _preset("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "groq": _preset("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "deepseek": _preset("https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    # Mistral validates request bodies strictly and has no ``stream_options``; it reports
    # usage on the last chunk without being asked.
    "mistral": _preset("https://api.mistral.ai/v1", "MISTRAL_API_KEY", stream_usage=False),
    "together": _preset("https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "fireworks": _preset("https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
    "xai": _preset("https://api.x.ai/v1", "XAI_API_KEY"),
    # Local servers on their default ports; no key needed (one is sent if <NAME>_API_KEY is
    # set, e.g. for ``vllm serve --api-key``).
    "vllm": _preset("http://localhost:8000/v1"),
    "llamacpp": _preset("http://localhost:8080/v1"),
    "lmstudio": _preset("http://localhost:1234/v1"),
}


def env_prefix(name: str) -> str:
    """``my-box`` -> ``MY_BOX``: the prefix of a provider's ``_API_KEY`` / ``_BASE_URL``."""
    return "".join(c if c.isalnum() else "_" for c in name).upper()
