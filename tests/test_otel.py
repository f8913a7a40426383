"""``llmring.otel``: one GenAI-convention span per attempt, caught by the in-memory exporter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llmring import LLMRequest, LLMRing, Message
from llmring.otel import OTelHook
from llmring.testing import load_recording
from tests.conftest import RECORDINGS
from tests.loopback import serve, streamed

pytestmark = pytest.mark.anyio

TEXT = load_recording(RECORDINGS / "openai" / "text.sse")


def tracing() -> tuple[OTelHook, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return OTelHook(tracer_provider=provider), exporter


async def test_a_fallback_gives_a_failed_span_a_fallback_span_and_an_answered_span(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hook, exporter = tracing()
    lockfile = tmp_path / "llmring.lock"
    lockfile.write_text(
        '[[profiles.default.bindings]]\nalias = "a"\n'
        'models = ["groq:llama-3.3", "openai:gpt-4o-mini"]\n'
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-otel-key")
    monkeypatch.setenv("GROQ_API_KEY", "gsk-otel-key")
    request = LLMRequest(model="a", messages=[Message(role="user", content="secret prompt")])
    async with (
        serve(streamed(b"busy", "text/plain", status=503)) as groq,
        serve(streamed(TEXT.body)) as openai,
    ):
        monkeypatch.setenv("GROQ_BASE_URL", groq.url)
        monkeypatch.setenv("OPENAI_BASE_URL", openai.url)
        async with LLMRing(lockfile_path=lockfile, on_event=hook, max_retries=0) as ring:
            chunks = [chunk async for chunk in ring.chat_stream(request)]
    failed, fallback, answered = exporter.get_finished_spans()
    assert (failed.name, fallback.name, answered.name) == (
        "chat llama-3.3",
        "llmring.fallback",
        "chat gpt-4o-mini",
    )
    assert (failed.kind, answered.kind) == (SpanKind.CLIENT, SpanKind.CLIENT)
    assert failed.status.status_code == StatusCode.ERROR
    assert dict(failed.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "groq",
        "gen_ai.request.model": "llama-3.3",
        "server.address": "127.0.0.1",
        "server.port": int(groq.url.rsplit(":", 1)[1]),
        "llmring.stream": True,
        "llmring.attempt": 1,
        "error.type": "ProviderOverloadedError",
    }
    assert dict(fallback.attributes or {}) == {
        "failed": "groq:llama-3.3",
        "next": "openai:gpt-4o-mini",
    }
    final = chunks[-1]
    assert final.usage is not None and final.timing is not None
    assert dict(answered.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "127.0.0.1",
        "server.port": int(openai.url.rsplit(":", 1)[1]),
        "llmring.stream": True,
        "llmring.attempt": 1,
        "llmring.time_to_first_chunk": final.timing.time_to_first_chunk,
        "gen_ai.response.id": "chatcmpl-Bx7TqL2mN9vK4pR1sW8yZ3aD6fG0h",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": final.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": final.usage.completion_tokens,
    }
    assert [event.name for event in answered.events] == ["gen_ai.first_chunk"]
    assert answered.status.status_code == StatusCode.UNSET
    recorded = repr([span.to_json() for span in exporter.get_finished_spans()])
    assert "otel-key" not in recorded and "secret prompt" not in recorded


def test_the_core_never_imports_opentelemetry() -> None:
    code = (
        "import sys, llmring, llmring.events, llmring.service; "
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"
