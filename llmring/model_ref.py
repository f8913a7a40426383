"""``provider:model`` references: the one place that parses and prints them."""

from __future__ import annotations

from dataclasses import dataclass

from llmring.exceptions import InvalidModelReferenceError, ProviderNotFoundError
from llmring.providers import canonical_name

__all__ = ["ModelRef"]


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A concrete model: ``provider`` is canonical (``gemini`` becomes ``google``)."""

    provider: str
    model: str

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        """Parse ``provider:model``; the model part may itself contain colons (``llama3:8b``)."""
        provider, sep, model = text.strip().partition(":")
        if not sep or not provider or not model:
            raise InvalidModelReferenceError(
                f"{text!r} is not a model reference: expected 'provider:model', "
                "e.g. 'openai:gpt-4o-mini' or 'ollama:llama3.2'"
            )
        return cls(canonical_name(provider), model)

    @classmethod
    def direct(cls, name: str) -> ModelRef | None:
        """``name`` as a model when the part before its first colon is a known provider,
        else ``None`` (an alias, or a ``package:alias`` namespace)."""
        provider, sep, _ = name.partition(":")
        if not sep:
            return None
        try:
            canonical_name(provider)
        except ProviderNotFoundError:
            return None
        return cls.parse(name)  # "openai:" still fails, saying the expected form

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"
