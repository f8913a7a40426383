"""JSON Schemas rewritten into what each provider's constrained decoding accepts.

Each provider understands a different subset of JSON Schema. What can be rewritten without
changing which answers are valid is rewritten (``$ref`` inlined, ``const`` as a one-value
``enum``, OpenAI strict mode's all-required); what a provider cannot express raises
``ProviderUnsupportedError`` (a ``ProviderBadRequestError`` that lets an alias move on to a
provider that can) before anything is sent, naming the keyword and where it is.

Sources: OpenAI https://platform.openai.com/docs/guides/structured-outputs#supported-schemas,
Anthropic https://docs.claude.com/en/docs/build-with-claude/structured-outputs (JSON Schema
limitations), Gemini https://ai.google.dev/gemini-api/docs/structured-output (JSON Schema
support).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmring.exceptions import ProviderUnsupportedError

__all__ = [
    "anthropic_schema",
    "gemini_schema",
    "inline_refs",
    "openai_strict_schema",
]

Schema = dict[str, Any]

#: Keywords that say nothing about which values are valid; every provider takes them.
_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$schema", "$comment"})
# Where subschemas sit: keyword -> how its value holds them.
_ONE = ("items", "not", "if", "then", "else", "contains", "propertyNames")
_LIST = ("anyOf", "oneOf", "allOf", "prefixItems")
_MAP = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")

#: OpenAI strict mode, "Supported schemas".
OPENAI_STRICT_KEYWORDS = _ANNOTATIONS | {
    "type", "properties", "required", "additionalProperties", "items", "anyOf", "enum",
    "const", "$ref", "$defs", "definitions", "pattern", "format", "multipleOf", "maximum",
    "exclusiveMaximum", "minimum", "exclusiveMinimum", "minItems", "maxItems",
}  # fmt: skip
#: Anthropic, "JSON Schema limitations" ($ref is inlined first; minItems only 0 or 1).
ANTHROPIC_KEYWORDS = _ANNOTATIONS | {
    "type", "properties", "required", "additionalProperties", "items", "anyOf", "allOf",
    "enum", "const", "format", "pattern", "minItems",
}  # fmt: skip
#: Gemini ``responseJsonSchema``, "JSON Schema support" (const is rewritten to enum).
GEMINI_KEYWORDS = _ANNOTATIONS | {
    "$id", "$defs", "$ref", "$anchor", "type", "format", "enum", "items", "prefixItems",
    "minItems", "maxItems", "minimum", "maximum", "anyOf", "oneOf", "properties",
    "additionalProperties", "required", "propertyOrdering",
}  # fmt: skip


def inline_refs(schema: Schema, provider: str) -> Schema:
    """``schema`` with every local ``$ref`` replaced by its target and ``$defs`` dropped.

    A recursive schema cannot be inlined: that raises, naming the ``$ref``.
    """
    defs: dict[str, Any] = {
        **{f"#/definitions/{k}": v for k, v in schema.get("definitions", {}).items()},
        **{f"#/$defs/{k}": v for k, v in schema.get("$defs", {}).items()},
    }

    def resolve(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [resolve(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        if isinstance(ref := node.get("$ref"), str):
            if ref in seen:
                raise ProviderUnsupportedError(
                    f"{provider} cannot take a recursive schema ($ref {ref!r} refers to itself)"
                )
            if ref not in defs:
                raise ProviderUnsupportedError(
                    f"{provider}: schema $ref {ref!r} is not a local $defs/definitions entry"
                )
            target = resolve(defs[ref], (*seen, ref))
            siblings = {k: resolve(v, seen) for k, v in node.items() if k != "$ref"}
            return {**target, **siblings}  # a sibling description wins over the target's
        return {
            key: resolve(value, seen)
            for key, value in node.items()
            if key not in ("$defs", "definitions")
        }

    result: Schema = resolve(schema, ())
    return result


def openai_strict_schema(schema: Schema) -> Schema:
    """OpenAI strict mode: every object closed (``additionalProperties: false``) with all its
    properties required, no ``default``, an object at the root.

    Fields that had a default become required: the model always sends them, and validating
    into the model class still accepts the answer.
    """
    if schema.get("type") != "object":
        raise ProviderUnsupportedError(
            "OpenAI strict mode needs an object at the root of the schema "
            f"(got type {schema.get('type')!r}); wrap the value in an object"
        )

    def fix(node: Schema, where: str) -> Schema:
        _check_keywords(node, where, OPENAI_STRICT_KEYWORDS, "OpenAI strict mode")
        out = {key: value for key, value in node.items() if key != "default"}
        if _is_object(node):
            _close(out, where, "OpenAI strict mode")
            out["required"] = list(out.get("properties", {}))
        return out

    return _walk(schema, "$", fix)


def anthropic_schema(schema: Schema) -> Schema:
    """Anthropic: ``$ref`` inlined (recursion refused), every object closed, and nothing
    outside its supported subset (no numeric or string-length bounds, ``minItems`` 0 or 1)."""

    def fix(node: Schema, where: str) -> Schema:
        _check_keywords(node, where, ANTHROPIC_KEYWORDS, "Anthropic")
        if node.get("minItems", 0) not in (0, 1):
            raise ProviderUnsupportedError(
                f"Anthropic structured output cannot express minItems {node['minItems']} "
                f"(only 0 or 1) at {where}"
            )
        out = dict(node)
        if _is_object(node):
            _close(out, where, "Anthropic")
        return out

    return _walk(inline_refs(schema, "Anthropic"), "$", fix)


def gemini_schema(schema: Schema) -> Schema:
    """Gemini ``responseJsonSchema``: its documented subset, with ``const`` as a one-value
    ``enum``."""

    def fix(node: Schema, where: str) -> Schema:
        out = dict(node)
        if "const" in out:
            out["enum"] = [out.pop("const")]
        _check_keywords(out, where, GEMINI_KEYWORDS, "Gemini")
        return out

    return _walk(schema, "$", fix)


def _is_object(node: Schema) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in node


def _close(out: Schema, where: str, provider: str) -> None:
    extra = out.get("additionalProperties", False)
    if extra is not False:
        raise ProviderUnsupportedError(
            f"{provider} cannot express additionalProperties {extra!r} at {where} (objects "
            "must be closed: a dict field has no equivalent; use a list of key/value objects)"
        )
    out["additionalProperties"] = False


def _check_keywords(node: Schema, where: str, allowed: frozenset[str], provider: str) -> None:
    for key in node:
        if key not in allowed:
            raise ProviderUnsupportedError(
                f"{provider} cannot express the JSON Schema keyword {key!r} (at {where})"
            )


def _walk(node: Schema, where: str, fix: Callable[[Schema, str], Schema]) -> Schema:
    """``fix`` applied to ``node`` and, after it, to every subschema, depth first."""
    out = fix(node, where)
    for key in _ONE:
        if isinstance(out.get(key), dict):
            out[key] = _walk(out[key], f"{where}.{key}", fix)
    for key in _LIST:
        if isinstance(out.get(key), list):
            out[key] = [
                _walk(item, f"{where}.{key}[{n}]", fix) if isinstance(item, dict) else item
                for n, item in enumerate(out[key])
            ]
    for key in _MAP:
        if isinstance(out.get(key), dict):
            out[key] = {
                name: _walk(sub, f"{where}.{key}.{name}", fix) if isinstance(sub, dict) else sub
                for name, sub in out[key].items()
            }
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = _walk(
            out["additionalProperties"], f"{where}.additionalProperties", fix
        )
    return out
