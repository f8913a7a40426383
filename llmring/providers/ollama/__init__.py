"""The Ollama provider: a local server's native ``/api/chat``, or Ollama Cloud's.

A local server needs no key. Ollama Cloud (``OLLAMA_BASE_URL=https://ollama.com``) takes
a bearer key: set ``OLLAMA_API_KEY`` or pass ``api_key`` and it is sent; it is never
required. Streams are NDJSON.
API reference: https://docs.ollama.com/api/chat, https://docs.ollama.com/api/authentication
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import TypeAdapter, ValidationError

from llmring.providers.base import ErrorInfo, Provider, WireFormat
from llmring.providers.ollama.request import build_body
from llmring.providers.ollama.response import OllamaLine, parse_response
from llmring.providers.ollama.stream import OllamaStreamParser
from llmring.schemas import LLMRequest, LLMResponse

__all__ = ["OllamaProvider", "OllamaStreamParser"]

_ERROR_BODY: TypeAdapter[OllamaLine] = TypeAdapter(OllamaLine)


class OllamaProvider(Provider):
    """Ollama's native chat API (``POST {base_url}/api/chat``)."""

    name: ClassVar[str] = "ollama"
    #: Ollama Cloud's bearer key: sent when set, never required by a local server.
    api_key_env: ClassVar[tuple[str, ...]] = ("OLLAMA_API_KEY",)
    api_key_required: ClassVar[bool] = False
    base_url_env: ClassVar[str] = "OLLAMA_BASE_URL"
    default_base_url: ClassVar[str] = "http://localhost:11434"
    stream_format: ClassVar[WireFormat] = "ndjson"

    def endpoint(self, model: str, *, stream: bool) -> str:
        """``/api/chat`` for both modes; the body's ``stream`` flag tells them apart."""
        return f"{self.base_url}/api/chat"

    def headers(self) -> dict[str, str]:
        """``Authorization: Bearer`` when a key is set (Ollama Cloud); else nothing."""
        if self._api_key is None:
            return {}
        return {"Authorization": f"Bearer {self._api_key.get_secret_value()}"}

    def build_body(self, request: LLMRequest, model: str, *, stream: bool) -> dict[str, Any]:
        """See ``llmring.providers.ollama.request.build_body``."""
        return build_body(request, model, stream=stream)

    def stream_parser(self, model: str) -> OllamaStreamParser:
        """A fresh NDJSON line parser."""
        return OllamaStreamParser(model)

    def parse_response(self, body: bytes, model: str) -> LLMResponse:
        """A ``"stream": false`` body."""
        return parse_response(body, model)

    def error_info(self, body: bytes) -> ErrorInfo:
        """``{"error": "text"}``, e.g. 404 ``model "x" not found, try pulling it first``.

        Ollama's errors carry no type and no retry hint; anything else gives an empty
        ``ErrorInfo`` (the transport keeps the body excerpt).
        """
        try:
            return ErrorInfo(message=_ERROR_BODY.validate_json(body).get("error"))
        except ValidationError:
            return ErrorInfo()
