"""Gemini error bodies: message, status, retry delay, and the class a refused key means."""

from __future__ import annotations

import pytest

from llmring.exceptions import ProviderAuthenticationError, error_class_for_status
from llmring.providers.base import ErrorInfo
from llmring.providers.google import GoogleProvider
from llmring.testing import Recording, iter_recordings
from tests.conftest import RECORDINGS

ERRORS = [
    recording for recording in iter_recordings(RECORDINGS / "google") if recording.status >= 400
]


def _info(body: bytes) -> ErrorInfo:
    return GoogleProvider(api_key="k").error_info(body)


def test_error_recordings_exist() -> None:
    assert sorted(recording.scenario for recording in ERRORS) == [
        "error-400-api-key",
        "error-401",
        "error-429",
    ]


@pytest.mark.parametrize("recording", ERRORS, ids=lambda recording: recording.scenario)
def test_error_recording_matches_expect(recording: Recording) -> None:
    info = _info(recording.body)
    error_class = info.error_class or error_class_for_status(recording.status)
    assert error_class.__name__ == recording.expect["error"]
    assert info.message is not None
    assert recording.expect["message_contains"] in info.message
    assert info.retry_after == recording.expect.get("retry_after")


def test_bad_key_is_an_authentication_error_despite_400() -> None:
    body = next(r for r in ERRORS if r.scenario == "error-400-api-key").body
    assert _info(body) == ErrorInfo(
        message="API key not valid. Please pass a valid API key.",
        error_type="INVALID_ARGUMENT",
        error_class=ProviderAuthenticationError,
    )


def test_rate_limit_says_how_long_to_wait() -> None:
    body = next(r for r in ERRORS if r.scenario == "error-429").body
    info = _info(body)
    assert (info.error_type, info.retry_after, info.error_class) == (
        "RESOURCE_EXHAUSTED",
        30.0,
        None,
    )


def test_error_wrapped_in_an_array() -> None:
    body = b'[{"error": {"code": 404, "message": "models/x is not found", "status": "NOT_FOUND"}}]'
    assert _info(body) == ErrorInfo(message="models/x is not found", error_type="NOT_FOUND")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html><body>502 Bad Gateway</body></html>",
        b"[]",
        b"null",
        b'{"error": "text"}',
        b'{"error": {"code": "x"}}',
        b'{"something": "else"}',
        b"\xff\xfe",
        b'{"error": {"message": "m", "details": [{"@type": '
        b'"type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "soon"}]}}',
    ],
)
def test_unparseable_bodies_never_raise(body: bytes) -> None:
    info = _info(body)
    assert info.retry_after is None
    assert info.error_class is None
