"""Replies made of the recordings: each provider's recorded stream, as its server sends it."""

from __future__ import annotations

from llmring.testing import load_recording
from tests.conftest import RECORDINGS
from tests.loopback.reply import Reply, streamed

#: The streamed recording each provider's proof replays: the UTF-8 one, multi-byte throughout.
STREAM_FILES = {
    "anthropic": "anthropic/utf8.sse",
    "google": "google/utf8.sse",
    "ollama": "ollama/utf8.ndjson",
    "openai": "openai/utf8.sse",
    "openai-responses": "openai-responses/utf8.sse",
}


def provider_reply(provider: str, *, reads: int = 4, gap: float = 0.0) -> Reply:
    """``provider``'s recorded stream, its events grouped into ``reads`` network reads
    ``gap`` seconds apart."""
    recording = load_recording(RECORDINGS / STREAM_FILES[provider])
    content_type = recording.headers.get("content-type", "text/event-stream")
    return streamed(recording.body, content_type, reads=reads, gap=gap)
