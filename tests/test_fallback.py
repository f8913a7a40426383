"""Fallback through a lockfile alias, replayed from the project's recordings.

The rule under test (llmring/fallback.py): move on only for errors another model could
avoid, authentication only to another provider, never after the first chunk reached the
caller; when all fail, one error that says what each model answered.
"""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path

import anyio
import pytest
import respx

from llmring import LLMRequest, LLMRing, Message
from llmring._attempts import AttemptLog
from llmring.exceptions import (
    AllModelsFailedError,
    ProviderAuthenticationError,
    ProviderBadRequestError,
    ProviderOverloadedError,
    ProviderRateLimitError,
)
from llmring.fallback import first_to_answer
from llmring.model_ref import ModelRef
from llmring.testing import Recording, mock_recording
from tests.conftest import RECORDINGS, lockfile, rec

pytestmark = pytest.mark.anyio

ANTHROPIC = "https://api.anthropic.com/v1/messages"
OPENAI = "https://api.openai.com/v1/chat/completions"
GOOGLE = "https://generativelanguage.googleapis.com/"
KEYS = {"anthropic": "a-key", "openai": "o-key", "google": "g-key"}


def ring(path: Path, keys: dict[str, str] = KEYS) -> LLMRing:
    # Retries off: these tests are about moving between models (tests/test_retry.py composes both).
    return LLMRing(lockfile_path=path, api_keys=keys, max_retries=0)


REQUEST = LLMRequest(model="chatbot", messages=[Message(role="user", content="hi")])
OPENAI_TEXT = rec("openai/text.sse")


async def stream_text(service: LLMRing) -> tuple[str, set[str]]:
    chunks = [c async for c in service.chat_stream(REQUEST)]
    return "".join(c.delta for c in chunks), {c.model for c in chunks}


@pytest.mark.parametrize(
    "failure", ["anthropic/error-529.json", "anthropic/error-429.json", "anthropic/error-401.json"]
)
@respx.mock
async def test_stream_falls_back_before_the_first_chunk(tmp_path: Path, failure: str) -> None:
    first = mock_recording(respx, rec(failure), url=ANTHROPIC)
    second = mock_recording(respx, OPENAI_TEXT, url=OPENAI)
    path = lockfile(tmp_path, "anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini")
    async with ring(path) as service:
        text, models = await stream_text(service)
    assert (text, models) == (OPENAI_TEXT.expect["text"], {"openai:gpt-4o-mini"})
    assert (first.call_count, second.call_count) == (1, 1)


@respx.mock
async def test_chat_falls_back_too(tmp_path: Path) -> None:
    mock_recording(respx, rec("anthropic/error-529.json"), url=ANTHROPIC)
    complete = rec("openai/complete-text.json")
    mock_recording(respx, complete, url=OPENAI)
    path = lockfile(tmp_path, "anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini")
    async with ring(path) as service:
        response = await service.chat(REQUEST)
    assert (response.content, response.model) == (complete.expect["text"], "openai:gpt-4o-mini")


@respx.mock
async def test_a_provider_without_its_key_is_skipped(tmp_path: Path) -> None:
    second = mock_recording(respx, OPENAI_TEXT, url=OPENAI)
    path = lockfile(tmp_path, "anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini")
    async with ring(path, keys={"openai": "o-key"}) as service:
        text, models = await stream_text(service)
    assert (text, models, second.call_count) == (
        OPENAI_TEXT.expect["text"],
        {"openai:gpt-4o-mini"},
        1,
    )


@respx.mock
async def test_auth_failure_does_not_fall_back_to_the_same_provider(tmp_path: Path) -> None:
    mock_recording(respx, rec("openai/error-401.json"), url=OPENAI)
    path = lockfile(tmp_path, "openai:gpt-4o", "openai:gpt-4o-mini")
    async with ring(path) as service:
        with pytest.raises(ProviderAuthenticationError):
            await stream_text(service)
    assert respx.calls.call_count == 1


@respx.mock
async def test_a_bad_request_is_never_hidden(tmp_path: Path) -> None:
    bad = Recording(
        path=RECORDINGS / "openai" / "bad.json",
        body=b'{"error": {"message": "Unrecognized request argument: foo", "type": "x"}}',
        status=400,
        headers={"content-type": "application/json"},
    )
    mock_recording(respx, bad, url=OPENAI)
    second = mock_recording(respx, rec("anthropic/text.sse"), url=ANTHROPIC)
    path = lockfile(tmp_path, "openai:gpt-4o-mini", "anthropic:claude-3-5-haiku-20241022")
    async with ring(path) as service:
        with pytest.raises(ProviderBadRequestError, match="Unrecognized request argument"):
            await stream_text(service)
    assert second.call_count == 0


@respx.mock
async def test_no_switch_after_the_first_chunk(tmp_path: Path) -> None:
    broken = rec("anthropic/error-midstream.sse")
    mock_recording(respx, broken, url=ANTHROPIC)
    second = mock_recording(respx, OPENAI_TEXT, url=OPENAI)
    path = lockfile(tmp_path, "anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini")
    received = []
    async with ring(path) as service:
        with pytest.raises(ProviderOverloadedError) as caught:
            async with aclosing(service.chat_stream(REQUEST)) as chunks:
                async for chunk in chunks:
                    received.append(chunk.delta)
    assert "".join(received) == broken.expect["partial_text"]
    assert caught.value.partial is not None
    assert caught.value.partial.content == broken.expect["partial_text"]
    assert second.call_count == 0


@respx.mock
async def test_when_all_fail_the_error_says_what_each_answered(tmp_path: Path) -> None:
    mock_recording(respx, rec("anthropic/error-529.json"), url=ANTHROPIC)
    mock_recording(respx, rec("openai/error-429.json"), url=OPENAI)
    path = lockfile(
        tmp_path,
        "anthropic:claude-3-5-haiku-20241022",
        "openai:gpt-4o-mini",
        "google:gemini-2.5-flash",
    )
    async with ring(path, keys={"anthropic": "a", "openai": "o"}) as service:
        with pytest.raises(AllModelsFailedError) as caught:
            await service.chat(REQUEST)
    error = caught.value
    assert [(model, type(e)) for model, e in error.attempts] == [
        ("anthropic:claude-3-5-haiku-20241022", ProviderOverloadedError),
        ("openai:gpt-4o-mini", ProviderRateLimitError),
        ("google:gemini-2.5-flash", type(error.attempts[2][1])),
    ]
    assert "GOOGLE_GEMINI_API_KEY" in str(error)
    assert str(error).count("\n") == 3


@respx.mock
async def test_a_direct_model_reference_does_not_fall_back(tmp_path: Path) -> None:
    mock_recording(respx, rec("anthropic/error-529.json"), url=ANTHROPIC)
    request = REQUEST.model_copy(update={"model": "anthropic:claude-3-5-haiku-20241022"})
    async with ring(lockfile(tmp_path, "openai:gpt-4o-mini")) as service:
        with pytest.raises(ProviderOverloadedError):
            await service.chat(request)


@pytest.mark.anyio
async def test_a_hedged_call_cancelled_as_an_answer_arrives_releases_that_answer() -> None:
    # The answer is handed over with no checkpoint, and the caller's scope is cancelled at the
    # same moment: nobody will take it, so the race must release it rather than leak it.
    released: list[str] = []
    refs = [ModelRef("openai", "a"), ModelRef("anthropic", "b")]

    async def discard(answer: str) -> None:
        released.append(answer)

    with anyio.CancelScope() as caller:

        async def start(ref: ModelRef) -> str:
            await anyio.lowlevel.checkpoint()
            caller.cancel()  # the caller goes away just as this model answers
            return f"stream from {ref}"

        await first_to_answer("alias", refs, start, AttemptLog(), hedge_after=10.0, discard=discard)
    assert caller.cancelled_caught
    assert released == ["stream from openai:a"]
