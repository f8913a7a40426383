"""Google Gemini (the Generative Language API): endpoints, the key header, error bodies.

https://ai.google.dev/api/generate-content. The key travels only in the ``x-goog-api-key``
header, never in the URL, so it cannot leak into logs of URLs or error messages.

Thinking is asked for with ``LLMRequest.reasoning`` (see ``options.py``). In
``extra_params`` and ``provider_params["google"]``, unlike other keys, ``generationConfig``
is merged key by key into the one llmring builds (temperature, maxOutputTokens, response
format, thinkingConfig), not put in its place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from llmring.providers.base import ErrorInfo, Provider
from llmring.providers.google.errors import google_error_info
from llmring.providers.google.request import build_body, merge_extra_params
from llmring.providers.google.response import parse_response
from llmring.providers.google.stream import GoogleStreamParser
from llmring.schemas import LLMRequest, LLMResponse

__all__ = ["GoogleProvider", "GoogleStreamParser"]


class GoogleProvider(Provider):
    """Gemini over ``generateContent`` / ``streamGenerateContent?alt=sse``."""

    name = "google"
    api_key_env = ("GOOGLE_GEMINI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")
    base_url_env = "GOOGLE_GEMINI_BASE_URL"
    default_base_url = "https://generativelanguage.googleapis.com"
    stream_format = "sse"

    def endpoint(self, model: str, *, stream: bool) -> str:
        """``.../v1beta/models/{model}:generateContent``, or the SSE streaming method."""
        base = f"{self.base_url}/v1beta/models/{quote(model, safe='')}"
        if stream:
            return f"{base}:streamGenerateContent?alt=sse"
        return f"{base}:generateContent"

    def headers(self) -> dict[str, str]:
        """The key header; raises ``ProviderNotFoundError`` without a key."""
        return {"x-goog-api-key": self.api_key()}

    def merge_params(self, body: dict[str, Any], params: Mapping[str, Any]) -> None:
        """As ``Provider.merge_params``, with ``generationConfig`` merged key by key."""
        merge_extra_params(body, params)

    def build_body(self, request: LLMRequest, model: str, *, stream: bool) -> dict[str, Any]:
        """The JSON body, before ``extra_params``."""
        return build_body(request, model, stream=stream)

    def stream_parser(self, model: str) -> GoogleStreamParser:
        """A fresh ``GoogleStreamParser`` labelling chunks ``model``."""
        return GoogleStreamParser(model)

    def parse_response(self, body: bytes, model: str) -> LLMResponse:
        """A ``generateContent`` body as an ``LLMResponse``."""
        return parse_response(body, model)

    def error_info(self, body: bytes) -> ErrorInfo:
        """Message, status, ``RetryInfo`` delay and, for a refused key, the auth error class."""
        return google_error_info(body)
