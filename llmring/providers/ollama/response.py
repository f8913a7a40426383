"""What an Ollama reply means: its wire lines, finish reasons and token counts.

Holds the small wire models of an ``/api/chat`` (or ``/api/generate``) line, the
``done_reason`` table and the usage mapping that the stream parser reuses, and
``parse_response`` for a ``"stream": false`` body, which is one ``done: true`` line.
API reference: https://docs.ollama.com/api/chat
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NotRequired

from pydantic import TypeAdapter, ValidationError

# pydantic validates TypedDicts only from typing_extensions before Python 3.12 (and
# depends on it, so this adds nothing to install).
from typing_extensions import TypedDict

from llmring.exceptions import ProviderResponseError
from llmring.providers._assembly import StreamAssembly, response_from_assembly, total_usage
from llmring.schemas import FinishReason, LLMResponse, StreamChunk, Usage

__all__ = [
    "DEFAULT_FINISH_REASON",
    "FINISH_REASONS",
    "STATE",
    "OllamaFunction",
    "OllamaLine",
    "OllamaMessage",
    "OllamaToolCall",
    "decode_payload",
    "finish_line",
    "map_finish_reason",
    "parse_response",
    "read_line",
    "usage_from_line",
]

#: ``done_reason`` to llmring's finish reason. Ollama says ``stop`` after tool calls too;
#: ``StreamAssembly.final`` turns that into ``tool_calls``. ``load``/``unload`` answer an
#: empty request that only (un)loaded the model.
FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "load": "stop",
    "unload": "stop",
}
#: For a missing ``done_reason`` (older servers) or one this table does not know yet.
DEFAULT_FINISH_REASON: FinishReason = "stop"

#: The counters of the done line kept in ``Usage.raw``, in Ollama's spelling.
_USAGE_FIELDS = (
    "prompt_eval_count",
    "eval_count",
    "total_duration",
    "load_duration",
    "prompt_eval_duration",
    "eval_duration",
)
_EXCERPT = 200
#: ``Continuation.provider`` of the state kept here: the turn's thinking text.
STATE = "ollama"


# The wire types are TypedDicts validated by pydantic: checked at the edge and typed for
# mypy like models, but built in Rust as plain dicts, which costs 0.5 us a line against 1.5 us
# for models (and 1.25 us for bare json.loads). Ollama's lines are small and its floor is
# cheap, so this is what keeps its per-chunk cost in budget (see benchmarks/).


class OllamaFunction(TypedDict):
    """``tool_calls[].function``: arguments come as a JSON object, not a string."""

    name: str
    arguments: NotRequired[dict[str, Any] | None]
    index: NotRequired[int | None]


class OllamaToolCall(TypedDict):
    """One whole tool call; newer servers add ``id`` (``call_...``)."""

    id: NotRequired[str | None]
    function: OllamaFunction


class OllamaMessage(TypedDict, total=False):
    """``message`` of an ``/api/chat`` line."""

    content: str
    thinking: str
    tool_calls: list[OllamaToolCall] | None


class OllamaLine(TypedDict, total=False):
    """One NDJSON line (or a whole ``stream: false`` body), or an error line.

    ``/api/chat`` puts text in ``message``; ``/api/generate`` in ``response`` and
    ``thinking``. The ``done: true`` line adds ``done_reason`` and the counters. An error
    body, or an in-band failure inside a 200 stream, is ``{"error": "..."}`` alone.
    """

    done: bool
    model: str
    error: str
    message: OllamaMessage | None
    response: str
    thinking: str
    done_reason: str | None
    prompt_eval_count: int | None
    eval_count: int | None
    total_duration: int | None
    load_duration: int | None
    prompt_eval_duration: int | None
    eval_duration: int | None


_LINE: TypeAdapter[OllamaLine] = TypeAdapter(OllamaLine)
# Called directly: TypeAdapter.validate_json adds ~3k instructions of argument handling per
# line (callgrind), more than a tenth of the parser's whole per-chunk cost.
_validate_line: Callable[[str | bytes], OllamaLine] = _LINE.validator.validate_json


def decode_payload(payload: str | bytes) -> OllamaLine:
    """One line (or body); ``ProviderResponseError`` if it is neither content nor error."""
    try:
        line = _validate_line(payload)
    except ValidationError:
        line = {}
    if "done" not in line and "error" not in line:
        text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
        raise ProviderResponseError(
            f"unexpected Ollama line: {text[:_EXCERPT]!r}", body_excerpt=text[:_EXCERPT]
        )
    return line


def map_finish_reason(done_reason: str | None) -> FinishReason:
    """``done_reason`` as llmring's finish reason (before the tool-call rule)."""
    if done_reason is None:
        return DEFAULT_FINISH_REASON
    return FINISH_REASONS.get(done_reason, DEFAULT_FINISH_REASON)


def usage_from_line(line: OllamaLine) -> Usage | None:
    """The done line's counters; ``None`` when it has none (a load/unload reply).

    ``prompt_eval_count`` is left out when the whole prompt came from the cache, so it
    counts as 0. ``eval_count`` includes thinking tokens (Ollama does not split them).
    """
    raw = {name: value for name in _USAGE_FIELDS if (value := line.get(name)) is not None}
    if not raw:
        return None
    return total_usage(line.get("prompt_eval_count") or 0, line.get("eval_count") or 0, raw=raw)


def read_line(assembly: StreamAssembly, line: OllamaLine) -> list[StreamChunk]:
    """Add a line's thinking, text and tool calls to ``assembly``; the chunks that makes."""
    message = line.get("message")
    if message is None:  # /api/generate, or a done line without message
        text, thinking = line.get("response", ""), line.get("thinking", "")
        calls = None
    else:
        text, thinking = message.get("content", ""), message.get("thinking", "")
        calls = message.get("tool_calls")
    # A fresh list each time: the tool-call deltas are added to it in place.
    chunks = assembly.reasoning(thinking) + assembly.text(text) if thinking else assembly.text(text)
    for call in calls or ():  # rare: the hot path (a text line) allocates nothing for calls
        function = call["function"]
        call_id = call.get("id")
        index = function.get("index")
        # Calls arrive whole, so the key only has to keep them apart: the server's
        # index, else its id, else a fresh key (the id becomes call_<position>).
        key: object = index if index is not None else call_id if call_id else object()
        chunks += assembly.tool_calls.add(
            key, name=function["name"], arguments=function.get("arguments") or {}, id=call_id
        )
    return chunks


def finish_line(assembly: StreamAssembly, line: OllamaLine) -> list[StreamChunk]:
    """The final chunk for the ``done: true`` line (after ``read_line`` took its content).

    The thinking text is kept as the turn's continuation: ``/api/chat`` takes it back as the
    assistant message's ``thinking``, and a model's template (gpt-oss between tool calls,
    for one) renders it into the next prompt.
    """
    if thinking := assembly.reasoning_text():
        assembly.keep(STATE, {"thinking": thinking})
    assembly.usage = usage_from_line(line)
    done_reason = line.get("done_reason")
    return assembly.final(map_finish_reason(done_reason), done_reason)


def parse_response(body: bytes, model: str) -> LLMResponse:
    """A ``"stream": false`` body (one ``done: true`` object) as an ``LLMResponse``."""
    payload = decode_payload(body)
    if "error" in payload:
        raise ProviderResponseError(payload["error"])
    if not payload.get("done"):
        raise ProviderResponseError(
            "Ollama response is not done: a streamed line where one complete reply was expected"
        )
    assembly = StreamAssembly(model)
    assembly.identify(None, payload.get("model"))  # Ollama gives its responses no id
    read_line(assembly, payload)
    finish_line(assembly, payload)
    return response_from_assembly(assembly)
