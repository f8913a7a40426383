"""``LLMRequest`` to the JSON body of Ollama's ``POST /api/chat`` (pure).

Ollama's native chat API differs from OpenAI's in the ways handled here: images are bare
base64 strings in ``message.images`` (no URLs), tool-call arguments are JSON objects,
a tool result names its tool (``tool_name``) instead of a call id, sampling settings go
in ``options`` (``num_predict`` for max tokens), structured output is ``format``, and
there is no ``tool_choice``. An assistant turn's thinking goes back as its ``thinking``.
Thinking and sampling options are ``options.py``'s.
API reference: https://docs.ollama.com/api/chat,
https://docs.ollama.com/capabilities/tool-calling
"""

from __future__ import annotations

from typing import Any, assert_never

from llmring.exceptions import ProviderBadRequestError
from llmring.providers._messages import arguments_object, parse_data_url, tool_result_names
from llmring.providers.ollama.options import apply_options
from llmring.providers.ollama.response import STATE
from llmring.schemas import (
    ImagePart,
    LLMRequest,
    Message,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
    ToolChoiceMode,
)
from llmring.structured import OutputSpec, output_spec
from llmring.structured.schema import inline_refs

__all__ = ["build_body", "response_format_body"]


def build_body(request: LLMRequest, model: str, *, stream: bool) -> dict[str, Any]:
    """The ``/api/chat`` body for ``request`` (before ``extra_params`` are merged in).

    Raises ``ProviderBadRequestError`` for what Ollama cannot do: an image given by URL,
    a forced tool call (``tool_choice`` ``"required"`` or a named function), or a
    ``response_format`` with no ``format`` equivalent. ``Tool.function.strict`` and an
    image's ``detail`` have no Ollama counterpart and are not sent.
    """
    body: dict[str, Any] = {
        "model": model,
        "messages": _messages(request.messages),
        "stream": stream,
    }
    send_tools = _tools_enabled(request.tool_choice)  # raises for a forced call
    if request.tools and send_tools:
        body["tools"] = [_tool(tool) for tool in request.tools]
    if (spec := output_spec(request.response_format)) is not None:
        body["format"] = response_format_body(spec)
    options: dict[str, Any] = {}
    if request.max_tokens is not None:
        options["num_predict"] = request.max_tokens
    apply_options(body, options, request, model)  # think, temperature, top_p, ...
    if options:
        body["options"] = options
    return body


def _messages(messages: list[Message]) -> list[dict[str, Any]]:
    out = []
    for message, answered in zip(messages, tool_result_names(messages), strict=True):
        text, images = _content(message)
        wire: dict[str, Any] = {"role": message.role, "content": text}
        if thinking := _thinking(message):
            wire["thinking"] = thinking
        if images:
            wire["images"] = images
        if message.tool_calls:
            wire["tool_calls"] = [_tool_call(call) for call in message.tool_calls]
        if message.role == "tool":
            # Ollama matches a result to its call by the tool's name, not an id.
            name = answered or message.name
            if name:
                wire["tool_name"] = name
        out.append(wire)
    return out


def _thinking(message: Message) -> str:
    """The thinking text an assistant turn from Ollama carries back as ``message.thinking``
    (``/api/chat`` takes it; templates such as gpt-oss's render it before tool calls);
    another provider's state is dropped."""
    state = message.continuation
    if state is None or state.provider != STATE:
        return ""
    return "".join(str(item.get("thinking", "")) for item in state.items)


def _content(message: Message) -> tuple[str, list[str]]:
    """The message text (text parts joined by newlines) and its base64 images."""
    if isinstance(message.content, str):
        return message.content, []
    texts: list[str] = []
    images: list[str] = []
    for part in message.content:
        match part:
            case TextPart(text=text):
                texts.append(text)
            case ImagePart(image_url=image):
                images.append(_image_base64(image.url))
    return "\n".join(texts), images


def _image_base64(url: str) -> str:
    inline = parse_data_url(url)
    if inline is None:
        raise ProviderBadRequestError(
            "Ollama takes images only as base64 data, not by URL: download the image and "
            f"pass it as a data:<mime>;base64,... URL (got {url[:60]!r})"
        )
    return inline.data


def _tool_call(call: ToolCall) -> dict[str, Any]:
    arguments = arguments_object(call, "Ollama")
    return {"function": {"name": call.function.name, "arguments": arguments}}


def _tool(tool: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.function.name}
    if tool.function.description is not None:
        function["description"] = tool.function.description
    function["parameters"] = tool.function.parameters
    return {"type": "function", "function": function}


def _tools_enabled(tool_choice: ToolChoiceMode | ToolChoice | None) -> bool:
    """Whether to send the tools; Ollama has no ``tool_choice`` to force a call with."""
    match tool_choice:
        case None | "auto":
            return True
        case "none":
            return False
        case "required":
            wanted = "a call to some tool"
        case ToolChoice(function=function):
            wanted = f"a call to {function.name!r}"
        case _:
            assert_never(tool_choice)
    raise ProviderBadRequestError(
        f"Ollama cannot force a tool call (tool_choice asked for {wanted}); "
        'use tool_choice "auto" and ask for the tool in the prompt'
    )


def response_format_body(spec: OutputSpec) -> str | dict[str, Any]:
    """Ollama's ``format``: ``"json"``, or the schema with ``$ref`` inlined (Ollama turns it
    into a grammar and does not follow references)."""
    if spec.kind == "json_object" or spec.schema is None:
        return "json"
    return inline_refs(spec.schema, "Ollama")
