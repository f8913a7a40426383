"""``cassette(...)``: the modes, matching, replay order, the mismatch error, and use from
sync code, all through ``LLMRing.chat`` against a real loopback server."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import pytest

from llmring import LLMRequest, LLMRing, Message
from llmring.exceptions import CassetteMismatchError, ProviderRateLimitError
from llmring.testing import cassette
from llmring.testing.format import INDEX_NAME, read_index
from tests.conftest import RECORDINGS
from tests.loopback import Reply, Request, provider_reply, serve_in_thread

pytestmark = pytest.mark.anyio

KEY = "sk-cassette-KEY-0000000001"
TEMPLATE = json.loads((RECORDINGS / "openai" / "complete-text.json").read_bytes())


def counting_answers() -> Any:
    """Answer each request with ``answer <n>`` (n counts from 1), so replays are told apart."""
    calls = 0

    def answer(seen: Request[Any]) -> Reply:
        nonlocal calls
        calls += 1
        body = json.loads(json.dumps(TEMPLATE))
        body["choices"][0]["message"]["content"] = f"answer {calls}"
        return Reply(body=[json.dumps(body).encode()], content_type="application/json")

    return answer


def files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def ask(prompt: str, **extra: Any) -> LLMRequest:
    return LLMRequest(
        model="openai:gpt-4o-mini", messages=[Message(role="user", content=prompt)], **extra
    )


async def chat(url: str, prompt: str, **extra: Any) -> str:
    async with LLMRing(api_keys={"openai": KEY}, base_urls={"openai": url}, max_retries=0) as ring:
        return (await ring.chat(ask(prompt, **extra))).content


async def test_once_records_then_replays_repeats_in_recorded_order(tmp_path: Path) -> None:
    path = tmp_path / "c"
    with serve_in_thread(counting_answers()) as server:
        with cassette(path, mode="once"):
            first = [await chat(server.url, "hi"), await chat(server.url, "hi")]
            other = await chat(server.url, "bye")
        with cassette(path, mode="once") as tape:  # it exists now: replay only
            again = [await chat(server.url, "hi"), await chat(server.url, "hi")]
            other_again = await chat(server.url, "bye")
        assert len(server.requests) == 3
    assert (first, other) == (["answer 1", "answer 2"], "answer 3")
    assert (again, other_again) == (first, other)
    assert (tape.played, tape.recorded) == (3, 0)
    index = read_index(path)
    assert index is not None
    assert [i.name for i in index.interactions] == [
        "001-completions",
        "002-completions",
        "003-completions",
    ]
    assert files(path) == sorted(
        [INDEX_NAME, "001-completions.json", "002-completions.json", "003-completions.json"]
    )


async def test_none_refuses_an_unrecorded_request_showing_the_closest(tmp_path: Path) -> None:
    path = tmp_path / "c"
    with serve_in_thread(counting_answers()) as server:
        with cassette(path, mode="once"):
            await chat(server.url, "what is the capital of France?")
        with cassette(path, mode="none"), pytest.raises(CassetteMismatchError) as caught:
            await chat(server.url, "what is the capital of Spain?")
        assert len(server.requests) == 1
    message = str(caught.value)
    assert message.startswith(f"no recorded answer in the cassette {path} (mode='none') for:\n")
    assert "    POST http://127.0.0.1:" in message
    assert "capital of Spain" in message
    assert "closest recorded (001-completions, differs in body fields messages):" in message
    assert "capital of France" in message
    assert KEY not in message


async def test_a_repeat_beyond_the_recorded_ones_is_a_mismatch(tmp_path: Path) -> None:
    with serve_in_thread(counting_answers()) as server:
        with cassette(tmp_path, mode="once"):
            await chat(server.url, "hi")
        with cassette(tmp_path, mode="once"):
            assert await chat(server.url, "hi") == "answer 1"
            with pytest.raises(CassetteMismatchError, match="was already replayed"):
                await chat(server.url, "hi")


async def test_none_without_a_cassette_says_it_is_missing(tmp_path: Path) -> None:
    with cassette(tmp_path / "absent", mode="none"), pytest.raises(CassetteMismatchError) as caught:
        await chat("http://127.0.0.1:9", "hi")
    assert "the cassette does not exist" in str(caught.value)
    assert not (tmp_path / "absent").exists()


async def test_new_episodes_replays_matches_and_records_the_rest(tmp_path: Path) -> None:
    with serve_in_thread(counting_answers()) as server:
        with cassette(tmp_path, mode="once"):
            await chat(server.url, "hi")
        with cassette(tmp_path, mode="new_episodes") as tape:
            assert await chat(server.url, "hi") == "answer 1"
            assert await chat(server.url, "new") == "answer 2"
        assert (tape.played, tape.recorded, len(server.requests)) == (1, 1, 2)
        with cassette(tmp_path, mode="none"):
            assert [await chat(server.url, "hi"), await chat(server.url, "new")] == [
                "answer 1",
                "answer 2",
            ]


async def test_all_records_afresh_and_drops_the_old_bodies(tmp_path: Path) -> None:
    with serve_in_thread(counting_answers()) as server:
        with cassette(tmp_path, mode="all"):
            await chat(server.url, "one")
            await chat(server.url, "two")
        with cassette(tmp_path, mode="all"):
            assert await chat(server.url, "three") == "answer 3"
    index = read_index(tmp_path)
    assert index is not None
    assert [i.request.body["messages"][0]["content"] for i in index.interactions if i.request] == [
        "three"
    ]
    assert files(tmp_path) == ["001-completions.json", INDEX_NAME]


async def test_volatile_fields_and_match_on(tmp_path: Path) -> None:
    with serve_in_thread(counting_answers()) as server:
        with cassette(tmp_path, mode="once"):
            await chat(server.url, "hi", extra_params={"user": "run-1", "seed": 1})
        with cassette(tmp_path, mode="none"):  # "user" is volatile by default, "seed" is not
            assert await chat(server.url, "hi", extra_params={"user": "run-2", "seed": 1}) == (
                "answer 1"
            )
        with cassette(tmp_path, mode="none"), pytest.raises(CassetteMismatchError):
            await chat(server.url, "hi", extra_params={"user": "run-2", "seed": 2})
        with cassette(tmp_path, mode="none", ignore=["seed", "user"]):
            assert await chat(server.url, "hi", extra_params={"seed": 3}) == "answer 1"
        with cassette(tmp_path, mode="none", match_on=["method"]):
            assert await chat(server.url, "anything at all") == "answer 1"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sync_code_and_rings_created_deep_inside(tmp_path: Path, backend: str) -> None:
    """No ring is passed in: the application makes its own, inside ``anyio.run``."""

    async def application(url: str) -> str:
        return await chat(url, "deep")

    with serve_in_thread(counting_answers()) as server:
        with cassette(tmp_path, mode="once"):
            recorded = anyio.run(application, server.url, backend=backend)
        url = server.url
    with cassette(tmp_path, mode="none"):
        replayed = anyio.run(application, url, backend=backend)
    assert recorded == replayed == "answer 1"


async def test_async_with_and_the_block_ends_the_cassette(tmp_path: Path) -> None:
    with serve_in_thread(counting_answers()) as server:
        async with cassette(tmp_path, mode="once") as tape:
            await chat(server.url, "hi")
        assert await chat(server.url, "hi") == "answer 2"  # outside: the network again
    assert tape.recorded == 1


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cassette mode 'sometimes' is not one of once, none"):
        cassette(tmp_path, mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pace must be"):
        cassette(tmp_path, pace="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="match_on: 'headers'"):
        cassette(tmp_path, match_on=["headers"])  # type: ignore[list-item]
    (tmp_path / INDEX_NAME).write_text("{not json", "utf-8")
    with pytest.raises(ValueError, match="is not a readable cassette"):
        cassette(tmp_path)


def test_importing_llmring_testing_does_not_import_pytest() -> None:
    code = "import sys, llmring.testing; print('pytest' in sys.modules, 'respx' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout == "False False\n"


async def test_an_error_answer_replays_as_the_same_typed_error(tmp_path: Path) -> None:
    body = (RECORDINGS / "openai" / "error-429.json").read_bytes()
    reply = Reply(429, {"retry-after": "7"}, [body], content_type="application/json")
    with serve_in_thread(reply) as server:
        with cassette(tmp_path, mode="once"), pytest.raises(ProviderRateLimitError) as live:
            await chat(server.url, "hi")
        url = server.url
    with cassette(tmp_path, mode="none"), pytest.raises(ProviderRateLimitError) as replayed:
        await chat(url, "hi")
    assert (str(replayed.value), replayed.value.retry_after) == (str(live.value), 7.0)


async def test_a_stream_left_early_records_what_was_read(tmp_path: Path) -> None:
    request = ask("hi")
    with serve_in_thread(provider_reply("openai", reads=4, gap=0.02)) as server:
        with cassette(tmp_path, mode="once"):
            ring = LLMRing(api_keys={"openai": KEY}, base_urls={"openai": server.url})
        async with ring, aclosing(ring.chat_stream(request)) as chunks:
            first = await anext(chunks)
        url = server.url
    index = read_index(tmp_path)
    assert index is not None
    [interaction] = index.interactions
    assert interaction.response.complete is False
    body = (tmp_path / interaction.response.body_file).read_bytes()
    assert 0 < len(body) < len(b"".join(provider_reply("openai", reads=4).pieces))
    with cassette(tmp_path, mode="none"):
        ring = LLMRing(api_keys={"openai": KEY}, base_urls={"openai": url})
    async with ring, aclosing(ring.chat_stream(request)) as chunks:  # made inside: replays
        assert await anext(chunks) == first
