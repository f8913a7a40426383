"""Any cut of a recording's bytes yields exactly the chunks the whole body yields.

Network chunks split anywhere: inside a UTF-8 character, between ``\\r`` and ``\\n``, inside
``data:``. Every decoder must carry its partial line across ``feed`` calls. Hypothesis draws
the cut points; the explicit cases split at every byte, inside every multi-byte character and
inside every CRLF.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmring.testing import Recording, iter_recordings, rechunk
from tests.conftest import RECORDINGS
from tests.replay_parse import Outcome, parse_stream

STREAMS = [r for r in iter_recordings(RECORDINGS) if r.is_stream]
IDS = [f"{r.provider}/{r.path.name}" for r in STREAMS]


def parse(recording: Recording, chunks: list[bytes]) -> Outcome:
    return parse_stream(
        recording.provider,
        f"{recording.provider}:{recording.model}",
        chunks,
        recording.headers.get("content-type", "text/event-stream"),
    )


def multibyte_cuts(body: bytes) -> list[int]:
    """Offsets that fall inside a multi-byte UTF-8 sequence (after a lead or middle byte)."""
    return [i for i in range(1, len(body)) if body[i] & 0xC0 == 0x80]


def crlf_cuts(body: bytes) -> list[int]:
    return [i + 1 for i in range(len(body) - 1) if body[i : i + 2] == b"\r\n"]


@pytest.mark.parametrize("recording", STREAMS, ids=IDS)
def test_split_at_every_byte(recording: Recording) -> None:
    whole = parse(recording, [recording.body])
    assert parse(recording, rechunk(recording.body, range(len(recording.body)))) == whole


@pytest.mark.parametrize("recording", STREAMS, ids=IDS)
def test_split_inside_every_multibyte_character_and_crlf(recording: Recording) -> None:
    whole = parse(recording, [recording.body])
    for cuts in (multibyte_cuts(recording.body), crlf_cuts(recording.body)):
        assert parse(recording, rechunk(recording.body, cuts)) == whole


def test_the_recordings_exercise_multibyte_and_crlf_splits() -> None:
    """The explicit cases above only mean something if such bytes are in the recordings."""
    multibyte: dict[str, int] = {}
    for recording in STREAMS:
        multibyte[recording.provider] = multibyte.get(recording.provider, 0) + len(
            multibyte_cuts(recording.body)
        )
    assert {provider: count >= 10 for provider, count in multibyte.items()} == dict.fromkeys(
        multibyte, True
    )
    assert sum(len(crlf_cuts(r.body)) for r in STREAMS) > 20  # Gemini frames with CRLF


@pytest.mark.parametrize("recording", STREAMS, ids=IDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_rechunking_yields_the_same_chunks(recording: Recording, data: st.DataObject) -> None:
    body = recording.body
    cuts = data.draw(st.lists(st.integers(min_value=1, max_value=len(body) - 1), max_size=40))
    assert parse(recording, rechunk(body, cuts)) == parse(recording, [body])
