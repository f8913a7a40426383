"""Every real recording in ../shared/wire, checked against its MANIFEST.tsv.

The shared recordings are read where they are (never copied into the project); the test is
skipped when they are absent. Text length, tool-call count and the provider's own token
counts must match the manifest for every file; error bodies must give a typed error with the
provider's message; mid-stream errors must keep the text received before them.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from llmring._transport import error_from_response
from llmring.exceptions import ProviderError, error_class_for_status
from llmring.providers import create_provider
from llmring.schemas import LLMResponse
from tests.conftest import SHARED_WIRE
from tests.replay_parse import parse_stream

pytestmark = pytest.mark.skipif(
    not (SHARED_WIRE / "MANIFEST.tsv").exists(), reason="../shared/wire is not present"
)

# shared/wire directory -> llmring provider, and the provider's own names for token counts
PROVIDERS = {
    "anthropic": ("anthropic", "input_tokens", "output_tokens"),
    "gemini": ("google", "promptTokenCount", "candidatesTokenCount"),
    "ollama": ("ollama", "prompt_eval_count", "eval_count"),
    "openai-chat": ("openai", "prompt_tokens", "completion_tokens"),
    "openai-responses": ("openai-responses", "input_tokens", "output_tokens"),
}


@dataclass(frozen=True)
class Entry:
    file: str
    exercises: frozenset[str]
    text_chars: int | None
    tool_calls: int | None
    input_tokens: int | None
    output_tokens: int | None
    notes: str

    @property
    def path(self) -> Path:
        return SHARED_WIRE / self.file

    @property
    def provider(self) -> str:
        return PROVIDERS[self.file.split("/")[0]][0]


def _int(value: str) -> int | None:
    return int(value) if value.strip() else None


def manifest() -> list[Entry]:
    path = SHARED_WIRE / "MANIFEST.tsv"
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Entry(
                file=row["file"],
                exercises=frozenset(row["exercises"].split(",")),
                text_chars=_int(row["text_chars"]),
                tool_calls=_int(row["tool_calls"]),
                input_tokens=_int(row["input_tokens"]),
                output_tokens=_int(row["output_tokens"]),
                notes=row["notes"],
            )
            for row in csv.DictReader(handle, delimiter="\t")
        ]


ENTRIES = manifest()
ERROR_BODIES = [e for e in ENTRIES if "error_http" in e.exercises]
RESPONSES = [e for e in ENTRIES if "error_http" not in e.exercises]


def parse_recording(entry: Entry) -> tuple[LLMResponse, str | None]:
    """The response a file adds up to, and the class name of the error it raised, if any."""
    body = entry.path.read_bytes()
    label = f"{entry.provider}:wire"
    provider = create_provider(entry.provider, api_key="test-key")
    if entry.path.suffix == ".json":
        if "json_array_form" in entry.exercises:
            # streamGenerateContent without alt=sse: a JSON array of the same chunk objects
            payloads = [json.dumps(item) for item in json.loads(body)]
            parser = provider.stream_parser(label)
            for payload in payloads:
                parser.feed(payload)
            parser.finish()
            return parser.snapshot(), None
        return provider.parse_response(body, label), None
    content_type = "text/event-stream" if entry.path.suffix == ".sse" else "application/x-ndjson"
    chunks, error, partial = parse_stream(entry.provider, label, [body], content_type)
    if error is not None:
        assert partial is not None
        return partial, error
    final = chunks[-1]
    return (
        LLMResponse(
            content="".join(c.delta for c in chunks),
            model=label,
            usage=final.usage,
            tool_calls=final.tool_calls,
            finish_reason=final.finish_reason,
        ),
        None,
    )


@pytest.mark.parametrize("entry", RESPONSES, ids=[e.file for e in RESPONSES])
def test_recording_matches_manifest(entry: Entry) -> None:
    response, error = parse_recording(entry)
    _, input_key, output_key = PROVIDERS[entry.file.split("/")[0]]
    raw = response.usage.raw if response.usage and response.usage.raw else {}
    got = {
        "text_chars": len(response.content),
        "tool_calls": len(response.tool_calls or []),
        "input_tokens": raw.get(input_key),
        "output_tokens": raw.get(output_key),
        "raised": error is not None,
    }
    want = {
        "text_chars": entry.text_chars,
        "tool_calls": entry.tool_calls,
        "input_tokens": entry.input_tokens,
        "output_tokens": entry.output_tokens,
        "raised": "error_midstream" in entry.exercises,
    }
    if error is not None:
        # the usage of a stream that failed is not reported; its text must survive
        got["input_tokens"] = want["input_tokens"]
        got["output_tokens"] = want["output_tokens"]
    assert got == want


@pytest.mark.parametrize("entry", ERROR_BODIES, ids=[e.file for e in ERROR_BODIES])
def test_error_body_gives_a_typed_error_with_the_providers_message(entry: Entry) -> None:
    match = re.search(r"HTTP (\d{3})", entry.notes)
    assert match is not None, "the manifest names the status of every error body"
    status = int(match.group(1))
    body = entry.path.read_bytes()
    provider = create_provider(entry.provider, api_key="test-key")
    response = httpx.Response(status, headers={"content-type": "application/json"}, content=body)
    error = error_from_response(provider, "wire", response, body)
    info = provider.error_info(body)
    assert isinstance(error, ProviderError)
    assert info.message and info.message in str(error)
    # the class is the status's, unless the body says more (Gemini's API_KEY_INVALID on a 400)
    assert type(error) is (info.error_class or error_class_for_status(status))
