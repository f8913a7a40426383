"""``llmring chat ... --record DIR`` and ``llmring chat --replay DIR``."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmring.cli import main
from llmring.testing import load_recording
from llmring.testing.format import read_index
from tests.conftest import RECORDINGS
from tests.loopback import provider_reply, serve_in_thread

KEY = "sk-cli-SECRET-8888888888"


def test_record_then_replay_a_cassette(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = load_recording(RECORDINGS / "openai" / "utf8.sse").expect["text"]
    tape = tmp_path / "hello"
    with serve_in_thread(provider_reply("openai")) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        code = main(["chat", "hi", "--model", "openai:gpt-4o-mini", "--record", str(tape)])
        recorded = capsys.readouterr()
    assert (code, recorded.out, recorded.err) == (0, expected + "\n", "")
    index = read_index(tape)
    assert index is not None
    assert index.meta == {"model": "openai:gpt-4o-mini"}
    assert len(index.interactions) == 1
    for path in tape.iterdir():
        assert KEY.encode() not in path.read_bytes()

    monkeypatch.delenv("OPENAI_API_KEY")  # no key, no server: only the cassette answers
    assert main(["chat", "--replay", str(tape), "--pace", "0"]) == 0
    assert capsys.readouterr() == (expected + "\n", "")


def test_replay_dir_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "--replay", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"llmring: error: {tmp_path} is not a cassette (it has no cassette.json)\n"
    )
    assert main(["chat", "hi", "--record", str(tmp_path), "--replay", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "llmring: error: --record and --replay do not go together\n"
