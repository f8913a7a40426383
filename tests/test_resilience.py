"""Retries, deadlines and hedging, proven against real loopback servers on asyncio and trio.

Timing assertions are loose bounds (a loaded machine is slow, never fast): a wait that must
happen is checked from below, a thing that must happen "at once" from above.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path

import anyio
import httpx
import pytest
import respx

from llmring import LLMRequest, LLMRing, Message, StreamChunk, Timeout
from llmring.exceptions import (
    AllModelsFailedError,
    LockfileParseError,
    ProviderBadRequestError,
    ProviderOverloadedError,
    ProviderRateLimitError,
    ProviderTimeoutError,
)
from llmring.providers import _CLASSES as REGISTRY
from llmring.providers import register_provider
from llmring.testing import load_recording
from tests.conftest import RECORDINGS
from tests.fakes import FakeProvider, ndjson
from tests.loopback import Reply, serve

pytestmark = pytest.mark.anyio
KEY = "sk-fake-SECRET-0123456789"
BODY = [ndjson({"t": "Hel"}), ndjson({"t": "lo"}), ndjson({"done": "stop"})]
OK = Reply(body=BODY)
M1, M2 = "/m1/stream", "/m2/stream"


@pytest.fixture(autouse=True)
def fake_provider() -> Iterator[None]:
    register_provider("fake", FakeProvider)
    yield
    REGISTRY.pop("fake", None)


def request(model: str = "fake:m1", **kwargs: object) -> LLMRequest:
    return LLMRequest(model=model, messages=[Message(role="user", content="hi")], **kwargs)  # type: ignore[arg-type]


def ring(url: str, **kwargs: object) -> LLMRing:
    return LLMRing(api_keys={"fake": KEY}, base_urls={"fake": url}, **kwargs)  # type: ignore[arg-type]


def alias_ring(url: str, tmp_path: Path, hedge_after: float | None = None, **kw: object) -> LLMRing:
    hedge = f"hedge_after = {hedge_after}\n" if hedge_after is not None else ""
    path = tmp_path / "llmring.lock"
    path.write_text(
        'version = "1.0"\ndefault_profile = "default"\n[profiles.default]\nname = "default"\n'
        f'[[profiles.default.bindings]]\nalias = "chat"\nmodels = ["fake:m1", "fake:m2"]\n{hedge}'
    )
    return ring(url, lockfile_path=path, **kw)


async def collect(service: LLMRing, req: LLMRequest) -> list[StreamChunk]:
    async with aclosing(service.chat_stream(req)) as chunks:
        return [chunk async for chunk in chunks]


def text(chunks: list[StreamChunk]) -> str:
    return "".join(chunk.delta for chunk in chunks)


def outcomes(chunk: StreamChunk) -> list[tuple[str, str]]:
    assert chunk.attempts is not None
    return [(a.model, a.outcome) for a in chunk.attempts]


# --- retries ------------------------------------------------------------------------------


async def test_429_with_retry_after_is_retried_once_after_that_wait() -> None:
    limited = Reply(429, {"retry-after": "1"}, [b'{"error": "slow down"}'])
    async with serve({M1: [limited, OK]}) as server, ring(server.url) as service:
        began = anyio.current_time()
        chunks = await collect(service, request())
        waited = anyio.current_time() - began
    assert text(chunks) == "Hello"
    assert server.count(M1) == 2
    assert 0.95 <= waited < 3.0
    assert outcomes(chunks[-1]) == [("fake:m1", "failed"), ("fake:m1", "served")]
    assert chunks[-1].attempts is not None and chunks[-1].attempts[1].waited == 1.0


async def test_503_503_200_backs_off_then_serves() -> None:
    down = Reply(503, body=[b'{"error": "unavailable"}'])
    async with serve({M1: [down, down, OK]}) as server, ring(server.url) as service:
        began = anyio.current_time()
        chunks = await collect(service, request())
        waited = anyio.current_time() - began
    assert text(chunks) == "Hello"
    assert server.count(M1) == 3
    assert 0.5 * 0.75 + 1.0 * 0.75 <= waited < 4.0  # 0.5 s then 1 s, less up to 25% jitter
    assert [a.error is not None for a in chunks[-1].attempts or []] == [True, True, False]


async def test_chat_retries_too_and_reports_its_attempts() -> None:
    down = Reply(503, {"retry-after-ms": "20"}, [b'{"error": "unavailable"}'])
    complete = Reply(body=[b"".join(BODY)])
    async with (
        serve({"/m1/complete": [down, complete]}) as server,
        ring(server.url) as service,
    ):
        response = await service.chat(request())
    assert response.content == "Hello"
    assert [(a.model, a.outcome) for a in response.attempts or []] == [
        ("fake:m1", "failed"),
        ("fake:m1", "served"),
    ]


@pytest.mark.parametrize("status", [400, 401, 404, 422])
async def test_client_errors_are_never_retried(status: int) -> None:
    refused = Reply(status, body=[b'{"error": "no"}'])
    async with serve({M1: [refused, OK]}) as server, ring(server.url) as service:
        with pytest.raises(Exception) as caught:
            await collect(service, request())
    assert getattr(caught.value, "status_code", None) == status
    assert server.count(M1) == 1


async def test_x_should_retry_false_stops_a_retry() -> None:
    down = Reply(503, {"x-should-retry": "false"}, [b'{"error": "down"}'])
    async with serve({M1: [down, OK]}) as server, ring(server.url) as service:
        with pytest.raises(ProviderOverloadedError):
            await collect(service, request())
    assert server.count(M1) == 1


async def test_an_error_after_the_first_chunk_is_not_retried() -> None:
    broken = Reply(
        body=[ndjson({"t": "Hel"}), 0.05, ndjson({"error": "overloaded", "status": 529})]
    )
    async with serve({M1: [broken, OK]}) as server, ring(server.url) as service:
        received = []
        with pytest.raises(ProviderOverloadedError) as caught:
            async with aclosing(service.chat_stream(request())) as chunks:
                async for chunk in chunks:
                    received.append(chunk.delta)
    assert received == ["Hel"]
    assert caught.value.partial is not None and caught.value.partial.content == "Hel"
    assert server.count(M1) == 1


async def test_a_wait_beyond_the_cap_moves_the_alias_on_at_once(tmp_path: Path) -> None:
    limited = Reply(429, {"retry-after": "120"}, [b'{"error": "quota"}'])
    async with (
        serve({M1: [limited], M2: [OK]}) as server,
        alias_ring(server.url, tmp_path, max_retry_wait=60.0) as service,
    ):
        began = anyio.current_time()
        chunks = await collect(service, request("chat"))
        elapsed = anyio.current_time() - began
    assert (text(chunks), chunks[-1].model) == ("Hello", "fake:m2")
    assert elapsed < 1.0
    assert outcomes(chunks[-1]) == [("fake:m1", "failed"), ("fake:m2", "served")]


async def test_every_model_gets_its_retries_and_every_attempt_is_kept(tmp_path: Path) -> None:
    down = Reply(503, {"retry-after-ms": "10"}, [b'{"error": "down"}'])
    async with (
        serve({M1: [down], M2: [down]}) as server,
        alias_ring(server.url, tmp_path, max_retries=1) as service,
    ):
        with pytest.raises(AllModelsFailedError) as caught:
            await collect(service, request("chat"))
    assert [(model, type(e)) for model, e in caught.value.attempts] == [
        ("fake:m1", ProviderOverloadedError),
        ("fake:m1", ProviderOverloadedError),
        ("fake:m2", ProviderOverloadedError),
        ("fake:m2", ProviderOverloadedError),
    ]
    assert (server.count(M1), server.count(M2)) == (2, 2)


async def test_max_retries_per_request_overrides_the_ring() -> None:
    down = Reply(503, {"retry-after-ms": "10"}, [b'{"error": "down"}'])
    async with serve({M1: [down, OK]}) as server, ring(server.url) as service:
        with pytest.raises(ProviderOverloadedError):
            await collect(service, request(max_retries=0))
    assert server.count(M1) == 1


# --- deadlines ----------------------------------------------------------------------------


@respx.mock
async def test_a_connect_timeout_says_its_phase_and_is_retried() -> None:
    route = respx.post("http://fake.test/m1/stream").mock(side_effect=httpx.ConnectTimeout("slow"))
    async with LLMRing(api_keys={"fake": KEY}, max_retries=1) as service:
        with pytest.raises(ProviderTimeoutError) as caught:
            await collect(service, request())
    assert (caught.value.phase, route.call_count) == ("connect", 2)


async def test_first_token_counts_from_the_request_not_the_headers() -> None:
    silent = Reply(body=[5.0, *BODY])  # headers at once, then nothing
    timeout = Timeout(first_token=0.4, idle=10)
    async with serve({M1: [silent]}) as server, ring(server.url) as service:
        began = anyio.current_time()
        with pytest.raises(ProviderTimeoutError) as caught:
            await collect(service, request(timeout=timeout, max_retries=0))
        elapsed = anyio.current_time() - began
        with anyio.fail_after(2):
            await server.requests[0].left.wait()  # the connection was closed, not left open
    assert caught.value.phase == "first_token"
    assert caught.value.partial is not None and caught.value.partial.content == ""
    assert 0.4 <= elapsed < 2.0


async def test_a_first_token_timeout_is_retried() -> None:
    stalled = Reply(delay=5.0, body=BODY)
    async with serve({M1: [stalled, OK]}) as server, ring(server.url) as service:
        chunks = await collect(service, request(timeout=Timeout(first_token=0.3)))
    assert text(chunks) == "Hello"
    assert outcomes(chunks[-1]) == [("fake:m1", "failed"), ("fake:m1", "served")]


async def test_idle_after_output_raises_with_the_partial_and_is_not_retried() -> None:
    stalls = Reply(body=[BODY[0], 5.0, *BODY[1:]])
    async with serve({M1: [stalls, OK]}) as server, ring(server.url) as service:
        with pytest.raises(ProviderTimeoutError) as caught:
            await collect(service, request(timeout=Timeout(idle=0.3)))
    assert caught.value.phase == "idle"
    assert caught.value.partial is not None and caught.value.partial.content == "Hel"
    assert server.count(M1) == 1


async def test_a_trickle_of_one_byte_every_half_second_ends_at_total() -> None:
    line = ndjson({"t": "x"})
    trickle: list[bytes | float] = [line]
    for _ in range(40):
        trickle += [0.5, line[:1]]
    async with serve({M1: [Reply(body=trickle)]}) as server, ring(server.url) as service:
        began = anyio.current_time()
        with pytest.raises(ProviderTimeoutError) as caught:
            await collect(service, request(timeout=Timeout(idle=2.0, total=1.2)))
        elapsed = anyio.current_time() - began
        with anyio.fail_after(2):
            await server.requests[0].left.wait()
    assert caught.value.phase == "total"
    assert caught.value.partial is not None and caught.value.partial.content == "x"
    assert 1.2 <= elapsed < 2.6


async def test_time_the_caller_spends_is_not_charged_to_idle() -> None:
    async with serve({M1: [OK]}) as server, ring(server.url) as service:
        received = []
        async with aclosing(service.chat_stream(request(timeout=Timeout(idle=0.15)))) as chunks:
            async for chunk in chunks:
                received.append(chunk.delta)
                await anyio.sleep(0.3)  # longer than idle, between reads: the caller's time
    assert "".join(received) == "Hello"


# --- hedging ------------------------------------------------------------------------------


async def test_a_hedge_serves_from_the_second_model_and_closes_the_first(tmp_path: Path) -> None:
    slow = Reply(delay=3.0, body=BODY)
    async with (
        serve({M1: [slow], M2: [OK]}) as server,
        alias_ring(server.url, tmp_path) as service,
    ):
        began = anyio.current_time()
        chunks = await collect(service, request("chat", hedge_after=0.3))
        elapsed = anyio.current_time() - began
        with anyio.fail_after(2):
            await server.requests[0].left.wait()
    assert {chunk.model for chunk in chunks} == {"fake:m2"}
    assert text(chunks) == "Hello"
    assert 0.3 <= elapsed < 1.5
    assert outcomes(chunks[-1]) == [("fake:m1", "cancelled"), ("fake:m2", "served")]
    assert [item.path for item in server.requests] == [M1, M2]


async def test_the_lockfile_sets_an_alias_hedge_and_a_fast_primary_needs_none(
    tmp_path: Path,
) -> None:
    async with (
        serve({M1: [OK], M2: [OK]}) as server,
        alias_ring(server.url, tmp_path, hedge_after=0.5) as service,
    ):
        chunks = await collect(service, request("chat"))
        assert service.resolver.hedge_after("chat") == 0.5
    assert {chunk.model for chunk in chunks} == {"fake:m1"}
    assert [item.path for item in server.requests] == [M1]


async def test_a_hedged_primary_that_fails_leaves_the_second_to_serve(tmp_path: Path) -> None:
    refused = Reply(delay=0.5, status=400, body=[b'{"error": "bad"}'])
    slow = Reply(delay=1.0, body=BODY)
    async with (
        serve({M1: [refused], M2: [slow]}) as server,
        alias_ring(server.url, tmp_path) as service,
    ):
        with pytest.raises(ProviderBadRequestError):
            await collect(service, request("chat", hedge_after=0.2))
        with anyio.fail_after(2):
            await server.requests[1].left.wait()


async def test_rate_limit_error_keeps_retry_after_for_the_caller() -> None:
    limited = Reply(429, {"retry-after": "90"}, [b'{"error": "quota"}'])
    async with serve({M1: [limited]}) as server, ring(server.url) as service:
        with pytest.raises(ProviderRateLimitError) as caught:
            await collect(service, request())
    assert (caught.value.retry_after, server.count(M1)) == (90.0, 1)


# --- every provider, end to end -----------------------------------------------------------

PROVIDERS = {
    "openai": "openai/text.sse",
    "anthropic": "anthropic/text.sse",
    "google": "google/text.sse",
    "ollama": "ollama/text.ndjson",
    "openai-responses": "openai-responses/text.sse",
}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_every_provider_retries_a_503_then_streams(provider: str) -> None:
    recording = load_recording(RECORDINGS / PROVIDERS[provider])
    content_type = recording.headers.get("content-type", "text/event-stream")
    down = Reply(503, {"retry-after-ms": "10"}, [b'{"error": {"message": "busy"}}'])
    good = Reply(body=[recording.body], content_type=content_type)
    async with (
        serve([down, good]) as server,
        LLMRing(api_keys={provider: KEY}, base_urls={provider: server.url}) as service,
    ):
        chunks = await collect(service, request(f"{provider}:{recording.model}"))
    assert text(chunks) == recording.expect["text"]
    assert [a.outcome for a in chunks[-1].attempts or []] == ["failed", "served"]


IN_BAND_FIRST = {
    "anthropic": b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
    b'"message":"Overloaded"}}\n\n',
    "openai": b'data: {"error":{"message":"The server had an error","type":"server_error"}}\n\n',
    "google": b'data: {"error":{"code":503,"message":"The model is overloaded.",'
    b'"status":"UNAVAILABLE"}}\n\n',
    "openai-responses": b'event: error\ndata: {"type":"error","error":{"type":"server_error",'
    b'"code":"server_error","message":"The server had an error"}}\n\n',
}


@pytest.mark.parametrize("provider", sorted(IN_BAND_FIRST))
async def test_every_provider_retries_an_in_band_error_as_the_first_event(provider: str) -> None:
    recording = load_recording(RECORDINGS / PROVIDERS[provider])
    content_type = recording.headers.get("content-type", "text/event-stream")
    failed = Reply(body=[IN_BAND_FIRST[provider]], content_type=content_type)
    good = Reply(body=[recording.body], content_type=content_type)
    async with (
        serve([failed, good]) as server,
        LLMRing(api_keys={provider: KEY}, base_urls={provider: server.url}) as service,
    ):
        chunks = await collect(service, request(f"{provider}:{recording.model}"))
    assert text(chunks) == recording.expect["text"]
    attempts = chunks[-1].attempts or []
    assert [a.outcome for a in attempts] == ["failed", "served"]
    assert attempts[0].error is not None and attempts[0].error.startswith(
        ("ProviderOverloadedError", "ProviderRateLimitError")
    )


async def test_chat_hedges_too(tmp_path: Path) -> None:
    slow = Reply(delay=3.0, body=[b"".join(BODY)])
    fast = Reply(body=[b"".join(BODY)])
    async with (
        serve({"/m1/complete": [slow], "/m2/complete": [fast]}) as server,
        alias_ring(server.url, tmp_path, hedge_after=0.2) as service,
    ):
        response = await service.chat(request("chat"))
        with anyio.fail_after(2):
            await server.requests[0].left.wait()
    assert (response.content, response.model) == ("Hello", "fake:m2")
    assert [(a.model, a.outcome) for a in response.attempts or []] == [
        ("fake:m1", "cancelled"),
        ("fake:m2", "served"),
    ]


@pytest.mark.parametrize("value", [-1.0, 0.0])
async def test_a_bad_hedge_after_in_the_lockfile_names_file_and_line(
    tmp_path: Path, value: float
) -> None:
    async with alias_ring("http://127.0.0.1:9", tmp_path, hedge_after=value) as service:
        with pytest.raises(LockfileParseError, match=r"llmring.lock:\d+: .*hedge_after"):
            service.resolve("chat")


async def test_each_retry_reaches_on_event_and_the_log(caplog: pytest.LogCaptureFixture) -> None:
    from llmring.events import Event, RequestStarted, Retry

    events: list[Event] = []
    down = Reply(503, {"retry-after-ms": "10"}, [b'{"error": "unavailable"}'])
    async with (
        serve({M1: [down, down, OK]}) as server,
        ring(server.url, on_event=events.append) as service,
    ):
        chunks = await collect(service, request())
    assert text(chunks) == "Hello"
    retries = [event for event in events if isinstance(event, Retry)]
    assert [(r.provider, r.model, r.attempt, r.delay) for r in retries] == [
        ("fake", "m1", 1, 0.01),
        ("fake", "m1", 2, 0.01),
    ]
    assert all(r.error.status_code == 503 for r in retries)  # type: ignore[attr-defined]
    started = [event.attempt for event in events if isinstance(event, RequestStarted)]
    assert started == [1, 2, 3]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert [w.split(" in ")[0] for w in warnings] == [
        "retrying fake:m1 after attempt 1",
        "retrying fake:m1 after attempt 2",
    ]
