"""Structured output end to end: every provider's structured recordings through ``LLMRing``.

``recordings/<provider>/structured.*`` streams the Recipe JSON of tests/recipe.py;
``structured-cut.*`` stops at max tokens inside it; ``structured-complete.json`` is the
non-streaming answer. Each runs on asyncio and trio through respx.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import respx
from pydantic import Field

from llmring import LLMRequest, LLMRing, Message, StreamChunk
from llmring.exceptions import (
    ProviderBadRequestError,
    ProviderUnsupportedError,
    StructuredOutputError,
)
from llmring.schemas import ResponseFormat
from llmring.testing import Recording, load_recording, mock_recording
from tests.conftest import RECORDINGS
from tests.providers.invariants import calls_from_deltas
from tests.recipe import RECIPE, Recipe

pytestmark = pytest.mark.anyio

PROVIDERS = ["openai", "openai-responses", "anthropic", "google", "ollama"]
KEY = "sk-test-SECRET-0000"


class CaloricRecipe(Recipe):
    """The same recipe, but the answer must also give calories, which none of them does."""

    calories: int


def recording(provider: str, name: str) -> Recording:
    suffix = ".ndjson" if provider == "ollama" and name != "structured-complete" else ".sse"
    if name == "structured-complete":
        suffix = ".json"
    return load_recording(RECORDINGS / provider / f"{name}{suffix}")


def request(provider: str, response_format: ResponseFormat | None) -> LLMRequest:
    return LLMRequest(
        model=f"{provider}:m",
        messages=[Message(role="user", content="A soup recipe, please.")],
        response_format=response_format,
    )


async def stream(
    rec: Recording, response_format: ResponseFormat | None, model: str | None = None
) -> list[StreamChunk]:
    """The chunks of ``rec`` replayed; if it raises, the chunks so far are on the error."""
    chunks: list[StreamChunk] = []
    with respx.mock:
        mock_recording(respx, rec, url__regex=r".*")
        async with LLMRing(api_keys={rec.provider: KEY}) as ring:
            req = request(rec.provider, response_format)
            if model is not None:
                req = req.model_copy(update={"model": model})
            try:
                async for chunk in ring.chat_stream(req):
                    chunks.append(chunk)
            except StructuredOutputError as error:
                error.add_note(f"{len(chunks)} chunks before the error")
                error.chunks = chunks  # type: ignore[attr-defined]
                raise
    return chunks


def extends(new: Any, old: Any) -> bool:
    """Whether ``new`` is ``old`` grown: keys added, strings and lists longer, nothing lost."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(
            k in new and extends(new[k], v) for k, v in old.items()
        )
    if isinstance(old, list):
        return (
            isinstance(new, list)
            and len(new) >= len(old)
            and all(extends(n, o) for n, o in zip(new, old, strict=False))
        )
    if isinstance(old, str):
        return isinstance(new, str) and new.startswith(old)
    return bool(new == old)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_stream_gives_growing_partials_and_the_validated_model(provider: str) -> None:
    rec = recording(provider, "structured")
    chunks = await stream(rec, Recipe)
    *body, final = chunks
    assert final.response is not None
    assert final.response.parsed == RECIPE
    assert final.response.content == rec.expect["text"]
    assert final.response.finish_reason == "stop"
    partials = [chunk.partial_object for chunk in body if chunk.partial_object is not None]
    # only where it changed, and each one the last grown
    assert all(a != b for a, b in itertools.pairwise(partials))
    assert all(extends(b, a) for a, b in itertools.pairwise(partials))
    assert partials[-1] == json.loads(rec.expect["text"]) == RECIPE.model_dump(exclude={"notes"})
    # the object forms field by field: the top-level keys in the order they arrive
    # (Gemini sends a few fields per chunk, so it skips some of these steps)
    keys = [list(p) for p in partials]
    steps = [k for n, k in enumerate(keys) if n == 0 or k != keys[n - 1]]
    progression = [
        [],
        ["title"],
        ["title", "servings"],
        ["title", "servings", "vegetarian"],
        ["title", "servings", "vegetarian", "ingredients"],
        ["title", "servings", "vegetarian", "ingredients", "steps"],
    ]
    if provider == "google":
        assert steps == [["title"], progression[2], progression[4], progression[5]]
    else:
        assert steps == progression
    assert final.partial_object is None


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_cut_answer_is_invalid_json_with_its_text(provider: str) -> None:
    rec = recording(provider, "structured-cut")
    with pytest.raises(StructuredOutputError) as caught:
        await stream(rec, Recipe)
    error = caught.value
    assert error.text == rec.expect["text"]
    assert [(e["type"], e["loc"]) for e in error.errors] == [("json_invalid", ())]
    assert error.partial is not None
    assert (error.partial.content, error.partial.finish_reason) == (rec.expect["text"], "length")
    assert error.partial.parsed is None
    last = [c.partial_object for c in error.chunks if c.partial_object is not None][-1]  # type: ignore[attr-defined]
    assert last["steps"] == ["Chop the onion.", ""]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_schema_violation_names_the_field(provider: str) -> None:
    rec = recording(provider, "structured")
    with pytest.raises(StructuredOutputError) as caught:
        await stream(rec, CaloricRecipe)
    error = caught.value
    assert [(e["type"], e["loc"], e["msg"]) for e in error.errors] == [
        ("missing", ("calories",), "Field required")
    ]
    assert error.text == rec.expect["text"]
    assert "calories: Field required" in str(error)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_object"},
        {"type": "json_schema", "json_schema": {"name": "r", "schema": Recipe.model_json_schema()}},
    ],
    ids=["json_object", "json_schema"],
)
async def test_a_dict_format_parses_to_json(provider: str, response_format: dict[str, Any]) -> None:
    rec = recording(provider, "structured")
    if provider == "anthropic" and response_format["type"] == "json_object":
        # an open object has no Anthropic equivalent: refused before sending
        with pytest.raises(ProviderBadRequestError, match="json_object"):
            await stream(rec, response_format)
        return
    final = (await stream(rec, response_format))[-1]
    assert final.response is not None
    assert final.response.parsed == json.loads(rec.expect["text"])


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_chat_returns_the_validated_model(provider: str) -> None:
    rec = recording(provider, "structured-complete")
    with respx.mock:
        route = mock_recording(respx, rec, url__regex=r".*")
        async with LLMRing(api_keys={provider: KEY}) as ring:
            response = await ring.chat(request(provider, Recipe))
            with pytest.raises(StructuredOutputError) as caught:
                await ring.chat(request(provider, CaloricRecipe))
    assert response.parsed == RECIPE
    assert response.content == rec.expect["text"]
    assert [e["loc"] for e in caught.value.errors] == [("calories",)]
    sent = json.loads(route.calls[0].request.content)
    assert "Recipe" in json.dumps(sent)  # the schema went out in the provider's own field


async def test_a_refusal_is_a_refusal_not_a_validation_error() -> None:
    rec = load_recording(RECORDINGS / "anthropic" / "refusal.sse")
    final = (await stream(rec, Recipe))[-1]
    assert final.response is not None
    assert (final.response.refusal, final.response.parsed) == ("I can't help with that.", None)
    assert final.response.finish_reason == "content_filter"


def alias_lockfile(tmp_path: Path) -> Path:
    path = tmp_path / "llmring.lock"
    path.write_text(
        'version = "1.0"\ndefault_profile = "default"\n[profiles.default]\nname = "default"\n'
        '[[profiles.default.bindings]]\nalias = "extractor"\n'
        'models = ["anthropic:claude-sonnet-4-5", "openai:gpt-4o-mini"]\n'
    )
    return path


async def test_an_alias_with_anthropic_first_answers_a_structured_request(tmp_path: Path) -> None:
    req = LLMRequest(
        model="extractor",
        messages=[Message(role="user", content="A soup recipe, please.")],
        response_format=Recipe,
    )
    keys = {"anthropic": KEY, "openai": KEY}
    with respx.mock:
        anthropic = mock_recording(
            respx, recording("anthropic", "structured"), url="https://api.anthropic.com/v1/messages"
        )
        openai = mock_recording(respx, recording("openai", "structured"), url__regex=r".*openai.*")
        async with LLMRing(lockfile_path=alias_lockfile(tmp_path), api_keys=keys) as ring:
            chunks = [chunk async for chunk in ring.chat_stream(req)]
    final = chunks[-1]
    assert final.model == "anthropic:claude-sonnet-4-5"
    assert final.response is not None and final.response.parsed == RECIPE
    assert (anthropic.call_count, openai.call_count) == (1, 0)
    sent = json.loads(anthropic.calls[0].request.content)
    assert sent["output_config"]["format"]["type"] == "json_schema"
    assert sent["output_config"]["format"]["schema"]["additionalProperties"] is False


TOOL_STREAMS = [
    "openai/parallel-tool-calls.sse",
    "openai-responses/parallel-tool-calls.sse",
    "anthropic/parallel-tool-calls.sse",
    "google/parallel-tool-calls.sse",
    "google/streamed-args.sse",
    "ollama/parallel-tool-calls.ndjson",
]


@pytest.mark.parametrize("name", TOOL_STREAMS)
async def test_tool_call_deltas_add_up_to_the_final_calls(name: str) -> None:
    rec = load_recording(RECORDINGS / name)
    chunks = await stream(rec, None)
    *body, final = chunks
    assert final.tool_calls
    assert calls_from_deltas(body) == [call.model_dump() for call in final.tool_calls]
    assert all(chunk.tool_call_deltas is None for chunk in [final])


async def test_without_response_format_the_stream_is_not_wrapped() -> None:
    async with LLMRing(api_keys={"openai": KEY}) as ring:
        plain = ring.chat_stream(request("openai", None))
        structured = ring.chat_stream(request("openai", Recipe))
        assert plain.ag_code.co_name == "stream"  # the engine's own generator
        assert structured.ag_code.co_name == "structured_stream"
        await plain.aclose()
        await structured.aclose()


class NotAModel:
    pass


def test_a_class_that_is_not_a_pydantic_model_is_refused() -> None:
    with pytest.raises(Exception, match="Input should be a subclass of BaseModel"):
        request("openai", NotAModel)  # type: ignore[arg-type]


def test_model_is_derived_once() -> None:
    from llmring.structured import output_spec

    assert output_spec(Recipe) is output_spec(Recipe)
    spec = output_spec(Recipe)
    assert spec is not None
    assert (spec.kind, spec.name, spec.strict, spec.model) == (
        "json_schema",
        "Recipe",
        True,
        Recipe,
    )
    assert spec.schema == Recipe.model_json_schema()


class BoundedRecipe(Recipe):
    """Servings with a lower bound, which Anthropic's structured outputs cannot express."""

    servings: int = Field(default=2, ge=1)


async def test_an_alias_moves_on_from_a_provider_that_cannot_express_the_schema(
    tmp_path: Path,
) -> None:
    req = LLMRequest(
        model="extractor",
        messages=[Message(role="user", content="A soup recipe, please.")],
        response_format=BoundedRecipe,
    )
    keys = {"anthropic": KEY, "openai": KEY}
    with respx.mock:
        anthropic = mock_recording(
            respx, recording("anthropic", "structured"), url="https://api.anthropic.com/v1/messages"
        )
        openai = mock_recording(respx, recording("openai", "structured"), url__regex=r".*openai.*")
        async with LLMRing(lockfile_path=alias_lockfile(tmp_path), api_keys=keys) as ring:
            chunks = [chunk async for chunk in ring.chat_stream(req)]
            with pytest.raises(ProviderUnsupportedError) as caught:
                await ring.chat(req.model_copy(update={"model": "anthropic:m"}))
    assert caught.value.message == (
        "Anthropic cannot express the JSON Schema keyword 'minimum' (at $.properties.servings)"
    )
    assert isinstance(caught.value, ProviderBadRequestError)
    final = chunks[-1]
    assert final.model == "openai:gpt-4o-mini"
    assert final.response is not None
    assert final.response.parsed == BoundedRecipe.model_validate(RECIPE.model_dump())
    # refused before sending: Anthropic was never called
    assert (anthropic.call_count, openai.call_count) == (0, 1)
