"""The errors llmring raises.

    LLMRingError
    ├── ProviderNotFoundError          unknown provider, or its API key is not set
    ├── InvalidModelReferenceError     not of the form provider:model (also a ValueError)
    ├── AllModelsFailedError           every model of an alias failed; .attempts has each error
    ├── ConnectionPoolTimeoutError     no connection of llmring's own pool came free in time
    ├── ProviderError                  a provider answered badly, or not at all
    │   ├── ProviderAuthenticationError     401, 403
    │   ├── ProviderBadRequestError         400, 413, 422: the request itself is wrong
    │   ├── ModelNotFoundError              404
    │   ├── ProviderRateLimitError          429 (.retry_after)
    │   ├── ProviderTimeoutError            408, 504, or no byte within the timeout
    │   ├── ProviderOverloadedError         5xx, 529
    │   ├── ProviderConnectionError         could not connect, or the connection broke
    │   └── ProviderResponseError           an answer llmring cannot use: malformed, cut short,
    │                                       not the content type promised, an in-band error
    └── LockfileError
        ├── LockfileNotFoundError
        ├── LockfileParseError          names the file and the line
        └── AliasNotFoundError          names the aliases that do exist

Every ``ProviderError`` raised once a stream has started carries ``partial``: the
``LLMResponse`` assembled from what arrived before the failure. ``fallback_eligible`` says
whether another model could plausibly succeed where this one failed; the fallback policy reads
that attribute and nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from .schemas import LLMResponse

__all__ = [
    "AliasNotFoundError",
    "AllModelsFailedError",
    "ConnectionPoolTimeoutError",
    "InvalidModelReferenceError",
    "LLMRingError",
    "LockfileError",
    "LockfileNotFoundError",
    "LockfileParseError",
    "ModelNotFoundError",
    "ProviderAuthenticationError",
    "ProviderBadRequestError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderNotFoundError",
    "ProviderOverloadedError",
    "ProviderRateLimitError",
    "ProviderResponseError",
    "ProviderTimeoutError",
    "error_class_for_status",
]


class LLMRingError(Exception):
    """Base of every error llmring raises."""

    fallback_eligible: ClassVar[bool] = False


class ProviderNotFoundError(LLMRingError):
    """The provider is unknown, or is not configured (its API key is missing)."""

    fallback_eligible = True


class InvalidModelReferenceError(LLMRingError, ValueError):
    """A model reference is not of the form ``provider:model``."""


class ProviderError(LLMRingError):
    """A provider failed to give a usable answer.

    ``body_excerpt`` is the start of the error body as received (never a request header,
    so never a key); ``partial`` is what a stream had delivered before it failed.
    """

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


class ModelNotFoundError(ProviderError):
    """The provider does not serve this model (404)."""

    fallback_eligible = True


class ProviderRateLimitError(ProviderError):
    """Too many requests (429). ``retry_after`` is in seconds when the provider said."""

    fallback_eligible = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ProviderTimeoutError(ProviderError):
    """The provider did not answer in time (408, 504, or a read timeout)."""

    fallback_eligible = True


class ProviderOverloadedError(ProviderError):
    """The provider is failing or overloaded (5xx, Anthropic's 529)."""

    fallback_eligible = True


class ProviderConnectionError(ProviderError):
    """No connection could be made, or it broke before the answer was complete."""

    fallback_eligible = True


class ProviderResponseError(ProviderError):
    """The answer cannot be used: malformed, cut short, or an in-band error without a class."""


class AllModelsFailedError(LLMRingError):
    """Every model bound to an alias failed; ``attempts`` maps each model to its error."""

    def __init__(self, alias: str, attempts: list[tuple[str, LLMRingError]]) -> None:
        lines = "\n".join(f"  {model}: {error}" for model, error in attempts)
        super().__init__(f"all {len(attempts)} models for {alias!r} failed:\n{lines}")
        self.alias = alias
        self.attempts = attempts


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
    """The alias is bound in no profile in reach; the message lists the known ones."""

    def __init__(self, alias: str, profile: str, known: list[str]) -> None:
        known_text = ", ".join(sorted(known)) or "none"
        super().__init__(f"unknown alias {alias!r} in profile {profile!r} (known: {known_text})")
        self.alias = alias
        self.profile = profile
        self.known = known

    def __str__(self) -> str:  # KeyError would repr the message
        return str(self.args[0])


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
