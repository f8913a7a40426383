"""What a ``response_format`` asks for, in one shape, and how an answer is checked against it.

``output_spec`` reads the three accepted forms (a pydantic model class, OpenAI's
``json_schema`` dict, ``{"type": "json_object"}``) into an ``OutputSpec``; providers map the
spec to their own field, and ``OutputSpec.parse`` turns the answer text into ``parsed``.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ValidationError

from llmring.exceptions import ProviderBadRequestError, StructuredOutputError
from llmring.schemas import LLMResponse, ResponseFormat

__all__ = ["OutputKind", "OutputSpec", "apply_spec", "output_spec"]

OutputKind: TypeAlias = Literal["json_object", "json_schema"]

# OpenAI's rule for json_schema.name, which the other providers do not need but accept.
_NAME = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """One structured-output request: any JSON object, or JSON valid against ``schema``.

    ``strict`` is the caller's (``None``: unsaid, the provider's default applies); a model
    class asks for strict, as openai-python's ``.parse()`` does. ``model`` is the class the
    answer is validated into, if one was given.
    """

    kind: OutputKind
    name: str = "response"
    schema: dict[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None
    model: type[BaseModel] | None = None

    def parse(self, text: str, response: LLMResponse) -> Any:
        """``text`` as ``parsed``; raises ``StructuredOutputError`` if it does not fit."""
        if self.model is not None:
            try:
                return self.model.model_validate_json(text)
            except ValidationError as exc:
                details = exc.errors(include_url=False, include_context=False)
                raise _invalid(text, [dict(detail) for detail in details], response) from exc
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _invalid(text, [_error("json_invalid", (), str(exc))], response) from exc
        errors = self._shallow_check(value)
        if errors:
            raise _invalid(text, errors, response)
        return value

    def _shallow_check(self, value: Any) -> list[dict[str, Any]]:
        """A schema given as a dict is checked at the top level only (its type and required
        keys); the provider enforced the rest. Pass a model class for full validation."""
        if self.kind == "json_object" or self.schema is None:
            if not isinstance(value, dict):
                return [_error("dict_type", (), "the answer is not a JSON object")]
            return []
        expected = self.schema.get("type")
        if expected == "object" and not isinstance(value, dict):
            return [_error("dict_type", (), "the answer is not a JSON object")]
        if expected == "array" and not isinstance(value, list):
            return [_error("list_type", (), "the answer is not a JSON array")]
        if isinstance(value, dict):
            return [
                _error("missing", (key,), "Field required")
                for key in self.schema.get("required", ())
                if key not in value
            ]
        return []


def output_spec(response_format: ResponseFormat | None) -> OutputSpec | None:
    """The spec ``response_format`` asks for; ``None`` for none or ``{"type": "text"}``.

    A malformed dict raises ``ProviderBadRequestError`` before anything is sent.
    """
    if response_format is None:
        return None
    if isinstance(response_format, type):
        return _model_spec(response_format)
    kind = response_format.get("type")
    match kind:
        case "text":
            return None
        case "json_object":
            return OutputSpec(kind="json_object")
        case "json_schema":
            spec = response_format.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
                raise ProviderBadRequestError(
                    'response_format json_schema needs {"json_schema": {"name": ..., '
                    '"schema": {...}}}'
                )
            strict = spec.get("strict")
            description = spec.get("description")
            return OutputSpec(
                kind="json_schema",
                name=str(spec.get("name") or "response"),
                schema=spec["schema"],
                strict=strict if isinstance(strict, bool) else None,
                description=description if isinstance(description, str) else None,
            )
        case _:
            raise ProviderBadRequestError(
                f"unsupported response_format type {kind!r} "
                "(use json_schema, json_object, text, or a pydantic model class)"
            )


@functools.lru_cache(maxsize=128)
def _model_spec(model: type[BaseModel]) -> OutputSpec:
    """Deriving a schema costs about a millisecond; a class is asked for many times."""
    if not issubclass(model, BaseModel):
        raise ProviderBadRequestError(
            f"response_format {model.__name__} is a class but not a pydantic model"
        )
    schema = model.model_json_schema()
    description = schema.get("description")
    return OutputSpec(
        kind="json_schema",
        name=_NAME.sub("_", model.__name__)[:64],
        schema=schema,
        strict=True,
        description=description if isinstance(description, str) else None,
        model=model,
    )


def apply_spec(spec: OutputSpec, response: LLMResponse) -> LLMResponse:
    """``response`` with ``parsed`` set, or unset where there is nothing to parse.

    A refusal is a refusal, not a validation error: OpenAI sends it as ``refusal``;
    Anthropic as text with ``stop_reason: "refusal"`` (``content_filter``), which is moved
    into ``refusal`` here. An answer made of tool calls has nothing to parse either.
    """
    if response.finish_reason == "content_filter":
        refusal = response.refusal or response.content or None
        return response.model_copy(update={"refusal": refusal, "parsed": None})
    if response.refusal is not None:
        return response.model_copy(update={"parsed": None})
    if response.tool_calls and not response.content.strip():
        return response
    return response.model_copy(update={"parsed": spec.parse(response.content, response)})


def _error(kind: str, loc: tuple[str | int, ...], msg: str) -> dict[str, Any]:
    return {"type": kind, "loc": loc, "msg": msg}


def _invalid(
    text: str, errors: list[dict[str, Any]], response: LLMResponse
) -> StructuredOutputError:
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "the answer"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return StructuredOutputError(
        f"{response.model}: structured output does not validate: {where}: {first['msg']}{more}",
        text=text,
        errors=errors,
        partial=response,
    )
