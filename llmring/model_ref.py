"""``provider:model`` references: the one place that parses and prints them."""

from __future__ import annotations

from dataclasses import dataclass

from llmring.exceptions import InvalidModelReferenceError
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

    @staticmethod
    def looks_like_ref(text: str) -> bool:
        """True when ``text`` has the ``provider:model`` shape (aliases have no colon
        except for a ``package:alias`` namespace, which the resolver tries first)."""
        return ":" in text

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"
