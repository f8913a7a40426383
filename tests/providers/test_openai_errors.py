"""OpenAI error bodies: message, type, retry hint and class override; never raising."""

from __future__ import annotations

import pytest

from llmring.exceptions import ModelNotFoundError
from llmring.providers.base import ErrorInfo
from llmring.providers.openai import OpenAIProvider
from llmring.providers.openai.errors import parse_retry_after
from llmring.testing import load_recording
from tests.conftest import RECORDINGS, SHARED_WIRE

PROVIDER = OpenAIProvider(api_key="k")


def test_own_401() -> None:
    recording = load_recording(RECORDINGS / "openai" / "error-401.json")
    assert recording.status == 401
    assert PROVIDER.error_info(recording.body) == ErrorInfo(
        message=(
            "Incorrect API key provided: not-a-re*****-key. You can find your API key at "
            "https://platform.openai.com/account/api-keys."
        ),
        error_type="invalid_request_error",
    )


def test_own_429_says_when_to_retry() -> None:
    recording = load_recording(RECORDINGS / "openai" / "error-429.json")
    info = PROVIDER.error_info(recording.body)
    assert (info.error_type, info.retry_after, info.error_class) == ("requests", 20.0, None)
    assert recording.expect["message_contains"] in (info.message or "")


@pytest.mark.parametrize(
    ("name", "error_type", "error_class"),
    [
        ("error-400-unsupported-param.json", "invalid_request_error", None),
        ("error-401-auth.json", "invalid_request_error", None),
        ("error-404-model-not-found.json", "invalid_request_error", ModelNotFoundError),
    ],
)
def test_shared_error_bodies(name: str, error_type: str, error_class: type | None) -> None:
    path = SHARED_WIRE / "openai-chat" / name
    if not path.exists():
        pytest.skip("../shared/wire not present")
    info = PROVIDER.error_info(path.read_bytes())
    assert (info.error_type, info.retry_after, info.error_class) == (error_type, None, error_class)
    assert info.message is not None


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"\xff\xfe", b"[]", b'{"error": 5}', b'{"detail": "x"}', b"null"],
)
def test_error_info_never_raises(body: bytes) -> None:
    assert PROVIDER.error_info(body) == ErrorInfo()


def test_error_as_plain_string() -> None:
    body = b'{"error": "model \\"llama9\\" not found, try pulling it first"}'
    assert PROVIDER.error_info(body) == ErrorInfo(
        message='model "llama9" not found, try pulling it first'
    )


@pytest.mark.parametrize(
    ("message", "seconds"),
    [
        ("Limit 3, Used 3, Requested 1. Please try again in 20s. Visit https://x", 20.0),
        ("Please try again in 1.5s.", 1.5),
        ("Please try again in 250ms.", 0.25),
        ("Please try again in 6m0s.", 360.0),
        ("Please try again in 1h2m3.5s.", 3723.5),
        ("Requests to the ChatCompletions_Create Operation ... Please retry after 7 seconds.", 7.0),
        ("You exceeded your current quota.", None),
        (None, None),
    ],
)
def test_parse_retry_after(message: str | None, seconds: float | None) -> None:
    assert parse_retry_after(message) == seconds
