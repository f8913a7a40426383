"""``cassette(...)``: record an application's real LLM traffic once, replay it offline after.

    from llmring.testing import cassette

    with cassette("tests/cassettes/checkout_flow", mode="once"):
        await checkout()          # every LLMRing created in here records or replays

The block sets a context variable that ``LLMRing`` reads when it builds its HTTP client (see
``llmring._cassette_hook``), so rings created deep inside the application are covered and
httpx is not patched. It works as ``with`` and ``async with``, under asyncio and trio.

Modes, as in vcrpy: ``once`` replays if the cassette exists, else records; ``none`` only
replays; ``new_episodes`` replays what matches and records the rest; ``all`` records afresh.
A request a replaying cassette cannot answer raises ``CassetteMismatchError``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal, Self, get_args

import anyio
import httpx
from pydantic import ValidationError

from llmring import _cassette_hook
from llmring.exceptions import CassetteMismatchError
from llmring.testing.format import (
    INDEX_NAME,
    CassetteIndex,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    body_suffix,
    read_index,
    write_atomically,
    write_index,
)
from llmring.testing.matching import (
    DEFAULT_MATCH_ON,
    VOLATILE_FIELDS,
    MatchPart,
    RequestMatcher,
    describe,
)
from llmring.testing.scrubbing import Scrubber
from llmring.testing.streams import CassetteReplayStream, Pace, RecordingStream, replay_pieces

__all__ = ["MODES", "Cassette", "CassetteMode", "CassetteTransport", "cassette"]

CassetteMode = Literal["once", "none", "new_episodes", "all"]
MODES: tuple[CassetteMode, ...] = get_args(CassetteMode)

_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


class Cassette:
    """A cassette directory opened in a mode; use it through ``cassette(...)``.

    ``played`` and ``recorded`` count the interactions answered from the cassette and
    recorded into it since it was opened.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        mode: CassetteMode = "once",
        match_on: Sequence[MatchPart] = DEFAULT_MATCH_ON,
        ignore: Collection[str] = VOLATILE_FIELDS,
        pace: Pace = "instant",
        rechunk: int | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"cassette mode {mode!r} is not one of {', '.join(MODES)}")
        if not (pace in ("instant", "recorded") or (isinstance(pace, int | float) and pace >= 0)):
            raise ValueError(f"pace must be 'instant', 'recorded' or seconds >= 0, not {pace!r}")
        self.path = Path(path)
        self.mode: CassetteMode = mode
        self.pace: Pace = pace
        self.rechunk = rechunk
        self.matcher = RequestMatcher(match_on, ignore)
        self.scrubber = Scrubber(secrets)
        try:
            existing = read_index(self.path)
        except (ValidationError, ValueError) as error:
            where = self.path / INDEX_NAME
            raise ValueError(f"{where} is not a readable cassette: {error}") from None
        self.existed = existing is not None
        self.index = existing or CassetteIndex()
        if mode == "all":
            self._stale = [i.response.body_file for i in self.index.interactions]
            self.index = CassetteIndex(meta=self.index.meta)
        else:
            self._stale = []
        self.recording = mode in ("new_episodes", "all") or (mode == "once" and not self.existed)
        self._replayable = len(self.index.interactions) if mode != "all" else 0
        self._used: set[int] = set()
        self._next = len(self.index.interactions)
        self._finished: list[tuple[int, Interaction]] = []
        self.played = 0
        self.recorded = 0
        self._tokens: list[object] = []

    # --- activation ---------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._tokens.append(_cassette_hook.ACTIVE.set(self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _cassette_hook.ACTIVE.reset(self._tokens.pop())  # type: ignore[arg-type]

    async def __aenter__(self) -> Self:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def wrap(
        self, transport: Callable[[], httpx.AsyncBaseTransport], secrets: Iterable[str] = ()
    ) -> CassetteTransport:
        """A transport that answers from this cassette, or records the answers of the
        transport ``transport()`` builds when it first has to."""
        for secret in secrets:
            self.scrubber.learn(secret)
        return CassetteTransport(self, transport)

    # --- answering ----------------------------------------------------------------------

    def take(self, request: RecordedRequest) -> Interaction | None:
        """The recorded interaction answering ``request``, marked used; None to record it."""
        replayable = self.index.interactions[: self._replayable]
        position = self.matcher.first_match(request, replayable, self._used)
        if position is not None:
            self._used.add(position)
            self.played += 1
            return replayable[position]
        if self.recording:
            return None
        raise CassetteMismatchError(self._mismatch(request, replayable))

    def _mismatch(self, request: RecordedRequest, replayable: list[Interaction]) -> str:
        lines = [
            f"no recorded answer in the cassette {self.path} (mode={self.mode!r}) for:",
            _indent(describe(request)),
        ]
        if not self.existed:
            lines.append(f"the cassette does not exist ({self.path / INDEX_NAME} is missing)")
        closest = self.matcher.closest(request, replayable)
        if closest is not None and closest.request is not None:
            differs = self.matcher.differences(request, closest.request)
            why = (
                f"differs in {'; '.join(differs)}"
                if differs
                else "identical, but every recording of this request was already replayed"
            )
            lines.append(f"closest recorded ({closest.name}, {why}):")
            lines.append(_indent(describe(closest.request)))
        lines.append(
            "to record it: mode='new_episodes' (or 'all' to start over); "
            "with pytest, --llmring-record=new_episodes"
        )
        return "\n".join(lines)

    def replay(self, interaction: Interaction) -> httpx.Response:
        """A fresh response serving ``interaction``'s body at this cassette's pace."""
        recorded = interaction.response
        body = (self.path / recorded.body_file).read_bytes()
        pieces, times = replay_pieces(body, recorded.reads, self.rechunk)
        stream = CassetteReplayStream(pieces, times, self.pace)
        return httpx.Response(recorded.status, headers=recorded.headers, stream=stream)

    # --- recording ----------------------------------------------------------------------

    def reserve(self) -> int:
        """The position of the next recorded interaction, taken when its request is sent so
        the cassette keeps request order even when answers finish out of order."""
        position = self._next
        self._next += 1
        return position

    def save(
        self,
        position: int,
        request: RecordedRequest,
        response: httpx.Response,
        waited: float,
        recording: RecordingStream,
    ) -> None:
        """Write the body file and the index with one more interaction."""
        headers = self.scrubber.headers(response.headers.multi_items())
        name = f"{position + 1:03d}-{_slug(request.url)}"
        body_file = name + body_suffix(headers.get("content-type", ""))
        self.path.mkdir(parents=True, exist_ok=True)
        for stale in self._stale:
            (self.path / stale).unlink(missing_ok=True)
        self._stale = []
        write_atomically(self.path / body_file, self.scrubber.bytes(bytes(recording.body)))
        interaction = Interaction(
            name=name,
            request=request,
            response=RecordedResponse(
                status=response.status_code,
                headers=headers,
                body_file=body_file,
                waited=round(waited, 6),
                reads=recording.reads,
                complete=recording.complete,
            ),
        )
        self._finished.append((position, interaction))
        self._finished.sort(key=lambda item: item[0])
        kept = self.index.interactions[: self._replayable]
        self.index = CassetteIndex(
            meta=self.index.meta, interactions=[*kept, *(i for _, i in self._finished)]
        )
        write_index(self.path, self.index)
        self.recorded += 1

    def save_meta(self) -> None:
        """Write the index after a change to ``index.meta``."""
        write_index(self.path, self.index)


class CassetteTransport(httpx.AsyncBaseTransport):
    """Answers from ``cassette``, or sends through the network transport and records."""

    def __init__(self, cassette: Cassette, network: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self.cassette = cassette
        self._network = network
        # Built on the first request to record: a TLS context costs milliseconds, and a
        # replaying test suite creates many rings that never touch the network.
        self.inner: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """The recorded answer to ``request``, or the network's, recorded as it is read."""
        cassette = self.cassette
        scrubber = cassette.scrubber
        scrubber.learn_from(request.headers.multi_items(), str(request.url))
        recorded = RecordedRequest(
            method=request.method,
            url=scrubber.url(str(request.url)),
            headers=scrubber.headers(request.headers.multi_items()),
            body=_body(scrubber.text((await request.aread()).decode("utf-8", "replace"))),
        )
        interaction = cassette.take(recorded)
        if interaction is not None:
            if cassette.pace == "recorded" and interaction.response.waited > 0:
                await anyio.sleep(interaction.response.waited)
            return cassette.replay(interaction)
        position = cassette.reserve()
        # Bodies are stored as readable bytes: ask for no compression while recording.
        request.headers["accept-encoding"] = "identity"
        if self.inner is None:
            self.inner = self._network()
        sent = time.perf_counter()
        response = await self.inner.handle_async_request(request)
        waited = time.perf_counter() - sent
        assert isinstance(response.stream, httpx.AsyncByteStream)

        def save(recording: RecordingStream) -> None:
            cassette.save(position, recorded, response, waited, recording)

        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=RecordingStream(response.stream, save),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close the network transport, if one was built."""
        if self.inner is not None:
            await self.inner.aclose()


def cassette(
    path: str | Path,
    *,
    mode: CassetteMode = "once",
    match_on: Sequence[MatchPart] = DEFAULT_MATCH_ON,
    ignore: Collection[str] = VOLATILE_FIELDS,
    pace: Pace = "instant",
    rechunk: int | None = None,
    secrets: Iterable[str] = (),
) -> Cassette:
    """Open the cassette directory ``path``; use the result as ``with`` or ``async with``.

    ``match_on``: the request parts compared (``method``, ``url``, ``body``). ``ignore``:
    body fields left out of the comparison (dotted paths reach into objects). ``pace``:
    ``"instant"``, ``"recorded"``, or seconds per read. ``rechunk``: a seed; the replayed
    bytes are cut at random points instead of where the network cut them. ``secrets``: more
    values to scrub, besides the ring's keys and the provider key variables.
    """
    return Cassette(
        path,
        mode=mode,
        match_on=match_on,
        ignore=ignore,
        pace=pace,
        rechunk=rechunk,
        secrets=secrets,
    )


def _body(text: str) -> object:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _slug(url: str) -> str:
    last = httpx.URL(url).path.rstrip("/").rpartition("/")[2] or "request"
    return _SLUG.sub("-", last.replace(":", "-")).strip("-")[:48] or "request"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
