"""Replay recorded response bodies through the real HTTP stack, offline.

A recording is one interaction of a cassette (see ``llmring.testing.format``): llmring's own
``recordings/<provider>/`` directories are cassettes whose ``cassette.json`` names each body
file (``<scenario>.sse|.ndjson|.json``, the bytes exactly as received) and keeps, in ``meta``,
the model asked for, what the body should yield (``expect``) and optionally ``pace_ms``, the
gap between events when replayed at the recorded pace. ``load_recording`` takes the body
file's path. A body with an old-style ``<scenario>.meta.json`` sidecar (not yet converted by
``python -m llmring.testing.convert``) still loads.

``ReplayStream`` serves a body in chunks of your choosing and remembers whether it was
closed, which is how tests prove that ``break`` and cancellation close the connection.
``replay_transport`` plugs a recording into an ``httpx.AsyncClient`` (the demo and
``llmring chat --replay FILE`` use it); ``mock_recording`` does the same for a respx router.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from llmring.testing.format import INDEX_NAME, Interaction, read_index

if TYPE_CHECKING:
    import respx

__all__ = [
    "Recording",
    "ReplayStream",
    "iter_recordings",
    "load_recording",
    "mock_recording",
    "rechunk",
    "replay_transport",
    "split_events",
]

BODY_SUFFIXES = (".sse", ".ndjson", ".json")
#: The content type a body file gets when its sidecar does not say.
CONTENT_TYPES = {
    ".sse": "text/event-stream",
    ".ndjson": "application/x-ndjson",
    ".json": "application/json",
}


@dataclass(frozen=True)
class Recording:
    """A recorded response: status, headers and the body bytes verbatim."""

    path: Path
    body: bytes
    model: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)
    pace_ms: float = 0.0
    #: The file name of this answer's streamed (or non-streamed) twin, if it has one.
    pair: str | None = None
    #: Everything the recording's notes say (``model``, ``expect``, ``mode``, ``source``...).
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def provider(self) -> str:
        return self.path.parent.name

    @property
    def scenario(self) -> str:
        return self.path.stem

    @property
    def is_stream(self) -> bool:
        """A 2xx streamed body (SSE or NDJSON), as opposed to a whole JSON answer or an error."""
        return self.status < 400 and self.path.suffix in (".sse", ".ndjson")

    def response(
        self,
        chunks: Sequence[bytes] | None = None,
        *,
        pace: float = 0.0,
        hang_after: int | None = None,
        request: httpx.Request | None = None,
    ) -> httpx.Response:
        """A fresh streaming response over this body (single use, as on the network)."""
        stream = ReplayStream(
            [self.body] if chunks is None else chunks, pace=pace, hang_after=hang_after
        )
        return httpx.Response(self.status, headers=self.headers, stream=stream, request=request)


def load_recording(path: str | Path) -> Recording:
    """The recording whose body file is ``path``: from its cassette's index, else from an
    old-style ``.meta.json`` sidecar. A cassette directory holding a single interaction
    may be given instead of its body file."""
    path = Path(path)
    if path.is_dir():
        index = read_index(path)
        if index is None or len(index.interactions) != 1:
            raise ValueError(f"{path} is not a cassette holding one recording")
        only = index.interactions[0]
        return _from_interaction(path / only.response.body_file, only)
    meta_path = path.with_name(path.stem + ".meta.json")
    if not meta_path.exists():
        interaction = _indexed(path.parent).get(path.name)
        if interaction is not None:
            return _from_interaction(path, interaction)
    meta: dict[str, Any] = json.loads(meta_path.read_text("utf-8")) if meta_path.exists() else {}
    return _recording(
        path,
        path.read_bytes(),
        int(meta.get("status", 200)),
        dict(meta.get("headers", {"content-type": CONTENT_TYPES.get(path.suffix, "")})),
        {k: v for k, v in meta.items() if k not in ("status", "headers")},
    )


def _indexed(directory: Path) -> dict[str, Interaction]:
    """The interactions of the cassette in ``directory`` by body file name ({} if none)."""
    try:
        stat = (directory / INDEX_NAME).stat()
    except FileNotFoundError:
        return {}
    return _indexed_version(directory, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _indexed_version(directory: Path, mtime_ns: int, size: int) -> dict[str, Interaction]:
    # Keyed by the index's mtime and size: a test suite loads hundreds of recordings from a
    # few indexes, and a rewritten index is read again.
    index = read_index(directory)
    return {} if index is None else {i.response.body_file: i for i in index.interactions}


def _from_interaction(path: Path, interaction: Interaction) -> Recording:
    response = interaction.response
    return _recording(
        path, path.read_bytes(), response.status, dict(response.headers), interaction.meta
    )


def _recording(
    path: Path, body: bytes, status: int, headers: dict[str, str], meta: dict[str, Any]
) -> Recording:
    return Recording(
        path=path,
        body=body,
        model=str(meta.get("model", "")),
        status=status,
        headers=headers,
        expect=dict(meta.get("expect", {})),
        pace_ms=float(meta.get("pace_ms", 0.0)),
        pair=meta.get("pair"),
        meta=dict(meta),
    )


def iter_recordings(root: str | Path) -> Iterator[Recording]:
    """Every recording below ``root``, in path order: each body file a cassette index names,
    and each body file beside it that has an old-style sidecar or no notes at all."""
    for path in sorted(Path(root).rglob("*")):
        notes = path.name.endswith(".meta.json") or path.name == INDEX_NAME
        if path.suffix in BODY_SUFFIXES and not notes:
            yield load_recording(path)


def rechunk(body: bytes, cuts: Iterable[int]) -> list[bytes]:
    """Split ``body`` at the given offsets (any order, duplicates and out-of-range ignored)."""
    points = sorted({cut for cut in cuts if 0 < cut < len(body)})
    edges = [0, *points, len(body)]
    return [body[start:end] for start, end in itertools.pairwise(edges)]


_EVENT_END = re.compile(rb"(?<=\n\n)|(?<=\r\n\r\n)")


def split_events(body: bytes) -> list[bytes]:
    """Split a body after each blank line (SSE) or newline (NDJSON), keeping every byte."""
    if b"\n\n" not in body and b"\r\n\r\n" not in body:
        return body.splitlines(keepends=True)
    return [piece for piece in _EVENT_END.split(body) if piece]


class ReplayStream(httpx.AsyncByteStream, httpx.SyncByteStream):
    """Serves byte chunks, optionally paced, optionally hanging after ``hang_after`` chunks.

    ``closed`` turns true when httpx closes the stream, i.e. when the response is closed; like
    a closed connection, it then serves nothing more.
    """

    def __init__(
        self, chunks: Sequence[bytes], *, pace: float = 0.0, hang_after: int | None = None
    ) -> None:
        self.chunks = list(chunks)
        self.pace = pace
        self.hang_after = hang_after
        self.closed = False
        self.served = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index, chunk in enumerate(self.chunks):
            if self.closed:
                return
            if index == self.hang_after:
                await anyio.sleep_forever()
            if self.pace and index:
                await anyio.sleep(self.pace)
            self.served += 1
            yield chunk
        if not self.closed and self.hang_after is not None and self.hang_after >= len(self.chunks):
            await anyio.sleep_forever()

    def __iter__(self) -> Iterator[bytes]:
        self.served = len(self.chunks)
        yield from self.chunks

    async def aclose(self) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True


def replay_transport(recording: Recording, *, pace: float | None = None) -> httpx.MockTransport:
    """A transport answering every request with ``recording``, one event at a time.

    ``pace`` is the gap between events in seconds; by default the recording's own pace.
    """
    gap = recording.pace_ms / 1000 if pace is None else pace
    events = split_events(recording.body)

    async def answer(request: httpx.Request) -> httpx.Response:
        return recording.response(events, pace=gap, request=request)

    return httpx.MockTransport(answer)


def mock_recording(
    router: respx.Router | respx.MockRouter,
    recording: Recording,
    *,
    chunks: Sequence[bytes] | None = None,
    streams: list[ReplayStream] | None = None,
    hang_after: int | None = None,
    **lookups: Any,
) -> respx.Route:
    """Route POSTs matching ``lookups`` to fresh replays of ``recording``.

    Each call gets a new response (streams are single-use; fallback calls twice). Pass a
    list as ``streams`` to collect each ``ReplayStream`` served, e.g. to check it was closed.
    """

    def answer(request: httpx.Request) -> httpx.Response:
        response = recording.response(chunks, hang_after=hang_after, request=request)
        if streams is not None:
            assert isinstance(response.stream, ReplayStream)
            streams.append(response.stream)
        return response

    return router.post(**lookups).mock(side_effect=answer)
