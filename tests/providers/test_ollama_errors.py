"""Ollama configuration (optional Cloud key) and error bodies."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmring.exceptions import error_class_for_status
from llmring.providers import create_provider
from llmring.providers.base import ErrorInfo
from llmring.providers.ollama import OllamaProvider
from llmring.testing import load_recording
from tests.conftest import RECORDINGS

ERRORS = sorted(
    path
    for path in (RECORDINGS / "ollama").glob("error-*.json")
    if not path.name.endswith(".meta.json")
)
KEY = "test-ollama-key-0000"


def test_error_recordings_are_present() -> None:
    assert [path.stem for path in ERRORS] == ["error-400", "error-401", "error-404", "error-429"]


@pytest.mark.parametrize("path", ERRORS, ids=[path.stem for path in ERRORS])
def test_error_body(path: Path) -> None:
    recording = load_recording(path)
    info = OllamaProvider(environ={}).error_info(recording.body)

    assert info.message is not None
    assert recording.expect["message_contains"] in info.message
    assert info.retry_after == recording.expect.get("retry_after")
    assert info.error_class is None  # the status decides
    assert error_class_for_status(recording.status).__name__ == recording.expect["error"]


def test_model_not_found_message_is_kept_whole() -> None:
    info = OllamaProvider(environ={}).error_info(
        b'{"error":"model \\"llama9\\" not found, try pulling it first"}'
    )
    assert info == ErrorInfo(message='model "llama9" not found, try pulling it first')


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"404 page not found",
        b"<html>bad gateway</html>",
        b'{"error":{"message":"x"}}',
        b"[1]",
        b"\xff\xfe",
        b'{"detail":"nope"}',
    ],
)
def test_error_info_never_raises(body: bytes) -> None:
    assert OllamaProvider(environ={}).error_info(body) == ErrorInfo()


def test_local_server_needs_no_key() -> None:
    provider = OllamaProvider(environ={})
    assert provider.is_configured
    assert provider.headers() == {}
    assert provider.base_url == "http://localhost:11434"


def test_cloud_key_from_environment_is_sent() -> None:
    provider = OllamaProvider(
        environ={"OLLAMA_API_KEY": KEY, "OLLAMA_BASE_URL": "https://ollama.com/"}
    )
    assert provider.headers() == {"Authorization": f"Bearer {KEY}"}
    assert provider.base_url == "https://ollama.com"
    assert KEY not in repr(provider)


def test_key_passed_in_wins_over_environment() -> None:
    provider = OllamaProvider(api_key="other-key", environ={"OLLAMA_API_KEY": KEY})
    assert provider.headers() == {"Authorization": "Bearer other-key"}


def test_registry_builds_the_ollama_provider() -> None:
    provider = create_provider("ollama", environ={"OLLAMA_BASE_URL": "http://gpu-box:11434"})
    assert isinstance(provider, OllamaProvider)
    assert (provider.name, provider.stream_format) == ("ollama", "ndjson")
    assert provider.endpoint("llama3.2", stream=True) == "http://gpu-box:11434/api/chat"
