"""Gemini ``streamGenerateContent?alt=sse``: each payload is a whole response, in pieces.

Every SSE event carries one ``GenerateContentResponse`` with the next parts of candidate 0;
the stream has no end marker of its own, so the turn is over at the chunk that carries
``finishReason`` (or a blocked prompt's ``promptFeedback``) together with the final
``usageMetadata``; without usage there, at the end of the body.
https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Hashable
from itertools import pairwise
from typing import Any

from llmring.exceptions import ProviderResponseError
from llmring.providers._assembly import StreamAssembly
from llmring.providers.google.response import (
    GoogleFunctionCall,
    GooglePartialArg,
    GoogleUsageMetadata,
    add_part,
    keep_signature,
    map_usage,
    parse_payload,
    terminal_reason,
)
from llmring.schemas import FinishReason, LLMResponse, StreamChunk

__all__ = ["GoogleStreamParser"]

_PathKey = str | int
# RFC 9535 normalized-path segments: .name, ['name'] / ["name"], [index].
_SEGMENT = re.compile(
    r"\.(?P<name>[^.\[\]]+)|\[(?P<index>\d+)\]|\['(?P<single>(?:[^'\\]|\\.)*)'\]"
    r'|\["(?P<double>(?:[^"\\]|\\.)*)"\]'
)
_ESCAPE = re.compile(r"\\(.)")
# Array items stream in order; a path far past the end is a wire error, not a reason to
# allocate a list of that size.
_MAX_GAP = 1000


@functools.lru_cache(maxsize=256)
def _parse_json_path(path: str) -> tuple[_PathKey, ...]:
    """``"$.a.b[0]['c d']"`` -> ``("a", "b", 0, "c d")``."""
    keys: list[_PathKey] = []
    position = 1
    while path.startswith("$") and position < len(path):
        match = _SEGMENT.match(path, position)
        if match is None:
            break
        if (index := match["index"]) is not None:
            keys.append(int(index))
        else:
            quoted = match["single"] if match["single"] is not None else match["double"]
            keys.append(match["name"] if quoted is None else _ESCAPE.sub(r"\1", quoted))
        position = match.end()
    if not path.startswith("$") or position != len(path) or not keys:
        raise ProviderResponseError(f"unusable jsonPath in streamed function args: {path!r}")
    return tuple(keys)


class _Text:
    """A string argument still arriving in ``stringValue`` pieces (joined once, at the end)."""

    __slots__ = ("pieces",)

    def __init__(self, piece: str) -> None:
        self.pieces = [piece]


def _join_text(value: object) -> str:
    if isinstance(value, _Text):
        return "".join(value.pieces)
    raise TypeError(f"not JSON: {type(value).__name__}")


class _StreamedArguments:
    """Rebuilds the JSON object of a call whose arguments arrive as ``partialArgs``.

    Each piece names its place with a JSON path; string values continue across pieces at
    the same path (../shared/wire/gemini/function-call-partial-args-gemini3.sse sends
    ``"Boston"`` then ``""`` for ``$.location``).
    """

    __slots__ = ("root",)

    def __init__(self, initial: dict[str, Any] | None) -> None:
        self.root: dict[str, Any] = dict(initial or {})

    def apply(self, arg: GooglePartialArg) -> None:
        value: Any
        string = arg.get("stringValue")
        if string is not None:
            value = None  # set below, unless it continues a string already there
        elif "numberValue" in arg:
            value = arg["numberValue"]
        elif "boolValue" in arg:
            value = arg["boolValue"]
        elif "nullValue" in arg:
            value = None
        else:
            return  # a path with no value yet
        path = _parse_json_path(arg["jsonPath"])
        node: Any = self.root
        for key, next_key in pairwise(path):
            node = _child(node, key, list_next=isinstance(next_key, int))
        last = path[-1]
        if string is not None:
            existing = _get(node, last)
            if isinstance(existing, _Text):
                existing.pieces.append(string)
                return
            value = _Text(string)
        _put(node, last, value)

    def to_json(self) -> str:
        return json.dumps(self.root, ensure_ascii=False, separators=(",", ":"), default=_join_text)


def _get(node: Any, key: _PathKey) -> Any:
    if isinstance(node, dict) and isinstance(key, str):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and key < len(node):
        return node[key]
    return None


def _put(node: Any, key: _PathKey, value: Any) -> None:
    if isinstance(node, dict) and isinstance(key, str):
        node[key] = value
    elif isinstance(node, list) and isinstance(key, int) and key - len(node) < _MAX_GAP:
        node.extend([None] * (key + 1 - len(node)))
        node[key] = value
    else:
        where = f"a list of {len(node)}" if isinstance(node, list) else type(node).__name__
        raise ProviderResponseError(f"streamed function args: {key!r} does not fit {where}")


def _child(node: Any, key: _PathKey, *, list_next: bool) -> Any:
    existing = _get(node, key)
    if existing is None:
        existing = [] if list_next else {}
        _put(node, key, existing)
    return existing


class GoogleStreamParser:
    """Pure state machine: Gemini SSE payloads in, ``StreamChunk``s out.

    ``usageMetadata`` comes on every chunk as running totals and only the last one counts
    (../shared/wire/gemini/text-gemini2-flash.sse even changes promptTokenCount on the
    way); it is turned into ``Usage`` only when the final chunk or a snapshot needs it.
    """

    __slots__ = (
        "_assembly",
        "_end",
        "_input_ended",
        "_open_call",
        "_payloads",
        "_usage",
        "_usage_mapped",
    )

    def __init__(self, model: str) -> None:
        self._assembly = StreamAssembly(model)
        self._end: tuple[FinishReason, str] | None = None
        # The last usage counts, and the payload they came from (for ``Usage.raw``).
        self._usage: tuple[GoogleUsageMetadata, str] | None = None
        self._usage_mapped: GoogleUsageMetadata | None = None
        self._open_call: tuple[Hashable, _StreamedArguments] | None = None
        self._payloads = 0
        self._input_ended = False

    def feed(self, payload: str) -> list[StreamChunk]:
        """One payload (a ``GenerateContentResponse``) in, its text/thought chunks out."""
        assembly = self._assembly
        assembly.ensure_open()
        response = parse_payload(payload)
        self._payloads += 1
        if assembly.response_id is None:
            assembly.identify(response.get("responseId"), response.get("modelVersion"))
        usage = response.get("usageMetadata")
        if usage is not None:
            self._usage = (usage, payload)
        candidates = response.get("candidates")
        if not candidates:
            if "promptFeedback" in response and (end := terminal_reason(response)):
                self._end = end
                if usage is not None:
                    return self._final()
            return []
        candidate = candidates[0]
        chunks: list[StreamChunk] = []
        for index, part in enumerate(candidate.get("content", {}).get("parts", ())):
            call = part.get("functionCall")
            if call is not None and (call.get("willContinue") or "name" not in call):
                chunks += self._streamed_call(call, (self._payloads, index))
                if "name" in call:
                    keep_signature(assembly, part, call=True)
            else:
                chunks += add_part(assembly, part, (self._payloads, index))
        if "finishReason" in candidate:
            self._end = terminal_reason(response)
            # The last chunk carries finishReason and the final usage: the turn is over, and
            # the final chunk need not wait for the server to close the body.
            if usage is not None and self._end is not None:
                chunks += self._final()
        return chunks

    def _streamed_call(self, call: GoogleFunctionCall, key: Hashable) -> list[StreamChunk]:
        """Gemini 3's streamed arguments: ``{name, willContinue}``, then ``partialArgs``
        pieces, then an empty ``{}`` (function-call-partial-args-gemini3.sse)."""
        name = call.get("name")
        chunks: list[StreamChunk] = []
        if name is not None:
            chunks += self._close_call()
            chunks += self._assembly.tool_calls.start(key, name=name, id=call.get("id"))
            self._open_call = (key, _StreamedArguments(call.get("args")))
        pieces = call.get("partialArgs")
        if pieces:
            if self._open_call is None:
                raise ProviderResponseError("streamed function args before the call's name")
            arguments = self._open_call[1]
            for arg in pieces:
                arguments.apply(arg)
        if not call.get("willContinue"):
            chunks += self._close_call()
        return chunks

    def _close_call(self) -> list[StreamChunk]:
        """The call's arguments, whole: they are rebuilt from paths, not streamed as text."""
        if self._open_call is None:
            return []
        key, arguments = self._open_call
        self._open_call = None
        return self._assembly.tool_calls.append(key, arguments.to_json())

    def _sync_usage(self) -> None:
        if self._usage is not None and self._usage[0] is not self._usage_mapped:
            metadata, payload = self._usage
            self._assembly.usage = map_usage(metadata, payload)
            self._usage_mapped = metadata

    def finish(self) -> list[StreamChunk]:
        """End of input: the final chunk (unless the last payload already gave it), or an
        error if no ``finishReason`` came."""
        if self._input_ended:
            raise ProviderResponseError("finish() called twice")
        self._input_ended = True
        if self._assembly.finished:
            return []
        if self._end is None:
            raise ProviderResponseError("stream ended before a finishReason")
        return self._final()

    def _final(self) -> list[StreamChunk]:
        assert self._end is not None
        chunks = self._close_call()
        self._sync_usage()
        return chunks + self._assembly.final(*self._end)

    def snapshot(self) -> LLMResponse:
        """The response so far (complete once ``finish`` returned)."""
        self._sync_usage()
        return self._assembly.snapshot()
