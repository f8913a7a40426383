"""OpenTelemetry spans for llmring calls, following the GenAI semantic conventions.

Needs the ``otel`` extra (``pip install 'llmring[otel]'``, which brings ``opentelemetry-api``);
the rest of llmring never imports this module. Use it as the ``on_event`` hook:

    from llmring.otel import OTelHook
    ring = LLMRing(on_event=OTelHook())          # or OTelHook(tracer_provider=provider)

Each attempt becomes one ``CLIENT`` span named ``chat {model}``, started when the request is
sent and ended at the answer or the failure, with the ``gen_ai.*`` attributes
(https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/): operation, provider,
request and response model, response id, finish reasons, token usage; ``server.address`` and
``server.port``; ``error.type`` on failure. The first chunk is a span event
(``gen_ai.first_chunk``) and its delay an attribute (``llmring.time_to_first_chunk``). A retry
or a fallback is a short ``INTERNAL`` span (``llmring.retry`` / ``llmring.fallback``) between
the attempts' spans. No prompt or answer text is recorded.
"""

from __future__ import annotations

from typing import assert_never
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from llmring._version import __version__
from llmring.events import (
    Event,
    Fallback,
    FirstChunk,
    RequestFailed,
    RequestFinished,
    RequestStarted,
    Retry,
)

__all__ = ["OTelHook", "gen_ai_provider_name"]

#: llmring's provider names -> the ``gen_ai.provider.name`` values the conventions define.
_GEN_AI_PROVIDERS: dict[str, str] = {
    "google": "gcp.gemini",
    "openai-responses": "openai",
    "mistral": "mistral_ai",
    "xai": "x_ai",
}


def gen_ai_provider_name(provider: str) -> str:
    """The ``gen_ai.provider.name`` for an llmring provider (its own name when the conventions
    define none, as for a lockfile-declared server)."""
    return _GEN_AI_PROVIDERS.get(provider, provider)


class OTelHook:
    """An ``on_event`` hook that turns llmring's events into OpenTelemetry spans."""

    def __init__(self, tracer_provider: TracerProvider | None = None) -> None:
        self._tracer = trace.get_tracer("llmring", __version__, tracer_provider=tracer_provider)
        self._spans: dict[int, Span] = {}

    def __call__(self, event: Event) -> None:
        """Start, annotate or end the span ``event`` belongs to."""
        match event:
            case RequestStarted():
                self._start(event)
            case FirstChunk():
                if (span := self._spans.get(event.call_id)) is not None:
                    span.set_attribute("llmring.time_to_first_chunk", event.time_to_first_chunk)
                    span.add_event("gen_ai.first_chunk")
            case RequestFinished():
                if (span := self._spans.pop(event.call_id, None)) is not None:
                    self._finish(span, event)
            case RequestFailed():
                if (span := self._spans.pop(event.call_id, None)) is not None:
                    self._fail(span, event)
            case Retry():
                self._note("llmring.retry", {"attempt": event.attempt, "delay": event.delay})
            case Fallback():
                self._note("llmring.fallback", {"failed": event.failed, "next": event.next})
            case _:
                assert_never(event)

    def _start(self, event: RequestStarted) -> None:
        url = urlsplit(event.url)
        attributes: dict[str, str | int | bool] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": gen_ai_provider_name(event.provider),
            "gen_ai.request.model": event.model,
            "server.address": url.hostname or "",
            "llmring.stream": event.stream,
            "llmring.attempt": event.attempt,
        }
        if url.port is not None:
            attributes["server.port"] = url.port
        self._spans[event.call_id] = self._tracer.start_span(
            f"chat {event.model}", kind=SpanKind.CLIENT, attributes=attributes
        )

    def _finish(self, span: Span, event: RequestFinished) -> None:
        if event.response_id is not None:
            span.set_attribute("gen_ai.response.id", event.response_id)
        if event.served_model is not None:
            span.set_attribute("gen_ai.response.model", event.served_model)
        if event.finish_reason is not None:
            span.set_attribute("gen_ai.response.finish_reasons", [event.finish_reason])
        if event.usage is not None:
            span.set_attribute("gen_ai.usage.input_tokens", event.usage.prompt_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", event.usage.completion_tokens)
        span.end()

    def _fail(self, span: Span, event: RequestFailed) -> None:
        if event.cancelled:
            span.set_attribute("llmring.cancelled", True)
        else:
            span.set_attribute("error.type", type(event.error).__name__)
            span.set_status(Status(StatusCode.ERROR, type(event.error).__name__))
        span.end()

    def _note(self, name: str, attributes: dict[str, str | int | float]) -> None:
        # The failed attempt's span has already ended, so the move gets a span of its own.
        with self._tracer.start_as_current_span(name, kind=SpanKind.INTERNAL) as span:
            span.set_attributes(attributes)
