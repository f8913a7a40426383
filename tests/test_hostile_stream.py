"""A hostile or broken server: oversized lines and events, compressed bombs, blank lines.

The decoders are bounded by ``max_event_bytes``; here the limit is small so every case runs in
milliseconds (the 50 MB and 5 MB timings are in benchmarks/bench_hostile.py). Each case goes
through ``LLMRing.chat_stream`` on every route, as an application would see it.
"""

from __future__ import annotations

import gzip

import httpx
import pytest
import respx

from llmring import LLMRequest, LLMRing, Message
from llmring._wire import NDJSONDecoder, SSEDecoder
from llmring.exceptions import ProviderResponseError, ResponseTooLargeError
from llmring.testing import Recording, load_recording, split_events
from tests.conftest import RECORDINGS

pytestmark = pytest.mark.anyio

ROUTES = ["openai", "openai-responses", "anthropic", "google", "ollama"]
LIMIT = 4096


def text_recording(route: str) -> Recording:
    suffix = "ndjson" if route == "ollama" else "sse"
    return load_recording(RECORDINGS / route / f"text.{suffix}")


def request_for(recording: Recording) -> LLMRequest:
    return LLMRequest(
        model=f"{recording.provider}:{recording.model}",
        messages=[Message(role="user", content="hi")],
    )


def oversized(route: str) -> bytes:
    """The start of a line one byte over the limit, in the route's own framing."""
    head = b'{"model": "m", "message": {"content": "' if route == "ollama" else b'data: {"x": "'
    return head + b"A" * (LIMIT + 1 - len(head))


async def stream_body(recording: Recording, chunks: list[bytes], **headers: str) -> Exception:
    """Stream ``chunks`` as the recording's answer; the error the stream raised."""
    with respx.mock:
        respx.post(url__regex=".*").mock(
            return_value=httpx.Response(
                200, headers={**recording.headers, **headers}, content=b"".join(chunks)
            )
        )
        async with LLMRing(
            api_keys={recording.provider: "test-key"}, max_event_bytes=LIMIT
        ) as ring:
            received = []
            with pytest.raises(ProviderResponseError) as caught:
                async for chunk in ring.chat_stream(request_for(recording)):
                    received.append(chunk.delta)
    error = caught.value
    assert error.partial is not None
    assert error.partial.content == "".join(received)
    return error


@pytest.mark.parametrize("route", ROUTES)
async def test_a_line_over_the_limit_is_refused_with_the_text_so_far(route: str) -> None:
    recording = text_recording(route)
    events = split_events(recording.body)
    before = events[: len(events) // 2]
    error = await stream_body(recording, [*before, oversized(route)])
    assert isinstance(error, ResponseTooLargeError) and error.limit == LIMIT
    assert f"over {LIMIT} bytes" in str(error)
    assert "max_event_bytes" in str(error)
    assert error.provider == recording.provider
    assert error.partial is not None and error.partial.content
    assert recording.expect["text"].startswith(error.partial.content)


@pytest.mark.parametrize("route", ROUTES)
async def test_a_gzip_bomb_counts_at_its_decompressed_size(route: str) -> None:
    recording = text_recording(route)
    body = gzip.compress(oversized(route) * 50)  # ~200 kB of one line in ~1 kB on the wire
    assert len(body) < LIMIT
    error = await stream_body(recording, [body], **{"content-encoding": "gzip"})
    assert f"over {LIMIT} bytes" in str(error)


@pytest.mark.parametrize("route", ["openai", "anthropic", "google"])
async def test_an_event_of_many_small_data_lines_is_bounded_too(route: str) -> None:
    recording = text_recording(route)
    lines = b"data: x\n" * LIMIT  # no blank line: one event that keeps growing
    error = await stream_body(recording, [lines])
    assert f"over {LIMIT} bytes" in str(error)


def test_the_limit_is_exact_and_counts_a_line_cut_across_reads() -> None:
    for decoder in (SSEDecoder(10), NDJSONDecoder(10)):
        # 10 bytes arrive in three reads, then the line end: accepted.
        for piece in (b"data:", b"1234", b"5"):
            assert decoder.feed(piece) == []
        decoder.feed(b"\n\n")
        assert decoder.feed(b"data:") == []
        with pytest.raises(ProviderResponseError, match="over 10 bytes"):
            decoder.feed(b"123456")  # the 11th byte of a line: refused at once


def test_a_long_line_arriving_whole_is_refused() -> None:
    with pytest.raises(ProviderResponseError):
        NDJSONDecoder(10).feed(b'{"a": "0123456789"}\n')
    with pytest.raises(ProviderResponseError):
        SSEDecoder(10).feed(b": a comment of more than ten bytes\n\n")


def test_a_long_legitimate_line_under_the_limit_is_decoded_whole() -> None:
    payload = b'{"image": "' + b"Q" * 100_000 + b'"}'
    sse, nd = SSEDecoder(200_000), NDJSONDecoder(200_000)
    pieces = [payload[i : i + 1000] for i in range(0, len(payload), 1000)]
    assert [out for p in [b"data: ", *pieces, b"\n\n"] for out in sse.feed(p)] == [payload.decode()]
    assert [out for p in [*pieces, b"\n"] for out in nd.feed(p)] == [payload.decode()]


@pytest.mark.parametrize(
    ("body", "lines"),
    [
        (b'{"a": 1}\n \n{"b": 2}\n', ['{"a": 1}', '{"b": 2}']),
        (b'{"a": 1}\r\n\t \r\n\n{"b": 2}\r\n', ['{"a": 1}', '{"b": 2}']),
        (b"   \n", []),
    ],
)
def test_ndjson_whitespace_only_lines_are_skipped(body: bytes, lines: list[str]) -> None:
    for cuts in ([body], [body[i : i + 1] for i in range(len(body))]):
        decoder = NDJSONDecoder()
        assert [line for piece in cuts for line in decoder.feed(piece)] + decoder.finish() == lines


async def test_an_ollama_stream_with_a_whitespace_line_completes() -> None:
    recording = text_recording("ollama")
    events = split_events(recording.body)
    body = b"".join([events[0], b"  \r\n", *events[1:]])
    with respx.mock:
        respx.post(url__regex=".*").mock(
            return_value=httpx.Response(200, headers=recording.headers, content=body)
        )
        async with LLMRing() as ring:
            chunks = [c async for c in ring.chat_stream(request_for(recording))]
    assert "".join(c.delta for c in chunks) == recording.expect["text"]
    assert chunks[-1].finish_reason == recording.expect["finish_reason"]


def test_event_sizes_are_counted_across_reads_and_reset_between_events() -> None:
    decoder = SSEDecoder(20)
    for _ in range(5):  # many events, each open across two reads, each under the limit
        assert decoder.feed(b"data: 0123456789\n") == []
        assert decoder.feed(b"\n") == ["0123456789"]
    assert decoder.feed(b"data: 0123456789\n") == []
    with pytest.raises(ProviderResponseError, match="over 20 bytes"):
        decoder.feed(b"data: 0123456789\n")  # the same event: 22 bytes with its LFs


@pytest.mark.parametrize("limit", [0, -1])
def test_max_event_bytes_must_be_positive(limit: int) -> None:
    with pytest.raises(
        ValueError, match=f"max_event_bytes must be a positive number of bytes, not {limit}"
    ):
        LLMRing(max_event_bytes=limit)
