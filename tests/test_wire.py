"""The byte-level decoders: the SSE spec's cases, NDJSON, and agreement with httpx-sse.

httpx-sse implements the WHATWG event-stream algorithm over text; llmring's decoder does it
over bytes for speed. The differential test holds them to the same events on every SSE body
we have, however it is cut.
"""

from __future__ import annotations

import httpx
import pytest
from httpx_sse import EventSource
from hypothesis import given, settings
from hypothesis import strategies as st

from llmring._wire import NDJSONDecoder, SSEDecoder, decoder_for, iter_payloads
from llmring.exceptions import ProviderResponseError
from llmring.testing import ReplayStream, iter_recordings, rechunk
from tests.conftest import RECORDINGS, SHARED_WIRE


def sse(body: bytes, cuts: list[int] | None = None) -> list[str]:
    decoder = SSEDecoder()
    out: list[str] = []
    for piece in rechunk(body, cuts or []):
        out += decoder.feed(piece)
    return out + decoder.finish()


@pytest.mark.parametrize(
    ("body", "events"),
    [
        (b"data: a\n\ndata: b\n\n", ["a", "b"]),
        (b"data: a\r\n\r\ndata: b\r\n\r\n", ["a", "b"]),  # Gemini frames with CRLF
        (b"data: a\r\rdata: b\r\r", ["a", "b"]),  # a lone CR ends a line too
        (b"data:no space\n\n", ["no space"]),
        (b"data:  two spaces\n\n", [" two spaces"]),  # exactly one space is stripped
        (b"data: x\ndata: y\n\n", ["x\ny"]),  # several data lines join with LF
        (b"data\n\n", [""]),  # a field name alone: empty value (not dispatched: no data)
        (b": comment\nevent: ping\nid: 7\nretry: 10\ndata: {}\n\n", ["{}"]),
        (b"event: ping\n\n", []),  # no data line: nothing to dispatch
        (b"\xef\xbb\xbfdata: bom\n\n", ["bom"]),  # a UTF-8 BOM at the start is dropped
        (b"data: done\n\ndata: cut off", ["done"]),  # an unterminated event is discarded
        ("data: ünï ☃ 😀\n\n".encode(), ["ünï ☃ 😀"]),
    ],
)
def test_sse_spec_cases(body: bytes, events: list[str]) -> None:
    expected = [e for e in events if e]  # an event whose data is empty carries no payload
    assert [e for e in sse(body) if e] == expected
    assert [e for e in sse(body, list(range(len(body)))) if e] == expected


def test_sse_cr_split_from_lf_across_reads_is_one_line_break() -> None:
    assert sse(b"data: a\r", []) == []
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n\r") == []
    assert decoder.feed(b"\ndata: b\r\n\r\n") == ["a", "b"]


@pytest.mark.parametrize(
    ("pieces", "lines"),
    [
        ([b'{"a":1}\n{"b":2}\n'], ['{"a":1}', '{"b":2}']),
        ([b'{"a":', b"1}\r", b"\n\n", b'{"b":2}'], ['{"a":1}', '{"b":2}']),
        (['{"t":"☃"}\n'.encode()[:8], '{"t":"☃"}\n'.encode()[8:]], ['{"t":"☃"}']),
        ([b"\n\r\n"], []),
    ],
)
def test_ndjson_lines(pieces: list[bytes], lines: list[str]) -> None:
    decoder = NDJSONDecoder()
    out: list[str] = []
    for piece in pieces:
        out += decoder.feed(piece)
    assert out + decoder.finish() == lines


def test_a_body_that_is_not_sse_is_refused() -> None:
    page = httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>")
    with pytest.raises(ProviderResponseError, match="got content type 'text/html'"):
        decoder_for("sse", page)
    # NDJSON is accepted whatever the type: Ollama Cloud sends it as application/json
    assert isinstance(decoder_for("ndjson", page), NDJSONDecoder)


SSE_BODIES = [r.body for r in iter_recordings(RECORDINGS) if r.path.suffix == ".sse"]
SSE_BODIES += [p.read_bytes() for p in sorted(SHARED_WIRE.glob("*/*.sse"))]


def httpx_sse_events(body: bytes, pieces: list[bytes]) -> list[str]:
    response = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=ReplayStream(pieces)
    )
    return [event.data for event in EventSource(response).iter_sse() if event.data]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_agrees_with_httpx_sse_on_every_body_however_cut(data: st.DataObject) -> None:
    body = data.draw(st.sampled_from(SSE_BODIES))
    cuts = data.draw(st.lists(st.integers(1, max(1, len(body) - 1)), max_size=30))
    pieces = rechunk(body, cuts)
    response = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=ReplayStream(pieces)
    )
    assert list(iter_payloads(response, "sse")) == httpx_sse_events(body, pieces)


def test_there_are_sse_bodies_to_compare() -> None:
    assert len(SSE_BODIES) >= 40
