"""The errors llmring raises.

    LLMRingError
    ├── ProviderNotFoundError          unknown provider, or its API key is not set
    ├── InvalidModelReferenceError     not of the form provider:model (also a ValueError)
    ├── AllModelsFailedError           every model of an alias failed; .attempts has each error
    ├── StructuredOutputError          the answer to a response_format request is not valid JSON
    │                                  or not valid against the schema (.text, .errors, .partial)
    ├── ConnectionPoolTimeoutError     no connection of llmring's own pool came free in time
    ├── ProviderError                  a provider answered badly, or not at all
    │   ├── ProviderAuthenticationError     401, 403
    │   ├── ProviderBadRequestError         400, 413, 422: the request itself is wrong
    │   │   └── ProviderUnsupportedError    refused before sending: this provider cannot
    │   │                                   express it (another may, so an alias moves on)
    │   ├── ModelNotFoundError              404 whose body says the model is unknown
    │   ├── ProviderConfigurationError      404 that is not about the model: a wrong base URL
    │   ├── ProviderRateLimitError          429 (.retry_after)
    │   ├── ProviderTimeoutError            408, 504, or a deadline ran out (.phase)
    │   ├── ProviderOverloadedError         5xx, 529
    │   ├── ProviderConnectionError         could not connect, or the connection broke
    │   └── ProviderResponseError           an answer llmring cannot use: malformed, cut short,
    │       │                               not the content type promised, an in-band error
    │       └── ResponseTooLargeError       a stream event or a whole body over its bound (.limit)
    ├── LockfileError
    │   ├── LockfileNotFoundError
    │   ├── LockfileParseError          names the file and the line
    │   └── AliasNotFoundError          names the aliases that do exist
    └── CassetteMismatchError          llmring.testing: no recorded answer for a request

Every ``ProviderError`` raised once a stream has started carries ``partial``: the
``LLMResponse`` assembled from what arrived before the failure. ``fallback_eligible`` says
whether another model could plausibly succeed where this one failed; the fallback policy reads
that attribute and nothing else. ``retryable`` says whether the same model, asked again before
anything reached the caller, could succeed; ``llmring.retry`` reads it together with the status
code and the server's own ``x-should-retry``. Both default to False, so a new error class is
neither retried nor falls back unless it says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .schemas import LLMResponse
    from .timeouts import TimeoutPhase

__all__ = [
    "AliasNotFoundError",
    "AllModelsFailedError",
    "CassetteMismatchError",
    "ConnectionPoolTimeoutError",
    "InvalidModelReferenceError",
    "LLMRingError",
    "LockfileError",
    "LockfileNotFoundError",
    "LockfileParseError",
    "ModelNotFoundError",
    "ProviderAuthenticationError",
    "ProviderBadRequestError",
    "ProviderConfigurationError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderNotFoundError",
    "ProviderOverloadedError",
    "ProviderRateLimitError",
    "ProviderResponseError",
    "ProviderTimeoutError",
    "ProviderUnsupportedError",
    "ResponseTooLargeError",
    "StructuredOutputError",
    "error_class_for_status",
]


class LLMRingError(Exception):
    """Base of every error llmring raises."""

    fallback_eligible: ClassVar[bool] = False
    retryable: ClassVar[bool] = False


class ProviderNotFoundError(LLMRingError):
    """The provider is unknown, or is not configured (its API key is missing)."""

    fallback_eligible = True


class InvalidModelReferenceError(LLMRingError, ValueError):
    """A model reference is not of the form ``provider:model``."""


class ProviderError(LLMRingError):
    """A provider failed to give a usable answer.

    ``body_excerpt`` is the start of the error body as received (never a request header,
    so never a key); ``partial`` is what a stream had delivered before it failed.
    ``retry_after`` is the wait in seconds the server asked for, if it did (any status);
    ``should_retry`` is the server's ``x-should-retry`` header, which overrides the status rule.
    """

    retry_after: float | None = None
    should_retry: bool | None = None

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        status_code: int | None = None,
        body_excerpt: str | None = None,
        request_id: str | None = None,
        partial: LLMResponse | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.model = model
        self.status_code = status_code
        self.body_excerpt = body_excerpt
        self.request_id = request_id
        self.partial = partial

    def __str__(self) -> str:
        where = ":".join(part for part in (self.provider, self.model) if part)
        status = f" (HTTP {self.status_code})" if self.status_code else ""
        prefix = f"{where}{status}: " if where or status else ""
        return f"{prefix}{self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, provider={self.provider!r}, "
            f"model={self.model!r}, status_code={self.status_code!r})"
        )


class ProviderAuthenticationError(ProviderError):
    """The key was refused (401) or lacks permission (403)."""


class ProviderBadRequestError(ProviderError):
    """The provider rejected the request as malformed; another model would reject it too."""


class ProviderUnsupportedError(ProviderBadRequestError):
    """The request asks for something this provider cannot express (a JSON Schema keyword
    its structured outputs lack, say); refused before sending. Another provider may take it,
    so an alias moves on to its next model."""

    fallback_eligible = True


class ModelNotFoundError(ProviderError):
    """The provider does not serve this model (404)."""

    fallback_eligible = True


class ProviderConfigurationError(ProviderError):
    """The server answered 404 with something other than its model-not-found error: the
    base URL is wrong (e.g. ``OPENAI_BASE_URL`` without ``/v1``). The message names the URL
    tried. Never a reason to fall back: every model at that URL would fail the same way."""


class ProviderRateLimitError(ProviderError):
    """Too many requests (429). ``retry_after`` is in seconds when the provider said."""

    fallback_eligible = True
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ProviderTimeoutError(ProviderError):
    """The provider did not answer in time (408, 504), or a deadline of ``Timeout`` ran out.

    ``phase`` names the deadline (``"connect"``, ``"first_token"``, ``"idle"``, ``"total"``);
    it is None for a 408/504 answer. ``partial`` is what had arrived.
    """

    fallback_eligible = True
    retryable = True

    def __init__(
        self, message: str, *, phase: TimeoutPhase | None = None, **kwargs: object
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.phase = phase


class ProviderOverloadedError(ProviderError):
    """The provider is failing or overloaded (5xx, Anthropic's 529)."""

    fallback_eligible = True
    retryable = True


class ProviderConnectionError(ProviderError):
    """No connection could be made, or it broke before the answer was complete."""

    fallback_eligible = True
    retryable = True


class ProviderResponseError(ProviderError):
    """The answer cannot be used: malformed, cut short, or an in-band error without a class."""


class ResponseTooLargeError(ProviderResponseError):
    """A stream's line or event, or a whole non-streamed body, was larger than the bound set
    by ``LLMRing(max_event_bytes=...)`` or ``LLMRing(max_response_bytes=...)``: refused as
    soon as it crossed ``limit`` bytes (after content decoding), the rest left unread and the
    connection closed. The message names the setting."""

    def __init__(self, message: str, *, limit: int, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.limit = limit


class AllModelsFailedError(LLMRingError):
    """Every model bound to an alias failed; ``attempts`` has ``(model, error)`` for each
    attempt in order, retries of one model included."""

    def __init__(self, alias: str, attempts: list[tuple[str, LLMRingError]]) -> None:
        lines = "\n".join(f"  {model}: {error}" for model, error in attempts)
        models = len(dict.fromkeys(model for model, _ in attempts))
        super().__init__(f"all {models} models for {alias!r} failed:\n{lines}")
        self.alias = alias
        self.attempts = attempts


class StructuredOutputError(LLMRingError):
    """A structured answer that does not parse or validate.

    ``text`` is the raw answer, ``errors`` the validation errors (pydantic's ``errors()``
    shape: ``type``, ``loc``, ``msg``), ``partial`` the whole response as received (its
    ``parsed`` is ``None``). Another model could answer better, but the answer was already
    received, so this is raised after fallback and never triggers it.
    """

    def __init__(
        self,
        message: str,
        *,
        text: str,
        errors: list[dict[str, Any]],
        partial: LLMResponse | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.errors = errors
        self.partial = partial


class ConnectionPoolTimeoutError(LLMRingError):
    """Every connection of the local pool stayed busy for the whole pool timeout.

    A local limit, not the provider's: nothing was sent, and another model or a retry would
    wait in the same pool, so it is never fallen back on. Raise ``max_connections`` (or lower
    the concurrency) if it happens. ``max_connections`` is the pool size when it is known.
    """

    def __init__(
        self, message: str, *, provider: str | None = None, max_connections: int | None = None
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.max_connections = max_connections


class LockfileError(LLMRingError):
    """Base of lockfile and alias errors."""


class LockfileNotFoundError(LockfileError, FileNotFoundError):
    """The lockfile named by the caller or by ``LLMRING_LOCKFILE_PATH`` does not exist."""


class LockfileParseError(LockfileError):
    """The lockfile is not valid TOML or not a valid lockfile; names the file and the line."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class AliasNotFoundError(LockfileError, KeyError):
    """The alias is bound in no profile in reach; the message lists the known ones, and
    ``suggestion`` the model reference a bare model name (``gpt-4o-mini``) likely meant."""

    def __init__(
        self, alias: str, profile: str, known: list[str], suggestion: str | None = None
    ) -> None:
        known_text = ", ".join(sorted(known)) or "none"
        hint = f"; did you mean {suggestion!r}?" if suggestion is not None else ""
        super().__init__(
            f"unknown alias {alias!r} in profile {profile!r} (known: {known_text}){hint}"
        )
        self.alias = alias
        self.profile = profile
        self.known = known
        #: What the name probably meant: ``openai:gpt-4o-mini`` for a bare ``gpt-4o-mini``.
        self.suggestion = suggestion

    def __str__(self) -> str:  # KeyError would repr the message
        return str(self.args[0])


class CassetteMismatchError(LLMRingError):
    """A cassette that may not record (``mode="none"``, or ``"once"`` once it exists) has no
    unused recorded answer for a request. The message shows the request and the closest
    recorded one, credentials scrubbed; never retried, never a reason to fall back."""


def error_class_for_status(status_code: int) -> type[ProviderError]:
    """The error class for an HTTP status; in-band stream errors reuse it by status."""
    if status_code in (401, 403):
        return ProviderAuthenticationError
    if status_code == 404:
        return ModelNotFoundError
    if status_code == 429:
        return ProviderRateLimitError
    if status_code in (408, 504):
        return ProviderTimeoutError
    if status_code >= 500:  # 529 is Anthropic's "overloaded"
        return ProviderOverloadedError
    if 400 <= status_code < 500:
        return ProviderBadRequestError
    return ProviderResponseError
