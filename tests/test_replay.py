"""Every recording in recordings/, replayed through respx and the whole LLMRing stack.

Each recording's sidecar says what it must produce; this runs it as an application would,
on asyncio and trio, as one body and cut at every event boundary.
"""

from __future__ import annotations

import json
import random
from contextlib import aclosing

import httpx
import pytest
import respx

from llmring import LLMRequest, LLMRing, Message, StreamChunk
from llmring import exceptions as errors
from llmring.schemas import LLMResponse
from llmring.testing import Recording, iter_recordings, mock_recording, rechunk, split_events
from tests.conftest import RECORDINGS
from tests.expectations import expected, partial_without_timing, summary, without_timing

pytestmark = pytest.mark.anyio

ALL = list(iter_recordings(RECORDINGS))
STREAMS = [r for r in ALL if r.is_stream]
COMPLETE = [r for r in ALL if r.status < 400 and r.path.suffix == ".json"]
HTTP_ERRORS = [r for r in ALL if r.status >= 400]


def ids(recordings: list[Recording]) -> list[str]:
    return [f"{r.provider}/{r.path.name}" for r in recordings]


def request_for(recording: Recording) -> LLMRequest:
    return LLMRequest(
        model=f"{recording.provider}:{recording.model}",
        messages=[Message(role="user", content="hi")],
    )


KEY = "sk-test-SECRET-0000"


def service_for(recording: Recording) -> LLMRing:
    return LLMRing(api_keys={recording.provider: KEY}, max_retries=0)  # one answer per recording


async def collect(recording: Recording, chunks: list[bytes] | None = None) -> list[StreamChunk]:
    with respx.mock:
        mock_recording(respx, recording, chunks=chunks, url__regex=r".*")
        async with service_for(recording) as service:
            chunks = [c async for c in service.chat_stream(request_for(recording))]
    return without_timing(chunks)


def assembled(chunks: list[StreamChunk]) -> LLMResponse:
    final = chunks[-1]
    return LLMResponse(
        content="".join(c.delta for c in chunks),
        model=final.model,
        reasoning="".join(c.reasoning or "" for c in chunks) or None,
        finish_reason=final.finish_reason,
        raw_finish_reason=final.raw_finish_reason,
        usage=final.usage,
        tool_calls=final.tool_calls,
        response_id=final.response_id,
        served_model=final.served_model,
        attempts=final.attempts,
    )


def test_there_are_recordings_for_every_provider() -> None:
    assert {r.provider for r in ALL} >= {"openai", "anthropic", "google", "ollama"}


@pytest.mark.parametrize("recording", STREAMS, ids=ids(STREAMS))
async def test_stream_replay(recording: Recording) -> None:
    expect = recording.expect
    if "error" in expect:
        error_class = getattr(errors, expect["error"])
        with pytest.raises(error_class) as caught:
            await collect(recording)
        assert caught.value.partial is not None
        assert caught.value.partial.content == expect["partial_text"]
        assert caught.value.provider == recording.provider
        return
    chunks = await collect(recording)
    assert {c.model for c in chunks} == {f"{recording.provider}:{recording.model}"}
    assert summary(assembled(chunks), expect) == expected(expect)


@pytest.mark.parametrize("recording", STREAMS, ids=ids(STREAMS))
async def test_stream_replay_event_by_event_and_rechunked(recording: Recording) -> None:
    """The same chunks whether the body arrives whole, per event, or cut at random."""
    cuts = random.Random(recording.path.name).sample(range(1, len(recording.body)), 12)
    outcomes = []
    for pieces in (None, split_events(recording.body), rechunk(recording.body, cuts)):
        try:
            outcomes.append(await collect(recording, pieces))
        except errors.ProviderError as error:
            outcomes.append([type(error), partial_without_timing(error.partial)])  # type: ignore[list-item]
    assert outcomes[1] == outcomes[0]
    assert outcomes[2] == outcomes[0]


@pytest.mark.parametrize("recording", COMPLETE, ids=ids(COMPLETE))
async def test_complete_replay(recording: Recording) -> None:
    with respx.mock:
        mock_recording(respx, recording, url__regex=r".*")
        async with service_for(recording) as service:
            response = await service.chat(request_for(recording))
    assert response.model == f"{recording.provider}:{recording.model}"
    assert summary(response, recording.expect) == expected(recording.expect)


@pytest.mark.parametrize("recording", HTTP_ERRORS, ids=ids(HTTP_ERRORS))
async def test_http_error_replay(recording: Recording) -> None:
    expect = recording.expect
    error_class = getattr(errors, expect["error"])
    with respx.mock:
        mock_recording(respx, recording, url__regex=r".*")
        async with service_for(recording) as service:
            with pytest.raises(error_class) as streamed:
                async with aclosing(service.chat_stream(request_for(recording))) as chunks:
                    async for _ in chunks:
                        pass
            with pytest.raises(error_class) as completed:
                await service.chat(request_for(recording))
    for caught in (streamed, completed):
        error = caught.value
        assert expect["message_contains"] in str(error)
        assert error.status_code == recording.status
        assert error.provider == recording.provider
        shown = [
            str(error),
            repr(error),
            error.body_excerpt or "",
            *getattr(error, "__notes__", []),
        ]
        assert [text for text in shown if KEY in text] == []
        if "retry_after" in expect:
            assert error.retry_after == expect["retry_after"]


@pytest.mark.parametrize("recording", HTTP_ERRORS[:1], ids=ids(HTTP_ERRORS[:1]))
async def test_each_call_gets_a_fresh_replay(recording: Recording) -> None:
    """Streams are single-use; a route must answer twice (fallback and retries call twice)."""
    with respx.mock:
        route = mock_recording(respx, recording, url__regex=r".*")
        async with service_for(recording) as service:
            for _ in range(2):
                with pytest.raises(errors.ProviderError):
                    await service.chat(request_for(recording))
    assert route.call_count == 2
    assert isinstance(route.calls[0].response, httpx.Response)


PAIRS = [r for r in COMPLETE if r.pair]


def test_every_provider_has_paired_recordings() -> None:
    assert {r.provider for r in PAIRS} >= {"openai", "anthropic", "google", "ollama"}


@pytest.mark.parametrize("recording", PAIRS, ids=ids(PAIRS))
async def test_chat_and_the_assembled_stream_agree(recording: Recording) -> None:
    """A non-streaming body and its streamed twin (same answer) give the same response."""
    twin = next(
        r for r in STREAMS if r.provider == recording.provider and r.path.name == recording.pair
    )
    with respx.mock:
        mock_recording(respx, recording, url__regex=r".*")
        async with service_for(recording) as service:
            response = await service.chat(request_for(recording))
    chunks = await collect(twin)
    streamed = chunks[-1].response
    assert streamed is not None
    # the final chunk's response is what the chunks add up to, plus the continuation state
    assert streamed.model_copy(update={"continuation": None}) == assembled(chunks)

    def comparable(r: LLMResponse) -> dict[str, object]:
        # Streamed arguments keep the provider's own JSON spacing; compare them as JSON.
        calls = [
            (c.id, c.function.name, json.loads(c.function.arguments)) for c in r.tool_calls or []
        ]
        usage = r.usage.model_dump(exclude={"raw"}) if r.usage else None
        return {
            # The two bodies are separate responses: their ids differ, their timing too.
            **r.model_dump(
                exclude={"usage", "model", "tool_calls", "response_id", "served_model", "timing"}
            ),
            "usage": usage,
            "calls": calls,
        }

    assert comparable(response) == comparable(streamed)
