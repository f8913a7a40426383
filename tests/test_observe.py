"""Every call observable: typed events through ``on_event``, the ``llmring`` logger, timing
from three clock reads per stream, and no key or text in any of it."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path

import pytest

from llmring import LLMRequest, LLMRing, Message, StreamChunk, _observe
from llmring.events import (
    Event,
    Fallback,
    FirstChunk,
    RequestFailed,
    RequestFinished,
    RequestStarted,
)
from llmring.exceptions import ProviderAuthenticationError, ProviderConnectionError
from llmring.testing import load_recording
from tests.conftest import RECORDINGS
from tests.loopback import Reply, serve, streamed

pytestmark = pytest.mark.anyio

KEY = "sk-test-observe-0123456789"
PROMPT = "What is the secret word?"
TEXT = load_recording(RECORDINGS / "openai" / "text.sse")
REQUEST = LLMRequest(model="openai:gpt-4o-mini", messages=[Message(role="user", content=PROMPT)])


@pytest.fixture
def openai_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    yield monkeypatch


def kinds(events: list[Event]) -> list[str]:
    return [type(event).__name__ for event in events]


async def test_a_stream_reports_start_first_chunk_and_finish(
    openai_env: pytest.MonkeyPatch,
) -> None:
    events: list[Event] = []
    async with serve(streamed(TEXT.body)) as server:
        openai_env.setenv("OPENAI_BASE_URL", server.url)
        async with LLMRing(on_event=events.append) as ring:
            chunks = [chunk async for chunk in ring.chat_stream(REQUEST)]
    assert kinds(events) == ["RequestStarted", "FirstChunk", "RequestFinished"]
    started, first, finished = events
    assert isinstance(started, RequestStarted) and isinstance(first, FirstChunk)
    assert isinstance(finished, RequestFinished)
    assert started == RequestStarted(
        started.call_id, "openai", "gpt-4o-mini", f"{server.url}/chat/completions", True, 1
    )
    assert first.call_id == finished.call_id == started.call_id
    final = chunks[-1]
    assert final.timing is not None and final.usage is not None
    assert finished == RequestFinished(
        started.call_id,
        "openai",
        "gpt-4o-mini",
        True,
        "chatcmpl-Bx7TqL2mN9vK4pR1sW8yZ3aD6fG0h",
        "gpt-4o-mini-2024-07-18",
        "stop",
        final.usage,
        final.timing,
    )
    timing = final.timing
    assert timing.time_to_first_chunk == first.time_to_first_chunk
    assert 0 < timing.time_to_first_chunk <= timing.duration
    assert timing.chunks == len(chunks) == 10
    assert timing.output_tokens_per_second == pytest.approx(
        final.usage.completion_tokens / (timing.duration - timing.time_to_first_chunk)
    )


async def test_timing_costs_three_clock_reads_per_stream(
    openai_env: pytest.MonkeyPatch,
) -> None:
    reads: list[float] = []

    def clock() -> float:
        reads.append(float(len(reads)))
        return reads[-1]

    openai_env.setattr(_observe, "_clock", clock)
    async with serve(streamed(TEXT.body)) as server:
        openai_env.setenv("OPENAI_BASE_URL", server.url)
        async with LLMRing() as ring:
            chunks = [chunk async for chunk in ring.chat_stream(REQUEST)]
    assert len(reads) == 3  # start, first chunk, end: none for the 8 chunks between
    assert chunks[-1].timing is not None
    assert (chunks[-1].timing.time_to_first_chunk, chunks[-1].timing.duration) == (1.0, 2.0)


async def test_a_stream_cut_after_its_first_chunks_keeps_its_timing_on_partial(
    openai_env: pytest.MonkeyPatch,
) -> None:
    """A service can log the time to first chunk of a stream that then died: the error's
    ``partial`` carries the attempt's timing, from one clock read on the failure path."""
    reads: list[float] = []

    def clock() -> float:
        reads.append(time.perf_counter())
        return reads[-1]

    openai_env.setattr(_observe, "_clock", clock)
    events = streamed(TEXT.body).pieces[:-3]  # the text deltas; no finish, usage or [DONE]
    assert len(events) >= 6
    # 0.2 s before the headers, two events, 0.1 s, the rest; then the connection breaks.
    cut = Reply(
        delay=0.2, body=[*events[:2], 0.1, *events[2:]], cut=True, content_type="text/event-stream"
    )
    received: list[StreamChunk] = []
    async with serve(cut) as server:
        openai_env.setenv("OPENAI_BASE_URL", server.url)
        async with LLMRing(max_retries=0) as ring:
            with pytest.raises(ProviderConnectionError) as caught:
                async with aclosing(ring.chat_stream(REQUEST)) as chunks:
                    async for chunk in chunks:
                        received.append(chunk)
    partial = caught.value.partial
    assert partial is not None and partial.timing is not None
    text = "".join(chunk.delta for chunk in received)
    assert partial.content == text == "Hello! How can I help you today?"
    timing = partial.timing
    assert timing.chunks == len(received) == 9
    assert timing.time_to_first_chunk is not None and timing.time_to_first_chunk >= 0.2
    assert timing.duration - timing.time_to_first_chunk >= 0.1
    assert timing.output_tokens_per_second is None  # no usage arrived to count tokens by
    # start, first chunk, the partial's timing, the failure's duration: none per chunk.
    assert len(reads) == 4


async def test_chat_reports_start_and_finish_with_timing(openai_env: pytest.MonkeyPatch) -> None:
    events: list[Event] = []
    body = load_recording(RECORDINGS / "openai" / "complete-tool-call.json").body
    async with serve(streamed(body, "application/json")) as server:
        openai_env.setenv("OPENAI_BASE_URL", server.url)
        async with LLMRing(on_event=events.append) as ring:
            response = await ring.chat(REQUEST)
    assert kinds(events) == ["RequestStarted", "RequestFinished"]
    assert isinstance(events[1], RequestFinished) and events[1].timing == response.timing
    assert response.timing is not None
    assert (response.timing.time_to_first_chunk, response.timing.chunks) == (None, 0)


async def test_a_failure_and_a_fallback_are_reported(
    openai_env: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[Event] = []
    refused = (
        b'{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}'
    )
    lockfile = tmp_path / "llmring.lock"
    lockfile.write_text(
        '[[profiles.default.bindings]]\nalias = "a"\nmodels = ["openai:gpt-4o", "vllm:qwen"]\n'
    )
    caplog.set_level(logging.DEBUG, logger="llmring")
    async with (
        serve(streamed(refused, "application/json", status=401)) as openai,
        serve(streamed(TEXT.body)) as vllm,
    ):
        openai_env.setenv("OPENAI_BASE_URL", openai.url)
        openai_env.setenv("VLLM_BASE_URL", vllm.url)
        async with LLMRing(lockfile_path=lockfile, on_event=events.append) as ring:
            chunks = [
                chunk async for chunk in ring.chat_stream(REQUEST.model_copy(update={"model": "a"}))
            ]
    assert kinds(events) == [
        "RequestStarted",
        "RequestFailed",
        "Fallback",
        "RequestStarted",
        "FirstChunk",
        "RequestFinished",
    ]
    failed, fallback = events[1], events[2]
    assert isinstance(failed, RequestFailed) and isinstance(fallback, Fallback)
    assert isinstance(failed.error, ProviderAuthenticationError) and not failed.cancelled
    assert (fallback.failed, fallback.next, fallback.error) == (
        "openai:gpt-4o",
        "vllm:qwen",
        failed.error,
    )
    assert chunks[-1].model == "vllm:qwen"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "falling back from openai:gpt-4o to vllm:qwen for 'a': openai:gpt-4o (HTTP 401): "
        "Incorrect API key provided [invalid_request_error]"
    ]


async def test_stopping_early_reports_a_cancelled_attempt(openai_env: pytest.MonkeyPatch) -> None:
    events: list[Event] = []
    async with serve(streamed(TEXT.body)) as server:
        openai_env.setenv("OPENAI_BASE_URL", server.url)
        async with (
            LLMRing(on_event=events.append) as ring,
            aclosing(ring.chat_stream(REQUEST)) as chunks,
        ):
            async for _ in chunks:
                break
    assert kinds(events) == ["RequestStarted", "FirstChunk", "RequestFailed"]
    assert isinstance(events[-1], RequestFailed) and events[-1].cancelled
    assert isinstance(events[-1].error, GeneratorExit)


async def test_a_hook_that_raises_breaks_nothing(
    openai_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def hook(event: Event) -> None:
        raise RuntimeError("metrics backend down")

    async with serve(streamed(TEXT.body)) as server:
        openai_env.setenv("OPENAI_BASE_URL", server.url)
        async with LLMRing(on_event=hook) as ring:
            chunks = [chunk async for chunk in ring.chat_stream(REQUEST)]
    assert "".join(c.delta for c in chunks) == TEXT.expect["text"]
    assert [r.getMessage() for r in caplog.records] == [
        f"llmring on_event hook raised on {name}"
        for name in ("RequestStarted", "FirstChunk", "RequestFinished")
    ]


@pytest.mark.parametrize("log_content", [False, True])
async def test_debug_lines_carry_no_key_and_text_only_when_asked(
    log_content: bool, openai_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if log_content:
        openai_env.setenv("LLMRING_LOG_CONTENT", "1")
    caplog.set_level(logging.DEBUG, logger="llmring")
    async with serve(streamed(TEXT.body)) as server:
        openai_env.setenv("OPENAI_BASE_URL", server.url)
        async with LLMRing() as ring:
            [chunk async for chunk in ring.chat_stream(REQUEST)]
    lines = [r.getMessage() for r in caplog.records if r.name == "llmring"]
    assert lines[0] == (
        f"request start: openai:gpt-4o-mini stream=True attempt=1 url={server.url}/chat/completions"
    )
    assert lines[-1].startswith(
        "request end: openai:gpt-4o-mini status=ok finish_reason=stop "
        "response_id=chatcmpl-Bx7TqL2mN9vK4pR1sW8yZ3aD6fG0h served_model=gpt-4o-mini-2024-07-18 "
        "ttfc="
    )
    assert lines[-1].endswith(" chunks=10 tokens/s=" + lines[-1].rsplit("tokens/s=", 1)[1])
    everything = "\n".join(lines)
    assert KEY not in everything
    assert (PROMPT in everything) is log_content
    assert (TEXT.expect["text"] in everything) is log_content
    assert len(lines) == (4 if log_content else 2)


def test_a_retry_is_a_warning_and_an_event(caplog: pytest.LogCaptureFixture) -> None:
    """The retry loop (llmring/retry.py) reports through ``Observer.retry``."""
    from llmring.events import Retry
    from llmring.exceptions import ProviderRateLimitError

    events: list[Event] = []
    error = ProviderRateLimitError("slow down", provider="groq", model="llama", status_code=429)
    _observe.Observer(events.append).retry("groq", "llama", 1, 0.5, error, call_id=7)
    assert events == [Retry(7, "groq", "llama", 1, 0.5, error)]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            "retrying groq:llama after attempt 1 in 0.50s: groq:llama (HTTP 429): slow down",
        )
    ]
