"""OpenAI Chat Completions: a non-streaming body as an ``LLMResponse``, plus the tables.

The finish-reason table and the usage mapping live here and ``stream.py`` reuses them, so
both paths translate OpenAI's spelling in one place.
https://platform.openai.com/docs/api-reference/chat/object
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from llmring.exceptions import ProviderResponseError
from llmring.providers._assembly import StreamAssembly, response_from_assembly, total_usage
from llmring.providers.openai.errors import OpenAIErrorObject, error_from_object
from llmring.schemas import FinishReason, LLMResponse, Usage

__all__ = [
    "DEFAULT_FINISH_REASON",
    "FINISH_REASONS",
    "map_finish_reason",
    "map_usage",
    "parse_response",
]

#: OpenAI's ``finish_reason`` -> llmring's. ``function_call`` is the legacy spelling.
FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
#: For values OpenAI-compatible servers invent (e.g. ``eos``); the raw value is kept too.
DEFAULT_FINISH_REASON: FinishReason = "stop"


def map_finish_reason(raw: str) -> FinishReason:
    """llmring's finish reason for OpenAI's ``finish_reason``."""
    return FINISH_REASONS.get(raw, DEFAULT_FINISH_REASON)


class OpenAIPromptTokensDetails(BaseModel):
    cached_tokens: int | None = None


class OpenAICompletionTokensDetails(BaseModel):
    reasoning_tokens: int | None = None


class OpenAIUsage(BaseModel):
    """The ``usage`` object; ``completion_tokens`` already includes reasoning tokens."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int | None = None
    prompt_tokens_details: OpenAIPromptTokensDetails | None = None
    completion_tokens_details: OpenAICompletionTokensDetails | None = None


_USAGE = TypeAdapter(OpenAIUsage)


def map_usage(raw: dict[str, Any]) -> Usage:
    """llmring's ``Usage`` for OpenAI's usage object; ``raw`` is kept as sent."""
    try:
        usage = _USAGE.validate_python(raw)
    except ValidationError as exc:
        raise ProviderResponseError(f"unexpected usage object: {str(raw)[:200]}") from exc
    prompt_details = usage.prompt_tokens_details
    completion_details = usage.completion_tokens_details
    return total_usage(
        usage.prompt_tokens,
        usage.completion_tokens,
        total_tokens=usage.total_tokens,
        cached_tokens=prompt_details.cached_tokens if prompt_details else None,
        reasoning_tokens=completion_details.reasoning_tokens if completion_details else None,
        raw=raw,
    )


# --- the non-streaming body ------------------------------------------------------------


class OpenAIFunction(BaseModel):
    name: str
    arguments: str = ""


class OpenAIToolCall(BaseModel):
    id: str | None = None
    function: OpenAIFunction


class OpenAIMessage(BaseModel):
    content: str | None = None
    refusal: str | None = None
    # Not OpenAI: DeepSeek / vLLM send ``reasoning_content``, Groq / Ollama's /v1 ``reasoning``.
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[OpenAIToolCall] | None = None


class OpenAIChoice(BaseModel):
    index: int = 0
    message: OpenAIMessage
    finish_reason: str | None = None


class OpenAIChatCompletion(BaseModel):
    """A ``chat.completion`` object (only the fields llmring reads)."""

    id: str | None = None
    model: str | None = None
    choices: list[OpenAIChoice] = []
    usage: dict[str, Any] | None = None
    error: OpenAIErrorObject | None = None


_COMPLETION = TypeAdapter(OpenAIChatCompletion)


def parse_response(body: bytes, model: str) -> LLMResponse:
    """A ``chat.completion`` body as an ``LLMResponse`` labelled ``model`` (choice 0)."""
    try:
        completion = _COMPLETION.validate_json(body)
    except ValidationError as exc:
        excerpt = body[:200].decode("utf-8", "replace")
        raise ProviderResponseError(f"malformed chat completion: {excerpt!r}") from exc
    if completion.error is not None:
        raise error_from_object(completion.error, default="error in chat completion")
    choice = next((choice for choice in completion.choices if choice.index == 0), None)
    if choice is None or choice.finish_reason is None:
        raise ProviderResponseError("chat completion has no finished choice")
    assembly = StreamAssembly(model)
    assembly.identify(completion.id, completion.model)
    message = choice.message
    assembly.reasoning(message.reasoning_content or message.reasoning or "")
    assembly.text(message.content or "")
    assembly.refusal(message.refusal or "")
    for position, call in enumerate(message.tool_calls or ()):
        assembly.tool_calls.add(
            position, name=call.function.name, arguments=call.function.arguments, id=call.id
        )
    if completion.usage is not None:
        assembly.usage = map_usage(completion.usage)
    assembly.final(map_finish_reason(choice.finish_reason), choice.finish_reason)
    return response_from_assembly(assembly)
