"""What Anthropic's error bodies say, and the classes their statuses map to."""

from __future__ import annotations

import pytest

from llmring.exceptions import error_class_for_status
from llmring.providers.anthropic import AnthropicProvider
from llmring.providers.base import ErrorInfo
from llmring.testing import load_recording
from tests.conftest import RECORDINGS

DIR = RECORDINGS / "anthropic"
ERRORS = ["error-401", "error-429", "error-529"]


def error_info(body: bytes) -> ErrorInfo:
    return AnthropicProvider(api_key="k").error_info(body)


@pytest.mark.parametrize("name", ERRORS)
def test_error_recording(name: str) -> None:
    recording = load_recording(DIR / f"{name}.json")
    info = error_info(recording.body)
    assert info.message is not None
    assert recording.expect["message_contains"] in info.message
    assert error_class_for_status(recording.status).__name__ == recording.expect["error"]
    # the body never says how long to wait; a 429 says it in its retry-after header
    assert info.retry_after is None
    assert recording.headers.get("retry-after") == (
        str(recording.expect["retry_after"]) if "retry_after" in recording.expect else None
    )


def test_error_info_in_full() -> None:
    body = load_recording(DIR / "error-529.json").body
    assert error_info(body) == ErrorInfo(message="Overloaded", error_type="overloaded_error")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html><body>413 Request Entity Too Large</body></html>",
        b'{"error": "nope"}',
        b'{"type":"error","error":"flat string"}',
        b"\xff\xfe",
        b"null",
    ],
)
def test_error_info_never_raises(body: bytes) -> None:
    assert error_info(body) == ErrorInfo()
