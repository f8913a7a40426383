"""How a cassette cuts and times the bytes it replays: every byte served, in order, each
piece no earlier than the read that brought its last byte."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from llmring.testing.streams import replay_pieces


@given(
    body=st.binary(max_size=400),
    sizes=st.lists(st.integers(min_value=1, max_value=60), max_size=12),
    seed=st.none() | st.integers(min_value=0, max_value=2**32),
)
def test_pieces_cover_the_body_and_times_follow_the_reads(
    body: bytes, sizes: list[int], seed: int | None
) -> None:
    reads = [(0.01 * index, size) for index, size in enumerate(sizes)]  # possibly not the body
    pieces, times = replay_pieces(body, reads, seed)
    assert b"".join(pieces) == body
    assert all(pieces) and len(times) == len(pieces)
    assert times == sorted(times)
    if seed is None and sum(sizes) == len(body):  # recorded reads replay as they came
        assert [len(p) for p in pieces] == sizes and times == [t for t, _ in reads]


def test_a_piece_waits_for_the_read_holding_its_last_byte() -> None:
    body = b"abcdefghij"
    pieces, times = replay_pieces(body, [(0.5, 4), (1.5, 6)], rechunk=None)
    assert (pieces, times) == ([b"abcd", b"efghij"], [0.5, 1.5])
    cut, cut_times = replay_pieces(body, [(0.5, 4), (1.5, 6)], rechunk=1)
    ends = list(itertools.accumulate(len(p) for p in cut))
    assert cut_times == [0.5 if end <= 4 else 1.5 for end in ends]
