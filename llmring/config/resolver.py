"""Alias resolution: a model name and a profile in, the ordered models to try out.

The rules, each applied in the order written:

Which lockfile is read
    the ``lockfile_path`` given to ``Resolver`` (it must exist), else ``$LLMRING_LOCKFILE_PATH``
    (it must exist), else ``./llmring.lock`` in the current directory, else the lockfile
    bundled with llmring. Decided again on every call, so a ``./llmring.lock`` created later
    is used at once.

Which profile
    the ``profile`` argument, else ``$LLMRING_PROFILE``, else the lockfile's ``default_profile``,
    else ``"default"``. A profile inherits every alias of the ``default`` profile that it does
    not bind itself. A profile the lockfile does not define (other than ``default``) is a
    ``LockfileError``: a typo in a profile name must not quietly select other models.

What a name means
    ``provider:model``, when the part before the first colon is a known provider, is that one
    model; no lockfile is read. Anything else is an alias bound in the profile. A
    ``package:alias`` the application does not bind itself is looked up in the lockfile of
    ``package``, which must be listed in ``[extends]`` (in that package's profile of the same
    name, else its ``default``). The application's own bindings always win, ``package:alias``
    names included. An unknown name is an ``AliasNotFoundError`` listing the known aliases.
    Extended packages are loaded together, the first time a name needs them; one that is
    missing is a ``LockfileError`` naming it.

Where writes go (``bind``, ``unbind``, ``init_lockfile``)
    the explicit path, else ``$LLMRING_LOCKFILE_PATH``, else ``./llmring.lock``; never the
    bundled lockfile. While the bundled lockfile is the one in use, the first ``bind`` or
    ``unbind`` creates ``./llmring.lock`` as a copy of it (comments included) with the change
    applied. ``bind``/``unbind`` need an explicit or ``$LLMRING_LOCKFILE_PATH`` file to exist;
    ``init_lockfile`` creates it. Writes take the profile from the same order, reading
    ``default_profile`` from the file being written, and create the profile if needed.

Caching
    each lockfile read (with its extended packages' lockfiles) and every resolution are kept
    per path until the file's mtime, size or inode changes, or ``clear_cache()`` is called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from llmring._suggest import provider_of_model_family
from llmring.config.lockfile import (
    DEFAULT_PROFILE,
    LOCKFILE_NAME,
    Binding,
    Lockfile,
    ModelsArg,
    bundled_lockfile_path,
    check_alias,
    edit_lockfile,
    init_lockfile,
    model_refs,
)
from llmring.exceptions import (
    AliasNotFoundError,
    InvalidModelReferenceError,
    LockfileError,
    LockfileNotFoundError,
)
from llmring.model_ref import ModelRef
from llmring.providers import canonical_name, closest_provider

__all__ = ["LOCKFILE_ENV", "PROFILE_ENV", "Resolver"]

LOCKFILE_ENV = "LLMRING_LOCKFILE_PATH"
"""Names the lockfile when the caller gives no path; the file must exist."""

PROFILE_ENV = "LLMRING_PROFILE"
"""Names the profile when the caller gives none."""


@dataclass
class _Entry:
    """One loaded lockfile and what was worked out from it while it stayed unchanged."""

    stamp: tuple[int, int, int]
    lockfile: Lockfile
    extensions: dict[str, Lockfile] | None = None
    resolutions: dict[tuple[str, str], tuple[ModelRef, ...]] = field(default_factory=dict)


class Resolver:
    """Resolves aliases through a lockfile and edits that lockfile; see the module docstring
    for the rules.

    ``lockfile_path`` pins the lockfile (it must exist when read or bound; ``init_lockfile``
    creates it). ``environ`` replaces ``os.environ`` as the source of ``LLMRING_LOCKFILE_PATH``
    and ``LLMRING_PROFILE``; by default the live environment is read on every call. Nothing is
    read at construction.
    """

    def __init__(
        self,
        lockfile_path: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._explicit_path = Path(lockfile_path) if lockfile_path is not None else None
        self._environ = environ
        self._cache: dict[Path, _Entry] = {}

    def __repr__(self) -> str:
        return f"Resolver(lockfile_path={self._explicit_path!r})"

    # --- where, which profile ------------------------------------------------------------

    def lockfile_path(self) -> Path:
        """The lockfile reads come from now; ``LockfileNotFoundError`` if an explicit or
        ``$LLMRING_LOCKFILE_PATH`` file is missing."""
        if self._explicit_path is not None:
            return _existing(self._explicit_path, "lockfile_path")
        from_env = self._env(LOCKFILE_ENV)
        if from_env is not None:
            return _existing(Path(from_env).expanduser(), f"${LOCKFILE_ENV}")
        local = Path.cwd() / LOCKFILE_NAME
        if local.is_file():
            return local
        return bundled_lockfile_path()

    def write_path(self) -> Path:
        """The lockfile ``bind``, ``unbind`` and ``init_lockfile`` write (never the bundled one)."""
        return self._write_target()[0]

    def profile_name(self, profile: str | None = None) -> str:
        """The profile in effect for ``profile`` (``None``: the environment, then the lockfile)."""
        return self._choose_profile(profile, None)

    def lockfile(self) -> Lockfile:
        """The lockfile reads come from, loaded (or cached while the file is unchanged)."""
        return self._load().lockfile

    # --- reading ---------------------------------------------------------------------------

    def resolve(self, name: str, profile: str | None = None) -> list[ModelRef]:
        """The models to try for ``name``, primary first: a ``provider:model`` reference alone,
        else the alias's bindings (``AliasNotFoundError`` when nothing binds it)."""
        direct = ModelRef.direct(name)
        if direct is not None:
            return [direct]
        entry = self._load()
        chosen = self._choose_profile(profile, entry.lockfile)
        models = entry.resolutions.get((name, chosen))
        if models is None:
            models = self._lookup(entry, name, chosen).models
            entry.resolutions[(name, chosen)] = models
        return list(models)

    def hedge_after(self, name: str, profile: str | None = None) -> float | None:
        """The alias's ``hedge_after`` in the lockfile (None for ``provider:model`` or unset)."""
        if ModelRef.direct(name) is not None:
            return None
        entry = self._load()
        return self._lookup(entry, name, self._choose_profile(profile, entry.lockfile)).hedge_after

    def list_aliases(self, profile: str | None = None) -> dict[str, list[str]]:
        """Every alias usable in the profile, sorted, with its models as ``provider:model``
        (primary first); extended packages' aliases appear as ``package:alias``."""
        entry = self._load()
        chosen = self._choose_profile(profile, entry.lockfile)
        self._require_profile(entry.lockfile, chosen)
        return {name: b.model_names for name, b in self._bindings(entry, chosen).items()}

    # --- writing ---------------------------------------------------------------------------

    def bind(self, alias: str, models: ModelsArg, profile: str | None = None) -> Path:
        """Bind ``alias`` to ``models`` (primary first, then fallbacks) and return the file
        written. Replaces an existing binding of ``alias`` in that profile."""
        check_alias(alias)
        target, create = self._write_target()
        try:
            refs = model_refs(models)  # bad input fails before any file is touched
        except InvalidModelReferenceError:
            if not target.exists():
                raise
            Lockfile.load(target)  # perhaps a provider it declares: reading registers them
            refs = model_refs(models)

        def change(lockfile: Lockfile) -> None:
            lockfile.set_binding(alias, refs, self._choose_profile(profile, lockfile))

        edit_lockfile(target, change, create=create)
        self.clear_cache()
        return target

    def unbind(self, alias: str, profile: str | None = None) -> Path:
        """Remove ``alias`` from the profile and return the file written;
        ``AliasNotFoundError`` if that profile does not bind it itself."""
        target, create = self._write_target()

        def change(lockfile: Lockfile) -> None:
            lockfile.remove_binding(alias, self._choose_profile(profile, lockfile))

        edit_lockfile(target, change, create=create)
        self.clear_cache()
        return target

    def init_lockfile(self, force: bool = False) -> Path:
        """Write a starter lockfile at ``write_path()`` and return it; an existing file is a
        ``LockfileError`` unless ``force``."""
        target = init_lockfile(self._write_target()[0], force=force)
        self.clear_cache()
        return target

    def clear_cache(self) -> None:
        """Forget every loaded lockfile and resolution."""
        self._cache.clear()

    # --- internals -------------------------------------------------------------------------

    def _env(self, name: str) -> str | None:
        environ = os.environ if self._environ is None else self._environ
        return environ.get(name, "").strip() or None

    def _choose_profile(self, profile: str | None, lockfile: Lockfile | None) -> str:
        if profile:
            return profile
        from_env = self._env(PROFILE_ENV)
        if from_env is not None:
            return from_env
        if lockfile is None:
            lockfile = self._load().lockfile
        return lockfile.default_profile  # "default" when the file names none

    def _write_target(self) -> tuple[Path, bool]:
        """The file to write, and whether it may be created from the starter lockfile."""
        local = Path.cwd() / LOCKFILE_NAME
        from_env = self._env(LOCKFILE_ENV)
        if self._explicit_path is not None:
            target, create = self._explicit_path, False
        elif from_env is not None:
            target, create = Path(from_env).expanduser(), False
        else:
            target, create = local, True
        if target.resolve() == bundled_lockfile_path().resolve():
            target, create = local, True
        return target, create

    def _load(self) -> _Entry:
        path = self.lockfile_path()
        try:
            stat = path.stat()
        except FileNotFoundError as exc:
            raise LockfileNotFoundError(f"lockfile {path} does not exist") from exc
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        entry = self._cache.get(path)
        if entry is None or entry.stamp != stamp:
            entry = _Entry(stamp, Lockfile.load(path))
            self._cache[path] = entry
        return entry

    def _extensions(self, entry: _Entry) -> dict[str, Lockfile]:
        if entry.extensions is None:
            entry.extensions = entry.lockfile.load_extensions()
        return entry.extensions

    def _require_profile(self, lockfile: Lockfile, profile: str) -> None:
        if profile != DEFAULT_PROFILE and profile not in lockfile.profiles:
            defined = ", ".join(lockfile.profiles) or "none"
            where = lockfile.path or "the lockfile"
            raise LockfileError(f"profile {profile!r} is not defined in {where} ({defined})")

    def _lookup(self, entry: _Entry, name: str, profile: str) -> Binding:
        lockfile = entry.lockfile
        self._require_profile(lockfile, profile)
        # One alias looked up directly, not a merged copy of every binding per call: that
        # made resolving each alias of a large lockfile quadratic.
        binding = _effective_binding(lockfile, name, profile)
        if binding is None:
            package, sep, alias = name.partition(":")
            if sep and package in lockfile.extends:
                extension = self._extensions(entry)[package]
                binding = _effective_binding(extension, alias, profile)
        if binding is None:
            if sep and package not in lockfile.extends and closest_provider(package):
                canonical_name(package)  # a misspelled provider: raises, naming the closest
            family = provider_of_model_family(name)
            suggestion = f"{family}:{name}" if family is not None and not sep else None
            raise AliasNotFoundError(
                name, profile, list(self._bindings(entry, profile)), suggestion
            )
        return binding

    def _bindings(self, entry: _Entry, profile: str) -> dict[str, Binding]:
        """Every binding usable in ``profile``, sorted by name: the extended packages'
        (as ``package:alias``) under the application's own."""
        merged: dict[str, Binding] = {}
        for package, extension in self._extensions(entry).items():
            for alias, binding in extension.effective_bindings(profile).items():
                merged[f"{package}:{alias}"] = binding
        merged.update(entry.lockfile.effective_bindings(profile))
        return dict(sorted(merged.items()))


def _effective_binding(lockfile: Lockfile, alias: str, profile: str) -> Binding | None:
    """``lockfile.effective_bindings(profile).get(alias)`` without building the mapping."""
    binding = lockfile.get_binding(alias, profile)
    return binding if binding is not None else lockfile.get_binding(alias, DEFAULT_PROFILE)


def _existing(path: Path, source: str) -> Path:
    if not path.is_file():
        raise LockfileNotFoundError(f"lockfile {path} (from {source}) does not exist")
    return path.absolute()
