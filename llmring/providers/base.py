"""The contract every provider fulfils: configuration, request building, parsing.

A provider is pure mapping plus a table of endpoints and headers. It never does I/O: the
transport sends what ``build_call`` describes, the engine feeds what comes back into the
provider's ``StreamParser`` (or ``parse_response`` for a non-streaming call).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from pydantic import SecretStr

from llmring._redaction import register_secret
from llmring.exceptions import ProviderError, ProviderNotFoundError
from llmring.schemas import LLMRequest, LLMResponse, StreamChunk

WireFormat = Literal["sse", "ndjson"]


class StreamParser(Protocol):
    """Pure state machine: one wire payload in, zero or more chunks out.

    A payload is the ``data`` of one SSE event or one NDJSON line. ``finish`` is called at
    end of input: it returns the final chunk, or raises ``ProviderResponseError`` if the
    stream ended before its terminal event. ``snapshot`` is the response so far.
    """

    def feed(self, payload: str) -> list[StreamChunk]: ...

    def finish(self) -> list[StreamChunk]: ...

    def snapshot(self) -> LLMResponse: ...


@dataclass(frozen=True, slots=True)
class HTTPCall:
    """One HTTP request to send. ``headers`` may hold a key, so it is left out of the repr."""

    url: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What a provider's error body says: its message, and how long to wait if it says.

    ``error_class`` overrides the class the status code implies, for providers whose status
    says less than their body (Gemini answers a bad key with 400 and ``API_KEY_INVALID``).
    """

    message: str | None = None
    error_type: str | None = None
    retry_after: float | None = None
    error_class: type[ProviderError] | None = None


class Provider(ABC):
    """One LLM provider. Subclasses fill in the class variables and the abstract methods."""

    name: ClassVar[str]
    #: Environment variables searched in order for the key.
    api_key_env: ClassVar[tuple[str, ...]] = ()
    #: False for a provider that works without a key and sends one only when set (Ollama).
    api_key_required: ClassVar[bool] = True
    base_url_env: ClassVar[str]
    default_base_url: ClassVar[str]
    stream_format: ClassVar[WireFormat] = "sse"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        if api_key is None:
            api_key = next((env[var] for var in self.api_key_env if env.get(var)), None)
        self._api_key = SecretStr(api_key) if api_key else None
        if api_key:
            register_secret(api_key)  # scrubbed from every error, whatever a body echoes
        self.base_url = (base_url or env.get(self.base_url_env) or self.default_base_url).rstrip(
            "/"
        )

    def __repr__(self) -> str:
        key = "set" if self._api_key else "unset"
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key={key})"

    @property
    def is_configured(self) -> bool:
        """True when the provider can be called: it has its key, or needs none."""
        return not self.api_key_required or self._api_key is not None

    def api_key(self) -> str:
        """The key, or ``ProviderNotFoundError`` naming the variable to set."""
        if self._api_key is None:
            names = " or ".join(self.api_key_env)
            raise ProviderNotFoundError(
                f"provider {self.name!r} is not configured: set {names} "
                f"or pass LLMRing(api_keys={{{self.name!r}: ...}})"
            )
        return self._api_key.get_secret_value()

    def build_call(self, request: LLMRequest, model: str, *, stream: bool) -> HTTPCall:
        """The HTTP request for ``request`` against ``model`` (the name without provider).

        ``extra_params`` are merged into every provider's body, then this provider's own
        ``provider_params`` (so they win); a model of another provider never sees them.
        """
        body = self.build_body(request, model, stream=stream)
        self.merge_params(body, request.extra_params)
        if scoped := request.provider_params.get(self.name):
            self.merge_params(body, scoped)
        return HTTPCall(url=self.endpoint(model, stream=stream), body=body, headers=self.headers())

    def merge_params(self, body: dict[str, Any], params: Mapping[str, Any]) -> None:
        """Merge caller-given fields into ``body``: key by key, ``None`` removes a key."""
        apply_extra_params(body, params)

    @abstractmethod
    def endpoint(self, model: str, *, stream: bool) -> str:
        """The full URL to POST to."""

    @abstractmethod
    def headers(self) -> dict[str, str]:
        """Auth and version headers. Raises ``ProviderNotFoundError`` without a key."""

    @abstractmethod
    def build_body(self, request: LLMRequest, model: str, *, stream: bool) -> dict[str, Any]:
        """The JSON body, before ``extra_params`` are merged in."""

    @abstractmethod
    def stream_parser(self, model: str) -> StreamParser:
        """A fresh parser; ``model`` is the label put on every chunk."""

    @abstractmethod
    def parse_response(self, body: bytes, model: str) -> LLMResponse:
        """A non-streaming response body as an ``LLMResponse`` labelled ``model``."""

    @abstractmethod
    def error_info(self, body: bytes) -> ErrorInfo:
        """What an error body says. Must not raise, whatever the body holds."""


def apply_extra_params(body: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Merge ``extra`` into ``body`` key by key; ``None`` removes a key."""
    for key, value in extra.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
