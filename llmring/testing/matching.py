"""Which recorded interaction answers a request, and which one came closest when none does.

A request matches a recorded one when the parts named in ``match_on`` are equal: ``method``;
``url`` (credentials already scrubbed, query parameters in any order); ``body``, the JSON body
with the ``ignore`` fields (volatile ones such as ``metadata`` or ``user``; a dotted path
reaches into objects) left out. Repeated identical requests are answered in recorded order:
each recorded interaction answers once.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Sequence
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from llmring.testing.format import Interaction, RecordedRequest

__all__ = [
    "DEFAULT_MATCH_ON",
    "VOLATILE_FIELDS",
    "MatchPart",
    "RequestMatcher",
]

MatchPart = Literal["method", "url", "body"]
DEFAULT_MATCH_ON: tuple[MatchPart, ...] = ("method", "url", "body")
#: Body fields that differ between runs of the same test without changing the answer.
VOLATILE_FIELDS: tuple[str, ...] = ("metadata", "user", "prompt_cache_key", "safety_identifier")


class RequestMatcher:
    """Compares requests on ``match_on``, ignoring the ``ignore`` body fields."""

    def __init__(
        self,
        match_on: Sequence[MatchPart] = DEFAULT_MATCH_ON,
        ignore: Collection[str] = VOLATILE_FIELDS,
    ) -> None:
        for part in match_on:
            if part not in DEFAULT_MATCH_ON:
                raise ValueError(f"match_on: {part!r} is not one of {DEFAULT_MATCH_ON}")
        self.match_on = tuple(match_on)
        self._ignore = [field.split(".") for field in ignore]

    def key(self, request: RecordedRequest) -> tuple[Any, ...]:
        """What ``match_on`` compares, in a form that compares with ``==``."""
        parts: list[Any] = []
        for part in self.match_on:
            match part:
                case "method":
                    parts.append(request.method.upper())
                case "url":
                    parts.append(_normal_url(request.url))
                case "body":
                    parts.append(_canonical(self._without_ignored(request.body)))
        return tuple(parts)

    def first_match(
        self, request: RecordedRequest, interactions: Sequence[Interaction], used: Collection[int]
    ) -> int | None:
        """The position of the first unused interaction answering ``request``."""
        wanted = self.key(request)
        for position, interaction in enumerate(interactions):
            if position in used:
                continue
            if interaction.request is None:  # a hand-made recording: only match_on=() takes it
                if not self.match_on:
                    return position
                continue
            if self.key(interaction.request) == wanted:
                return position
        return None

    def closest(
        self, request: RecordedRequest, interactions: Sequence[Interaction]
    ) -> Interaction | None:
        """The recorded interaction most like ``request`` (for the mismatch message)."""
        candidates = [i for i in interactions if i.request is not None]
        if not candidates:
            return None
        target = describe(request)
        return max(
            candidates,
            key=lambda i: difflib.SequenceMatcher(
                None,
                target,
                describe(i.request),  # type: ignore[arg-type]
            ).ratio(),
        )

    def differences(self, request: RecordedRequest, recorded: RecordedRequest) -> list[str]:
        """The parts (and top-level body fields) in which two requests differ."""
        out: list[str] = []
        for part, mine, theirs in zip(
            self.match_on, self.key(request), self.key(recorded), strict=True
        ):
            if mine == theirs:
                continue
            if part == "body":
                a, b = self._without_ignored(request.body), self._without_ignored(recorded.body)
                if isinstance(a, dict) and isinstance(b, dict):
                    fields = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
                    out.append(f"body fields {', '.join(fields)}")
                    continue
            out.append(part)
        return out

    def _without_ignored(self, body: Any) -> Any:
        if not self._ignore or not isinstance(body, dict):
            return body
        body = json.loads(json.dumps(body))  # a deep copy to prune
        for path in self._ignore:
            _drop(body, path)
        return body


def describe(request: RecordedRequest, limit: int = 2000) -> str:
    """``METHOD URL`` and the body, for a person reading an error."""
    body = "" if request.body is None else "\n" + _canonical(request.body, indent=2)
    text = f"{request.method} {request.url}{body}"
    return text if len(text) <= limit else text[:limit] + " ..."


def _drop(body: Any, path: list[str]) -> None:
    head, *rest = path
    if not isinstance(body, dict) or head not in body:
        return
    if rest:
        _drop(body[head], rest)
    else:
        del body[head]


def _canonical(value: Any, indent: int | None = None) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, indent=indent)


def _normal_url(url: str) -> str:
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, query, ""))
