"""CPU per streamed chunk: llmring's whole stack against bare httpx + json.loads, and SDKs.

For each provider, a long stream (a few thousand text deltas, in the exact event shapes of
the provider's text recording) is served one event per network read by an in-memory
transport, so only client work is measured:

- floor:    httpx ``aiter_lines`` + ``json.loads`` per payload line (the least any client does)
- llmring:  ``LLMRing.chat_stream`` (decode, parse, state machine, StreamChunk, fallback layer)
- SDKs:     the official SDKs on the same bytes, where installed (``make bench`` installs
            them into a separate virtualenv; llmring itself never imports them)

Reported: microseconds of CPU per chunk (best of several runs) and the ratios the issue sets
targets for: llmring / floor <= 1.3, llmring / fastest SDK <= 0.5.

Then structured output: a 2 KB JSON object streamed in 300 pieces (OpenAI's chunk shape),
read with no ``response_format`` and with one (a pydantic model: ``partial_object`` on every
chunk where it changed, validation at the end); the difference is what structured output
costs per chunk.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import itertools
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import BaseModel  # noqa: E402

from llmring import LLMRequest, LLMRing, Message  # noqa: E402
from llmring.schemas import ResponseFormat  # noqa: E402
from llmring.testing import ReplayStream, load_recording, split_events  # noqa: E402

# provider -> (recording, predicate for a text-delta event, base URL path prefix)
STREAMS: dict[str, tuple[str, Callable[[bytes], bool]]] = {
    "openai": ("openai/text.sse", lambda e: b'"content":"' in e and b'"finish_reason":null' in e),
    "anthropic": ("anthropic/text.sse", lambda e: b'"text_delta"' in e),
    "google": ("google/text.sse", lambda e: b'"finishReason"' not in e),
    "ollama": ("ollama/text.ndjson", lambda e: b'"done":false' in e),
}


def long_stream(provider: str, deltas: int) -> tuple[list[bytes], str, str]:
    """The recording's events with its text deltas repeated to ``deltas`` of them."""
    name, is_delta = STREAMS[provider]
    recording = load_recording(ROOT / "recordings" / name)
    events = split_events(recording.body)
    marks = [i for i, event in enumerate(events) if is_delta(event)]
    first, last = marks[0], marks[-1]
    middle = [events[i] for i in marks]
    repeated = [middle[i % len(middle)] for i in range(deltas)]
    content_type = recording.headers.get("content-type", "text/event-stream")
    return events[:first] + repeated + events[last + 1 :], content_type, recording.model


def transport(events: list[bytes], content_type: str) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": content_type}, stream=ReplayStream(events)
        )

    return httpx.MockTransport(answer)


def sdk_client(module: Any, events: list[bytes], content_type: str) -> Any:
    """An AsyncClient of the httpx the SDK uses (newer SDKs ship a fork, ``httpx2``)."""

    async def body() -> AsyncIterator[bytes]:
        for event in events:
            yield event

    def answer(request: Any) -> Any:
        return module.Response(200, headers={"content-type": content_type}, content=body())

    return module.AsyncClient(transport=module.MockTransport(answer))


def sdk_httpx(distribution: str) -> Any:
    """The httpx module an SDK's client must come from: newer SDKs require a fork, httpx2."""
    requires = importlib.metadata.requires(distribution) or []
    forked = any(requirement.startswith("httpx2") for requirement in requires)
    return importlib.import_module("httpx2") if forked else httpx


async def run_floor(events: list[bytes], content_type: str, provider: str, model: str) -> int:
    sse = "event-stream" in content_type
    count = 0
    async with (
        httpx.AsyncClient(transport=transport(events, content_type)) as client,
        client.stream("POST", "http://bench.test/stream") as response,
    ):
        async for line in response.aiter_lines():
            if sse:
                if line.startswith("data:") and line != "data: [DONE]":
                    json.loads(line[5:])
                    count += 1
            elif line:
                json.loads(line)
                count += 1
    return count


async def run_llmring(events: list[bytes], content_type: str, provider: str, model: str) -> int:
    client = httpx.AsyncClient(transport=transport(events, content_type))
    request = LLMRequest(model=f"{provider}:{model}", messages=[Message(role="user", content="hi")])
    count = 0
    async with LLMRing(http_client=client, api_keys={provider: "bench-key"}) as ring:
        async for _ in ring.chat_stream(request):
            count += 1
    await client.aclose()
    return count


class Item(BaseModel):
    id: int
    name: str
    tags: list[str]
    price: float


class Catalog(BaseModel):
    title: str
    items: list[Item]


def structured_stream(size: int = 2048, pieces: int = 300) -> tuple[list[bytes], str]:
    """A Catalog of about ``size`` bytes of JSON, streamed as ``pieces`` OpenAI content deltas."""
    items: list[dict[str, Any]] = []
    catalog: dict[str, Any] = {"title": "Spring catalogue", "items": items}
    while len(json.dumps(catalog)) < size:
        n = len(items)
        items.append(
            {"id": n, "name": f"Item number {n}", "tags": ["garden", f"t{n}"], "price": n + 0.5}
        )
    text = json.dumps(catalog)
    Catalog.model_validate_json(text)
    step = len(text) / pieces
    cuts = [round(i * step) for i in range(pieces + 1)]
    head = '{"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,'
    events = [
        f"data: {head}{json.dumps({'delta': {'content': text[a:b]}})[1:-1]}}}]}}\n\n".encode()
        for a, b in itertools.pairwise(cuts)
    ]
    events.append(f'data: {head}"delta":{{}},"finish_reason":"stop"}}]}}\n\n'.encode())
    events.append(b"data: [DONE]\n\n")
    return events, text


def structured_runner(
    response_format: ResponseFormat | None,
) -> Callable[..., Awaitable[int]]:
    """``run_llmring`` with ``response_format`` set on the request."""

    async def run(events: list[bytes], content_type: str, provider: str, model: str) -> int:
        client = httpx.AsyncClient(transport=transport(events, content_type))
        request = LLMRequest(
            model=f"{provider}:{model}",
            messages=[Message(role="user", content="hi")],
            response_format=response_format,
        )
        count = 0
        async with LLMRing(http_client=client, api_keys={provider: "bench-key"}) as ring:
            async for _ in ring.chat_stream(request):
                count += 1
        await client.aclose()
        return count

    return run


def structured_row(repeats: int) -> dict[str, Any]:
    """CPU per chunk for the 2 KB object, without and with ``response_format``."""
    events, text = structured_stream()
    args = (events, "text/event-stream", "openai", "m", repeats)
    plain = cpu_per_chunk(structured_runner(None), *args)
    structured = cpu_per_chunk(structured_runner(Catalog), *args)
    return {
        "case": "structured",
        "object_bytes": len(text),
        "pieces": len(events) - 2,
        "plain_us": round(plain, 2),
        "structured_us": round(structured, 2),
        "structured_overhead_us": round(structured - plain, 2),
    }


def sdk_runners() -> dict[str, dict[str, Callable[..., Awaitable[int]]]]:
    """Official SDK runners for the providers whose SDK is installed."""
    runners: dict[str, dict[str, Callable[..., Awaitable[int]]]] = {}
    if importlib.util.find_spec("openai"):

        async def openai_sdk(
            events: list[bytes], content_type: str, provider: str, model: str
        ) -> int:
            import openai

            http = sdk_client(sdk_httpx("openai"), events, content_type)
            client = openai.AsyncOpenAI(
                api_key="k", base_url="http://bench.test/v1", http_client=http
            )
            stream = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "hi"}], stream=True
            )
            count = 0
            async for _ in stream:
                count += 1
            await http.aclose()
            return count

        runners.setdefault("openai", {})["openai-python"] = openai_sdk
    if importlib.util.find_spec("anthropic"):

        async def anthropic_sdk(
            events: list[bytes], content_type: str, provider: str, model: str
        ) -> int:
            import anthropic

            http = sdk_client(sdk_httpx("anthropic"), events, content_type)
            client = anthropic.AsyncAnthropic(
                api_key="k", base_url="http://bench.test", http_client=http
            )
            stream = await client.messages.create(
                model=model,
                max_tokens=10,
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
            )
            count = 0
            async for _ in stream:
                count += 1
            await http.aclose()
            return count

        runners.setdefault("anthropic", {})["anthropic-sdk-python"] = anthropic_sdk
    if importlib.util.find_spec("google") and importlib.util.find_spec("google.genai"):

        async def google_sdk(
            events: list[bytes], content_type: str, provider: str, model: str
        ) -> int:
            from google import genai
            from google.genai import types

            http = sdk_client(sdk_httpx("google-genai"), events, content_type)
            client = genai.Client(
                api_key="k",
                http_options=types.HttpOptions(
                    base_url="http://bench.test", httpx_async_client=http
                ),
            )
            count = 0
            stream = await client.aio.models.generate_content_stream(model=model, contents="hi")
            async for _ in stream:
                count += 1
            await http.aclose()
            return count

        runners.setdefault("google", {})["google-genai"] = google_sdk
    if importlib.util.find_spec("ollama"):

        async def ollama_sdk(
            events: list[bytes], content_type: str, provider: str, model: str
        ) -> int:
            import ollama

            client = ollama.AsyncClient(
                host="http://bench.test", transport=transport(events, content_type)
            )
            count = 0
            async for _ in await client.chat(
                model=model, messages=[{"role": "user", "content": "hi"}], stream=True
            ):
                count += 1
            return count

        runners.setdefault("ollama", {})["ollama-python"] = ollama_sdk
    return runners


def cpu_per_chunk(
    runner: Callable[..., Awaitable[int]],
    events: list[bytes],
    content_type: str,
    provider: str,
    model: str,
    repeats: int,
) -> float:
    """Best-of-``repeats`` CPU microseconds per chunk the runner consumed."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        count = anyio.run(runner, events, content_type, provider, model)
        elapsed = time.process_time() - start
        best = min(best, elapsed / max(count, 1) * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deltas", type=int, default=3000, help="text deltas per stream")
    parser.add_argument("--repeats", type=int, default=7, help="runs per measurement (best kept)")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    args = parser.parse_args()
    sdks = sdk_runners()
    results = []
    for provider in STREAMS:
        events, content_type, model = long_stream(provider, args.deltas)
        floor = cpu_per_chunk(run_floor, events, content_type, provider, model, args.repeats)
        ours = cpu_per_chunk(run_llmring, events, content_type, provider, model, args.repeats)
        row = {
            "provider": provider,
            "events": len(events),
            "floor_us": round(floor, 2),
            "llmring_us": round(ours, 2),
            "llmring_vs_floor": round(ours / floor, 2),
        }
        for name, runner in sdks.get(provider, {}).items():
            sdk = cpu_per_chunk(runner, events, content_type, provider, model, args.repeats)
            row[f"{name}_us"] = round(sdk, 2)
            row[f"llmring_vs_{name}"] = round(ours / sdk, 2)
        results.append(row)
    structured = structured_row(args.repeats)
    if args.json:
        print(json.dumps([*results, structured], indent=2))
        return
    for row in results:
        extras = "  ".join(f"{k}={v}" for k, v in row.items() if k not in ("provider", "events"))
        print(f"{row['provider']:<10} events={row['events']:<5} {extras}")
    print("targets: llmring_vs_floor <= 1.3, llmring_vs_<sdk> <= 0.5")
    print("structured: " + "  ".join(f"{k}={v}" for k, v in structured.items() if k != "case"))


if __name__ == "__main__":
    main()
