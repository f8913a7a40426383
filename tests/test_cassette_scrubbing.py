"""No key is ever written to a cassette: every written file is searched for every key."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmring import LLMRequest, LLMRing, Message
from llmring.testing import cassette
from llmring.testing.scrubbing import REDACTED, Scrubber
from tests.conftest import RECORDINGS
from tests.loopback import Reply, Request, provider_reply, serve_in_thread

pytestmark = pytest.mark.anyio

KEYS = {
    "openai": "sk-openai-SECRET-1111111111",
    "google": "AIza-google-SECRET-2222222222",
    "ollama": "ollama-SECRET-3333333333",
}
ANTHROPIC_ENV_KEY = "sk-ant-env-SECRET-4444444444"
QUERY_KEY = "query-param-SECRET-5555555555"
CUSTOM = "customer-account-SECRET-6666"
EVERY_KEY = [*KEYS.values(), ANTHROPIC_ENV_KEY, QUERY_KEY, CUSTOM]


def echoing(seen: Request[Any]) -> Reply:
    """Answer like the provider the path names, echoing the caller's key in a header and in
    the body, as error bodies do ("Incorrect API key provided: sk-...")."""
    key = next(
        (
            seen.headers[h]
            for h in ("authorization", "x-api-key", "x-goog-api-key")
            if h in seen.headers
        ),
        "",
    ).removeprefix("Bearer ")
    if seen.path.startswith("/v1/messages"):
        reply = provider_reply("anthropic")
    elif "streamGenerateContent" in seen.path:
        reply = provider_reply("google")
    elif seen.path.startswith("/api/chat"):
        reply = provider_reply("ollama")
    else:
        body = json.loads((RECORDINGS / "openai" / "complete-text.json").read_bytes())
        body["choices"][0]["message"]["content"] = f"you sent {key}"
        reply = Reply(body=[json.dumps(body).encode()], content_type="application/json")
    comment = f": comment {key}\n\n".encode()
    return replace(
        reply,
        headers={"x-echo-key": key, "set-cookie": f"session={key}"},
        body=(
            [*reply.body, comment]
            if reply.content_type.startswith("text/event-stream")
            else reply.body
        ),
    )


def written(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.rglob("*") if path.is_file()}


async def test_no_key_is_written_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_ENV_KEY)
    path = tmp_path / "c"
    prompt = f"my account is {CUSTOM}"
    with serve_in_thread(echoing) as server:
        urls = {name: server.url for name in (*KEYS, "anthropic")}
        with cassette(path, mode="once", secrets=[CUSTOM]):
            async with LLMRing(api_keys=KEYS, base_urls=urls) as ring:
                answer = await ring.chat(
                    LLMRequest(
                        model="openai:gpt-4o-mini", messages=[Message(role="user", content=prompt)]
                    )
                )
                for model in ("anthropic:claude-x", "google:gemini-x", "ollama:llama-x"):
                    request = LLMRequest(
                        model=model, messages=[Message(role="user", content=prompt)]
                    )
                    [_ async for _ in ring.chat_stream(request)]
            async with httpx.AsyncClient(
                transport=cassette(path, mode="new_episodes").wrap(httpx.AsyncHTTPTransport)
            ) as client:
                await client.post(
                    f"{server.url}/v1beta/models/m:streamGenerateContent?key={QUERY_KEY}&alt=sse"
                )
    assert answer.content == f"you sent {KEYS['openai']}"  # the application saw its key...

    files = written(path)
    assert len(files) == 1 + 5  # the index and five bodies
    for name, data in files.items():
        for key in EVERY_KEY:
            assert key.encode() not in data, (name, key)
    index = json.loads(files["cassette.json"])
    openai = index["interactions"][0]
    assert openai["request"]["headers"]["authorization"] == f"Bearer {REDACTED}"
    assert openai["response"]["headers"]["x-echo-key"] == REDACTED
    assert openai["response"]["headers"]["set-cookie"] == REDACTED
    assert index["interactions"][4]["request"]["url"].endswith(f"?key={REDACTED}&alt=sse")
    assert (
        json.loads(files[openai["response"]["body_file"]])["choices"][0]["message"]["content"]
        == f"you sent {REDACTED}"
    )  # ...the cassette did not

    with cassette(path, mode="none", secrets=[CUSTOM]):  # it replays: scrubbed alike
        async with LLMRing(api_keys=KEYS, base_urls=urls) as ring:
            replayed = await ring.chat(
                LLMRequest(
                    model="openai:gpt-4o-mini", messages=[Message(role="user", content=prompt)]
                )
            )
    assert replayed.content == f"you sent {REDACTED}"


def test_scrubber_pieces() -> None:
    scrubber = Scrubber(
        ["tiny", "configured-KEY-777"], environ={"OPENAI_API_KEY": "env-KEY-888888"}
    )
    scrubber.learn_from([("x-api-key", "header-KEY-999999")], "https://h/p?key=param-KEY-000000")
    assert scrubber.url("https://user:pw@h/p?alt=sse&key=param-KEY-000000") == (
        f"https://h/p?alt=sse&key={REDACTED}"
    )
    text = "configured-KEY-777 env-KEY-888888 header-KEY-999999 param-KEY-000000 tiny"
    assert scrubber.text(text) == f"{REDACTED} {REDACTED} {REDACTED} {REDACTED} tiny"
    assert scrubber.bytes(text.encode()) == scrubber.text(text).encode()
    assert scrubber.headers([("Authorization", "Bearer abc"), ("X-Goog-Api-Key", "abc")]) == {
        "authorization": f"Bearer {REDACTED}",
        "x-goog-api-key": REDACTED,
    }
