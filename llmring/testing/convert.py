"""Move old-style recordings (body + ``.meta.json`` sidecar) into the cassette format.

    python -m llmring.testing.convert [ROOT ...]        # default: recordings

Each directory holding sidecars becomes a cassette: its ``cassette.json`` gets one
interaction per body file (named after the file, the sidecar's notes in ``meta``, status and
headers in ``response``) and the sidecars are deleted. The bodies stay where they are, so a
test that loads ``recordings/openai/text.sse`` still does. Running it again converts only
sidecars that have appeared since (say, merged from another branch; a sidecar replaces the
interaction of the same body file) and otherwise writes nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from llmring.testing._replay import BODY_SUFFIXES, CONTENT_TYPES
from llmring.testing.format import (
    INDEX_NAME,
    CassetteIndex,
    Interaction,
    RecordedResponse,
    read_index,
    write_index,
)

__all__ = ["convert_directory", "convert_recordings", "main"]

_SIDECAR = ".meta.json"


def convert_recordings(root: str | Path = "recordings") -> list[Path]:
    """Convert every directory below ``root`` that has sidecars; the cassettes written."""
    root = Path(root)
    directories = sorted({path.parent for path in root.rglob(f"*{_SIDECAR}")})
    return [directory for directory in directories if convert_directory(directory)]


def convert_directory(directory: Path) -> bool:
    """Fold ``directory``'s sidecars into its ``cassette.json``; whether anything changed."""
    index = read_index(directory) or CassetteIndex()
    by_file = {interaction.response.body_file: interaction for interaction in index.interactions}
    sidecars: list[Path] = []
    for body in sorted(directory.iterdir()):
        if body.suffix not in BODY_SUFFIXES or body.name.endswith(_SIDECAR):
            continue
        if body.name == INDEX_NAME:
            continue
        sidecar = body.with_name(body.stem + _SIDECAR)
        if sidecar.exists():
            meta: dict[str, Any] = json.loads(sidecar.read_text("utf-8"))
            sidecars.append(sidecar)
        elif body.name in by_file:
            continue
        else:
            meta = {}
        by_file[body.name] = Interaction(
            name=body.stem,
            response=RecordedResponse(
                status=int(meta.pop("status", 200)),
                headers=dict(meta.pop("headers", {"content-type": CONTENT_TYPES[body.suffix]})),
                body_file=body.name,
            ),
            meta=meta,
        )
    converted = CassetteIndex(
        meta=index.meta,
        interactions=sorted(by_file.values(), key=lambda i: i.response.body_file),
    )
    if converted == index and not sidecars:
        return False
    write_index(directory, converted)
    for sidecar in sidecars:
        sidecar.unlink()
    return True


def main(argv: list[str] | None = None) -> int:
    """Convert each ROOT given (default ``recordings``); print the cassettes written."""
    roots = (sys.argv[1:] if argv is None else argv) or ["recordings"]
    for root in roots:
        for directory in convert_recordings(root):
            print(f"converted {directory / INDEX_NAME}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
