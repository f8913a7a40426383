"""Lockfiles: the typed view of an ``llmring.lock`` over the tomlkit document it was read
from, so edits keep every comment and the layout. Loading, editing, atomic saving, ``init``
and ``[extends]``.

Rules an edit follows:

- ``set_binding`` on a bound alias replaces its models in place (a trailing comment stays);
  a new alias is appended to the profile, which is created when missing.
- ``remove_binding`` removes the binding's table together with the comment lines directly
  above its header; comments that introduce the next table stay.
- ``edit_lockfile`` is the read-modify-write every writer uses: under an advisory lock it
  re-reads the file, applies the change and saves atomically, so two processes binding
  different aliases at once both land.
- ``[extends] packages = ["somepkg"]``: ``somepkg``'s bundled ``somepkg/llmring.lock`` is
  read with ``importlib.resources``; its own ``[extends]`` are not followed.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError
from tomlkit.items import AoT, Array, Comment, Whitespace
from tomlkit.toml_document import TOMLDocument

from llmring.config._io import atomic_write, check_size, exclusive_lock, read_text
from llmring.config._schema import (
    DEFAULT_PROFILE,
    Binding,
    LockfileData,
    Profile,
    check_alias,
    cut_table,
    parse_model,
    validate,
)
from llmring.exceptions import (
    AliasNotFoundError,
    LockfileError,
    LockfileNotFoundError,
    LockfileParseError,
)
from llmring.model_ref import ModelRef
from llmring.providers.presets import ProviderSettings

__all__ = [
    "DEFAULT_PROFILE",
    "LOCKFILE_NAME",
    "Binding",
    "Lockfile",
    "ModelsArg",
    "Profile",
    "bundled_lockfile_path",
    "check_alias",
    "edit_lockfile",
    "init_lockfile",
    "load_extension",
    "model_refs",
    "starter_text",
]

LOCKFILE_NAME = "llmring.lock"
"""The file name looked for in the working directory and inside packages."""

ModelsArg = str | ModelRef | Sequence[str | ModelRef]
"""What a binding accepts: one model, or several (primary first), as text or ``ModelRef``."""
T = TypeVar("T")


def bundled_lockfile_path() -> Path:
    """The lockfile shipped inside llmring (``llmring/data/llmring.lock``); never written."""
    return Path(str(importlib.resources.files("llmring") / "data" / LOCKFILE_NAME))


@functools.cache
def starter_text() -> str:
    """The text of a new lockfile: a copy of the bundled one, comments included (read once:
    the bundled file is part of the installed package)."""
    resource = importlib.resources.files("llmring") / "data" / LOCKFILE_NAME
    return resource.read_text(encoding="utf-8")


class Lockfile:
    """A validated lockfile and the tomlkit document it stands for.

    Build one with ``Lockfile.load(path)`` or ``Lockfile.parse(text)``. The read side
    (``profiles``, ``get_binding``, ``effective_bindings``) is always in step with the
    document; the edit methods change the document and re-validate it.
    """

    def __init__(self, document: TOMLDocument, *, path: str | Path | None = None) -> None:
        """Wrap a parsed document; raises ``LockfileParseError`` if it breaks the schema."""
        self.path = Path(path) if path is not None else None
        self._label = str(path) if path is not None else "<lockfile>"
        self._doc = document
        self._data = self._validate()

    @classmethod
    def parse(cls, text: str, *, path: str | Path | None = None) -> Lockfile:
        """A lockfile from TOML text; ``path`` names it in errors (and is where ``save`` writes)."""
        return cls(_parse_toml(text, str(path) if path is not None else "<lockfile>"), path=path)

    @classmethod
    def load(cls, path: str | Path) -> Lockfile:
        """Read ``path``: ``LockfileNotFoundError`` if absent, ``LockfileParseError`` (with the
        line) if it is not valid TOML or not a valid lockfile."""
        path = Path(path)
        try:
            text = read_text(path)
        except FileNotFoundError as exc:
            raise LockfileNotFoundError(f"lockfile {path} does not exist") from exc
        except UnicodeDecodeError as exc:
            line = exc.object[: exc.start].count(b"\n") + 1
            raise LockfileParseError("not UTF-8 text", path=str(path), line=line) from exc
        except OSError as exc:
            raise LockfileError(f"cannot read {path}: {exc.strerror}") from exc
        return cls.parse(text, path=path)

    def _validate(self) -> LockfileData:
        return validate(self._doc.unwrap(), text=self._doc.as_string(), path=self._label)

    def __repr__(self) -> str:
        return f"Lockfile({self._label!r}, profiles={list(self.profiles)!r})"

    @property
    def version(self) -> str:
        """The ``version`` the file declares (``"1.0"`` when it declares none)."""
        return self._data.version

    @property
    def default_profile(self) -> str:
        """The profile used when neither the caller nor ``LLMRING_PROFILE`` names one."""
        return self._data.default_profile

    @property
    def extends(self) -> tuple[str, ...]:
        """The packages listed in ``[extends] packages``, in order."""
        return self._data.extends

    @property
    def providers(self) -> Mapping[str, ProviderSettings]:
        """The named servers the file declares (``[providers.<name>]``), in file order."""
        return self._data.providers

    @property
    def profiles(self) -> Mapping[str, Profile]:
        """Every profile the file defines, in file order."""
        return self._data.profiles

    def get_binding(self, alias: str, profile: str = DEFAULT_PROFILE) -> Binding | None:
        """The binding of ``alias`` in exactly ``profile`` (no inheritance), or None."""
        found = self._data.profiles.get(profile)
        return found.bindings.get(alias) if found is not None else None

    def effective_bindings(self, profile: str = DEFAULT_PROFILE) -> dict[str, Binding]:
        """The aliases ``profile`` can use: its own bindings over those of the ``default``
        profile, which every profile inherits."""
        merged: dict[str, Binding] = {}
        for name in (DEFAULT_PROFILE, profile):
            found = self._data.profiles.get(name)
            if found is not None:
                merged.update(found.bindings)
        return merged

    def set_binding(self, alias: str, models: ModelsArg, profile: str = DEFAULT_PROFILE) -> Binding:
        """Bind ``alias`` to ``models`` (primary first) in ``profile``; returns the binding.

        Models are validated first (``InvalidModelReferenceError`` says the expected
        ``provider:model`` form), so a bad call leaves the document unchanged.
        """
        check_alias(alias)
        names = [str(ref) for ref in model_refs(models)]
        if not profile or not isinstance(profile, str):
            raise LockfileError(f"{profile!r} is not a profile name")
        container = self._bindings(profile)
        for item in container:
            if item.get("alias") == alias:
                _replace_models(item, names)
                break
        else:
            _append_binding(container, alias, names)
        self._data = self._validate()
        return self._data.profiles[profile].bindings[alias]

    def remove_binding(self, alias: str, profile: str = DEFAULT_PROFILE) -> Binding:
        """Remove ``alias`` from ``profile`` and return what it was bound to;
        ``AliasNotFoundError`` if that profile does not bind it."""
        bound = self.get_binding(alias, profile)
        if bound is None:
            found = self._data.profiles.get(profile)
            raise AliasNotFoundError(alias, profile, list(found.bindings) if found else [])
        container = self._bindings(profile)
        index = next(i for i, item in enumerate(container) if item.get("alias") == alias)
        if isinstance(container, AoT):
            text = cut_table(self.as_string(), ("profiles", profile, "bindings", index))
            self._doc = _parse_toml(text, self._label)
        else:  # an inline array of tables: no header, no comments of its own
            del container[index]
        self._data = self._validate()
        return bound

    def _bindings(self, profile: str) -> Any:
        """The bindings container (an AoT or an inline array) of ``profile``, created if
        missing, as is the profile."""
        if "profiles" not in self._doc:
            self._doc["profiles"] = tomlkit.table(is_super_table=True)
        profiles = self._doc["profiles"]
        if profile not in profiles:
            table = tomlkit.table()
            table["name"] = profile
            profiles[profile] = table
        table = profiles[profile]
        if "bindings" not in table:
            table["bindings"] = tomlkit.aot()
        return table["bindings"]

    def load_extensions(self) -> dict[str, Lockfile]:
        """The lockfile of each package in ``[extends]``, by package name; a package that is
        missing, or ships no lockfile, is a ``LockfileError`` naming it."""
        return {name: load_extension(name, required_by=self._label) for name in self.extends}

    def as_string(self) -> str:
        """The document as TOML text, comments and layout included."""
        return self._doc.as_string()

    def save(self, path: str | Path | None = None) -> Path:
        """Write atomically to ``path`` (default: where it was loaded from); returns the path.

        A lone save does not lock: use ``edit_lockfile`` when another process may be writing.
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            raise LockfileError("this lockfile has no path: pass save(path)")
        atomic_write(target, self.as_string())
        self.path = target
        return target


def model_refs(models: ModelsArg) -> list[ModelRef]:
    """``models`` as a non-empty list of ``ModelRef`` (a single string is one model)."""
    items = [models] if isinstance(models, str | ModelRef) else list(models)
    if not items:
        raise LockfileError("a binding needs at least one model ('provider:model')")
    return [parse_model(item) for item in items]


def _parse_toml(text: str, label: str) -> TOMLDocument:
    check_size(len(text), label)  # characters: never more than the bytes they came from
    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        # tomlkit appends " at line L col C"; the line goes to its own field.
        message = str(exc).rsplit(" at line ", 1)[0]
        raise LockfileParseError(
            f"invalid TOML: {message} (column {exc.col})", path=label, line=exc.line
        ) from exc
    except TOMLKitError as exc:
        raise LockfileParseError(f"invalid TOML: {exc}", path=label) from exc


def _models_array(names: list[str], like: object = None) -> Array:
    array = tomlkit.array()
    array.extend(names)
    if isinstance(like, Array):
        array.trivia.comment_ws = like.trivia.comment_ws
        array.trivia.comment = like.trivia.comment
        if "\n" in like.as_string():
            array.multiline(True)
    return array


def _replace_models(item: Any, names: list[str]) -> None:
    item["models"] = _models_array(names, like=item.get("models"))


def _append_binding(container: Any, alias: str, names: list[str]) -> None:
    if isinstance(container, AoT):
        table = tomlkit.table()
        table["alias"] = alias
        table["models"] = _models_array(names)
        table.trivia.indent = "\n"  # a blank line before the header
        if len(container):
            # The blank lines and comments ending the last table introduce whatever follows
            # it, so they move below the new one.
            body = container[-1].value.body
            cut = len(body)
            while cut and isinstance(body[cut - 1][1], Comment | Whitespace):
                cut -= 1
            for _, trailing in body[cut:]:
                if isinstance(trailing, Comment | Whitespace):  # always, by the loop above
                    table.add(trailing)
            del body[cut:]
        container.append(table)
    else:
        inline = tomlkit.inline_table()
        inline["alias"] = alias
        inline["models"] = names
        container.append(inline)


def load_extension(package: str, *, required_by: str | None = None) -> Lockfile:
    """The ``llmring.lock`` bundled inside ``package``, found with ``importlib.resources``."""
    who = f"{required_by} " if required_by else ""
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as exc:
        if exc.name and (package == exc.name or package.startswith(f"{exc.name}.")):
            raise LockfileError(
                f"{who}extends package {package!r}, which is not installed"
            ) from exc
        raise LockfileError(
            f"{who}extends package {package!r}, which fails to import: {exc}"
        ) from exc
    except TypeError as exc:  # a module, not a package
        raise LockfileError(f"{who}extends {package!r}, which is not a package") from exc
    resource = root / LOCKFILE_NAME
    if not resource.is_file():
        raise LockfileError(
            f"{who}extends package {package!r}, which ships no {LOCKFILE_NAME} ({resource})"
        )
    return Lockfile.parse(resource.read_text(encoding="utf-8"), path=str(resource))


def edit_lockfile(path: str | Path, mutate: Callable[[Lockfile], T], *, create: bool = False) -> T:
    """Read-modify-write ``path`` under an exclusive advisory lock and save it atomically.

    The file is re-read inside the lock, so concurrent edits of different aliases all land.
    ``mutate``'s result is returned; if it raises, nothing is written. A missing file is a
    ``LockfileNotFoundError`` unless ``create``, which starts from ``starter_text()``.
    """
    path = Path(path)
    if not create and not path.exists():
        raise LockfileNotFoundError(f"lockfile {path} does not exist")
    with exclusive_lock(path):
        if path.exists():
            lockfile = Lockfile.load(path)
        elif create:
            lockfile = Lockfile.parse(starter_text(), path=path)
        else:
            raise LockfileNotFoundError(f"lockfile {path} does not exist")
        result = mutate(lockfile)
        lockfile.save(path)
    return result


def init_lockfile(path: str | Path, *, force: bool = False) -> Path:
    """Write a starter lockfile (``starter_text()``) at ``path``; an existing file is a
    ``LockfileError`` unless ``force``."""
    path = Path(path)
    with exclusive_lock(path):
        if path.exists() and not force:
            raise LockfileError(
                f"{path} already exists; pass force=True (llmring lock init --force) to replace it"
            )
        atomic_write(path, starter_text())
    return path
