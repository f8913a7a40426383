"""Read-only dict access for public models that applications also read as dicts.

The published API (../shared/spec/streaming-skill.md) reads ``chunk.usage["total_tokens"]``,
``usage.get("prompt_tokens", 0)`` and ``call["function"]["name"]``; the typed attributes stay
the main way in. A model mixes in ``MappingView`` and lists its keys in ``_mapping_keys``:
``[]``, ``get``, ``in``, ``keys``/``items``/``values``, ``len``, iteration over keys,
``dict(model)`` and equality with the same dict then follow from ``collections.abc.Mapping``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeVar

from pydantic import BaseModel

__all__ = ["MappingView"]

V = TypeVar("V", covariant=True)


class MappingView(Mapping[str, V]):
    """Mixin: the model's chosen fields, read as a mapping of field name to value.

    List it before the pydantic base (``class Usage(MappingView[int], _Model)``). It
    replaces pydantic's ``__iter__`` (which yields ``(name, value)`` pairs) with Mapping's
    (which yields keys), so ``dict(model)`` and ``list(model)`` mean what they mean for a
    dict; ``model_dump()`` is unaffected.
    """

    __slots__ = ()

    def _mapping_keys(self) -> list[str]:
        """The keys, in order; a subclass narrows them (e.g. fields that are set)."""
        raise NotImplementedError

    def __getitem__(self, key: str) -> V:
        if key not in self._mapping_keys():
            raise KeyError(key)
        value: V = getattr(self, key)
        return value

    def __iter__(self) -> Iterator[str]:  # keys, as a Mapping's are (pydantic's gives pairs)
        return iter(self._mapping_keys())

    def __len__(self) -> int:
        return len(self._mapping_keys())

    def __contains__(self, key: object) -> bool:
        return key in self._mapping_keys()

    def __eq__(self, other: object) -> bool:
        if isinstance(self, BaseModel) and type(other) is type(self):
            return BaseModel.__eq__(self, other)  # the model's own equality: every field
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dict
