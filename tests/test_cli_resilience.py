"""``llmring chat --max-retries N --hedge-after S --timeout ...``: each flag reaches the request
as the library's own argument would, and does what the library does, against a real loopback
server.

The behaviour runs the command line's own code (argument parsing, then the chat it runs
under ``anyio.run``) in-process on asyncio and trio; one test runs it as a real subprocess
(``python -m llmring``), which is what a user at a terminal gets.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anyio
import pytest

from llmring import LLMRequest, Message, Timeout
from llmring.cli import main
from llmring.cli.app import build_parser, chat_options
from llmring.cli.chat import _build_request, _chat
from llmring.cli.values import timeout
from llmring.testing import load_recording
from tests.conftest import RECORDINGS, lockfile
from tests.loopback import Reply, serve
from tests.test_cli import clean_env

OLLAMA_TEXT = RECORDINGS / "ollama" / "text.ndjson"
LINES = OLLAMA_TEXT.read_bytes().splitlines(keepends=True)
TEXT = load_recording(OLLAMA_TEXT).meta["expect"]["text"]
OK = Reply(body=LINES)
DOWN = Reply(503, body=[b'{"error": "server busy"}'], content_type="application/json")
SLOW = Reply(delay=5, body=LINES)
CHAT = "/api/chat"


async def llmring(*args: str, url: str, cwd: Path) -> tuple[int, str, str, float]:
    """Run ``python -m llmring ARGS`` with Ollama at ``url``: exit code, stdout, stderr and
    the seconds it took."""
    started = time.monotonic()
    with anyio.fail_after(20):
        done = await anyio.run_process(
            [sys.executable, "-m", "llmring", *args],
            cwd=cwd,
            env=clean_env(OLLAMA_BASE_URL=url),
            check=False,
        )
    seconds = time.monotonic() - started
    return done.returncode, done.stdout.decode(), done.stderr.decode(), seconds


# --- the flags reach the request as the library's arguments ------------------------------


@pytest.mark.parametrize(
    ("argv", "fields"),
    [
        (["--max-retries", "0"], {"max_retries": 0}),
        (["--max-retries", "5"], {"max_retries": 5}),
        (["--hedge-after", "1.5"], {"hedge_after": 1.5}),
        (["--timeout", "30"], {"timeout": Timeout(connect=30, idle=30)}),
        (
            ["--timeout", "connect=5,first-token=20,idle=30,total=300"],
            {"timeout": Timeout(connect=5, first_token=20, idle=30, total=300)},
        ),
        (["--timeout", "total=120"], {"timeout": Timeout(connect=60, idle=60, total=120)}),
        (["--timeout", "idle=none,first_token=9"], {"timeout": Timeout(connect=60, first_token=9)}),
    ],
)
def test_each_flag_becomes_the_request_field_the_library_takes(
    argv: list[str], fields: dict[str, object]
) -> None:
    args = build_parser().parse_args(["chat", "hi", "--model", "ollama:m", *argv])
    assert _build_request(chat_options(args)) == LLMRequest(
        model="ollama:m", messages=[Message(role="user", content="hi")], **fields
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-retries", "-1"], "argument --max-retries: must be >= 0"),
        (["--max-retries", "two"], "argument --max-retries: not a whole number: 'two'"),
        (["--max-retries", "1.5"], "argument --max-retries: not a whole number: '1.5'"),
        (["--hedge-after", "0"], "argument --hedge-after: must be > 0"),
        (["--hedge-after", "inf"], "argument --hedge-after: must be a finite number, not 'inf'"),
        (["--timeout", "0"], "argument --timeout: must be > 0"),
        (["--timeout", "soon"], "argument --timeout: not a number: 'soon'"),
        (
            ["--timeout", "first=3"],
            "argument --timeout: unknown phase 'first' (phases: connect, first-token, idle, total)",
        ),
        (["--timeout", "total=abc"], "argument --timeout: total: not a number: 'abc'"),
        (["--timeout", "total=-2"], "argument --timeout: total: must be > 0"),
        (["--timeout", "idle=nan"], "argument --timeout: idle: must be a finite number, not 'nan'"),
        (["--timeout", "total=5,total=6"], "argument --timeout: total is given twice"),
    ],
)
def test_a_bad_value_is_one_line_and_exit_code_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chat", "hi", *argv]) == 2
    assert capsys.readouterr() == ("", f"llmring: error: {message} (see `llmring chat --help`)\n")


def test_the_timeout_help_names_every_phase() -> None:
    assert (
        timeout("first-token=1")
        == timeout("first_token=1")
        == Timeout(connect=60, first_token=1, idle=60)
    )


# --- and do what the library does, end to end ---------------------------------------------


async def chat(
    *argv: str, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str, float]:
    """``llmring chat ARGV`` with Ollama at ``url``, in this process on the test's backend:
    exit code, stdout, stderr and the seconds it took."""
    monkeypatch.setenv("OLLAMA_BASE_URL", url)
    options = chat_options(build_parser().parse_args(["chat", *argv]))
    started = time.monotonic()
    with anyio.fail_after(20):
        code = await _chat(options, _build_request(options), None)
    out, err = capsys.readouterr()
    return code, out, err, time.monotonic() - started


@pytest.mark.anyio
async def test_max_retries_asks_again_after_a_503_through_the_entry_point(tmp_path: Path) -> None:
    async with serve({CHAT: [DOWN, OK]}) as server:
        code, out, err, _ = await llmring(
            "chat", "hi", "--model", "ollama:llama3.2", "--max-retries", "1",
            url=server.url, cwd=tmp_path,
        )  # fmt: skip
        assert (code, out.strip(), err) == (0, TEXT, "")
        assert server.count(CHAT) == 2


@pytest.mark.anyio
async def test_max_retries_0_gives_the_first_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serve({CHAT: [DOWN, OK]}) as server:
        code, out, err, _ = await chat(
            "hi", "--model", "ollama:llama3.2", "--max-retries", "0",
            url=server.url, monkeypatch=monkeypatch, capsys=capsys,
        )  # fmt: skip
        assert (code, out) == (1, "")
        assert err.startswith("llmring: error: ollama:llama3.2 (HTTP 503): server busy")
        assert server.count(CHAT) == 1


@pytest.mark.anyio
async def test_hedge_after_starts_the_fallback_beside_a_silent_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = lockfile(tmp_path, "ollama:slow", "ollama:fast")
    # The first request (the primary) stays silent for 5 s; the second (the hedge) answers.
    async with serve({CHAT: [SLOW, OK]}) as server:
        code, out, err, seconds = await chat(
            "hi", "--model", "chatbot", "--file", str(path), "--hedge-after", "0.3", "--verbose",
            url=server.url, monkeypatch=monkeypatch, capsys=capsys,
        )  # fmt: skip
        assert (code, out.strip()) == (0, TEXT)
        assert "model: ollama:fast\n" in err
        assert seconds < 4.5  # the silent primary was not waited for
        with anyio.fail_after(5):
            await server.requests[0].left.wait()  # it was cancelled, its connection closed


@pytest.mark.anyio
async def test_timeout_first_token_gives_up_on_a_silent_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serve({CHAT: [SLOW]}) as server:
        code, out, err, seconds = await chat(
            "hi", "--model", "ollama:llama3.2", "--max-retries", "0",
            "--timeout", "first-token=0.3", url=server.url, monkeypatch=monkeypatch, capsys=capsys,
        )  # fmt: skip
        assert (code, out) == (1, "")
        assert err == (
            "llmring: error: ollama:llama3.2: no output within the first_token timeout (0.3 s); "
            "try again, or allow more time with --timeout\n"
        )
        assert 0.3 <= seconds < 4.5


@pytest.mark.anyio
async def test_timeout_total_cuts_a_trickling_stream_keeping_its_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    trickle = Reply(body=[LINES[0], 5.0, *LINES[1:]])  # the first piece, then 5 s of nothing
    async with serve({CHAT: [trickle]}) as server:
        code, out, err, seconds = await chat(
            "hi", "--model", "ollama:llama3.2", "--timeout", "total=0.5",
            url=server.url, monkeypatch=monkeypatch, capsys=capsys,
        )  # fmt: skip
        assert code == 1
        assert out.strip() and TEXT.startswith(out.strip())  # the text so far stays
        assert err.startswith("llmring: error: the answer was cut off: ")
        assert "total timeout" in err
        assert 0.5 <= seconds < 4.5
