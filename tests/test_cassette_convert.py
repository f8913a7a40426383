"""``python -m llmring.testing.convert``: old-style recordings into cassettes, re-runnably."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from llmring import LLMRequest, LLMRing, Message
from llmring.testing import cassette, iter_recordings, load_recording
from llmring.testing.convert import convert_recordings, main
from tests.conftest import RECORDINGS, ROOT


def test_the_project_recordings_are_cassettes() -> None:
    """A recording merged in the old format fails here until the converter is run."""
    sidecars = sorted(str(path.relative_to(ROOT)) for path in RECORDINGS.rglob("*.meta.json"))
    assert sidecars == [], "run: python -m llmring.testing.convert recordings"
    for directory in sorted(p for p in RECORDINGS.iterdir() if p.is_dir()):
        assert (directory / "cassette.json").is_file()


def old_style(tmp_path: Path) -> Path:
    """A provider directory in the old format, rebuilt from two of the project's recordings."""
    directory = tmp_path / "recordings" / "openai"
    directory.mkdir(parents=True)
    for name in ("text.sse", "error-429.json"):
        recording = load_recording(RECORDINGS / "openai" / name)
        shutil.copy(recording.path, directory / name)
        sidecar = {**recording.meta, "status": recording.status, "headers": recording.headers}
        (directory / f"{recording.scenario}.meta.json").write_text(json.dumps(sidecar), "utf-8")
    return directory


def test_conversion_keeps_every_recording_and_runs_again_harmlessly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = old_style(tmp_path)
    before = list(iter_recordings(directory))

    assert convert_recordings(tmp_path / "recordings") == [directory]
    after = list(iter_recordings(directory))
    index = (directory / "cassette.json").read_bytes()
    assert sorted(p.name for p in directory.iterdir()) == [
        "cassette.json",
        "error-429.json",
        "text.sse",
    ]
    assert after == before

    assert convert_recordings(tmp_path / "recordings") == []  # nothing new: nothing written
    assert (directory / "cassette.json").read_bytes() == index

    # A recording merged later in the old format joins the cassette on the next run.
    shutil.copy(RECORDINGS / "openai" / "utf8.sse", directory / "utf8.sse")
    utf8 = load_recording(RECORDINGS / "openai" / "utf8.sse")
    (directory / "utf8.meta.json").write_text(json.dumps(utf8.meta), "utf-8")
    assert main([str(tmp_path / "recordings")]) == 0  # python -m llmring.testing.convert ROOT
    assert capsys.readouterr().out == f"converted {directory / 'cassette.json'}\n"
    assert [r.scenario for r in iter_recordings(directory)] == ["error-429", "text", "utf8"]
    assert load_recording(directory / "utf8.sse").expect == utf8.expect


@pytest.mark.anyio
async def test_a_project_cassette_replays_through_cassette() -> None:
    """The project's recordings are cassettes like any other: ``match_on=()`` replays their
    hand-made (request-less) interactions in order, through the whole stack."""
    first = next(iter_recordings(RECORDINGS / "openai"))
    request = LLMRequest(
        model=f"openai:{first.model}", messages=[Message(role="user", content="hi")]
    )
    with cassette(RECORDINGS / "openai", mode="none", match_on=()) as tape:
        async with LLMRing(api_keys={"openai": "sk-unused-000000"}) as ring:
            chunks = [chunk async for chunk in ring.chat_stream(request)]
    assert tape.played == 1
    assert "".join(chunk.delta for chunk in chunks) == first.expect["text"]
