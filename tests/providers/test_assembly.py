"""The shared accumulator: chunk construction, tool-call assembly, the one final chunk."""

from __future__ import annotations

import pytest

from llmring.exceptions import ProviderResponseError
from llmring.providers._assembly import StreamAssembly, ToolCallAssembler, delta_chunk, total_usage
from llmring.schemas import FunctionCall, StreamChunk, ToolCall


@pytest.mark.parametrize("field_name", ["delta", "reasoning", "refusal"])
def test_delta_chunk_equals_a_validated_chunk(field_name: str) -> None:
    fast = delta_chunk("openai:gpt-4o", field_name, "héllo ☃")
    validated = StreamChunk.model_validate({"model": "openai:gpt-4o", field_name: "héllo ☃"})
    assert fast == validated
    assert fast.model_fields_set == validated.model_fields_set
    assert fast.model_dump() == validated.model_dump()
    assert fast.model_dump_json() == validated.model_dump_json()
    with pytest.raises(ValueError, match="frozen"):
        fast.delta = "changed"  # type: ignore[misc]


def test_parallel_calls_keep_their_own_arguments_in_start_order() -> None:
    calls = ToolCallAssembler()
    calls.start(3, name="b", id="call_b")  # Anthropic: block index 3 is the first call
    calls.start(1, name="a", id="call_a")
    calls.append(1, '{"x":')
    calls.append(3, '{"y": 2}')
    calls.append(1, " 1}")
    calls.start(5, name="c")
    assert calls.calls() == [
        ToolCall(id="call_b", function=FunctionCall(name="b", arguments='{"y": 2}')),
        ToolCall(id="call_a", function=FunctionCall(name="a", arguments='{"x": 1}')),
        ToolCall(id="call_2", function=FunctionCall(name="c", arguments="{}")),
    ]


def test_whole_calls_serialize_object_arguments_compactly() -> None:
    calls = ToolCallAssembler()
    calls.add("0", name="get", arguments={"city": "Zürich", "n": 2}, id=None)
    assert calls.calls()[0].function.arguments == '{"city":"Zürich","n":2}'


def test_wire_errors_in_tool_calls_are_typed() -> None:
    calls = ToolCallAssembler()
    with pytest.raises(ProviderResponseError, match="never started"):
        calls.append(0, "{}")
    calls.start(0, name="a")
    with pytest.raises(ProviderResponseError, match="started twice"):
        calls.start(0, name="a")


def test_final_chunk_says_tool_calls_when_the_provider_only_said_stop() -> None:
    assembly = StreamAssembly("google:gemini")
    assembly.text("Let me check.")
    assembly.tool_calls.add(0, name="lookup", arguments={}, id=None)
    assembly.usage = total_usage(10, 5, reasoning_tokens=2)
    [final] = assembly.final("stop", "STOP")
    assert (final.finish_reason, final.raw_finish_reason, final.delta) == (
        "tool_calls",
        "STOP",
        "",
    )
    assert final.usage is not None and final.usage.total_tokens == 15
    assert assembly.snapshot().content == "Let me check."
    with pytest.raises(ProviderResponseError, match="after the end"):
        assembly.final("stop", "STOP")


def test_length_stays_length_even_with_a_cut_off_tool_call() -> None:
    assembly = StreamAssembly("anthropic:claude")
    assembly.tool_calls.start(0, name="f", id="toolu_1")
    [final] = assembly.final("length", "max_tokens")
    assert final.finish_reason == "length"


def test_empty_deltas_make_no_chunks() -> None:
    assembly = StreamAssembly("m")
    assert (assembly.text(""), assembly.reasoning(""), assembly.refusal("")) == ([], [], [])
