"""What the loopback server answers: a scripted ``Reply``, and the scripts that pick one.

A reply is everything a test may want from a server: any status and headers, a body sent as
chunks with pauses between them, a wait before the status line, a body that never ends
(``hang``) or a connection broken mid-body (``cut``), and the framing (chunked, a
content-length, or the end of the body marked only by closing the connection).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from llmring.testing import split_events
from tests.loopback.request import Request

#: How the end of the body is told: ``chunked`` transfer-encoding, a ``length`` header
#: (the one in ``headers`` if there is one, a lie included), or ``close`` (the server closes
#: the connection after the body, as HTTP/1.0 servers and some streaming stand-ins do).
Framing: TypeAlias = Literal["chunked", "length", "close"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``body`` pieces are sent one write each; a number in it is a
    pause (seconds) during which the server notices the client leaving.

    ``delay`` is waited before the status line (a server slow to answer at all). ``hang``
    keeps the response open after the body: only the client can end it. ``cut`` closes the
    connection after the body without ending it properly (a connection broken mid-stream).
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Sequence[bytes | float] = ()
    delay: float = 0.0
    hang: bool = False
    cut: bool = False
    content_type: str = "application/x-ndjson"
    framing: Framing = "chunked"

    @property
    def pieces(self) -> list[bytes]:
        """The body's bytes as written, without the pauses."""
        return [piece for piece in self.body if isinstance(piece, bytes)]


def streamed(
    body: bytes,
    content_type: str = "text/event-stream",
    *,
    status: int = 200,
    reads: int | None = None,
    gap: float = 0.0,
) -> Reply:
    """``body`` sent the way a provider streams it: one chunk per SSE event (per line of any
    other body), or with ``reads`` the events grouped into that many chunks, ``gap`` seconds
    apart."""
    events = split_events(body) or [body]
    size = -(-len(events) // reads) if reads else 1
    groups = [b"".join(events[i : i + size]) for i in range(0, len(events), size)]
    paced: list[bytes | float] = []
    for group in groups:
        paced += [gap, group] if paced and gap else [group]
    return Reply(status=status, body=paced, content_type=content_type)


#: A script says what each request gets: one reply for all; a list, in order (the last
#: repeats); per path, in order (the last repeats); or a function of the request.
Script: TypeAlias = (
    Reply | Sequence[Reply] | Mapping[str, Sequence[Reply]] | Callable[[Request[Any]], Reply]
)


def answerer(script: Script) -> Callable[[Request[Any]], Reply]:
    """The function that gives each request its reply, as ``script`` says."""
    if isinstance(script, Reply):
        return lambda _request: script
    if isinstance(script, Mapping):
        return _in_order(script, lambda request: request.path)
    if isinstance(script, Sequence):
        return _in_order({"": script}, lambda _request: "")
    return script


def _in_order(
    script: Mapping[str, Sequence[Reply]], key: Callable[[Request[Any]], str]
) -> Callable[[Request[Any]], Reply]:
    """The n-th request of a key gets that key's n-th reply (the last one repeats)."""
    counts: dict[str, int] = {}

    def reply(request: Request[Any]) -> Reply:
        name = key(request)
        replies = script[name]
        n = counts.get(name, 0)
        counts[name] = n + 1
        return replies[min(n, len(replies) - 1)]

    return reply
