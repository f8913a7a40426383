"""Code an application writes from the published API, in both styles it documents.

Never run, only type-checked: ``mypy --strict`` must accept every line, attributes and dict
access alike (../shared/spec/streaming-skill.md reads usage and tool calls as dicts).
"""

from __future__ import annotations

from llmring import LLMRequest, LLMResponse, LLMRing, Message, StreamChunk
from llmring.schemas import ToolCall, Usage


async def stream_with_usage(service: LLMRing, request: LLMRequest) -> tuple[int, int]:
    accumulated_usage: Usage | None = None
    async for chunk in service.chat_stream(request):
        if chunk.usage:
            accumulated_usage = chunk.usage
    if accumulated_usage is None:
        return 0, 0
    by_key: int = accumulated_usage["total_tokens"]
    by_get: int = accumulated_usage.get("prompt_tokens", 0)
    by_attribute: int = accumulated_usage.total_tokens
    cached: int | None = accumulated_usage.get("cached_tokens")
    as_dict: dict[str, int] = dict(accumulated_usage)
    keys: list[str] = list(accumulated_usage.keys())
    pairs: list[tuple[str, int]] = list(accumulated_usage.items())
    print(by_get, cached, as_dict, keys, pairs, "total_tokens" in accumulated_usage)
    return by_key, by_attribute


def tool_names(calls: list[ToolCall]) -> list[str]:
    names: list[str] = [call["function"]["name"] for call in calls]
    ids: list[str | None] = [call.get("id") for call in calls]
    attributes: list[str] = [call.function.name for call in calls]
    arguments: list[str] = [call.function["arguments"] for call in calls]
    print(ids, attributes, arguments)
    return names


def next_turn(history: list[Message], response: LLMResponse, final: StreamChunk) -> None:
    history.append(response.message)
    if final.response is not None:
        history.append(final.response.message)
