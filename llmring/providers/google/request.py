"""``LLMRequest`` -> the JSON body of Gemini's ``generateContent`` (pure).

https://ai.google.dev/api/generate-content#request-body, function calling:
https://ai.google.dev/gemini-api/docs/function-calling, structured output:
https://ai.google.dev/gemini-api/docs/structured-output
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from llmring.exceptions import ProviderBadRequestError
from llmring.providers._messages import arguments_object, parse_data_url, tool_result_names
from llmring.providers.base import apply_extra_params
from llmring.providers.google.options import apply_options
from llmring.providers.google.response import STATE
from llmring.schemas import ImagePart, LLMRequest, Message, TextPart, Tool, ToolChoice
from llmring.structured import OutputSpec, output_spec
from llmring.structured.schema import gemini_schema

__all__ = ["build_body", "merge_extra_params", "response_format_config"]

_TOOL_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
_GENERATION_CONFIG = "generationConfig"


def build_body(request: LLMRequest, model: str, *, stream: bool) -> dict[str, Any]:
    """The body for ``model``; the same whether streamed or not (the URL says which)."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    results: list[dict[str, Any]] | None = None  # the open turn of function responses
    for message, answered in zip(
        request.messages, tool_result_names(request.messages), strict=True
    ):
        if message.role == "tool":
            part = _function_response(message, answered)
            # Answers to parallel calls go back together, in one user turn.
            if results is None:
                results = []
                contents.append({"role": "user", "parts": results})
            results.append(part)
            continue
        results = None
        match message.role:
            case "system":
                system.extend(_parts(message, images=False))
            case "user":
                contents.append({"role": "user", "parts": _user_parts(message)})
            case "assistant":
                contents.append({"role": "model", "parts": _model_parts(message)})
    if not contents:
        raise ProviderBadRequestError("Gemini needs at least one non-system message")
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    if request.tools:
        body["tools"] = [{"functionDeclarations": [_declaration(tool) for tool in request.tools]}]
    if request.tool_choice is not None and (request.tools or request.tool_choice != "none"):
        body["toolConfig"] = {"functionCallingConfig": _calling_config(request)}
    config = _generation_config(request)
    apply_options(config, request, model)  # temperature, thinkingConfig, topP, ...
    if config:
        body[_GENERATION_CONFIG] = config
    return body


def merge_extra_params(body: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """``apply_extra_params``, except that ``generationConfig`` is merged key by key into
    the one built from the request, so ``{"generationConfig": {"thinkingConfig": ...}}``
    asks for thinking without losing ``temperature`` or ``maxOutputTokens``."""
    config = extra.get(_GENERATION_CONFIG)
    if not isinstance(config, Mapping):
        apply_extra_params(body, extra)
        return
    merged = dict(body.get(_GENERATION_CONFIG, {}))
    apply_extra_params(merged, config)
    apply_extra_params(
        body, {key: value for key, value in extra.items() if key != _GENERATION_CONFIG}
    )
    if merged:
        body[_GENERATION_CONFIG] = merged
    else:
        body.pop(_GENERATION_CONFIG, None)


def _parts(message: Message, *, images: bool) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        return [{"text": message.content}] if message.content else []
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart):
            parts.append({"text": part.text})
        elif images:
            parts.append(_image(part))
        else:
            raise ProviderBadRequestError(f"Gemini takes no images in a {message.role} message")
    return parts


def _user_parts(message: Message) -> list[dict[str, Any]]:
    parts = _parts(message, images=True)
    if not parts:
        raise ProviderBadRequestError("a user message needs content; Gemini refuses empty turns")
    return parts


def _image(part: ImagePart) -> dict[str, Any]:
    url = part.image_url.url
    if (inline := parse_data_url(url)) is not None:
        return {"inlineData": {"mimeType": inline.media_type, "data": inline.data}}
    if urlsplit(url).scheme != "https":
        raise ProviderBadRequestError(f"Gemini takes images as https:// or data: URLs, not {url!r}")
    guessed, _ = mimetypes.guess_type(urlsplit(url).path)
    if guessed is None:
        raise ProviderBadRequestError(
            f"cannot tell the image type of {url!r} from its name; send it as a data: URL"
        )
    return {"fileData": {"mimeType": guessed, "fileUri": url}}


def _model_parts(message: Message) -> list[dict[str, Any]]:
    text_signature, call_signatures = _signatures(message)
    parts = _parts(message, images=False)
    if text_signature is not None:
        if not parts:  # the signature came on an empty text part: send that part back
            parts.append({"text": ""})
        parts[-1]["thoughtSignature"] = text_signature
    for position, call in enumerate(message.tool_calls or ()):
        args = arguments_object(call, "Gemini")
        part: dict[str, Any] = {"functionCall": {"name": call.function.name, "args": args}}
        if (signature := call_signatures.get(position)) is not None:
            part["thoughtSignature"] = signature
        parts.append(part)
    if not parts:
        raise ProviderBadRequestError("an assistant message needs content or tool_calls")
    return parts


def _signatures(message: Message) -> tuple[str | None, dict[int, str]]:
    """The ``thoughtSignature``s an assistant turn from Gemini carries back: the one of its
    text, and those of its function calls by position (Gemini 3 refuses the next request
    when a call comes back without its signature). Another provider's state is dropped."""
    state = message.continuation
    text: str | None = None
    calls: dict[int, str] = {}
    if state is None or state.provider != STATE:
        return text, calls
    for item in state.items:
        signature = item.get("thoughtSignature")
        if not isinstance(signature, str):
            continue
        if item.get("part") == "functionCall" and isinstance(item.get("call"), int):
            calls[item["call"]] = signature
        elif item.get("part") == "text":
            text = signature
    return text, calls


def _function_response(message: Message, name: str | None) -> dict[str, Any]:
    # Gemini matches a result to its call by function name; ours carry the call's id.
    if name is None:
        raise ProviderBadRequestError(
            f"tool message answers tool_call_id {message.tool_call_id!r}, "
            "which no earlier assistant message called"
        )
    if not isinstance(message.content, str) and any(
        isinstance(part, ImagePart) for part in message.content
    ):
        raise ProviderBadRequestError("Gemini takes no images in a tool result")
    text = message.text()
    try:
        result = json.loads(text)
    except json.JSONDecodeError:
        result = None
    response = result if isinstance(result, dict) else {"result": text}
    return {"functionResponse": {"name": name, "response": response}}


def _declaration(tool: Tool) -> dict[str, Any]:
    # Tools arrive as JSON Schema, which ``parameters`` (an OpenAPI subset) refuses as soon as
    # it meets additionalProperties, $schema or const; ``parametersJsonSchema`` takes it as is.
    function = tool.function
    declaration: dict[str, Any] = {"name": function.name}
    if function.description is not None:
        declaration["description"] = function.description
    if not _takes_nothing(function.parameters):
        declaration["parametersJsonSchema"] = function.parameters
    return declaration


def _takes_nothing(schema: dict[str, Any]) -> bool:
    """``{"type": "object", "properties": {}}``: a function without parameters, for which
    Gemini wants the schema left out."""
    return (
        schema.get("type") == "object"
        and not schema.get("properties")
        and set(schema) <= {"type", "properties", "required", "additionalProperties"}
    )


def _calling_config(request: LLMRequest) -> dict[str, Any]:
    choice = request.tool_choice
    names = {tool.function.name for tool in request.tools or ()}
    if isinstance(choice, ToolChoice):
        if choice.function.name not in names:
            raise ProviderBadRequestError(
                f"tool_choice names {choice.function.name!r}, which is not among the tools"
            )
        return {"mode": "ANY", "allowedFunctionNames": [choice.function.name]}
    if choice is None or (choice != "none" and not names):
        raise ProviderBadRequestError(f"tool_choice {choice!r} needs tools")
    return {"mode": _TOOL_MODES[choice]}


def _generation_config(request: LLMRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if request.max_tokens is not None:
        config["maxOutputTokens"] = request.max_tokens
    if (spec := output_spec(request.response_format)) is not None:
        config.update(response_format_config(spec))
    return config


def response_format_config(spec: OutputSpec) -> dict[str, Any]:
    """The ``generationConfig`` fields for structured output: JSON, and the schema if any.

    Gemini has no strict switch: a schema given is always enforced.
    """
    if spec.kind == "json_object" or spec.schema is None:
        return {"responseMimeType": "application/json"}
    return {
        "responseMimeType": "application/json",
        "responseJsonSchema": gemini_schema(spec.schema),
    }
