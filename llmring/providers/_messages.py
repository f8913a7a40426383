"""The provider-neutral pieces that request builders share (pure).

Each provider's ``request.py`` translates llmring's messages into its own wire shape; what
does not depend on the wire lives here once: reading an image ``data:`` URL, turning a tool
call's JSON-string arguments into an object, and finding which call or function a tool result
answers.
Every refusal is a ``ProviderBadRequestError`` that says what is wrong and how to write it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmring.exceptions import ProviderBadRequestError
from llmring.schemas import Message, ToolCall

__all__ = [
    "DataURL",
    "answered_call_id",
    "arguments_object",
    "parse_data_url",
    "tool_result_names",
]

_DATA = "data:"
_BASE64 = "base64"


@dataclass(frozen=True, slots=True)
class DataURL:
    """A base64 ``data:`` URL taken apart: ``data:<media_type>;base64,<data>``."""

    media_type: str
    data: str


def parse_data_url(url: str) -> DataURL | None:
    """The media type and base64 data of an image ``data:`` URL; ``None`` for any other URL.

    Only ``data:<media type>;base64,<data>`` is taken, with both parts non-empty: every
    provider that reads inline images wants base64 and a media type. Anything else starting
    with ``data:`` raises ``ProviderBadRequestError``.
    """
    if not url.startswith(_DATA):
        return None
    header, comma, data = url[len(_DATA) :].partition(",")
    media_type, _, encoding = header.partition(";")
    if not comma or encoding != _BASE64 or not media_type or not data:
        raise ProviderBadRequestError(
            f"image data: URL {url[:40]!r} is malformed; "
            "write it as data:<media type>;base64,<data>"
        )
    return DataURL(media_type, data)


def arguments_object(call: ToolCall, provider: str) -> dict[str, Any]:
    """``call``'s arguments (a JSON string, empty meaning ``{}``) as a JSON object.

    ``provider`` is the display name that the error names: the arguments must be valid JSON
    and an object, or ``ProviderBadRequestError`` is raised.
    """
    arguments = call.function.arguments or "{}"
    where = f"tool call {call.id!r} ({call.function.name})"
    wanted = f"{provider} needs the arguments as a JSON object"
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError as exc:
        raise ProviderBadRequestError(
            f"{where} has arguments that are not valid JSON ({exc.msg}): {arguments[:80]!r}; "
            f"{wanted}"
        ) from exc
    if not isinstance(parsed, dict):
        raise ProviderBadRequestError(
            f"{where} has arguments that are not a JSON object: {arguments[:80]!r}; {wanted}"
        )
    return parsed


def answered_call_id(message: Message) -> str:
    """The ``tool_call_id`` a ``tool`` message answers; ``ProviderBadRequestError`` if unset."""
    if message.tool_call_id is None:
        raise ProviderBadRequestError("a tool message needs the tool_call_id it answers")
    return message.tool_call_id


def tool_result_names(messages: Sequence[Message]) -> list[str | None]:
    """For each message, the name of the function it answers if it is a tool result.

    A ``tool`` message's ``tool_call_id`` is looked up among the ``tool_calls`` of the
    assistant messages before it (a later call with the same id wins from there on). The
    entry is ``None`` for any other message and for an id that no earlier assistant called.
    """
    called: dict[str, str] = {}
    names: list[str | None] = []
    for message in messages:
        answered = message.tool_call_id if message.role == "tool" else None
        names.append(called.get(answered) if answered is not None else None)
        if message.role == "assistant":
            called.update((call.id, call.function.name) for call in message.tool_calls or ())
    return names
