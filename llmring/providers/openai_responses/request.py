"""``LLMRequest`` -> OpenAI Responses API JSON body (pure).

https://platform.openai.com/docs/api-reference/responses/create
"""

from __future__ import annotations

from typing import Any

from llmring.exceptions import ProviderBadRequestError
from llmring.providers._messages import answered_call_id
from llmring.providers.openai.options import apply_responses_options
from llmring.providers.openai.request import (
    check_tool_choice,
    response_format_body,
    strict_parameters,
)
from llmring.providers.openai_responses.response import STATE
from llmring.schemas import LLMRequest, Message, TextPart, Tool, ToolChoice
from llmring.structured import OutputSpec, output_spec

__all__ = ["build_body", "build_input", "build_text_format"]


def build_body(request: LLMRequest, model: str, *, stream: bool) -> dict[str, Any]:
    """The Responses body for ``request`` against ``model``; usage is always sent."""
    instructions, items = build_input(request.messages)
    body: dict[str, Any] = {"model": model, "input": items, "stream": stream}
    if instructions is not None:
        body["instructions"] = instructions
    if request.max_tokens is not None:
        body["max_output_tokens"] = request.max_tokens
    if request.tools:
        body["tools"] = [_tool(tool) for tool in request.tools]
    if request.tool_choice is not None:
        choice = check_tool_choice(request)
        body["tool_choice"] = (
            choice
            if not isinstance(choice, ToolChoice)
            else {"type": "function", "name": choice.function.name}
        )
    if (spec := output_spec(request.response_format)) is not None:
        body["text"] = {"format": build_text_format(spec)}
    apply_responses_options(body, request, model)  # temperature, reasoning, top_p, ...
    return body


def build_input(messages: list[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """``instructions`` (the leading system messages) and the ``input`` items.

    A system message later in the conversation stays in place as a ``system`` input message.
    """
    leading: list[str] = []
    items: list[dict[str, Any]] = []
    for message in messages:
        if message.name is not None:
            raise ProviderBadRequestError("the Responses API has no per-message name")
        match message.role:
            case "system":
                text = _text_only(message)
                if items:
                    items.append({"role": "system", "content": text})
                else:
                    leading.append(text)
            case "user":
                items.append({"role": "user", "content": _user_content(message)})
            case "assistant":
                items.extend(_reasoning_items(message))
                text = _text_only(message)
                if text or not message.tool_calls:
                    items.append({"role": "assistant", "content": text})
                items.extend(
                    {
                        "type": "function_call",
                        "call_id": call.id,
                        "name": call.function.name,
                        "arguments": call.function.arguments,
                    }
                    for call in message.tool_calls or ()
                )
            case "tool":
                items.append(
                    {
                        "type": "function_call_output",
                        "call_id": answered_call_id(message),
                        "output": _text_only(message),
                    }
                )
    return ("\n\n".join(leading) if leading else None), items


def _reasoning_items(message: Message) -> list[dict[str, Any]]:
    """The ``reasoning`` items an assistant turn from the Responses API carries back, ahead
    of its message and calls as the API produced them; another provider's state is dropped."""
    state = message.continuation
    if state is None or state.provider != STATE:
        return []
    return [dict(item) for item in state.items]


def _user_content(message: Message) -> str | list[dict[str, Any]]:
    if isinstance(message.content, str):
        return message.content
    return [
        {"type": "input_text", "text": part.text}
        if isinstance(part, TextPart)
        # detail is required by the API (it documents "auto" as the default)
        else {
            "type": "input_image",
            "image_url": part.image_url.url,
            "detail": part.image_url.detail or "auto",
        }
        for part in message.content
    ]


def _text_only(message: Message) -> str:
    if isinstance(message.content, list) and not all(
        isinstance(part, TextPart) for part in message.content
    ):
        raise ProviderBadRequestError(
            f"the Responses API accepts images only in user messages, not {message.role}"
        )
    return message.text()


def _tool(tool: Tool) -> dict[str, Any]:
    function = tool.function
    out: dict[str, Any] = {"type": "function", "name": function.name}
    if function.description is not None:
        out["description"] = function.description
    out["parameters"] = strict_parameters(tool)
    # The Responses API defaults strict to true (Chat Completions to false); say false
    # unless asked, so the same tools behave the same on both.
    out["strict"] = bool(function.strict)
    return out


def build_text_format(spec: OutputSpec) -> dict[str, Any]:
    """Chat Completions' ``response_format`` as the Responses API's ``text.format``:
    ``{"type": "json_schema", "json_schema": {name, schema, strict}}`` becomes
    ``{"type": "json_schema", name, schema, strict}``."""
    chat = response_format_body(spec)
    if chat["type"] == "json_schema":
        return {"type": "json_schema", **chat["json_schema"]}
    return chat
