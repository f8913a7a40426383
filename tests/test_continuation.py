"""A response is the next turn's history: a two-turn tool loop on every provider.

Turn 1 is replayed from a recording with thinking and tool calls; turn 2 appends
``response.message`` (from the final chunk's ``response``) and a tool result, and the body
llmring sends must equal, whole, the fixture written from the provider's docs
(fixtures/<provider>/*-tool-loop.json). The continuation state survives JSON, and a message
carrying one provider's state goes to another provider without it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx

from llmring import LLMRequest, LLMRing, Message
from llmring.providers import create_provider
from llmring.testing import load_recording, mock_recording
from tests.conftest import FIXTURES, RECORDINGS

pytestmark = pytest.mark.anyio

KEY = "sk-test-SECRET-0000"
#: provider -> (turn-1 recording, turn-2 fixture)
LOOPS = {
    "anthropic": ("anthropic/thinking-tool-call.sse", "anthropic/thinking-tool-loop.json"),
    "google": (
        "google/thought-signature-tool-calls.sse",
        "google/thought-signature-tool-loop.json",
    ),
    "openai-responses": (
        "openai-responses/reasoning-encrypted-tool-call.sse",
        "openai-responses/reasoning-tool-loop.json",
    ),
    "openai": ("openai/tool-call.sse", "openai/tool-loop.json"),
    "ollama": ("ollama/thinking-tool-call.ndjson", "ollama/tool-loop.json"),
}
#: The state each provider's turn 1 must hand back (None: the API has none to keep).
STATEFUL = {"anthropic", "google", "ollama", "openai-responses"}


def fixture(provider: str) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((FIXTURES / LOOPS[provider][1]).read_text("utf-8"))
    return case


def service(provider: str) -> LLMRing:
    return LLMRing(api_keys={provider: KEY})


async def sent_body(provider: str, request: LLMRequest) -> dict[str, Any]:
    """The JSON body ``chat_stream`` sends for ``request`` (answered by a text recording)."""
    suffix = "ndjson" if provider == "ollama" else "sse"
    answer = load_recording(RECORDINGS / provider / f"text.{suffix}")
    with respx.mock:
        route = mock_recording(respx, answer, url__regex=r".*")
        async with service(provider) as ring:
            [chunk async for chunk in ring.chat_stream(request)]
        body: dict[str, Any] = json.loads(route.calls.last.request.content)
    return body


@pytest.mark.parametrize("provider", sorted(LOOPS))
async def test_turn_two_is_built_from_response_message(provider: str) -> None:
    case = fixture(provider)
    expected = LLMRequest.model_validate(case["request"])
    user, _assistant, *results = expected.messages
    first = expected.model_copy(update={"messages": [user]})
    recording = load_recording(RECORDINGS / LOOPS[provider][0])
    with respx.mock:
        mock_recording(respx, recording, url__regex=r".*")
        async with service(provider) as ring:
            chunks = [chunk async for chunk in ring.chat_stream(first)]
    response = chunks[-1].response
    assert response is not None
    assert (response.continuation is not None) == (provider in STATEFUL)
    history = [user, response.message, *results]
    # The message is what the fixture (written from the docs) says the assistant turn is...
    assert history == expected.messages
    # ...and turn 2's body, as sent, is the fixture's whole.
    second = expected.model_copy(update={"messages": history})
    assert await sent_body(provider, second) == case["body"]


@pytest.mark.parametrize("provider", sorted(LOOPS))
def test_a_conversation_stored_as_json_resumes_with_the_same_body(provider: str) -> None:
    case = fixture(provider)
    request = LLMRequest.model_validate(case["request"])
    stored = json.dumps([message.model_dump(mode="json") for message in request.messages])
    resumed = [Message.model_validate(each) for each in json.loads(stored)]
    assert resumed == request.messages
    rebuilt = request.model_copy(update={"messages": resumed})
    ref = create_provider(provider, api_key=KEY)
    assert ref.build_call(rebuilt, case["model"], stream=True).body == case["body"]


@pytest.mark.parametrize("source", sorted(STATEFUL))
@pytest.mark.parametrize("target", sorted(LOOPS))
def test_another_providers_state_is_dropped_cleanly(source: str, target: str) -> None:
    """A message with ``source``'s state goes to ``target``: text and calls go, the state
    only where it belongs."""
    message = LLMRequest.model_validate(fixture(source)["request"]).messages[1]
    assert message.continuation is not None
    bare = message.model_copy(update={"continuation": None})
    results = LLMRequest.model_validate(fixture(source)["request"]).messages[2:]

    def body(assistant: Message) -> dict[str, Any]:
        request = LLMRequest(
            model=f"{target}:m",
            messages=[Message(role="user", content="hi"), assistant, *results],
        )
        return create_provider(target, api_key=KEY).build_call(request, "m", stream=True).body

    if source == target:
        assert body(message) != body(bare)  # its own provider gets the state
    else:
        assert body(message) == body(bare)
