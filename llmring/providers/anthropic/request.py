"""``LLMRequest`` to an Anthropic Messages request body (pure).

https://docs.anthropic.com/en/api/messages

What the mapping does where the two vocabularies differ:

- ``system`` messages, wherever they stand, become the top-level ``system`` string (several
  are joined with blank lines); Anthropic has no system turn.
- Turns must alternate, so consecutive turns of the same role are merged into one.
- An assistant turn's ``tool_calls`` become ``tool_use`` blocks; ``tool`` messages become
  ``tool_result`` blocks in a user turn, ahead of any text of that turn (the API wants the
  results first).
- Images: ``data:`` URLs become base64 sources, ``http(s)`` URLs URL sources. OpenAI's
  ``detail`` has no equivalent (Anthropic picks the resolution) and is not sent; neither is
  a message's ``name``.
- ``max_tokens`` is required by the API: ``DEFAULT_MAX_TOKENS`` when the request gives none.
- ``response_format`` becomes ``output_config.format`` (structured outputs,
  https://docs.claude.com/en/docs/build-with-claude/structured-outputs): the schema with
  ``$ref`` inlined and every object closed; ``json_object`` (an open object) is refused.
- Thinking, sampling options and the temperature range are ``options.py``'s; cache
  breakpoints ``cache.py``'s.
- An assistant turn's ``continuation`` (its signed thinking blocks, kept by response.py and
  stream.py) goes back first in that turn; state from another provider is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, assert_never

from llmring.exceptions import ProviderBadRequestError, ProviderUnsupportedError
from llmring.providers._messages import arguments_object, parse_data_url
from llmring.providers._options import LOGGER
from llmring.providers.anthropic.cache import check_breakpoints, mark
from llmring.providers.anthropic.options import apply_options
from llmring.providers.anthropic.response import STATE
from llmring.schemas import (
    ContentPart,
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
from llmring.structured.schema import anthropic_schema

__all__ = ["DEFAULT_MAX_TOKENS", "build_body", "response_format_body"]

#: ``max_tokens`` sent when the request sets none: the API requires the field, and 4096 is
#: within every current Claude model's output limit.
DEFAULT_MAX_TOKENS = 4096

_TOOL_CHOICES: dict[ToolChoiceMode, dict[str, str]] = {
    "auto": {"type": "auto"},
    "none": {"type": "none"},
    "required": {"type": "any"},
}


def build_body(request: LLMRequest, model: str, *, stream: bool) -> dict[str, Any]:
    """The Messages API body for ``request`` against ``model``."""
    system, messages = _map_messages(request.messages)
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    if system:
        body["system"] = system
    if request.tools:
        body["tools"] = [_tool(tool) for tool in request.tools]
        mark(body["tools"][-1], request.cache_tools)
    if request.tool_choice is not None:
        body["tool_choice"] = _tool_choice(request.tool_choice)
    if (spec := output_spec(request.response_format)) is not None:
        body["output_config"] = {"format": response_format_body(spec)}
    apply_options(body, request, model)  # thinking, temperature, stop_sequences, ...
    check_breakpoints(body)
    if stream:
        body["stream"] = True
    return body


@dataclass(slots=True)
class _Turn:
    """One Anthropic turn being built: tool results first, then the other blocks."""

    role: str
    position: int
    results: list[dict[str, Any]] = field(default_factory=list)
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def content(self) -> str | list[dict[str, Any]]:
        blocks = self.results + self.blocks
        if not blocks:
            raise ProviderBadRequestError(
                f"message {self.position} ({self.role}) has no content; Anthropic requires "
                "every turn to have some"
            )
        # A turn of one text block is sent in the API's short form, a plain string.
        if len(blocks) == 1 and blocks[0]["type"] == "text" and "cache_control" not in blocks[0]:
            text: str = blocks[0]["text"]
            return text
        return blocks


def _map_messages(
    messages: list[Message],
) -> tuple[str | list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    turns: list[_Turn] = []

    def open_turn(role: str, position: int) -> _Turn:
        if not turns or turns[-1].role != role:
            turns.append(_Turn(role, position))
        return turns[-1]

    for position, message in enumerate(messages):
        match message.role:
            case "system":
                if text := _system_text(message, position):
                    system.append({"type": "text", "text": text})
            case "user":
                open_turn("user", position).blocks.extend(_blocks(message.content, position))
            case "assistant":
                assistant = open_turn("assistant", position)
                assistant.blocks.extend(_thinking_blocks(message))
                assistant.blocks.extend(_blocks(message.content, position, images=False))
                assistant.blocks.extend(_tool_use(call) for call in message.tool_calls or ())
            case "tool":
                open_turn("user", position).results.append(_tool_result(message, position))
            case _:
                assert_never(message.role)
        if message.cache is not False:
            _mark_cache(message, position, system, turns)
    rendered = [{"role": each.role, "content": each.content()} for each in turns]
    return _system(system), rendered


def _system(blocks: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """System texts joined by blank lines; as blocks when one carries a cache breakpoint."""
    if any("cache_control" in block for block in blocks):
        return blocks
    return "\n\n".join(block["text"] for block in blocks)


def _mark_cache(
    message: Message, position: int, system: list[dict[str, Any]], turns: list[_Turn]
) -> None:
    """Put ``message``'s breakpoint on the last block sent so far: the prompt up to the end
    of that message (a tool result is its own block, wherever its turn puts it)."""
    if message.role == "system":
        target = system[-1:]
    elif message.role == "tool":
        target = turns[-1].results[-1:]
    else:
        target = (turns[-1].blocks or turns[-1].results)[-1:] if turns else []
    if target:
        mark(target[0], message.cache)
    else:
        LOGGER.debug("cache on message %d not sent to anthropic: it has no content", position)


def _thinking_blocks(message: Message) -> list[dict[str, Any]]:
    """The turn's signed ``thinking`` / ``redacted_thinking`` blocks, in their order, ahead
    of its text and ``tool_use`` blocks (the API refuses a tool loop with thinking on when
    they are missing). Another provider's state is not Anthropic's to send: dropped."""
    state = message.continuation
    if state is None or state.provider != STATE:
        return []
    return [dict(block) for block in state.items]


def _system_text(message: Message, position: int) -> str:
    if isinstance(message.content, list) and any(
        isinstance(part, ImagePart) for part in message.content
    ):
        raise ProviderBadRequestError(
            f"message {position} (system) has an image; Anthropic's system prompt is text only"
        )
    return message.text()


def _blocks(
    content: str | list[ContentPart], position: int, *, images: bool = True
) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        match part:
            case TextPart(text=text):
                if text:  # the API rejects empty text blocks
                    blocks.append({"type": "text", "text": text})
            case ImagePart(image_url=image):
                if not images:
                    raise ProviderBadRequestError(
                        f"message {position} (assistant) has an image; Anthropic accepts "
                        "images only from the user and in tool results"
                    )
                blocks.append({"type": "image", "source": _image_source(image.url, position)})
            case _:
                assert_never(part)
    return blocks


def _image_source(url: str, position: int) -> dict[str, str]:
    if (inline := parse_data_url(url)) is not None:
        return {"type": "base64", "media_type": inline.media_type, "data": inline.data}
    if url.startswith(("https://", "http://")):
        return {"type": "url", "url": url}
    raise ProviderBadRequestError(
        f"message {position} has an image URL Anthropic cannot fetch ({url[:40]!r}); "
        "use an https:// or a data: URL"
    )


def _tool_use(call: ToolCall) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": call.id,
        "name": call.function.name,
        "input": arguments_object(call, "Anthropic"),
    }


def _tool_result(message: Message, position: int) -> dict[str, Any]:
    if not message.tool_call_id:
        raise ProviderBadRequestError(
            f"message {position} (tool) has no tool_call_id; Anthropic needs it to match the "
            "result to its tool_use"
        )
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id}
    if isinstance(message.content, str):
        if message.content:
            result["content"] = message.content
    elif blocks := _blocks(message.content, position):
        result["content"] = blocks
    return result


def response_format_body(spec: OutputSpec) -> dict[str, Any]:
    """``output_config.format``: a JSON schema, every object closed.

    ``json_object`` (any object) has no equivalent: Anthropic refuses an object schema that
    does not set ``additionalProperties: false`` ("For 'object' type, 'additionalProperties'
    must be explicitly set to false"), and a closed object with no properties admits only
    ``{}``. Refused here rather than by the API.
    """
    if spec.kind == "json_object" or spec.schema is None:
        raise ProviderUnsupportedError(
            'Anthropic cannot express response_format {"type": "json_object"}: its structured '
            "outputs need every object closed (additionalProperties: false), so an open object "
            "has no equivalent; give a JSON schema or a pydantic model instead"
        )
    return {"type": "json_schema", "schema": anthropic_schema(spec.schema)}


def _tool(tool: Tool) -> dict[str, Any]:
    function = tool.function
    definition: dict[str, Any] = {"name": function.name}
    if function.description is not None:
        definition["description"] = function.description
    # A strict tool is decoded against its schema, so the schema must fit Anthropic's subset.
    definition["input_schema"] = (
        anthropic_schema(function.parameters) if function.strict else function.parameters
    )
    if function.strict is not None:
        definition["strict"] = function.strict
    return definition


def _tool_choice(choice: ToolChoiceMode | ToolChoice) -> dict[str, str]:
    if isinstance(choice, ToolChoice):
        return {"type": "tool", "name": choice.function.name}
    return dict(_TOOL_CHOICES[choice])
