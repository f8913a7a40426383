"""The pure parts of structured output: reading response_format, schema rewrites, partial JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from llmring.exceptions import ProviderBadRequestError, StructuredOutputError
from llmring.schemas import LLMRequest, LLMResponse, StreamChunk, ToolCall
from llmring.structured import OutputSpec, PartialJSON, apply_spec, output_spec
from llmring.structured.partial import with_partial
from llmring.structured.schema import (
    anthropic_schema,
    gemini_schema,
    inline_refs,
    openai_strict_schema,
)

# --- output_spec -----------------------------------------------------------------------------


def test_dict_forms_read_into_a_spec() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert output_spec({"type": "json_object"}) == OutputSpec(kind="json_object")
    assert output_spec({"type": "text"}) is None
    assert output_spec(None) is None
    assert output_spec(
        {"type": "json_schema", "json_schema": {"name": "thing", "schema": schema}}
    ) == OutputSpec(kind="json_schema", name="thing", schema=schema, strict=None)
    assert output_spec(
        {"type": "json_schema", "json_schema": {"schema": schema, "strict": False}}
    ) == OutputSpec(kind="json_schema", name="response", schema=schema, strict=False)


@pytest.mark.parametrize(
    ("response_format", "message"),
    [
        ({"type": "xml"}, "unsupported response_format type 'xml'"),
        ({"type": "json_schema"}, "response_format json_schema needs"),
        (
            {"type": "json_schema", "json_schema": {"schema": []}},
            "response_format json_schema needs",
        ),
    ],
)
def test_malformed_dicts_are_refused(response_format: dict[str, Any], message: str) -> None:
    with pytest.raises(ProviderBadRequestError, match=message):
        output_spec(response_format)


def test_a_model_name_is_made_fit_for_openai() -> None:
    model = type("My Model!", (BaseModel,), {"__annotations__": {"x": int}})
    spec = output_spec(model)
    assert spec is not None and spec.name == "My_Model_"


# --- apply_spec ------------------------------------------------------------------------------


def response(content: str, **fields: Any) -> LLMResponse:
    return LLMResponse(content=content, model="p:m", finish_reason="stop", **fields)


class Point(BaseModel):
    x: int
    y: int


def test_parsed_is_the_model_or_the_json() -> None:
    model_spec = output_spec(Point)
    assert model_spec is not None
    assert apply_spec(model_spec, response('{"x": 1, "y": 2}')).parsed == Point(x=1, y=2)
    object_spec = OutputSpec(kind="json_object")
    assert apply_spec(object_spec, response('{"x": 1}')).parsed == {"x": 1}


@pytest.mark.parametrize(
    ("spec", "text", "errors"),
    [
        (OutputSpec(kind="json_object"), "[1]", [("dict_type", ())]),
        (OutputSpec(kind="json_object"), "{oops", [("json_invalid", ())]),
        (
            OutputSpec(kind="json_schema", schema={"type": "object", "required": ["a", "b"]}),
            '{"a": 1}',
            [("missing", ("b",))],
        ),
        (OutputSpec(kind="json_schema", schema={"type": "array"}), "{}", [("list_type", ())]),
        (output_spec(Point), '{"x": "one"}', [("int_parsing", ("x",)), ("missing", ("y",))]),
    ],
)
def test_what_does_not_fit_raises_with_text_and_errors(
    spec: OutputSpec, text: str, errors: list[tuple[str, tuple[Any, ...]]]
) -> None:
    with pytest.raises(StructuredOutputError) as caught:
        apply_spec(spec, response(text))
    assert caught.value.text == text
    assert [(e["type"], tuple(e["loc"])) for e in caught.value.errors] == errors
    assert caught.value.partial == response(text)


def test_refusals_and_tool_calls_are_not_parsed() -> None:
    spec = OutputSpec(kind="json_object")
    refused = apply_spec(spec, response("", refusal="No."))
    assert (refused.refusal, refused.parsed) == ("No.", None)
    # Anthropic's refusal is text with stop_reason "refusal"
    filtered = response("I can't help with that.").model_copy(
        update={"finish_reason": "content_filter", "raw_finish_reason": "refusal"}
    )
    assert apply_spec(spec, filtered).refusal == "I can't help with that."
    call = ToolCall.model_validate({"id": "c", "function": {"name": "f"}})
    assert apply_spec(spec, response("", tool_calls=[call])).parsed is None


# --- schema rewrites -------------------------------------------------------------------------

NESTED = {
    "type": "object",
    "properties": {"p": {"$ref": "#/$defs/P", "description": "where"}},
    "$defs": {"P": {"type": "object", "properties": {"x": {"type": "integer"}}}},
}


def test_inline_refs_keeps_sibling_keywords_and_drops_defs() -> None:
    assert inline_refs(NESTED, "X") == {
        "type": "object",
        "properties": {
            "p": {
                "type": "object",
                "properties": {"x": {"type": "integer"}},
                "description": "where",
            }
        },
    }


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (
            {"$ref": "#/$defs/N", "$defs": {"N": {"properties": {"next": {"$ref": "#/$defs/N"}}}}},
            r"X cannot take a recursive schema \(\$ref '#/\$defs/N' refers to itself\)",
        ),
        ({"$ref": "https://example.com/s.json"}, "is not a local"),
    ],
)
def test_refs_that_cannot_be_inlined(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(ProviderBadRequestError, match=message):
        inline_refs(schema, "X")


def test_openai_strict_closes_and_requires_every_object() -> None:
    assert openai_strict_schema(NESTED) == {
        "type": "object",
        "properties": {"p": {"$ref": "#/$defs/P", "description": "where"}},
        "required": ["p"],
        "additionalProperties": False,
        "$defs": {
            "P": {
                "type": "object",
                "properties": {"x": {"type": "integer"}},
                "required": ["x"],
                "additionalProperties": False,
            }
        },
    }


@pytest.mark.parametrize(
    ("rewrite", "schema", "message"),
    [
        (
            openai_strict_schema,
            {"type": "array"},
            "OpenAI strict mode needs an object at the root of the schema",
        ),
        (
            openai_strict_schema,
            {"type": "object", "properties": {"s": {"type": "string", "minLength": 2}}},
            r"OpenAI strict mode cannot express the JSON Schema keyword 'minLength' "
            r"\(at \$.properties.s\)",
        ),
        (
            openai_strict_schema,
            {"type": "object", "additionalProperties": {"type": "integer"}},
            r"OpenAI strict mode cannot express additionalProperties \{'type': 'integer'\} at \$",
        ),
        (
            anthropic_schema,
            {"type": "object", "properties": {"l": {"type": "array", "minItems": 2}}},
            r"Anthropic structured output cannot express minItems 2 \(only 0 or 1\) "
            r"at \$.properties.l",
        ),
        (
            anthropic_schema,
            {"type": "object", "properties": {"n": {"type": "number", "maximum": 9}}},
            "Anthropic cannot express the JSON Schema keyword 'maximum'",
        ),
        (
            gemini_schema,
            {"type": "object", "allOf": [{"type": "object"}]},
            r"Gemini cannot express the JSON Schema keyword 'allOf' \(at \$\)",
        ),
    ],
)
def test_what_a_provider_cannot_express_is_refused_by_name(
    rewrite: Any, schema: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProviderBadRequestError, match=message):
        rewrite(schema)


def test_gemini_takes_const_as_a_one_value_enum() -> None:
    schema = {"type": "object", "properties": {"kind": {"const": "dog", "type": "string"}}}
    assert gemini_schema(schema) == {
        "type": "object",
        "properties": {"kind": {"enum": ["dog"], "type": "string"}},
    }


def test_rewrites_do_not_touch_the_caller_schema() -> None:
    before = repr(NESTED)
    openai_strict_schema(NESTED)
    anthropic_schema(NESTED)
    gemini_schema(NESTED)
    assert repr(NESTED) == before


# --- partial JSON ----------------------------------------------------------------------------


def feed_all(pieces: list[str]) -> list[Any]:
    partial = PartialJSON()
    return [partial.feed(piece) for piece in pieces]


def test_partials_only_when_changed_and_numbers_only_when_complete() -> None:
    assert feed_all(['{"a', '": 1', "2", ', "b": tr', "ue", ' , "s": "he', "llo", '"}', " "]) == [
        {},
        None,  # "1" may still become "12"
        None,
        {"a": 12},
        {"a": 12, "b": True},
        {"a": 12, "b": True, "s": "he"},
        {"a": 12, "b": True, "s": "hello"},
        None,  # the closing quote and brace change nothing
        None,
    ]


def test_text_that_is_not_json_yields_nothing() -> None:
    partial = PartialJSON()
    assert [partial.feed(piece) for piece in ["Sure", "! ", "{"]] == [None, None, None]
    assert partial.text == "Sure! {"


def test_with_partial_equals_a_validated_copy() -> None:
    chunk = StreamChunk(model="p:m", delta='{"a": 1,')
    fast = with_partial(chunk, {"a": 1})
    assert fast == chunk.model_copy(update={"partial_object": {"a": 1}})
    assert fast.model_fields_set == {"model", "delta", "partial_object"}
    assert (
        fast.model_dump()
        == StreamChunk(model="p:m", delta='{"a": 1,', partial_object={"a": 1}).model_dump()
    )


def test_a_request_with_a_model_class_dumps_to_json_as_its_schema() -> None:
    request = LLMRequest(model="p:m", messages=[], response_format=Point)
    dumped = json.loads(request.model_dump_json())["response_format"]
    assert dumped == {
        "type": "json_schema",
        "json_schema": {"name": "Point", "schema": Point.model_json_schema(), "strict": True},
    }
    # and reads back as the same request to any provider
    assert output_spec(dumped) == OutputSpec(
        kind="json_schema", name="Point", schema=Point.model_json_schema(), strict=True
    )
