"""A stream ends at its terminal event, whatever the server does afterwards.

Each provider's recording is served by a real loopback server that then keeps the connection
open (tests/loopback/). The final chunk must come at once, the connection must be given
back, and bytes after the terminal event ([DONE] after response.completed, comments,
keep-alives, junk) must not turn the complete answer into an error.
"""

from __future__ import annotations

import time

import anyio
import pytest

from llmring import LLMRequest, LLMRing, Message, StreamChunk
from llmring.providers.openai_responses.stream import OpenAIResponsesStreamParser
from llmring.testing import Recording, load_recording
from tests.conftest import RECORDINGS
from tests.expectations import response_summary
from tests.loopback import Reply, serve
from tests.replay_parse import payloads

pytestmark = pytest.mark.anyio

KEY = "sk-test-SECRET-0000"
TEXT = {
    "openai": "openai/text.sse",
    "openai-responses": "openai-responses/text.sse",
    "anthropic": "anthropic/text.sse",
    "google": "google/text.sse",
    "ollama": "ollama/text.ndjson",
}
#: What OpenAI-compatible servers and proxies send after the end: a Chat Completions [DONE]
#: (OpenRouter's Responses stream), an SSE comment, a keep-alive, an event no parser knows.
SSE_TRAILER = b'data: [DONE]\n\n: keep-alive\n\n\n\ndata: {"type":"late"}\n\n'
NDJSON_TRAILER = b'\n\n{"late": true}\n'


async def stream_from_hanging_server(
    recording: Recording, trailer: bytes = b""
) -> tuple[list[StreamChunk], float, bool]:
    """The chunks, the seconds from the first chunk to the end of the stream, and whether
    the server saw the connection closed."""
    provider = recording.provider
    body = recording.body + trailer
    reply = Reply(body=[body], content_type=recording.headers["content-type"], hang=True)
    async with serve(reply) as server:
        request = LLMRequest(
            model=f"{provider}:{recording.model}", messages=[Message(role="user", content="hi")]
        )
        # A long read timeout: without the early end this would wait for it and fail.
        async with LLMRing(
            api_keys={provider: KEY}, base_urls={provider: server.url}, timeout=30
        ) as service:
            chunks: list[StreamChunk] = []
            first: float | None = None
            with anyio.fail_after(5):
                async for chunk in service.chat_stream(request):
                    first = first if first is not None else time.perf_counter()
                    chunks.append(chunk)
                assert first is not None
                elapsed = time.perf_counter() - first
                with anyio.move_on_after(1):
                    await server.client_gone.wait()
            return chunks, elapsed, server.client_gone.is_set()


@pytest.mark.parametrize("name", sorted(TEXT))
async def test_final_chunk_comes_without_waiting_for_the_server_to_close(name: str) -> None:
    recording = load_recording(RECORDINGS / TEXT[name])
    chunks, elapsed, released = await stream_from_hanging_server(recording)
    final = chunks[-1]
    assert final.response is not None
    assert response_summary(final.response) == recording.expect
    assert [c for c in chunks if c.finish_reason is not None] == [final]
    assert elapsed < 0.1
    assert released


@pytest.mark.parametrize("name", sorted(TEXT))
async def test_bytes_after_the_terminal_event_are_not_an_error(name: str) -> None:
    recording = load_recording(RECORDINGS / TEXT[name])
    trailer = NDJSON_TRAILER if recording.path.suffix == ".ndjson" else SSE_TRAILER
    chunks, _, released = await stream_from_hanging_server(recording, trailer)
    assert chunks[-1].response is not None
    assert response_summary(chunks[-1].response) == recording.expect
    assert released


def test_a_responses_parser_takes_done_after_the_end() -> None:
    recording = load_recording(RECORDINGS / TEXT["openai-responses"])
    parser = OpenAIResponsesStreamParser("m")
    chunks = [chunk for payload in payloads(recording) for chunk in parser.feed(payload)]
    assert parser.feed("[DONE]") == []
    assert parser.finish() == []
    assert chunks[-1].finish_reason == "stop"
