"""The pytest plugin, end to end: a small application test suite runs in a subprocess, first
recording from a loopback server, then again with the server stopped and ``CI`` set."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from llmring.testing import load_recording
from tests.conftest import RECORDINGS
from tests.loopback import provider_reply, serve_in_thread

KEY = "sk-plugin-SECRET-7777777777"

EXAMPLE = '''
import os

import anyio
import pytest

from llmring import LLMRequest, LLMRing, Message

EXPECTED = {expected!r}


def ring():
    return LLMRing(
        api_keys={{"openai": os.environ.get("OPENAI_API_KEY", "unused-in-replay")}},
        base_urls={{"openai": os.environ["EXAMPLE_URL"]}},
    )


async def answer(prompt, service=None):
    """The application: it makes its own LLMRing unless given one."""
    messages = [Message(role="user", content=prompt)]
    request = LLMRequest(model="openai:gpt-4o-mini", messages=messages)
    async with service or ring() as service:
        return "".join([chunk.delta async for chunk in service.chat_stream(request)])


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def service():
    async with ring() as made:
        yield made


@pytest.mark.anyio
@pytest.mark.llmring_cassette
async def test_marked():
    assert await answer("hi") == EXPECTED


@pytest.mark.anyio
async def test_fixture(llmring_cassette):
    assert await answer("hello") == EXPECTED
    assert llmring_cassette.played + llmring_cassette.recorded == 1


@pytest.mark.anyio
@pytest.mark.llmring_cassette(name="from-a-fixture")
async def test_ring_made_by_an_async_fixture(service):
    assert await answer("hey", service) == EXPECTED


@pytest.mark.llmring_cassette(rechunk=3)
def test_sync_on_trio():
    assert anyio.run(answer, "hi", backend="trio") == EXPECTED
'''


def run_suite(directory: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # Hypothesis's plugin is not needed there and costs a second or two to load.
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:hypothesispytest",
            "-rf",
            *args,
        ],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_record_then_replay_offline_in_ci(tmp_path: Path) -> None:
    expected = load_recording(RECORDINGS / "openai" / "utf8.sse").expect["text"]
    tests = tmp_path / "tests"
    tests.mkdir()
    (tmp_path / "pytest.ini").write_text("[pytest]\n", "utf-8")
    (tests / "test_app.py").write_text(textwrap.dedent(EXAMPLE.format(expected=expected)))
    env = {k: v for k, v in os.environ.items() if k != "CI" and not k.endswith("_API_KEY")}

    with serve_in_thread(provider_reply("openai")) as server:
        first = run_suite(tmp_path, {**env, "EXAMPLE_URL": server.url, "OPENAI_API_KEY": KEY})
        url = server.url
    assert first.returncode == 0, first.stdout + first.stderr
    assert "4 passed" in first.stdout
    assert len(server.requests) == 4

    cassettes = tests / "cassettes" / "test_app"
    assert sorted(p.name for p in cassettes.iterdir()) == [
        "from-a-fixture",
        "test_fixture",
        "test_marked",
        "test_sync_on_trio",
    ]
    for path in cassettes.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path

    # Offline, in CI: the recorded tests replay. A new test has no cassette and CI records
    # nothing, so it fails, naming the fix.
    (tests / "test_new.py").write_text(
        "import pytest\nfrom test_app import answer\n\n\n@pytest.mark.anyio\n"
        "@pytest.mark.llmring_cassette\nasync def test_new():\n    await answer('new')\n"
        "\n\n@pytest.fixture\ndef anyio_backend():\n    return 'asyncio'\n"
    )
    second = run_suite(tmp_path, {**env, "EXAMPLE_URL": url, "CI": "true"})
    assert second.returncode == 1, second.stdout + second.stderr
    assert "1 failed, 4 passed" in second.stdout
    assert "FAILED tests/test_new.py::test_new - llmring.exceptions.Cassette" in second.stdout
    assert "CassetteMismatchError: no recorded answer in the cassette" in second.stdout
    assert "the cassette does not exist" in second.stdout
    assert "--llmring-record=new_episodes" in second.stdout
