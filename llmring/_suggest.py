"""Suggestions for names that resolve to nothing: the closest provider, the provider of a
bare model name. Used by the errors that say "unknown provider" and "unknown alias"."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = ["closest", "provider_of_model_family"]

#: Model families served by exactly one of the built-in providers, by name prefix. A bare
#: name of one of these (``gpt-4o-mini``) is almost surely meant as ``provider:name``.
MODEL_FAMILIES: dict[str, re.Pattern[str]] = {
    "openai": re.compile(r"(gpt-|chatgpt-|o\d(-|$)|text-embedding-|davinci|babbage)"),
    "anthropic": re.compile(r"claude-"),
    "google": re.compile(r"gemini-"),
    "ollama": re.compile(r"(llama\d|qwen\d|mistral|phi\d|deepseek-r1)"),
}


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``name`` (a typo's likely meaning), or ``None``."""
    matches = difflib.get_close_matches(name.lower(), list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def provider_of_model_family(name: str) -> str | None:
    """The one provider whose model family ``name`` belongs to, else ``None``."""
    lowered = name.strip().lower()
    owners = [provider for provider, family in MODEL_FAMILIES.items() if family.match(lowered)]
    return owners[0] if len(owners) == 1 else None
