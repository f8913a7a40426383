"""The cassette on disk: one directory, one human-readable index, one file per body.

    tests/cassettes/test_checkout/test_pays/
        cassette.json          the index: every interaction, in the order it was requested
        001-chat-completions.sse   a response body, byte for byte as it was received

``cassette.json`` holds, per interaction, the request (method, URL, headers, JSON body; all
scrubbed of credentials), the response status and headers, the name of its body file, and
``reads``: ``[seconds, bytes]`` for each read of the body, the seconds counted from the moment
the response headers arrived (``waited`` is the time from sending to those headers). A person
can read and edit any of it; edit a body and delete its ``reads`` to replay it one event at a
time. ``meta`` is free-form (llmring's own recordings keep ``model`` and ``expect`` there).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FORMAT_VERSION",
    "INDEX_NAME",
    "CassetteIndex",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
    "body_suffix",
    "read_index",
    "write_index",
]

INDEX_NAME = "cassette.json"
FORMAT_VERSION = 1


class RecordedRequest(BaseModel):
    """A request as sent, credentials scrubbed. ``body`` is the parsed JSON, else the text."""

    model_config = ConfigDict(extra="forbid")

    method: str
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None


class RecordedResponse(BaseModel):
    """A response: status, headers, where its body is, and when each read of it arrived."""

    model_config = ConfigDict(extra="forbid")

    status: int = 200
    headers: dict[str, str] = Field(default_factory=dict)
    body_file: str
    waited: float = 0.0
    reads: list[tuple[float, int]] = Field(default_factory=list)
    #: False when the application closed the response before its end: the body is a prefix.
    complete: bool = True


class Interaction(BaseModel):
    """One request and its response. ``request`` is None for a hand-made recording."""

    model_config = ConfigDict(extra="forbid")

    name: str
    request: RecordedRequest | None = None
    response: RecordedResponse
    meta: dict[str, Any] = Field(default_factory=dict)


class CassetteIndex(BaseModel):
    """The whole of ``cassette.json``."""

    model_config = ConfigDict(extra="forbid")

    llmring_cassette: int = FORMAT_VERSION
    meta: dict[str, Any] = Field(default_factory=dict)
    interactions: list[Interaction] = Field(default_factory=list)


def read_index(directory: Path) -> CassetteIndex | None:
    """The index of the cassette in ``directory``; None if there is none."""
    path = directory / INDEX_NAME
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    return CassetteIndex.model_validate_json(text)


# ``[\n      0.012,\n      345\n    ]`` -> ``[0.012, 345]``: one line per read, not four.
_PAIR = re.compile(r"\[\s+(-?[\d.eE+-]+),\s+(-?[\d.eE+-]+)\s+\]")


def write_index(directory: Path, index: CassetteIndex) -> None:
    """Write ``index`` atomically (a reader never sees half a file)."""
    directory.mkdir(parents=True, exist_ok=True)
    data = index.model_dump(mode="json", exclude_defaults=False)
    text = _PAIR.sub(r"[\1, \2]", json.dumps(data, indent=2, ensure_ascii=False)) + "\n"
    write_atomically(directory / INDEX_NAME, text.encode("utf-8"))


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def body_suffix(content_type: str) -> str:
    """The file suffix a body of ``content_type`` is stored under."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "text/event-stream":
        return ".sse"
    if "ndjson" in kind or "jsonl" in kind or "json-seq" in kind:
        return ".ndjson"
    if kind.endswith("json"):
        return ".json"
    if kind.startswith("text/"):
        return ".txt"
    return ".bin"
