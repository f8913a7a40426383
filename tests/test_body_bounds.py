"""Whole bodies are bounded too: a ``chat()`` answer by ``LLMRing(max_response_bytes=...)``,
an error body at 1 MiB, the excerpt of a body of the wrong content type at 500 bytes.

Against real loopback servers on asyncio and trio: the server keeps the response open after
the body, so only the client closing the connection ends it, and the test sees that it did.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from llmring import LLMRequest, LLMRing, Message
from llmring._transport import MAX_ERROR_BODY_BYTES
from llmring.exceptions import ProviderOverloadedError, ProviderResponseError, ResponseTooLargeError
from tests.loopback import Reply, serve

pytestmark = pytest.mark.anyio

REQUEST = LLMRequest(model="ollama:llama3.2", messages=[Message(role="user", content="hi")])
CHAT = "/api/chat"
BLOCK = b"A" * 65536
#: A done line: what a "stream": false answer from Ollama is.
DONE = b'{"model": "llama3.2", "message": {"content": "Hi"}, "done": true, "done_reason": "stop"}'


def ring(url: str, **kwargs: object) -> LLMRing:
    return LLMRing(base_urls={"ollama": url}, max_retries=0, **kwargs)  # type: ignore[arg-type]


def endless(head: bytes, blocks: int, *, status: int = 200, content_type: str = "") -> Reply:
    """``head``, then ``blocks`` 64 KiB blocks, then the response held open."""
    return Reply(
        status=status,
        body=[head, *[BLOCK] * blocks],
        hang=True,
        content_type=content_type or "application/json",
    )


async def test_a_chat_body_over_max_response_bytes_is_refused_and_its_connection_closed() -> None:
    big = endless(b'{"model": "llama3.2", "message": {"content": "', 64)  # 4 MiB, then open
    async with serve({CHAT: [big]}) as server, ring(server.url, max_response_bytes=MB) as r:
        with anyio.fail_after(5):  # the response never ends: only the bound stops the read
            with pytest.raises(ResponseTooLargeError) as caught:
                await r.chat(REQUEST)
        with anyio.fail_after(5):
            await server.requests[0].left.wait()
    error = caught.value
    assert (error.limit, error.status_code, error.provider) == (MB, 200, "ollama")
    assert str(error) == (
        f"ollama:llama3.2 (HTTP 200): the response body is over {MB} bytes; refused (raise "
        "LLMRing(max_response_bytes=...) if the provider really sends answers that large)"
    )
    assert error.body_excerpt is not None and len(error.body_excerpt) == 500
    assert server.requests[0].client_left


async def test_a_chat_body_within_max_response_bytes_is_read() -> None:
    answer = Reply(body=[DONE[:40], DONE[40:]], content_type="application/json")
    async with (
        serve({CHAT: [answer]}) as server,
        ring(server.url, max_response_bytes=len(DONE)) as r,
    ):
        response = await r.chat(REQUEST)
    assert (response.content, response.finish_reason) == ("Hi", "stop")


async def test_an_error_body_is_read_up_to_1_mib_and_raised_as_its_status() -> None:
    page = b'{"error": "overloaded, and then some: '
    down = endless(page, MAX_ERROR_BODY_BYTES // len(BLOCK) + 4, status=503)
    async with serve({CHAT: [down]}) as server, ring(server.url) as r:
        with anyio.fail_after(5):
            with pytest.raises(ProviderOverloadedError) as caught:
                await r.chat(REQUEST)
        with anyio.fail_after(5):
            await server.requests[0].left.wait()
    error = caught.value  # still a 503: retryable, a fallback's cue, whatever its size
    assert error.status_code == 503
    assert str(error).endswith(
        f"(the error body was cut at {MAX_ERROR_BODY_BYTES} bytes, the rest unread)"
    )
    assert error.body_excerpt == (page + BLOCK)[:500].decode()
    assert server.requests[0].client_left


async def test_a_streamed_call_bounds_its_error_body_too() -> None:
    down = endless(
        b"<html><title>502 Bad Gateway</title>", 40, status=502, content_type="text/html"
    )
    async with serve({CHAT: [down]}) as server, ring(server.url) as r:
        with anyio.fail_after(5):
            with pytest.raises(ProviderOverloadedError) as caught:
                async for _ in r.chat_stream(REQUEST):
                    pass
        with anyio.fail_after(5):
            await server.requests[0].left.wait()
    assert str(caught.value) == (
        "ollama:llama3.2 (HTTP 502): the server answered with an HTML page: 502 Bad Gateway "
        f"(the error body was cut at {MAX_ERROR_BODY_BYTES} bytes, the rest unread)"
    )
    assert server.requests[0].client_left


async def test_a_stream_of_the_wrong_content_type_shows_500_bytes_of_it() -> None:
    wrong = endless(b"<html>not a stream", 40, content_type="text/html")
    request = REQUEST.model_copy(update={"model": "openai:gpt-4o-mini"})
    async with serve({"/chat/completions": [wrong]}) as server:
        async with LLMRing(
            api_keys={"openai": "sk-test"}, base_urls={"openai": server.url}, max_retries=0
        ) as r:
            with anyio.fail_after(5):
                with pytest.raises(ProviderResponseError) as caught:
                    async for _ in r.chat_stream(request):
                        pass
        with anyio.fail_after(5):
            await server.requests[0].left.wait()
    assert caught.value.body_excerpt == (b"<html>not a stream" + BLOCK)[:500].decode()
    assert server.requests[0].client_left


class _CountedBody(httpx.AsyncByteStream):
    """A body that counts the bytes it handed over."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            self.sent += len(piece)
            yield piece


async def test_a_declared_content_length_over_the_bound_is_refused_unread() -> None:
    body = _CountedBody([BLOCK] * 4)
    headers = {"content-type": "application/json", "content-length": str(4 * len(BLOCK))}
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(200, headers=headers, stream=body))
    )
    async with client, LLMRing(http_client=client, max_response_bytes=len(BLOCK)) as r:
        with pytest.raises(ResponseTooLargeError) as caught:
            await r.chat(REQUEST)
    assert caught.value.limit == len(BLOCK)
    assert body.sent == 0


async def test_a_compressed_chat_body_counts_at_its_decompressed_size() -> None:
    line = json.dumps({"message": {"content": "A" * MB}, "done": True}).encode()
    packed = gzip.compress(line)  # about 1 KiB on the wire
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(
            lambda _: httpx.Response(200, headers=headers, content=packed)
        )
    )
    async with client, LLMRing(http_client=client, max_response_bytes=MB) as r:
        with pytest.raises(ResponseTooLargeError):
            await r.chat(REQUEST)
    assert len(packed) < 10_000


@pytest.mark.parametrize("limit", [0, -1])
def test_max_response_bytes_must_be_positive(limit: int) -> None:
    with pytest.raises(
        ValueError, match=f"max_response_bytes must be a positive number of bytes, not {limit}"
    ):
        LLMRing(max_response_bytes=limit)


MB = 1024 * 1024
