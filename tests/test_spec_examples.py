"""Every code example of the published streaming API runs unchanged, on every provider.

As a new user would: ``llmring lock init`` and ``llmring bind chatbot <provider:model>`` (the
spec's own commands) in a fresh directory, then each example of
../shared/spec/streaming-skill.md (tests/spec_examples.py) as written, against a replayed
recording of that provider. What each prints is checked against the recording's sidecar.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
from pathlib import Path
from typing import Any

import pytest
import respx

from llmring import LLMRequest, LLMRing, Message
from llmring.cli import main
from llmring.testing import Recording, load_recording, mock_recording
from tests.conftest import RECORDINGS, ROOT
from tests.spec_examples import FRAGMENTS, PROGRAMS

pytestmark = pytest.mark.anyio

SPEC = ROOT.parent / "shared" / "spec" / "streaming-skill.md"
KEY = "sk-test-SECRET-0000"
#: The four providers the spec names, each with its text and max-tokens recordings.
PROVIDERS = {
    "openai": ("OPENAI_API_KEY", "sse"),
    "anthropic": ("ANTHROPIC_API_KEY", "sse"),
    "google": ("GEMINI_API_KEY", "sse"),
    "ollama": (None, "ndjson"),
}


def recording(provider: str, scenario: str) -> Recording:
    return load_recording(RECORDINGS / provider / f"{scenario}.{PROVIDERS[provider][1]}")


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One project directory per provider whose ``chatbot`` alias is bound with the spec's
    own commands, run there (made once: the examples only read the lockfile)."""
    made: dict[str, Path] = {}
    here = Path.cwd()
    for name in PROVIDERS:
        made[name] = tmp_path_factory.mktemp(name)
        os.chdir(made[name])
        try:
            assert main(["lock", "init"]) == 0
            assert main(["bind", "chatbot", f"{name}:{recording(name, 'text').model}"]) == 0
        finally:
            os.chdir(here)
    return made


@pytest.fixture(params=sorted(PROVIDERS))
def provider(
    request: pytest.FixtureRequest, projects: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> str:
    """The provider the ``chatbot`` alias of the current directory is bound to."""
    name: str = request.param
    monkeypatch.chdir(projects[name])
    key_variable = PROVIDERS[name][0]
    if key_variable is not None:
        monkeypatch.setenv(key_variable, KEY)
    return name


async def run(code: str, namespace: dict[str, Any]) -> None:
    """Run ``code`` as a script whose top level may ``await`` (as the spec's examples do)."""
    compiled = compile(code, "<spec example>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, namespace)
    if inspect.iscoroutine(result):
        await result


async def run_replayed(code: str, recordings: list[Recording], **namespace: Any) -> int:
    """Run ``code`` with each request answered by the next recording; the requests made."""
    with respx.mock:
        routes = [mock_recording(respx, each, url__regex=r".*") for each in recordings[:1]]
        if len(recordings) > 1:
            answers = iter(recordings)
            routes[0].side_effect = lambda request: next(answers).response(request=request)
        await run(code, {"__name__": "__spec__", **namespace})
        return routes[0].call_count


def _counted_words(out: str) -> int:
    match = re.search(r"Total words: (\d+)\n$", out)
    assert match is not None, out
    return int(match[1])


@pytest.mark.parametrize("name", sorted(PROGRAMS))
async def test_program_runs_as_published(
    name: str, provider: str, anyio_backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if name == "buffer for UI updates" and anyio_backend != "asyncio":
        pytest.skip("the example reads asyncio's event loop clock: an asyncio program")
    scenario = "max-tokens" if name == "streaming with max tokens" else "text"
    turns = 2 if name == "multi-turn streaming conversation" else 1
    answer = recording(provider, scenario)
    assert await run_replayed(PROGRAMS[name], [answer] * turns) == turns
    out = capsys.readouterr().out
    text = answer.expect["text"]
    usage = answer.expect["usage"]
    expected = {
        "quick start": f"{text}\n",
        "chat_stream example": text,
        "basic streaming with flush": f"{text}\n",
        "capturing usage statistics": (
            f"{text}\n\nTokens used: {usage['total_tokens']}\n"
            f"Prompt tokens: {usage['prompt_tokens']}\n"
            f"Completion tokens: {usage['completion_tokens']}\n"
        ),
        "building full response": f"{text}\n\nFull response length: {len(text)} characters\n",
        # words split between chunks count twice, as the example counts them
        "streaming with custom display": f"{text}\n\nTotal words: {_counted_words(out)}\n"
        if name == "streaming with custom display"
        else "",
        "streaming with temperature": text,
        "multi-turn streaming conversation": f"Assistant: {text}\n" * 2,
        "streaming with max tokens": f"{text}\n[Response truncated due to max_tokens]\n",
        "detecting stream completion": f"{text}\nStream ended: {answer.expect['finish_reason']}\n",
        "error handling": text,
        "buffer for UI updates": text,
    }[name]
    assert out == expected
    if name == "streaming with custom display":
        assert _counted_words(out) >= len(text.split())


@pytest.mark.parametrize("name", sorted(FRAGMENTS))
async def test_fragment_runs_in_its_examples_setup(
    name: str, provider: str, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = recording(provider, "text")
    messages = [Message(role="user", content="Hello")]
    async with LLMRing() as service:
        request = LLMRequest(model="chatbot", messages=messages)
        namespace = {"service": service, "request": request, "messages": messages}
        namespace["Message"] = Message
        assert await run_replayed(FRAGMENTS[name], [answer], **namespace) == 1
    out = capsys.readouterr().out
    text = answer.expect["text"]
    if name == "right: accumulate for history":
        assert messages[-1] == Message(role="assistant", content=text)
    if name == "right: accumulate then check":
        assert out == f"{text}\nTokens: {answer.expect['usage']['total_tokens']}\n"
    elif name == "StreamChunk attributes":
        assert f"Finished: {answer.expect['finish_reason']}\n" in out
        assert out.count("Model: ") == out.count("Delta: ")
        assert re.search(r"Tokens: prompt_tokens=\d+ completion_tokens=\d+", out)
    elif name == "wrong: checking usage on every chunk":
        assert out == ""
    else:
        assert out == text


def test_chat_stream_has_the_published_signature() -> None:
    parameters = inspect.signature(LLMRing.chat_stream).parameters
    assert list(parameters) == ["self", "request", "profile"]
    assert parameters["profile"].default is None


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.skipif(not SPEC.exists(), reason="../shared/spec is not checked out beside llmring")
@pytest.mark.parametrize("name", sorted({**PROGRAMS, **FRAGMENTS}))
def test_the_examples_are_the_published_ones(name: str) -> None:
    code = {**PROGRAMS, **FRAGMENTS}[name]
    assert _words(code) in _words(SPEC.read_text("utf-8"))
