"""The normalized request options end to end: through LLMRing, a lockfile alias and respx.

What is proven here is what the fixtures cannot show: that a fallback across providers
re-maps the options for the next model and never carries the first one's fields along, that
the spec's own temperature example works on an Anthropic alias, and that a cached Anthropic
answer reports its cache usage.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import respx

from llmring import LLMRequest, LLMRing, Message
from llmring.testing import mock_recording
from tests.conftest import lockfile, rec
from tests.providers.request_fixtures import fixture_paths

pytestmark = pytest.mark.anyio

ANTHROPIC = "https://api.anthropic.com/v1/messages"
OPENAI = "https://api.openai.com/v1/chat/completions"
KEYS = {"anthropic": "a-key-not-real", "openai": "o-key-not-real"}
PRIME = [Message(role="user", content="Is 1009 prime?")]


def sent(route: respx.Route) -> list[dict[str, Any]]:
    """The JSON body of every request the route answered, in order."""
    return [json.loads(call.request.content) for call in route.calls]


@respx.mock
async def test_fallback_remaps_reasoning_for_the_next_provider(tmp_path: Path) -> None:
    anthropic = mock_recording(respx, rec("anthropic/error-529.json"), url=ANTHROPIC)
    answer = rec("openai/reasoning.sse")
    openai = mock_recording(respx, answer, url=OPENAI)
    path = lockfile(tmp_path, "anthropic:claude-sonnet-4-5", "openai:o4-mini")
    request = LLMRequest(model="chatbot", messages=PRIME, reasoning="high")
    async with LLMRing(lockfile_path=path, api_keys=KEYS, max_retries=0) as ring:
        chunks = [chunk async for chunk in ring.chat_stream(request)]

    assert sent(anthropic) == [
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 24576 + 4096,
            "messages": [{"role": "user", "content": "Is 1009 prime?"}],
            "thinking": {"type": "enabled", "budget_tokens": 24576},
            "stream": True,
        }
    ]
    # OpenAI's own spelling, and nothing of Anthropic's (no thinking, no max_tokens).
    assert sent(openai) == [
        {
            "model": "o4-mini",
            "messages": [{"role": "user", "content": "Is 1009 prime?"}],
            "stream": True,
            "stream_options": {"include_usage": True},
            "reasoning_effort": "high",
        }
    ]
    assert "".join(chunk.delta for chunk in chunks) == answer.expect["text"]
    assert {chunk.model for chunk in chunks} == {"openai:o4-mini"}
    assert chunks[-1].finish_reason == answer.expect["finish_reason"]


@respx.mock
async def test_fallback_chat_remaps_reasoning_too(tmp_path: Path) -> None:
    mock_recording(respx, rec("anthropic/error-529.json"), url=ANTHROPIC)
    answer = rec("openai/reasoning-complete.json")
    openai = mock_recording(respx, answer, url=OPENAI)
    path = lockfile(tmp_path, "anthropic:claude-sonnet-4-5", "openai:o4-mini")
    request = LLMRequest(
        model="chatbot",
        messages=PRIME,
        reasoning="high",
        temperature=0.7,
        provider_params={"anthropic": {"top_k": 40}},
    )
    async with LLMRing(lockfile_path=path, api_keys=KEYS, max_retries=0) as ring:
        response = await ring.chat(request)

    assert sent(openai) == [
        {
            "model": "o4-mini",
            "messages": [{"role": "user", "content": "Is 1009 prime?"}],
            "stream": False,
            "reasoning_effort": "high",
        }
    ]
    assert (response.content, response.model) == (answer.expect["text"], "openai:o4-mini")


@respx.mock
async def test_spec_streaming_with_temperature_on_an_anthropic_alias(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    answer = rec("anthropic/text.sse")
    anthropic = mock_recording(respx, answer, url=ANTHROPIC)
    path = lockfile(tmp_path, "anthropic:claude-3-5-haiku-20241022")
    caplog.set_level(logging.DEBUG, logger="llmring")
    printed = ""
    # The spec's example ("Streaming with Temperature"), as written there.
    async with LLMRing(lockfile_path=path, api_keys=KEYS) as service:
        request = LLMRequest(
            model="chatbot",
            messages=[Message(role="user", content="Write a creative story")],
            temperature=1.2,
        )
        async for chunk in service.chat_stream(request):
            printed += chunk.delta

    assert printed == answer.expect["text"]
    assert sent(anthropic) == [
        {
            "model": "claude-3-5-haiku-20241022",
            "max_tokens": 4096,
            "messages": [{"role": "user", "content": "Write a creative story"}],
            "temperature": 1.0,
            "stream": True,
        }
    ]
    # Only the option mapping's own lines: other parts of llmring may log at DEBUG too.
    records = [r for r in caplog.records if r.module == "_options"]
    assert [(r.name, r.levelname, r.getMessage()) for r in records] == [
        (
            "llmring",
            "DEBUG",
            "temperature sent to anthropic:claude-3-5-haiku-20241022 as 1.0, not 1.2: "
            "its range is 0-1",
        )
    ]


@respx.mock
async def test_cache_breakpoints_and_cache_usage_on_anthropic(tmp_path: Path) -> None:
    answer = rec("anthropic/cache-usage.sse")
    anthropic = mock_recording(respx, answer, url=ANTHROPIC)
    handbook = "You answer from the handbook.\n<handbook>...</handbook>"
    request = LLMRequest(
        model="anthropic:claude-sonnet-4-5",
        messages=[
            Message(role="system", content=handbook, cache="1h"),
            Message(role="user", content="What does section 2 cover?"),
        ],
    )
    async with LLMRing(api_keys=KEYS) as ring:
        chunks = [chunk async for chunk in ring.chat_stream(request)]

    assert sent(anthropic) == [
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 4096,
            "system": [
                {
                    "type": "text",
                    "text": handbook,
                    "cache_control": {"type": "ephemeral", "ttl": "1h"},
                }
            ],
            "messages": [{"role": "user", "content": "What does section 2 cover?"}],
            "stream": True,
        }
    ]
    final = chunks[-1]
    assert final.usage is not None
    expected = answer.expect["usage"]
    assert (final.usage.cached_tokens, final.usage.cache_write_tokens) == (4096, 700)
    assert final.usage.model_dump(exclude={"raw"}) == expected
    assert "".join(chunk.delta for chunk in chunks) == answer.expect["text"]


# --- every option fixture, sent through LLMRing ---------------------------------------------

OPTION_FIXTURES = {
    f"{provider}/{path.stem}": json.loads(path.read_text("utf-8"))
    for provider in ("anthropic", "openai", "openai-responses", "google", "ollama")
    for path in fixture_paths(provider)
    if path.stem.startswith(
        ("reasoning-", "sampling-", "cache-", "provider-params", "temperature-c")
    )
}
ROUTES: dict[str, dict[str, str]] = {
    "anthropic": {"url": ANTHROPIC},
    "openai": {"url": OPENAI},
    "openai-responses": {"url": "https://api.openai.com/v1/responses"},
    "google": {"url__startswith": "https://generativelanguage.googleapis.com/v1beta/models/"},
    "ollama": {"url": "http://localhost:11434/api/chat"},
}


# Body building knows no event loop; both backends are proven by the tests above.
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("name", sorted(OPTION_FIXTURES))
@respx.mock
async def test_option_fixture_end_to_end(name: str) -> None:
    """The fixture's request through the public API puts the fixture's body on the wire."""
    provider = name.partition("/")[0]
    case = OPTION_FIXTURES[name]
    request = LLMRequest.model_validate({**case["request"], "model": f"{provider}:{case['model']}"})
    answer = rec(
        f"{provider}/text.{'ndjson' if provider == 'ollama' else 'sse'}"
        if case["stream"]
        else f"{provider}/complete-text.json"
    )
    route = mock_recording(respx, answer, **ROUTES[provider])
    async with LLMRing(api_keys={provider: "k-not-real"}) as ring:
        if case["stream"]:
            text = "".join([chunk.delta async for chunk in ring.chat_stream(request)])
        else:
            text = (await ring.chat(request)).content
    assert (sent(route), text) == ([case["body"]], answer.expect["text"])
