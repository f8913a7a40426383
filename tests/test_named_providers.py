"""Named providers: every preset and a lockfile-declared server, end to end through LLMRing
against a real loopback server speaking that server's format; the wire differences of
compatible servers; a wrong base URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmring import LLMRequest, LLMRing, Message, StreamChunk
from llmring.cli import main
from llmring.events import Event, Fallback
from llmring.exceptions import (
    LockfileParseError,
    ModelNotFoundError,
    ProviderBadRequestError,
    ProviderConfigurationError,
    ProviderNotFoundError,
    ProviderOverloadedError,
    ProviderResponseError,
)
from llmring.providers import register_provider
from llmring.providers.openai.stream import OpenAIStreamParser
from llmring.providers.presets import PRESETS, ProviderSettings
from llmring.testing import load_recording
from tests.compat_bodies import LLAMACPP, PRESET_BODIES, VLLM, CompatBody, sse
from tests.conftest import RECORDINGS
from tests.loopback import serve, streamed
from tests.providers.invariants import run_parser

pytestmark = pytest.mark.anyio

KEYED = {name for name, settings in PRESETS.items() if settings.api_key_env}


def ask(model: str) -> LLMRequest:
    return LLMRequest(model=model, messages=[Message(role="user", content="hi")])


async def stream(ring: LLMRing, model: str) -> list[StreamChunk]:
    return [chunk async for chunk in ring.chat_stream(ask(model))]


def check_answer(chunks: list[StreamChunk], expect: CompatBody, label: str) -> None:
    final = chunks[-1]
    assert "".join(c.delta for c in chunks) == expect.text
    assert ("".join(c.reasoning or "" for c in chunks) or None) == expect.reasoning
    assert all(c.model == label for c in chunks)
    assert final.raw_finish_reason == expect.raw_finish_reason
    assert final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (
        expect.prompt_tokens,
        expect.completion_tokens,
    )
    assert (final.response_id, final.served_model) == (expect.response_id, expect.served_model)
    assert final.timing is not None and final.timing.chunks == len(chunks)


def test_the_presets() -> None:
    assert {name: (s.base_url, s.api_key_env) for name, s in PRESETS.items()} == {
        "openrouter": ("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        "groq": ("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
        "deepseek": ("https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
        "mistral": ("https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
        "together": ("https://api.together.xyz/v1", "TOGETHER_API_KEY"),
        "fireworks": ("https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
        "xai": ("https://api.x.ai/v1", "XAI_API_KEY"),
        "vllm": ("http://localhost:8000/v1", None),
        "llamacpp": ("http://localhost:8080/v1", None),
        "lmstudio": ("http://localhost:1234/v1", None),
    }


@pytest.mark.parametrize("name", sorted(PRESET_BODIES))
async def test_each_preset_streams_from_its_server(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expect = PRESET_BODIES[name]
    prefix = name.upper()
    async with serve(streamed(expect.body)) as server:
        monkeypatch.setenv(f"{prefix}_BASE_URL", server.url + "/v1")
        if name in KEYED:
            monkeypatch.setenv(f"{prefix}_API_KEY", f"test-{name}-key")
        async with LLMRing() as ring:
            chunks = await stream(ring, f"{name}:some-model")
    check_answer(chunks, expect, f"{name}:some-model")
    [seen] = server.requests
    assert seen.line == "POST /v1/chat/completions HTTP/1.1"
    assert seen.headers.get("authorization") == (
        f"Bearer test-{name}-key" if name in KEYED else None
    )
    assert seen.headers["user-agent"] == "llmring/0.1.0"
    assert seen.json()["model"] == "some-model"
    # Mistral rejects stream_options; the others are asked for usage.
    assert ("stream_options" in seen.json()) == (name != "mistral")


@pytest.mark.parametrize("name", sorted(PRESET_BODIES))
async def test_each_preset_chats(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body = {
        "id": f"cmpl-{name}",
        "object": "chat.completion",
        "model": f"{name}-served",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
    async with serve(streamed(json.dumps(body).encode(), "application/json")) as server:
        monkeypatch.setenv(f"{name.upper()}_BASE_URL", server.url)
        monkeypatch.setenv(f"{name.upper()}_API_KEY", "k")
        async with LLMRing() as ring:
            response = await ring.chat(ask(f"{name}:m"))
    assert (response.content, response.model, response.finish_reason) == ("Hi", f"{name}:m", "stop")
    assert (response.response_id, response.served_model) == (f"cmpl-{name}", f"{name}-served")
    assert response.timing is not None and response.timing.chunks == 0
    assert server.requests[0].json()["stream"] is False


async def test_a_preset_needs_its_key_and_says_which(monkeypatch: pytest.MonkeyPatch) -> None:
    async with LLMRing() as ring:
        with pytest.raises(ProviderNotFoundError, match="set GROQ_API_KEY"):
            await stream(ring, "groq:llama-3.3-70b-versatile")


async def test_presets_fall_back_like_the_built_in_providers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    events: list[Event] = []
    overloaded = b'{"error": {"message": "over capacity", "type": "internal_server_error"}}'
    async with (
        serve(streamed(overloaded, "application/json", status=503)) as groq,
        serve(streamed(VLLM.body)) as vllm,
    ):
        monkeypatch.setenv("GROQ_BASE_URL", groq.url)
        monkeypatch.setenv("GROQ_API_KEY", "k")
        monkeypatch.setenv("VLLM_BASE_URL", vllm.url)
        lockfile = tmp_path / "llmring.lock"
        lockfile.write_text(
            '[[profiles.default.bindings]]\nalias = "fast"\n'
            'models = ["groq:llama-3.3-70b-versatile", "vllm:qwen"]\n'
        )
        async with LLMRing(lockfile_path=lockfile, on_event=events.append) as ring:
            chunks = await stream(ring, "fast")
    check_answer(chunks, VLLM, "vllm:qwen")
    [fallback] = [e for e in events if isinstance(e, Fallback)]
    assert (fallback.name, fallback.failed, fallback.next) == (
        "fast",
        "groq:llama-3.3-70b-versatile",
        "vllm:qwen",
    )
    assert isinstance(fallback.error, ProviderOverloadedError)


LOCKFILE = """\
version = "1.0"

[providers.mybox]
kind = "{kind}"
base_url = "{url}"
api_key_env = "MYBOX_KEY"
headers = {{ X-Team = "ml" }}

[[profiles.default.bindings]]
alias = "local"
models = ["mybox:{model}"]
"""


async def test_a_lockfile_declared_server_streams_by_alias_and_by_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MYBOX_KEY", "box-key")
    async with serve(streamed(VLLM.body)) as server:
        lockfile = tmp_path / "llmring.lock"
        lockfile.write_text(LOCKFILE.format(kind="openai", url=server.url + "/v1", model="qwen"))
        async with LLMRing(lockfile_path=lockfile) as ring:
            by_alias = await stream(ring, "local")
            by_name = await stream(ring, "mybox:qwen")
    check_answer(by_alias, VLLM, "mybox:qwen")
    check_answer(by_name, VLLM, "mybox:qwen")
    assert [(r.line, r.headers["authorization"], r.headers["x-team"]) for r in server.requests] == [
        ("POST /v1/chat/completions HTTP/1.1", "Bearer box-key", "ml")
    ] * 2


@pytest.mark.parametrize(
    ("kind", "recording", "path"),
    [
        ("anthropic", "anthropic/text.sse", "/v1/messages"),
        ("ollama", "ollama/text.ndjson", "/api/chat"),
        ("openai-responses", "openai-responses/text.sse", "/responses"),
    ],
)
async def test_each_kind_of_declared_server(
    kind: str, recording: str, path: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MYBOX_KEY", "box-key")
    recorded = load_recording(RECORDINGS / recording)
    content_type = recorded.headers["content-type"]
    async with serve(streamed(recorded.body, content_type)) as server:
        lockfile = tmp_path / "llmring.lock"
        lockfile.write_text(LOCKFILE.format(kind=kind, url=server.url, model="m"))
        async with LLMRing(lockfile_path=lockfile) as ring:
            chunks = await stream(ring, "local")
    assert "".join(c.delta for c in chunks) == recorded.expect["text"]
    assert chunks[-1].finish_reason == recorded.expect["finish_reason"]
    assert server.requests[0].line == f"POST {path} HTTP/1.1"
    assert server.requests[0].headers["x-team"] == "ml"


async def test_constructor_providers_without_key_or_stream_usage() -> None:
    async with serve(streamed(LLAMACPP.body)) as server:
        settings = {"base_url": server.url, "stream_usage": False}
        async with LLMRing(providers={"gpu": settings}) as ring:
            chunks = await stream(ring, "gpu:llama")
    check_answer(chunks, LLAMACPP, "gpu:llama")
    [seen] = server.requests
    assert "authorization" not in seen.headers
    assert "stream_options" not in seen.json()


def test_built_in_names_cannot_be_redeclared() -> None:
    with pytest.raises(ValueError, match="'openai' is a built-in provider"):
        register_provider("openai", ProviderSettings(base_url="http://x"))


@pytest.mark.parametrize(
    ("table", "line", "message"),
    [
        (
            '[providers.mybox]\nkind = "openai"\nbase_ur = "http://gpu1:8000/v1"\n',
            3,
            "[providers.mybox]: unknown key 'base_ur' (a provider table has kind, base_url, "
            "api_key_env, headers, stream_usage)",
        ),
        (
            '[providers.mybox]\nkind = "opnai"\nbase_url = "http://gpu1:8000/v1"\n',
            2,
            "[providers.mybox]: kind: Input should be 'openai', 'openai-responses', 'anthropic' "
            "or 'ollama' (got 'opnai')",
        ),
        (
            '[providers.mybox]\nkind = "openai"\n',
            1,
            '[providers.mybox]: base_url is required, e.g. base_url = "http://localhost:8000/v1"',
        ),
        (
            '[providers.openai]\nbase_url = "http://x/v1"\n',
            1,
            "[providers.openai]: 'openai' is a built-in provider; set its base URL "
            "(e.g. OPENAI_BASE_URL) instead of declaring it",
        ),
    ],
)
def test_a_typo_in_a_provider_table_names_its_line(
    table: str, line: int, message: str, tmp_path: Path
) -> None:
    from llmring.config.lockfile import Lockfile

    with pytest.raises(LockfileParseError) as caught:
        Lockfile.parse(table, path="llmring.lock")
    assert (caught.value.line, str(caught.value)) == (line, f"llmring.lock:{line}: {message}")


def test_cli_lists_and_binds_declared_providers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lockfile = tmp_path / "llmring.lock"
    lockfile.write_text(LOCKFILE.format(kind="openai", url="http://gpu1:8000/v1", model="qwen"))
    monkeypatch.setenv("MYBOX_KEY", "sk-box-0123456789abcdef")
    monkeypatch.setenv("GROQ_API_KEY", "gsk-0123456789abcdef")
    assert main(["providers", "--json", "--file", str(lockfile)]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["mybox"] == {
        "configured": True,
        "key_env": "MYBOX_KEY",
        "key": "sk-...cdef",
        "key_vars": ["MYBOX_KEY"],
        "base_url": "http://gpu1:8000/v1",
        "kind": "openai",
    }
    assert {name: row["configured"] for name, row in table.items() if name in PRESETS} == {
        name: name not in KEYED or name == "groq" for name in PRESETS
    }
    assert main(["bind", "chat", "mybox:qwen,groq:llama", "--file", str(lockfile)]) == 0
    assert lockfile.read_text().endswith('alias = "chat"\nmodels = ["mybox:qwen", "groq:llama"]\n')


# --- wire differences, parser by parser ------------------------------------------------------


def _final(parser: OpenAIStreamParser, events: bytes) -> list[StreamChunk]:
    payloads = [
        line.removeprefix("data: ")
        for line in events.decode().split("\n\n")
        if line.startswith("data: ")
    ]
    return run_parser(parser, payloads)


def test_without_done_a_compatible_stream_is_complete_but_openai_is_cut() -> None:
    chunks = _final(OpenAIStreamParser("m", done_required=False), LLAMACPP.body)
    assert chunks[-1].finish_reason == "stop"
    with pytest.raises(ProviderResponseError, match=r"ended before data: \[DONE\]"):
        _final(OpenAIStreamParser("m"), LLAMACPP.body)
    # Without a finish reason the end of the body is a cut, for compatible servers too.
    cut = sse({"choices": [{"index": 0, "delta": {"content": "x"}}]}, done=False)
    with pytest.raises(ProviderResponseError, match=r"ended before data: \[DONE\]"):
        _final(OpenAIStreamParser("m", done_required=False), cut)


async def test_openai_itself_still_needs_done(monkeypatch: pytest.MonkeyPatch) -> None:
    async with serve(streamed(LLAMACPP.body)) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        async with LLMRing() as ring:
            with pytest.raises(ProviderResponseError) as caught:
                await stream(ring, "openai:gpt-4o-mini")
    assert caught.value.partial is not None and caught.value.partial.content == "Sure."


@pytest.mark.parametrize(
    ("error", "cls", "message"),
    [
        # OpenRouter: an error object with an int code inside a chunk, finish_reason "error".
        (
            {
                "id": "gen-1",
                "object": "chat.completion.chunk",
                "error": {"code": 502, "message": "Provider returned error"},
                "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
            },
            ProviderOverloadedError,
            "Provider returned error",
        ),
        # Older vLLM: the error object is the payload itself.
        (
            {
                "object": "error",
                "message": "max_tokens is too large",
                "type": "BadRequestError",
                "code": 400,
            },
            ProviderBadRequestError,
            "max_tokens is too large",
        ),
    ],
)
def test_in_band_error_objects_raise_with_the_text_so_far(
    error: dict[str, object], cls: type[Exception], message: str
) -> None:
    parser = OpenAIStreamParser("m", done_required=False)
    parser.feed(json.dumps({"choices": [{"index": 0, "delta": {"content": "Part"}}]}))
    with pytest.raises(cls, match=message):
        parser.feed(json.dumps(error))
    assert parser.snapshot().content == "Part"


# --- a wrong base URL ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"detail":"Not Found"}', "application/json"),  # vLLM / FastAPI at an unknown path
        (
            b'{"error": {"message": "Invalid URL (POST /chat/completions)", '
            b'"type": "invalid_request_error", "param": null, "code": null}}',
            "application/json",
        ),  # api.openai.com without /v1
        (b"404 page not found", "text/plain"),  # Go servers (Ollama)
        (b"<html><title>404 Not Found</title></html>", "text/html"),
        (b"", "text/plain"),
    ],
)
async def test_a_wrong_base_url_is_a_configuration_error_naming_the_url(
    body: bytes, content_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serve(streamed(body, content_type, status=404)) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-test-key")
        async with LLMRing() as ring:
            with pytest.raises(ProviderConfigurationError) as caught:
                await stream(ring, "openai:gpt-4o")
    error = caught.value
    assert not isinstance(error, ModelNotFoundError)
    assert error.status_code == 404 and not error.fallback_eligible
    assert f"{server.url}/chat/completions answered 404" in str(error)
    assert f"OPENAI_BASE_URL={server.url}" in str(error)
    assert "sk-secret" not in str(error) + repr(error)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"object":"error","message":"The model `qwen-x` does not exist.",'
            b'"type":"NotFoundError","param":null,"code":404}',
            "does not exist",
        ),  # vLLM
        (
            b'{"error":{"message":"No endpoints found for qwen-x.","code":404}}',
            "No endpoints found for qwen-x",
        ),  # OpenRouter: names the model, never says "model"
    ],
)
async def test_a_model_not_found_404_stays_model_not_found(
    body: bytes, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serve(streamed(body, "application/json", status=404)) as server:
        monkeypatch.setenv("VLLM_BASE_URL", server.url)
        async with LLMRing() as ring:
            with pytest.raises(ModelNotFoundError, match=message):
                await stream(ring, "vllm:qwen-x")


async def test_a_wrong_base_url_never_falls_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async with serve(streamed(b'{"detail":"Not Found"}', "application/json", status=404)) as bad:
        monkeypatch.setenv("VLLM_BASE_URL", bad.url)
        lockfile = tmp_path / "llmring.lock"
        lockfile.write_text(
            '[[profiles.default.bindings]]\nalias = "a"\nmodels = ["vllm:x", "lmstudio:y"]\n'
        )
        async with LLMRing(lockfile_path=lockfile) as ring:
            with pytest.raises(ProviderConfigurationError):
                await stream(ring, "a")


def test_binding_a_declared_provider_reads_its_declaration_first(tmp_path: Path) -> None:
    from llmring.config.resolver import Resolver

    lockfile = tmp_path / "llmring.lock"
    lockfile.write_text(LOCKFILE.format(kind="openai", url="http://gpu1:8000/v1", model="qwen"))
    Resolver(lockfile).bind("coder", ["mybox:qwen-coder"])  # "mybox" unknown until read
    assert lockfile.read_text().endswith('alias = "coder"\nmodels = ["mybox:qwen-coder"]\n')
