"""Prompt-cache breakpoints as Anthropic ``cache_control`` markers (pure).

https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching

A breakpoint caches the prompt up to and including the block that carries it, in the order
tools, system, messages. ``Message.cache`` puts one on the last block the message produced
(its text, image, tool call or tool result); ``LLMRequest.cache_tools`` on the last tool.
The API takes at most four, and a one-hour breakpoint may not follow a five-minute one;
both are checked here so the error says which messages to change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmring.exceptions import ProviderBadRequestError
from llmring.schemas import CacheTTL

__all__ = ["MAX_BREAKPOINTS", "cache_control", "check_breakpoints", "mark"]

#: Cache breakpoints the API accepts in one request.
MAX_BREAKPOINTS = 4
_TTL_ORDER: dict[str, int] = {"1h": 0, "5m": 1}


def cache_control(cache: bool | CacheTTL) -> dict[str, str]:
    """``{"type": "ephemeral"}``, with ``ttl`` when one was given."""
    if cache is True:
        return {"type": "ephemeral"}
    return {"type": "ephemeral", "ttl": str(cache)}


def mark(block: dict[str, Any], cache: bool | CacheTTL) -> None:
    """Put a breakpoint on ``block``; nothing when ``cache`` is ``False``."""
    if cache is not False:
        block["cache_control"] = cache_control(cache)


def check_breakpoints(body: dict[str, Any]) -> None:
    """Refuse what the API would: more than four breakpoints, or "1h" after "5m"."""
    ttls = [marker.get("ttl", "5m") for marker in _markers(body)]
    if len(ttls) > MAX_BREAKPOINTS:
        raise ProviderBadRequestError(
            f"{len(ttls)} prompt-cache breakpoints (cache=... on messages, cache_tools); "
            f"Anthropic takes at most {MAX_BREAKPOINTS}"
        )
    if ttls != sorted(ttls, key=_TTL_ORDER.__getitem__):
        raise ProviderBadRequestError(
            'a cache="1h" breakpoint follows a 5-minute one; Anthropic needs the longer '
            "lifetimes first (tools, then system, then messages)"
        )


def _markers(body: dict[str, Any]) -> Iterator[dict[str, str]]:
    """Every ``cache_control`` in the order the API reads the prompt."""
    blocks: list[Any] = list(body.get("tools", ()))
    if isinstance(body.get("system"), list):
        blocks.extend(body["system"])
    for message in body.get("messages", ()):
        if isinstance(message["content"], list):
            blocks.extend(message["content"])
    for block in blocks:
        if isinstance(block, dict) and "cache_control" in block:
            yield block["cache_control"]
