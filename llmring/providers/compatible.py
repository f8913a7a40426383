"""Provider classes for named servers: one of llmring's wire kinds, configured by settings.

``provider_class_for(name, settings)`` makes a subclass of the kind's provider (OpenAI Chat
Completions, the Responses API, Anthropic Messages, Ollama) whose name, key variable, base
URL and extra headers come from ``ProviderSettings``. The key is read from
``settings.api_key_env``; a server declared without one needs no key, and gets one only when
``<NAME>_API_KEY`` is set. ``<NAME>_BASE_URL`` overrides the base URL.

What a compatible server may do differently from the provider it imitates is handled in the
kind's parser, switched on here: a Chat Completions stream may end without ``data: [DONE]``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from llmring.providers.anthropic import AnthropicProvider
from llmring.providers.base import Provider
from llmring.providers.ollama import OllamaProvider
from llmring.providers.openai import OpenAIProvider
from llmring.providers.openai.stream import OpenAIStreamParser
from llmring.providers.openai_responses import OpenAIResponsesProvider
from llmring.providers.presets import ProviderKind, ProviderSettings, env_prefix
from llmring.schemas import LLMRequest

__all__ = ["NamedProvider", "OpenAICompatibleProvider", "provider_class_for"]

_EMPTY_CREDENTIAL = re.compile(r"^(Bearer\s*)?$")


class NamedProvider(Provider):
    """What every named provider adds to its kind: optional key, extra headers, settings."""

    settings: ClassVar[ProviderSettings]

    def api_key(self) -> str:
        """The key; ``""`` for a server that needs none and has none set."""
        if self._api_key is None and not self.api_key_required:
            return ""
        return super().api_key()

    def headers(self) -> dict[str, str]:
        """The kind's headers (without an empty credential), then the declared ones."""
        headers = {
            name: value
            for name, value in super().headers().items()  # type: ignore[safe-super]
            if not _EMPTY_CREDENTIAL.match(value)
        }
        headers.update(self.settings.headers)
        return headers

    def build_body(self, request: LLMRequest, model: str, *, stream: bool) -> dict[str, Any]:
        """The kind's body; without ``stream_options`` when ``stream_usage`` is off."""
        body = super().build_body(request, model, stream=stream)  # type: ignore[safe-super]
        if not self.settings.stream_usage:
            body.pop("stream_options", None)
        return body


class OpenAICompatibleProvider(OpenAIProvider):
    """Chat Completions from a server other than OpenAI: the end of the body after a chunk
    with a ``finish_reason`` completes the answer even without ``data: [DONE]``."""

    def stream_parser(self, model: str) -> OpenAIStreamParser:
        """A parser that accepts the end of the body as the end of the stream."""
        return OpenAIStreamParser(model, done_required=False)


_KIND_CLASSES: dict[ProviderKind, type[Provider]] = {
    "openai": OpenAICompatibleProvider,
    "openai-responses": OpenAIResponsesProvider,
    "anthropic": AnthropicProvider,
    "ollama": OllamaProvider,
}


def provider_class_for(name: str, settings: ProviderSettings) -> type[Provider]:
    """A ``Provider`` class named ``name``: ``settings.kind`` at ``settings.base_url``."""
    prefix = env_prefix(name)
    key_env = settings.api_key_env
    namespace: dict[str, Any] = {
        "__doc__": f"The {name!r} provider: {settings.kind} at {settings.base_url}.",
        "__module__": __name__,
        "name": name,
        "settings": settings,
        "api_key_env": (key_env,) if key_env else (f"{prefix}_API_KEY",),
        "api_key_required": key_env is not None,
        "base_url_env": f"{prefix}_BASE_URL",
        "default_base_url": settings.base_url,
    }
    class_name = "".join(part.capitalize() for part in re.split(r"\W|_", name)) + "Provider"
    return type(class_name, (NamedProvider, _KIND_CLASSES[settings.kind]), namespace)
