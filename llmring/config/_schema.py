"""The lockfile schema: plain TOML data in, validated ``Binding`` and ``Profile`` models out,
every mistake reported with its line (internal; the public names are re-exported by
``llmring.config.lockfile``).

Schema (version 1):

    version = "1.0"                      optional, major version must be 1
    default_profile = "default"          optional
    [extends]
    packages = ["somepkg"]               optional: packages whose bundled llmring.lock to reach
    [providers.<name>]                   optional: a named server, usable as <name>:<model>
    kind = "openai"                      openai | openai-responses | anthropic | ollama
    base_url = "http://gpu1:8000/v1"     required
    api_key_env = "MYBOX_KEY"            optional: no key is needed without it
    headers = { X-Team = "ml" }          optional: sent with every request
    stream_usage = false                 optional: for servers that reject stream_options
    [profiles.<name>]
    name = "<name>"                      optional, must match the table name when present
    [[profiles.<name>.bindings]]
    alias = "chatbot"                    unique in its profile
    models = ["provider:model", ...]     primary first, then fallbacks; at least one

Unknown keys are ignored, so a newer llmring can add fields an older one still reads; except
in a provider table, where a typo would silently change where requests go.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NoReturn, Protocol

from pydantic import ValidationError

from llmring.exceptions import (
    InvalidModelReferenceError,
    LockfileError,
    LockfileParseError,
    ProviderNotFoundError,
)
from llmring.model_ref import ModelRef
from llmring.providers import canonical_name, register_provider
from llmring.providers.presets import BUILT_IN_NAMES, ProviderSettings

__all__ = [
    "DEFAULT_PROFILE",
    "Binding",
    "LockfileData",
    "Profile",
    "check_alias",
    "cut_table",
    "key_lines",
    "locate",
    "parse_model",
    "validate",
]

DEFAULT_PROFILE = "default"
"""The profile every other profile inherits from, and the last word of the profile order."""

_SUPPORTED_MAJOR = "1"
_ALIAS_RE = re.compile(r"^[^\s:]+(?::[^\s:]+)?$")
_PACKAGE_RE = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
_EXPECTED = "expected 'provider:model', e.g. 'openai:gpt-4o-mini' or 'ollama:llama3.2'"


@dataclass(frozen=True, slots=True)
class Binding:
    """One alias and its models: the primary first, then the fallbacks in the order tried."""

    alias: str
    models: tuple[ModelRef, ...]
    #: Seconds before the next model is started beside a silent one (``hedge_after = 2.0``).
    hedge_after: float | None = None

    @property
    def model_names(self) -> list[str]:
        """The models as ``provider:model`` strings."""
        return [str(ref) for ref in self.models]


@dataclass(frozen=True, slots=True)
class Profile:
    """A named set of bindings (``[profiles.<name>]``), keyed by alias in file order."""

    name: str
    bindings: Mapping[str, Binding]


@dataclass(frozen=True, slots=True)
class LockfileData:
    """Everything a lockfile says, validated."""

    version: str
    default_profile: str
    extends: tuple[str, ...]
    profiles: Mapping[str, Profile]
    providers: Mapping[str, ProviderSettings] = field(default_factory=lambda: MappingProxyType({}))


def parse_model(text: str | ModelRef) -> ModelRef:
    """A ``ModelRef`` from ``provider:model``; any mistake is an ``InvalidModelReferenceError``
    that says the expected form (an unknown provider included)."""
    if isinstance(text, ModelRef):
        return text
    try:
        return ModelRef.parse(text)
    except ProviderNotFoundError as exc:
        raise InvalidModelReferenceError(f"{text!r}: {exc}; {_EXPECTED}") from exc


def check_alias(alias: str) -> str:
    """``alias`` if it can name a binding, else ``LockfileError`` saying why.

    An alias has no whitespace and at most one colon; ``namespace:name`` overrides an alias of
    an extended package, so its namespace must not be a provider (``openai:x`` is a model).
    """
    if not isinstance(alias, str) or not _ALIAS_RE.match(alias):
        raise LockfileError(
            f"{alias!r} is not a valid alias: use a name without spaces, like 'chatbot', "
            "or 'package:alias' to override an alias of an extended package"
        )
    namespace, sep, _ = alias.partition(":")
    if sep and _is_provider(namespace):
        raise LockfileError(
            f"{alias!r} is not a valid alias: {namespace!r} is a provider, so it would be read "
            "as a model reference"
        )
    return alias


def _is_provider(name: str) -> bool:
    try:
        canonical_name(name)
    except ProviderNotFoundError:
        return False
    return True


def validate(data: Mapping[str, object], *, text: str, path: str) -> LockfileData:
    """Check parsed TOML against the schema; a ``LockfileParseError`` names the line at fault."""

    def fail(message: str, *keys: str | int, value: str | None = None) -> NoReturn:
        line = locate(text, keys)
        if line is not None and value is not None:
            line = _line_of_value(text, line, value)
        raise LockfileParseError(message, path=path, line=line)

    version = data.get("version", "1.0")
    if not isinstance(version, str):
        fail(f'version must be a string like "1.0", not {version!r}', "version")
    if version.split(".")[0] != _SUPPORTED_MAJOR:
        fail(f"unsupported lockfile version {version!r}: this llmring reads 1.x", "version")

    default_profile = data.get("default_profile", DEFAULT_PROFILE)
    if not isinstance(default_profile, str) or not default_profile:
        fail(f"default_profile must be a profile name, not {default_profile!r}", "default_profile")

    extends: list[str] = []
    raw_extends = data.get("extends", {})
    if not isinstance(raw_extends, Mapping):
        fail('[extends] must be a table: [extends] packages = ["somepkg"]', "extends")
    packages = raw_extends.get("packages", [])
    if not isinstance(packages, list):
        fail('extends.packages must be a list like ["somepkg"]', "extends", "packages")
    for package in packages:
        if not isinstance(package, str) or not _PACKAGE_RE.match(package):
            fail(f"extends.packages: {package!r} is not a package name", "extends", "packages")
        if package not in extends:
            extends.append(package)

    providers = _validate_providers(data.get("providers", {}), fail)
    # Registered before the bindings are read, so that "mybox:model" parses as a model.
    for name, settings in providers.items():
        register_provider(name, settings)

    raw_profiles = data.get("profiles", {})
    if not isinstance(raw_profiles, Mapping):
        fail("profiles must be tables: [profiles.default]", "profiles")
    profiles: dict[str, Profile] = {}
    for name, raw in raw_profiles.items():
        profiles[name] = _validate_profile(name, raw, fail)
    return LockfileData(
        version,
        default_profile,
        tuple(extends),
        MappingProxyType(profiles),
        MappingProxyType(providers),
    )


_PROVIDER_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
_PROVIDER_KEYS = ", ".join(ProviderSettings.model_fields)


def _validate_providers(raw: object, fail: _Fail) -> dict[str, ProviderSettings]:
    """``[providers.<name>]`` tables as settings; every mistake names its line."""
    if not isinstance(raw, Mapping):
        fail('providers must be tables: [providers.mybox] kind = "openai"', "providers")
    providers: dict[str, ProviderSettings] = {}
    for name, table in raw.items():
        where = ("providers", name)
        if not _PROVIDER_NAME_RE.match(name):
            fail(f"[providers.{name}]: a name is lowercase letters, digits, - and _", *where)
        if name in BUILT_IN_NAMES:
            fail(
                f"[providers.{name}]: {name!r} is a built-in provider; set its base URL "
                "(e.g. OPENAI_BASE_URL) instead of declaring it",
                *where,
            )
        if not isinstance(table, Mapping):
            fail(f"providers.{name} must be a table: [providers.{name}]", *where)
        try:
            providers[name] = ProviderSettings.model_validate(dict(table))
        except ValidationError as exc:
            # A typo shows as an unknown key and as a missing one: name the typo.
            errors = exc.errors(include_url=False)
            error = min(errors, key=lambda e: e["type"] != "extra_forbidden")
            key = str(error["loc"][0]) if error["loc"] else ""
            if error["type"] == "extra_forbidden":
                message = f"unknown key {key!r} (a provider table has {_PROVIDER_KEYS})"
            elif error["type"] == "missing":
                message = f"{key} is required, e.g. {key} = " + '"http://localhost:8000/v1"'
            else:
                message = f"{key}: {error['msg']} (got {error.get('input')!r})"
            fail(f"[providers.{name}]: {message}", *where, *([key] if key else []))
    return providers


def _validate_profile(name: str, raw: object, fail: _Fail) -> Profile:
    if not isinstance(raw, Mapping):
        fail(f"profiles.{name} must be a table: [profiles.{name}]", "profiles", name)
    declared = raw.get("name", name)
    if declared != name:
        fail(f"name = {declared!r} does not match [profiles.{name}]", "profiles", name, "name")
    raw_bindings = raw.get("bindings", [])
    if not isinstance(raw_bindings, list):
        fail(
            f"profiles.{name}.bindings must be tables: [[profiles.{name}.bindings]]",
            *("profiles", name, "bindings"),
        )
    bindings: dict[str, Binding] = {}
    for index, item in enumerate(raw_bindings):
        where = ("profiles", name, "bindings", index)
        if not isinstance(item, Mapping):
            fail(f"profiles.{name}.bindings[{index}] must be a table", *where)
        alias = item.get("alias")
        if alias is None:
            fail(f'a binding in profile {name!r} has no alias = "..."', *where)
        try:
            check_alias(alias)
        except LockfileError as exc:
            fail(str(exc), *where, "alias")
        if alias in bindings:
            fail(f"alias {alias!r} is bound twice in profile {name!r}", *where, "alias")
        models = _validate_models(alias, item.get("models"), where, fail)
        hedge_after = item.get("hedge_after")
        if hedge_after is not None and (
            isinstance(hedge_after, bool)
            or not isinstance(hedge_after, int | float)
            or not hedge_after > 0
        ):
            fail(f"alias {alias!r}: hedge_after must be a number of seconds > 0", *where)
        bindings[alias] = Binding(
            alias, models, None if hedge_after is None else float(hedge_after)
        )
    return Profile(name, MappingProxyType(bindings))


def _validate_models(
    alias: str, raw: object, where: tuple[str | int, ...], fail: _Fail
) -> tuple[ModelRef, ...]:
    if not isinstance(raw, list) or not raw:
        fail(
            f"alias {alias!r}: models must be a non-empty list of 'provider:model' strings, "
            'e.g. models = ["openai:gpt-4o-mini"]',
            *where,
            "models",
        )
    refs: list[ModelRef] = []
    for model in raw:
        if not isinstance(model, str):
            fail(f"alias {alias!r}: {model!r} is not a string; {_EXPECTED}", *where, "models")
        try:
            refs.append(parse_model(model))
        except InvalidModelReferenceError as exc:
            fail(f"alias {alias!r}: {exc}", *where, "models", value=model)
    return tuple(refs)


class _Fail(Protocol):  # the shape of validate's local ``fail``
    def __call__(self, message: str, *keys: str | int, value: str | None = None) -> NoReturn: ...


# Line location. TOML parsers keep no positions on values, so the lines are found by reading
# the text again: every table header and every ``key =`` line gets its key path, with array
# of tables entries numbered in order (``profiles.dev.bindings`` #2 -> profiles/dev/bindings/2).

_KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER_RE = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]")
_KEYVAL_RE = re.compile(rf"^\s*({_DOTTED})\s*=")
_KEY_RE = re.compile(_KEY)


def _split(dotted: str) -> tuple[str, ...]:
    keys: list[str] = []
    for key in _KEY_RE.findall(dotted):
        if key.startswith('"'):
            keys.append(str(json.loads(key)))
        elif key.startswith("'"):
            keys.append(key[1:-1])
        else:
            keys.append(key)
    return tuple(keys)


def key_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """The 1-based line of every table header and ``key =`` line, by key path."""
    lines: dict[tuple[str | int, ...], int] = {}
    table: tuple[str | int, ...] = ()
    counts: dict[tuple[str, ...], int] = {}  # entries seen per array of tables
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _HEADER_RE.match(line):
            names = _split(header.group(2))
            if header.group(1) == "[[":
                counts[names] = counts.get(names, 0) + 1
            table = ()
            for depth in range(1, len(names) + 1):
                table = (*table, names[depth - 1])
                if names[:depth] in counts:
                    table = (*table, counts[names[:depth]] - 1)
            lines.setdefault(table, number)
        elif keyval := _KEYVAL_RE.match(line):
            lines.setdefault((*table, *_split(keyval.group(1))), number)
    return lines


def _line_of_value(text: str, line: int, value: str) -> int:
    """The line, from ``line`` on, where the string ``value`` is written (for a value inside
    a multi-line array); ``line`` itself if it cannot be found before the next table."""
    quoted = (json.dumps(value), f"'{value}'")
    for number, content in enumerate(text.splitlines()[line - 1 :], start=line):
        if number > line and _HEADER_RE.match(content):
            break
        if any(q in content for q in quoted):
            return number
    return line


def locate(text: str, keys: Sequence[str | int]) -> int | None:
    """The line of ``keys``, or of its nearest enclosing table or key; None if none is found."""
    lines = key_lines(text)
    for end in range(len(keys), 0, -1):
        line = lines.get(tuple(keys[:end]))
        if line is not None:
            return line
    return None


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def cut_table(text: str, keys: Sequence[str | int]) -> str:
    """``text`` without the table whose header has key path ``keys``: its header, its lines,
    and the comment lines directly above the header. Comments and blank lines at its end
    introduce what follows, so they stay; one blank separator goes with the table."""
    lines = text.splitlines(keepends=True)
    start = key_lines(text)[tuple(keys)] - 1
    end = start + 1
    while end < len(lines) and not _HEADER_RE.match(lines[end]):
        end += 1
    while end > start + 1 and (not lines[end - 1].strip() or _is_comment(lines[end - 1])):
        end -= 1
    while start > 0 and _is_comment(lines[start - 1]):
        start -= 1
    separated = start == 0 or not lines[start - 1].strip()
    if separated and end < len(lines) and not lines[end].strip():
        end += 1
    elif separated and end == len(lines) and start > 0:
        start -= 1  # the last table: its separator goes, and the file ends as before
    return "".join(lines[:start] + lines[end:])
