"""OpenAI error objects: which llmring error each one means, and how long it says to wait.

Shared by Chat Completions and the Responses API, which use the same error object
(https://platform.openai.com/docs/guides/error-codes).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, TypeAdapter, ValidationError

from llmring.exceptions import (
    ModelNotFoundError,
    ProviderError,
    ProviderRateLimitError,
    ProviderResponseError,
    error_class_for_status,
)
from llmring.providers.base import ErrorInfo

__all__ = [
    "ERROR_STATUS",
    "OpenAIErrorObject",
    "error_from_object",
    "openai_error_info",
    "parse_retry_after",
]


class OpenAIErrorObject(BaseModel):
    """``{"message", "type", "param", "code"}``; OpenAI-compatible servers put an int in code."""

    message: str | None = None
    type: str | None = None
    param: str | None = None
    code: str | int | None = None


class OpenAIErrorBody(BaseModel):
    """An error body. Some OpenAI-compatible servers send ``{"error": "text"}``."""

    error: OpenAIErrorObject | str


_ERROR_BODY = TypeAdapter(OpenAIErrorBody)

#: The HTTP status an error code or type stands for, for errors that arrive in a 200 stream.
ERROR_STATUS: dict[str, int] = {
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "server_error": 500,
    "invalid_api_key": 401,
    "model_not_found": 404,
}

# "Please try again in 20s." / "in 1.5s" / "in 250ms" / "in 6m0s" (rate-limit messages);
# Azure OpenAI says "Please retry after 20 seconds."
_TRY_AGAIN = re.compile(r"try again in ((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)")
_RETRY_AFTER = re.compile(r"retry after (\d+(?:\.\d+)?) seconds?")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_retry_after(message: str | None) -> float | None:
    """Seconds to wait, when an error message says (``"Please try again in 1.5s"``)."""
    if not message:
        return None
    if match := _TRY_AGAIN.search(message):
        return sum(
            float(value) * _UNIT_SECONDS[unit]
            for value, unit in _DURATION_PART.findall(match.group(1))
        )
    if match := _RETRY_AFTER.search(message):
        return float(match.group(1))
    return None


def _status_for(error: OpenAIErrorObject) -> int | None:
    if isinstance(error.code, int) and 400 <= error.code < 600:
        return error.code
    for key in (error.code, error.type):
        if isinstance(key, str) and key in ERROR_STATUS:
            return ERROR_STATUS[key]
    return None


def error_from_object(error: OpenAIErrorObject, *, default: str) -> ProviderError:
    """The exception for an error object received inside a 200 stream.

    The class is the one the code or type stands for (``rate_limit_exceeded`` -> 429);
    anything else is a ``ProviderResponseError``. ``default`` is the message when there is none.
    """
    message = error.message or default
    status = _status_for(error)
    cls = ProviderResponseError if status is None else error_class_for_status(status)
    if issubclass(cls, ProviderRateLimitError):
        return cls(message, retry_after=parse_retry_after(message))
    return cls(message)


def openai_error_info(body: bytes) -> ErrorInfo:
    """What an OpenAI error body says; never raises."""
    try:
        parsed = _ERROR_BODY.validate_json(body)
    except ValidationError:
        return ErrorInfo()
    if isinstance(parsed.error, str):
        return ErrorInfo(message=parsed.error)
    error = parsed.error
    # The Responses API answers an unknown model with 400 model_not_found
    # (shared/wire/openai-responses/error-400-model-not-found.json): another model may work.
    error_class = ModelNotFoundError if error.code == "model_not_found" else None
    return ErrorInfo(
        message=error.message,
        error_type=error.type if error.type is not None else _code_text(error.code),
        retry_after=parse_retry_after(error.message),
        error_class=error_class,
    )


def _code_text(code: str | int | None) -> str | None:
    return None if code is None else str(code)
