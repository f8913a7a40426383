"""``LLMRequest`` -> OpenAI Chat Completions JSON body (pure).

https://platform.openai.com/docs/api-reference/chat/create
"""

from __future__ import annotations

from typing import Any

from llmring.exceptions import ProviderBadRequestError
from llmring.providers._messages import answered_call_id
from llmring.providers.openai.options import apply_chat_options
from llmring.schemas import ContentPart, LLMRequest, Message, TextPart, Tool, ToolChoice
from llmring.structured import OutputSpec, output_spec
from llmring.structured.schema import openai_strict_schema

__all__ = [
    "build_body",
    "build_message",
    "check_tool_choice",
    "response_format_body",
    "strict_parameters",
]


def build_body(request: LLMRequest, model: str, *, stream: bool) -> dict[str, Any]:
    """The Chat Completions body for ``request`` against ``model``."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [build_message(message) for message in request.messages],
        "stream": stream,
    }
    if stream:
        # Without it no usage is sent. For OpenAI-compatible servers that reject it,
        # pass extra_params={"stream_options": None}.
        body["stream_options"] = {"include_usage": True}
    if request.max_tokens is not None:
        # OpenAI's current name; reasoning models (o-series, gpt-5) reject "max_tokens".
        body["max_completion_tokens"] = request.max_tokens
    if request.tools:
        body["tools"] = [_tool(tool) for tool in request.tools]
    if request.tool_choice is not None:
        choice = check_tool_choice(request)
        body["tool_choice"] = choice if isinstance(choice, str) else choice.model_dump()
    if (spec := output_spec(request.response_format)) is not None:
        body["response_format"] = response_format_body(spec)
    apply_chat_options(body, request, model)  # temperature, reasoning, stop, ...
    return body


def response_format_body(spec: OutputSpec) -> dict[str, Any]:
    """The ``response_format`` field: ``json_object``, or ``json_schema`` with the schema made
    strict-ready (closed objects, all required) when ``strict`` is asked for."""
    if spec.kind == "json_object" or spec.schema is None:
        return {"type": "json_object"}
    json_schema: dict[str, Any] = {"name": spec.name}
    if spec.description is not None:
        json_schema["description"] = spec.description
    json_schema["schema"] = openai_strict_schema(spec.schema) if spec.strict else spec.schema
    if spec.strict is not None:
        json_schema["strict"] = spec.strict
    return {"type": "json_schema", "json_schema": json_schema}


def strict_parameters(tool: Tool) -> dict[str, Any]:
    """A tool's parameters as sent: made strict-ready when the tool says ``strict: true``."""
    parameters = tool.function.parameters
    return openai_strict_schema(parameters) if tool.function.strict else parameters


def _tool(tool: Tool) -> dict[str, Any]:
    out = tool.model_dump(exclude_none=True)
    out["function"]["parameters"] = strict_parameters(tool)
    return out


def check_tool_choice(request: LLMRequest) -> str | ToolChoice:
    """The request's tool_choice, once it is known to name a tool that was given."""
    choice = request.tool_choice
    assert choice is not None
    if not request.tools:
        raise ProviderBadRequestError("tool_choice was given without any tools")
    if isinstance(choice, ToolChoice):
        names = {tool.function.name for tool in request.tools}
        if choice.function.name not in names:
            raise ProviderBadRequestError(
                f"tool_choice names {choice.function.name!r}, which is not among the tools"
            )
    return choice


def build_message(message: Message) -> dict[str, Any]:
    """One message in Chat Completions' shape (``metadata`` is never sent)."""
    match message.role:
        case "system" | "user":
            out: dict[str, Any] = {"role": message.role, "content": _content(message)}
        case "assistant":
            # content may be null on a turn that only called tools
            content = None if message.tool_calls and not message.content else _content(message)
            out = {"role": "assistant", "content": content}
            if message.tool_calls:
                out["tool_calls"] = [call.model_dump() for call in message.tool_calls]
        case "tool":
            return {
                "role": "tool",
                "tool_call_id": answered_call_id(message),
                "content": _content(message),
            }
    if message.name is not None:
        out["name"] = message.name
    return out


def _content(message: Message) -> str | list[dict[str, Any]]:
    if isinstance(message.content, str):
        return message.content
    return [_part(part, message.role) for part in message.content]


def _part(part: ContentPart, role: str) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if role != "user":
        raise ProviderBadRequestError(f"OpenAI accepts images only in user messages, not {role}")
    return {"type": "image_url", "image_url": part.image_url.model_dump(exclude_none=True)}
