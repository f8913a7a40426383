"""OpenAI's Responses API (``POST /v1/responses``), for models and features Chat Completions lacks.

https://platform.openai.com/docs/api-reference/responses
"""

from __future__ import annotations

from typing import Any, ClassVar

from llmring.providers.base import ErrorInfo, Provider, WireFormat
from llmring.providers.openai.errors import openai_error_info
from llmring.providers.openai_responses.request import build_body
from llmring.providers.openai_responses.response import parse_response
from llmring.providers.openai_responses.stream import OpenAIResponsesStreamParser
from llmring.schemas import LLMRequest, LLMResponse

__all__ = ["OpenAIResponsesProvider", "OpenAIResponsesStreamParser"]


class OpenAIResponsesProvider(Provider):
    """``POST {base_url}/responses`` with a bearer key; streams SSE with named events."""

    name: ClassVar[str] = "openai-responses"
    api_key_env: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)
    base_url_env: ClassVar[str] = "OPENAI_BASE_URL"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    stream_format: ClassVar[WireFormat] = "sse"

    def endpoint(self, model: str, *, stream: bool) -> str:
        """The same URL streaming or not; the body's ``stream`` flag decides."""
        return f"{self.base_url}/responses"

    def headers(self) -> dict[str, str]:
        """The bearer key; ``ProviderNotFoundError`` when none is set."""
        return {"Authorization": f"Bearer {self.api_key()}"}

    def build_body(self, request: LLMRequest, model: str, *, stream: bool) -> dict[str, Any]:
        """The Responses body (see ``request.build_body``)."""
        return build_body(request, model, stream=stream)

    def stream_parser(self, model: str) -> OpenAIResponsesStreamParser:
        """A fresh Responses stream parser."""
        return OpenAIResponsesStreamParser(model)

    def parse_response(self, body: bytes, model: str) -> LLMResponse:
        """A Response object as an ``LLMResponse``."""
        return parse_response(body, model)

    def error_info(self, body: bytes) -> ErrorInfo:
        """Message, type and retry hint of ``{"error": {...}}``; never raises."""
        return openai_error_info(body)
