"""The proof, for every provider and the Responses API: record a stream from a loopback server
speaking that provider's format, stop the server, replay it through ``LLMRing.chat_stream``.

The replayed chunks equal the live ones: as recorded, cut at random points (inside UTF-8
characters and CRLFs), and at the recorded pace, whose gaps are within 20% of the recorded.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from llmring import LLMRequest, LLMRing, Message, StreamChunk
from llmring.testing import Pace, cassette, load_recording
from llmring.testing.format import read_index
from llmring.testing.streams import replay_pieces
from tests.expectations import without_timing
from tests.loopback import STREAM_FILES, provider_reply, serve_in_thread

pytestmark = pytest.mark.anyio

PROVIDERS = sorted(STREAM_FILES)
KEY = "sk-proof-KEY-4242424242"
#: The pause between the server's reads: long enough to measure, short enough to be cheap.
GAP = 0.12
#: A gap between chunks longer than this is a pause between reads, not one read's events.
BURST = GAP / 3


def request(provider: str) -> LLMRequest:
    model = load_recording(Path("recordings") / STREAM_FILES[provider]).model
    return LLMRequest(model=f"{provider}:{model}", messages=[Message(role="user", content="hi")])


async def stream(provider: str, url: str) -> tuple[list[StreamChunk], list[float]]:
    """The chunks of one chat_stream, and the second each arrived."""
    chunks: list[StreamChunk] = []
    times: list[float] = []
    async with LLMRing(api_keys={provider: KEY}, base_urls={provider: url}) as ring:
        async for chunk in ring.chat_stream(request(provider)):
            chunks.append(chunk)
            times.append(time.perf_counter())
    return without_timing(chunks), times


def pauses(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times) if b - a > BURST]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_record_then_replay_with_the_server_gone(provider: str, tmp_path: Path) -> None:
    path = tmp_path / provider
    reply = provider_reply(provider, reads=3, gap=GAP)
    with serve_in_thread(reply) as server:
        url = server.url
        with cassette(path, mode="once") as tape:
            live, _ = await stream(provider, url)
        assert (tape.recorded, tape.played, len(server.requests)) == (1, 0, 1)
    assert live[-1].finish_reason is not None

    index = read_index(path)
    assert index is not None
    [interaction] = index.interactions
    recorded_pauses = [
        b - a for (a, _), (b, _) in itertools.pairwise(interaction.response.reads) if b - a > BURST
    ]
    assert len(recorded_pauses) == len(reply.pieces) - 1 >= 1

    replays: list[tuple[Pace, int | None]] = [("instant", None), ("instant", 7), ("recorded", None)]
    for pace, seed in replays:
        with cassette(path, mode="none", pace=pace, rechunk=seed) as tape:
            replayed, times = await stream(provider, url)  # nothing listens there any more
        assert (tape.played, tape.recorded) == (1, 0)
        assert replayed == live, (pace, seed)
        if pace == "recorded":
            got = pauses(times)
            assert len(got) == len(recorded_pauses)
            for mine, theirs in zip(got, recorded_pauses, strict=True):
                assert abs(mine - theirs) <= 0.2 * theirs, (got, recorded_pauses)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rechunk_cuts_inside_characters_and_crlfs(provider: str) -> None:
    """The random cuts of the proof above really fall inside multi-byte characters (and
    inside CRLFs, for Google's CRLF-framed stream), and lose no byte."""
    body = b"".join(provider_reply(provider).pieces)
    pieces, _ = replay_pieces(body, [(0.0, len(body))], rechunk=7)
    assert b"".join(pieces) == body
    ends = list(itertools.accumulate(len(piece) for piece in pieces))[:-1]
    assert any(0x80 <= body[end] < 0xC0 for end in ends)
    if b"\r\n" in body:
        assert any(body[end - 1 : end + 1] == b"\r\n" for end in ends)
    assert replay_pieces(body, [(0.0, len(body))], rechunk=7)[0] == pieces  # reproducible
    assert replay_pieces(body, [(0.0, len(body))], rechunk=8)[0] != pieces
