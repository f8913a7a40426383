"""Anthropic's Messages API: endpoint, headers, and what its error bodies say.

https://docs.anthropic.com/en/api/messages (errors: https://docs.anthropic.com/en/api/errors)
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import TypeAdapter, ValidationError

from llmring.providers.anthropic.request import DEFAULT_MAX_TOKENS, build_body
from llmring.providers.anthropic.response import AnthropicErrorBody, parse_response
from llmring.providers.anthropic.stream import AnthropicStreamParser
from llmring.providers.base import ErrorInfo, Provider, WireFormat
from llmring.schemas import LLMRequest, LLMResponse

__all__ = ["DEFAULT_MAX_TOKENS", "AnthropicProvider", "AnthropicStreamParser"]

#: The API version every request pins (https://docs.anthropic.com/en/api/versioning).
ANTHROPIC_VERSION = "2023-06-01"

_ERROR_BODY: TypeAdapter[AnthropicErrorBody] = TypeAdapter(AnthropicErrorBody)


class AnthropicProvider(Provider):
    """Claude models over ``POST /v1/messages``, streamed as server-sent events."""

    name: ClassVar[str] = "anthropic"
    api_key_env: ClassVar[tuple[str, ...]] = ("ANTHROPIC_API_KEY",)
    base_url_env: ClassVar[str] = "ANTHROPIC_BASE_URL"
    default_base_url: ClassVar[str] = "https://api.anthropic.com"
    stream_format: ClassVar[WireFormat] = "sse"

    def endpoint(self, model: str, *, stream: bool) -> str:
        """The one Messages endpoint; streaming is a body field, not a path."""
        return f"{self.base_url}/v1/messages"

    def headers(self) -> dict[str, str]:
        """``x-api-key`` and the pinned ``anthropic-version``."""
        return {"x-api-key": self.api_key(), "anthropic-version": ANTHROPIC_VERSION}

    def build_body(self, request: LLMRequest, model: str, *, stream: bool) -> dict[str, Any]:
        """The Messages body; see ``llmring.providers.anthropic.request``."""
        return build_body(request, model, stream=stream)

    def stream_parser(self, model: str) -> AnthropicStreamParser:
        """A fresh parser for one stream."""
        return AnthropicStreamParser(model)

    def parse_response(self, body: bytes, model: str) -> LLMResponse:
        """A non-streaming Messages body as an ``LLMResponse``."""
        return parse_response(body, model)

    def error_info(self, body: bytes) -> ErrorInfo:
        """``{"type": "error", "error": {"type", "message"}}``; empty for anything else.

        The body never says how long to wait: a 429's ``retry-after`` is a header.
        """
        try:
            parsed = _ERROR_BODY.validate_json(body)
        except ValidationError:
            # not Anthropic's JSON: a proxy's page, or Cloudflare's 413 before the API
            return ErrorInfo()
        error = parsed["error"]
        return ErrorInfo(
            message=error.get("message") or None, error_type=error.get("type", "error")
        )
