"""Gemini error bodies: which llmring error each one means, and how long it says to wait.

Google APIs answer ``{"error": {"code", "message", "status", "details": [...]}}``
(https://ai.google.dev/gemini-api/docs/troubleshooting, https://google.aip.dev/193); the same
object arrives in-band inside a 200 stream when generation fails part way.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from llmring.exceptions import (
    ProviderAuthenticationError,
    ProviderError,
    ProviderRateLimitError,
    ProviderResponseError,
    error_class_for_status,
)
from llmring.providers.base import ErrorInfo

__all__ = ["GoogleError", "error_from_object", "google_error_info", "parse_retry_delay"]

#: ``ErrorInfo.reason`` values that mean the key itself was refused, whatever the status
#: (a bad key is a 400 INVALID_ARGUMENT: ../shared/wire/gemini/error-400-api-key.json).
AUTH_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED"})

_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
# A protobuf Duration in JSON: decimal seconds with an "s" suffix ("30s", "1.500s").
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")


class GoogleErrorDetail(BaseModel):
    """One ``details[]`` entry; only ``ErrorInfo.reason`` and ``RetryInfo.retryDelay`` matter."""

    type: str | None = Field(default=None, alias="@type")
    reason: str | None = None
    retryDelay: str | None = None


class GoogleError(BaseModel):
    """The ``error`` object of an error body or an in-band stream error."""

    code: int | None = None
    message: str | None = None
    status: str | None = None
    details: list[GoogleErrorDetail] = []


class GoogleErrorBody(BaseModel):
    error: GoogleError


# Without alt=sse, streamGenerateContent wraps the error body in a one-element JSON array.
_ERROR_BODY = TypeAdapter(GoogleErrorBody | list[GoogleErrorBody])


def parse_retry_delay(error: GoogleError) -> float | None:
    """Seconds to wait from a ``RetryInfo`` detail (``"retryDelay": "30s"``), if any."""
    for detail in error.details:
        if (
            detail.type == _RETRY_INFO
            and detail.retryDelay
            and (match := _DURATION.match(detail.retryDelay.strip()))
        ):
            return float(match.group(1))
    return None


def _auth_refused(error: GoogleError) -> bool:
    return any(
        detail.type == _ERROR_INFO and detail.reason in AUTH_REASONS for detail in error.details
    )


def google_error_info(body: bytes) -> ErrorInfo:
    """What an error body says; an empty ``ErrorInfo`` for anything unparseable."""
    try:
        parsed = _ERROR_BODY.validate_json(body)
    except (ValidationError, ValueError):
        return ErrorInfo()
    if isinstance(parsed, list):
        if not parsed:
            return ErrorInfo()
        parsed = parsed[0]
    error = parsed.error
    return ErrorInfo(
        message=error.message,
        error_type=error.status,
        retry_after=parse_retry_delay(error),
        error_class=ProviderAuthenticationError if _auth_refused(error) else None,
    )


def error_from_object(error: GoogleError) -> ProviderError:
    """The exception for an in-band ``{"error": {...}}`` payload, classed by its code."""
    message = error.message or error.status or "error in stream"
    if _auth_refused(error):
        return ProviderAuthenticationError(message)
    if error.code is None:
        return ProviderResponseError(message)
    error_class = error_class_for_status(error.code)
    if error_class is ProviderRateLimitError:
        return ProviderRateLimitError(message, retry_after=parse_retry_delay(error))
    return error_class(message)
