"""The ``llmring`` command line, run as a real subprocess with a clean environment.

Each run gets no provider keys, no ``LLMRING_*`` settings and a temporary working directory.
Live calls go to a small local stand-in for Ollama (no key needed), which records what it was
sent and notices when the client hangs up.
"""

from __future__ import annotations

import io
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from llmring import StreamChunk
from llmring.cli import main
from llmring.cli.chat import ChunkPrinter
from llmring.demo import demo_argv
from llmring.testing import load_recording
from tests.conftest import RECORDINGS, ROOT
from tests.loopback import Reply, serve_in_thread

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

LOCKFILE = """\
# my application's models
version = "1.0"
default_profile = "default"

[profiles.default]
name = "default"
"""


# --- running the command line ----------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    """The parent's environment without provider settings or LLMRING_*, plus ``extra``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.endswith(("_API_KEY", "_BASE_URL")) and not name.startswith("LLMRING_")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


def llmring(
    *args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m llmring ARGS`` to the end."""
    return subprocess.run(
        [sys.executable, "-m", "llmring", *args],
        cwd=cwd,
        env=env or clean_env(),
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=20,
    )


def llmring_at_once(*commands: Sequence[str], cwd: Path) -> list[subprocess.CompletedProcess[str]]:
    """Run several commands side by side (they must not depend on each other)."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "llmring", *args],
            cwd=cwd,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        for args in commands
    ]
    results = []
    for args, process in zip(commands, processes, strict=True):
        out, err = process.communicate(timeout=20)
        results.append(subprocess.CompletedProcess(args, process.returncode, out, err))
    return results


def start(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``python -m llmring ARGS`` with piped output, to be interrupted."""
    return subprocess.Popen(
        [sys.executable, "-m", "llmring", *args],
        cwd=cwd,
        env=env or clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def read_first_bytes(process: subprocess.Popen[bytes], timeout: float = 10.0) -> bytes:
    """Wait for the first bytes on the process's stdout and return them."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "no output on stdout in time"
    return os.read(process.stdout.fileno(), 65536)


def interrupt(process: subprocess.Popen[bytes], already: bytes) -> tuple[int, float, bytes, bytes]:
    """SIGINT; the exit code, seconds until exit, and the rest of stdout and stderr."""
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=5)
    return process.returncode, time.monotonic() - sent, already + out, err


def meta(path: Path) -> dict[str, Any]:
    return load_recording(path).meta


# --- a local stand-in for Ollama -------------------------------------------------------


OLLAMA_TEXT = RECORDINGS / "ollama" / "text.ndjson"


def ollama_reply(lines: int | None = None, *, hang: bool = False) -> Reply:
    """Ollama's recorded text stream (its first ``lines``), each line one write, the end
    marked by closing the connection; with ``hang`` the server instead waits for the client
    to hang up."""
    body = OLLAMA_TEXT.read_bytes().splitlines(keepends=True)[:lines]
    return Reply(body=body, framing="close", hang=hang)


# --- help and usage --------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["lock"],
        ["lock", "init"],
        ["lock", "validate"],
        ["bind"],
        ["unbind"],
        ["aliases"],
        ["providers"],
        ["chat"],
    ],
)
def test_every_command_has_help_with_exit_codes(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {' '.join(['llmring', *command])}")
    assert out.endswith(
        "exit codes:\n"
        "  0    ok\n"
        "  1    provider or model error "
        "(key refused, rate limited, overloaded, stream cut off, ...)\n"
        "  2    usage error (bad arguments, model not of the form provider:model)\n"
        "  3    lockfile or alias error (missing or malformed lockfile, unknown alias)\n"
        "  4    provider unknown or not configured (its API key is not set)\n"
        "  130  interrupted (Ctrl-C)\n"
    )


def test_chat_help_says_where_reasoning_goes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "with --verbose, the model's reasoning text (dimmed on a terminal)" in text
    assert "Without --verbose reasoning is not shown." in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["chat"], "llmring: error: chat needs a PROMPT (or - to read it from stdin)\n"),
        (["chat", "hi", "--pace", "1"], "llmring: error: --pace only applies with --replay FILE\n"),
        (
            ["chat", "--replay", "nowhere/text.sse"],
            "llmring: error: cannot read nowhere/text.sse: No such file or directory\n",
        ),
        (
            ["chat", "--no-stream", "--replay", str(RECORDINGS / "openai" / "text.sse")],
            f"llmring: error: {RECORDINGS / 'openai' / 'text.sse'} is a streamed recording; "
            "drop --no-stream\n",
        ),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert capsys.readouterr() == ("", message)


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "hi", "--max-tokens", "0"]) == 2
    assert capsys.readouterr() == (
        "",
        "llmring: error: argument --max-tokens: must be > 0 (see `llmring chat --help`)\n",
    )


# --- lockfile and aliases --------------------------------------------------------------


def test_lock_init_then_validate(tmp_path: Path) -> None:
    path = tmp_path / "app.lock"
    assert llmring("lock", "init", "--file", str(path), cwd=tmp_path).stdout == f"wrote {path}\n"
    assert path.is_file()

    again = llmring("lock", "init", "--file", str(path), cwd=tmp_path)
    assert (again.returncode, again.stdout) == (3, "")
    assert again.stderr.startswith(f"llmring: error: {path} already exists")
    assert again.stderr.count("\n") == 1 and "--force" in again.stderr

    forced = llmring("lock", "init", "--force", "--file", str(path), cwd=tmp_path)
    assert (forced.returncode, forced.stdout, forced.stderr) == (0, f"wrote {path}\n", "")

    valid = llmring("lock", "validate", "--file", str(path), cwd=tmp_path)
    assert (valid.returncode, valid.stderr) == (0, "")
    assert re.fullmatch(
        rf"{re.escape(str(path))}: ok; profile default: \d+ aliases\n", valid.stdout
    )


def test_bind_aliases_unbind_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "app.lock"
    path.write_text(LOCKFILE, "utf-8")
    file = ("--file", str(path))

    bound = llmring(
        "bind",
        "chatbot",
        "anthropic:claude-3-5-haiku-20241022, openai:gpt-4o-mini",
        *file,
        cwd=tmp_path,
    )
    assert (bound.returncode, bound.stdout, bound.stderr) == (
        0,
        f"chatbot -> anthropic:claude-3-5-haiku-20241022, openai:gpt-4o-mini "
        f"(profile default, {path})\n",
        "",
    )
    assert llmring("bind", "summarizer", "openai:gpt-4o-mini", *file, cwd=tmp_path).returncode == 0
    dev = llmring("bind", "chatbot", "ollama:llama3.2", "--profile", "dev", *file, cwd=tmp_path)
    assert dev.stdout == f"chatbot -> ollama:llama3.2 (profile dev, {path})\n"

    text, as_json, dev_json = llmring_at_once(
        ["aliases", *file],
        ["aliases", "--json", *file],
        ["aliases", "-p", "dev", "--json", *file],
        cwd=tmp_path,
    )
    assert (text.returncode, text.stdout, text.stderr) == (
        0,
        "chatbot    -> anthropic:claude-3-5-haiku-20241022 (+1 fallback)\n"
        "summarizer -> openai:gpt-4o-mini\n",
        "",
    )
    assert json.loads(as_json.stdout) == {
        "chatbot": ["anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini"],
        "summarizer": ["openai:gpt-4o-mini"],
    }
    assert json.loads(dev_json.stdout) == {
        "chatbot": ["ollama:llama3.2"],
        "summarizer": ["openai:gpt-4o-mini"],
    }

    unbound = llmring("unbind", "chatbot", *file, cwd=tmp_path)
    assert unbound.stdout == f"removed chatbot (profile default, {path})\n"
    after, valid = llmring_at_once(
        ["aliases", "--json", *file], ["lock", "validate", *file], cwd=tmp_path
    )
    assert json.loads(after.stdout) == {"summarizer": ["openai:gpt-4o-mini"]}
    assert valid.stdout == f"{path}: ok; profile default: 1 alias, profile dev: 2 aliases\n"
    assert path.read_text("utf-8").startswith("# my application's models\n")  # comments kept


def test_bind_rejects_a_bad_model_reference_and_leaves_the_file(tmp_path: Path) -> None:
    path = tmp_path / "app.lock"
    path.write_text(LOCKFILE, "utf-8")
    result = llmring("bind", "chatbot", "gpt-4o-mini", "--file", str(path), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "llmring: error: 'gpt-4o-mini' is not a model reference: expected 'provider:model', "
        "e.g. 'openai:gpt-4o-mini' or 'ollama:llama3.2'\n"
    )
    assert path.read_text("utf-8") == LOCKFILE


def test_chat_with_a_bad_model_reference(tmp_path: Path) -> None:
    result = llmring("chat", "hi", "--model", "openai:", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "llmring: error: 'openai:' is not a model reference: expected 'provider:model', "
        "e.g. 'openai:gpt-4o-mini' or 'ollama:llama3.2'\n"
    )


def test_unknown_alias_names_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "app.lock"
    path.write_text(
        LOCKFILE + '\n[[profiles.default.bindings]]\nalias = "summarizer"\n'
        'models = ["openai:gpt-4o-mini"]\n\n[[profiles.default.bindings]]\nalias = "chatbot"\n'
        'models = ["ollama:llama3.2"]\n',
        "utf-8",
    )
    result = llmring("chat", "hi", "--model", "sumariser", "--file", str(path), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == (
        "llmring: error: unknown alias 'sumariser' in profile 'default' "
        "(known: chatbot, summarizer); bind it with `llmring bind ALIAS provider:model`, "
        "or pass --model provider:model\n"
    )


def test_malformed_lockfile_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "app.lock"
    path.write_text('version = "1.0"\n[profiles.default\n', "utf-8")
    result = llmring("lock", "validate", "--file", str(path), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr.startswith(f"llmring: error: {path}:2: ")
    assert result.stderr.count("\n") == 1


# --- providers -------------------------------------------------------------------------


def test_providers_masks_keys(tmp_path: Path) -> None:
    openai_key = "sk-proj-Zq3vX9tLmK2pW8rYdN4bJ7hQ1cFgT6eS"
    gemini_key = "AIzaSyD4-9xQ2LmV7tKpR3wYbN8cZ1fHj6gE5sU"
    env = clean_env(OPENAI_API_KEY=openai_key, GEMINI_API_KEY=gemini_key)

    listed = llmring("providers", "--json", cwd=tmp_path, env=env)
    text = llmring("providers", cwd=tmp_path, env=env)
    for output in (listed.stdout, listed.stderr, text.stdout, text.stderr):
        assert openai_key not in output and gemini_key not in output
        assert openai_key[3:-4] not in output and gemini_key[3:-4] not in output

    table = json.loads(listed.stdout)
    assert {name: table[name] for name in ("anthropic", "google", "ollama", "openai")} == {
        "anthropic": {
            "configured": False,
            "key_env": None,
            "key": None,
            "key_vars": ["ANTHROPIC_API_KEY"],
            "base_url": "https://api.anthropic.com",
            "kind": "anthropic",
        },
        "google": {
            "configured": True,
            "key_env": "GEMINI_API_KEY",
            "key": "AIz...E5sU",
            "key_vars": ["GOOGLE_GEMINI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"],
            "base_url": "https://generativelanguage.googleapis.com",
            "kind": "google",
        },
        "ollama": {
            "configured": True,
            "key_env": None,
            "key": None,
            "key_vars": ["OLLAMA_API_KEY"],
            "base_url": "http://localhost:11434",
            "kind": "ollama",
        },
        "openai": {
            "configured": True,
            "key_env": "OPENAI_API_KEY",
            "key": "sk-...T6eS",
            "key_vars": ["OPENAI_API_KEY"],
            "base_url": "https://api.openai.com/v1",
            "kind": "openai",
        },
    }
    lines = {line.split()[0]: " ".join(line.split()[1:]) for line in text.stdout.splitlines()}
    assert {name: lines[name] for name in ("anthropic", "google", "ollama", "openai")} == {
        "anthropic": "not configured: set ANTHROPIC_API_KEY",
        "google": "configured GEMINI_API_KEY=AIz...E5sU https://generativelanguage.googleapis.com",
        "ollama": "configured (no key needed) http://localhost:11434",
        "openai": "configured OPENAI_API_KEY=sk-...T6eS https://api.openai.com/v1",
    }


# --- chat: replays ---------------------------------------------------------------------

SUMMARY = re.compile(
    r"model: (?P<model>.+)\nfinish reason: (?P<finish>.+)\nusage: (?P<usage>.+)\n"
    r"time to first token: \d+\.\d\d s, total \d+\.\d\d s\n"
)


@pytest.mark.parametrize(
    ("recording", "usage"),
    [
        ("openai/text.sse", "9 prompt + 9 completion = 18 tokens"),
        ("anthropic/text.sse", "14 prompt + 10 completion = 24 tokens"),
        ("ollama/text.ndjson", "32 prompt + 11 completion = 43 tokens"),
        (
            "openai/reasoning.sse",
            "1040 prompt (1024 cached) + 203 completion (192 reasoning) = 1243 tokens",
        ),
    ],
)
def test_replay_streams_the_recorded_answer(recording: str, usage: str, tmp_path: Path) -> None:
    path = RECORDINGS / recording
    expect = meta(path)["expect"]
    result = llmring("chat", "--replay", str(path), "--verbose", "--pace", "0", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, expect["text"] + "\n")
    summary = SUMMARY.fullmatch(result.stderr)
    assert summary is not None, result.stderr
    finish = expect["finish_reason"]
    if expect["raw_finish_reason"] != finish:
        finish += f" ({expect['raw_finish_reason']})"
    assert summary.groupdict() == {
        "model": f"{path.parent.name}:{meta(path)['model']}",
        "finish": finish,
        "usage": usage,
    }


def test_reasoning_goes_to_stderr_only_with_verbose(tmp_path: Path) -> None:
    path = RECORDINGS / "openai" / "compat-reasoning-content.sse"
    quiet, verbose = llmring_at_once(
        ["chat", "--replay", str(path), "--pace", "0"],
        ["chat", "--replay", str(path), "--pace", "0", "--verbose"],
        cwd=tmp_path,
    )
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "4\n", "")
    assert (verbose.returncode, verbose.stdout) == (0, "4\n")
    reasoning, _, summary = verbose.stderr.partition("\n")
    assert (reasoning, len(reasoning)) == (
        "Two plus two is four.",
        meta(path)["expect"]["reasoning_chars"],
    )
    assert SUMMARY.fullmatch(summary) is not None, summary


def test_reasoning_is_dimmed_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    out, err = io.StringIO(), Terminal()
    printer = ChunkPrinter(verbose=True, out=out, err=err)
    for chunk in (
        StreamChunk(model="m:x", reasoning="Hmm."),
        StreamChunk(model="m:x", delta="Yes"),
        StreamChunk(model="m:x", finish_reason="stop"),
    ):
        printer.feed(chunk)
    printer.finish()
    assert out.getvalue() == "Yes\n"
    assert err.getvalue().startswith("\x1b[2mHmm.\x1b[0m\nmodel: m:x\nfinish reason: stop\n")


def test_replay_outside_a_provider_directory_needs_model(tmp_path: Path) -> None:
    source = RECORDINGS / "openai" / "text.sse"
    copy = tmp_path / "captures" / "hello.sse"
    copy.parent.mkdir()
    copy.write_bytes(source.read_bytes())
    copy.with_name("hello.meta.json").write_text(json.dumps(meta(source)), "utf-8")
    unknown, named = llmring_at_once(
        ["chat", "--replay", str(copy)],
        ["chat", "--replay", str(copy), "--model", "openai:my-model", "--pace", "0", "-v"],
        cwd=tmp_path,
    )
    assert (unknown.returncode, unknown.stdout) == (2, "")
    assert unknown.stderr.startswith(
        f"llmring: error: cannot tell which provider recorded {copy}: unknown provider 'captures'"
    )
    assert unknown.stderr.endswith(
        "; keep it under recordings/<provider>/ or pass --model provider:model\n"
    )
    assert (named.returncode, named.stdout) == (0, meta(source)["expect"]["text"] + "\n")
    assert named.stderr.startswith("model: openai:my-model\n")


def test_replay_json_prints_the_final_response(tmp_path: Path) -> None:
    path = RECORDINGS / "openai" / "text.sse"
    expect = meta(path)["expect"]
    result = llmring("chat", "--replay", str(path), "--json", "--pace", "0", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    response = json.loads(result.stdout)
    assert response["usage"].pop("raw")["total_tokens"] == expect["usage"]["total_tokens"]
    timing = response["timing"]
    assert timing["chunks"] == 10  # 9 words and the final chunk
    assert response == {
        "content": expect["text"],
        "model": "openai:gpt-4o-mini",
        "reasoning": None,
        "refusal": None,
        "parsed": None,
        "finish_reason": expect["finish_reason"],
        "raw_finish_reason": expect["raw_finish_reason"],
        "usage": {**expect["usage"], "cache_write_tokens": None},
        "tool_calls": None,
        "continuation": None,
        "response_id": "chatcmpl-Bx7TqL2mN9vK4pR1sW8yZ3aD6fG0h",
        "served_model": "gpt-4o-mini-2024-07-18",
        "timing": timing,
        "attempts": [
            {"model": "openai:gpt-4o-mini", "outcome": "served", "error": None, "waited": 0.0}
        ],
    }


def test_replay_of_a_complete_response_uses_the_non_streaming_path(tmp_path: Path) -> None:
    path = RECORDINGS / "openai" / "complete-tool-call.json"
    result = llmring("chat", "weather?", "--replay", str(path), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        'tool call: get_weather({"city":"Tokyo","unit":"celsius"})\n'
        'tool call: get_time({"timezone":"Asia/Tokyo"})\n'
    )


def test_midstream_error_keeps_the_partial_text(tmp_path: Path) -> None:
    path = RECORDINGS / "openai" / "error-midstream.sse"
    result = llmring("chat", "--replay", str(path), "--pace", "0", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, meta(path)["expect"]["partial_text"] + "\n")
    assert result.stderr == (
        "llmring: error: the answer was cut off: openai:gpt-4o-mini: The server had an error "
        "while processing your request. Sorry about that!; try again shortly, or bind a "
        "fallback model to the alias\n"
    )


def test_replay_error_status_exits_1(tmp_path: Path) -> None:
    path = RECORDINGS / "openai" / "error-401.json"
    result = llmring("chat", "hi", "--replay", str(path), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("llmring: error: openai:gpt-4o-mini (HTTP 401): ")
    assert result.stderr.endswith(
        "; check that provider's API key (`llmring providers` shows which are set)\n"
    )


# --- chat: live, against the local stand-in ---------------------------------------------


def test_prompt_from_stdin_is_sent(tmp_path: Path) -> None:
    with serve_in_thread(ollama_reply()) as stub:
        result = llmring(
            "chat",
            "-",
            "--model",
            "ollama:llama3.2",
            "--system",
            "Be brief.",
            cwd=tmp_path,
            stdin="Why is the sky blue?\n",
            env=clean_env(OLLAMA_BASE_URL=stub.url),
        )
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        meta(OLLAMA_TEXT)["expect"]["text"] + "\n",
        "",
    )
    [body] = [request.json() for request in stub.requests]
    assert (body["model"], body["stream"], body["messages"]) == (
        "llama3.2",
        True,
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Why is the sky blue?"},
        ],
    )


def test_empty_stdin_prompt_is_a_usage_error(tmp_path: Path) -> None:
    result = llmring("chat", "-", "--model", "ollama:llama3.2", cwd=tmp_path, stdin="\n")
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "llmring: error: the prompt read from stdin is empty; pipe some text in\n",
    )


def test_provider_not_configured_exits_4(tmp_path: Path) -> None:
    path = tmp_path / "app.lock"
    path.write_text(
        LOCKFILE + '\n[[profiles.default.bindings]]\nalias = "chatbot"\n'
        'models = ["anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini"]\n',
        "utf-8",
    )
    one, alias = llmring_at_once(
        ["chat", "hi", "--model", "anthropic:claude-3-5-haiku-20241022"],
        ["chat", "hi", "--model", "chatbot", "--file", str(path)],
        cwd=tmp_path,
    )
    assert (one.returncode, one.stdout, alias.returncode, alias.stdout) == (4, "", 4, "")
    assert one.stderr.startswith(
        "llmring: error: provider 'anthropic' is not configured: set ANTHROPIC_API_KEY"
    )
    assert one.stderr.endswith("; `llmring providers` shows which providers are configured\n")
    assert alias.stderr == (
        "llmring: error: no model for 'chatbot' can be called: its providers (anthropic, openai) "
        "are not configured; set one of their API keys (`llmring providers` names them)\n"
    )


# --- Ctrl-C ----------------------------------------------------------------------------


def test_ctrl_c_stops_a_replay_at_once(tmp_path: Path) -> None:
    path = RECORDINGS / "openai" / "text.sse"
    process = start("chat", "--replay", str(path), "--pace", "0.5", cwd=tmp_path)
    first = read_first_bytes(process)
    code, seconds, out, err = interrupt(process, first)
    assert (code, out, err) == (130, first, b"\nllmring: interrupted\n")
    assert seconds < 2
    assert meta(path)["expect"]["text"].startswith(first.decode())


def test_ctrl_c_closes_the_connection(tmp_path: Path) -> None:
    with serve_in_thread(ollama_reply(2, hang=True)) as stub:
        process = start(
            "chat",
            "hi",
            "--model",
            "ollama:llama3.2",
            cwd=tmp_path,
            env=clean_env(OLLAMA_BASE_URL=stub.url),
        )
        first = read_first_bytes(process)
        code, seconds, out, err = interrupt(process, first)
        assert (code, err) == (130, b"\nllmring: interrupted\n")
        assert out in (b"Rayleigh", b"Rayleigh scattering")
        assert seconds < 2
        assert stub.client_gone.wait(2)


# --- make demo -------------------------------------------------------------------------


def test_demo_replays_a_recording_without_keys(tmp_path: Path) -> None:
    path = RECORDINGS / "anthropic" / "text.sse"
    assert demo_argv({}) == (
        ["chat", "--replay", str(path), "--verbose", "--pace", "0.1"],
        "no provider key set (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY): "
        "replaying recordings/anthropic/text.sse offline, slowed to 0.1 s per event so the "
        "streaming shows",
    )
    result = subprocess.run(
        [sys.executable, "-m", "llmring.demo"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=20,
    )
    assert (result.returncode, result.stdout) == (0, meta(path)["expect"]["text"] + "\n")
    assert result.stderr.startswith("demo: no provider key set")
    assert "finish reason: stop (end_turn)\nusage: 14 prompt + 10 completion = 24 tokens\n" in (
        result.stderr
    )


def test_demo_goes_live_when_a_key_is_set() -> None:
    argv, what = demo_argv({"OPENAI_API_KEY": "sk-x"})
    assert (argv[0], argv[2:], what) == (
        "chat",
        ["--model", "openai:gpt-4.1-nano", "--max-tokens", "200", "--verbose"],
        "OPENAI_API_KEY is set: streaming live from openai:gpt-4.1-nano",
    )
