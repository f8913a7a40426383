"""Resolver: which lockfile, which profile, what a name means, [extends] namespaces, where
writes go, and the cache."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmring.config.lockfile import Lockfile, bundled_lockfile_path, starter_text
from llmring.config.resolver import Resolver
from llmring.exceptions import (
    AliasNotFoundError,
    InvalidModelReferenceError,
    LockfileError,
    LockfileNotFoundError,
    ProviderNotFoundError,
)
from llmring.model_ref import ModelRef
from tests.conftest import ROOT


def lockfile_text(*bindings: tuple[str, str, list[str]], head: str = "") -> str:
    """A lockfile binding (profile, alias, models) triples, profiles in first-seen order."""
    text = head or 'version = "1.0"\n'
    seen: list[str] = []
    for profile, alias, models in bindings:
        if profile not in seen:
            seen.append(profile)
            text += f'\n[profiles.{profile}]\nname = "{profile}"\n'
        quoted = ", ".join(f'"{m}"' for m in models)
        text += f'\n[[profiles.{profile}.bindings]]\nalias = "{alias}"\nmodels = [{quoted}]\n'
    return text


def refs(*texts: str) -> list[ModelRef]:
    return [ModelRef.parse(text) for text in texts]


@pytest.fixture(autouse=True)
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs in an empty working directory of its own."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def app_lockfile(tmp_path: Path) -> Path:
    """An application lockfile with three profiles; default_profile is staging."""
    path = tmp_path / "app.lock"
    path.write_text(
        lockfile_text(
            ("default", "chatbot", ["anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini"]),
            ("default", "summarizer", ["openai:gpt-4o", "gemini:gemini-2.5-flash"]),
            ("staging", "chatbot", ["openai:gpt-4o-mini"]),
            ("dev", "chatbot", ["ollama:llama3.2"]),
            head='version = "1.0"\ndefault_profile = "staging"\n',
        )
    )
    return path


def test_lockfile_order_explicit_then_env_then_cwd_then_bundled(tmp_path: Path, cwd: Path) -> None:
    explicit, from_env, local = (
        tmp_path / "explicit.lock",
        tmp_path / "env.lock",
        cwd / "llmring.lock",
    )
    for path, model in (
        (explicit, "openai:explicit"),
        (from_env, "openai:env"),
        (local, "openai:cwd"),
    ):
        path.write_text(lockfile_text(("default", "chatbot", [model])))
    env = {"LLMRING_LOCKFILE_PATH": str(from_env)}

    assert Resolver(explicit, environ=env).resolve("chatbot") == refs("openai:explicit")
    assert Resolver(environ=env).resolve("chatbot") == refs("openai:env")
    assert Resolver(environ={}).resolve("chatbot") == refs("openai:cwd")
    assert Resolver(environ={}).lockfile_path() == local
    local.unlink()
    assert Resolver(environ={}).lockfile_path() == bundled_lockfile_path()
    assert Resolver(environ={}).resolve("fast") == refs(
        "openai:gpt-4o-mini", "anthropic:claude-3-5-haiku-20241022", "google:gemini-2.5-flash"
    )


def test_an_explicit_or_env_lockfile_must_exist(tmp_path: Path, cwd: Path) -> None:
    (cwd / "llmring.lock").write_text(lockfile_text(("default", "chatbot", ["openai:cwd"])))
    missing = tmp_path / "missing.lock"
    with pytest.raises(LockfileNotFoundError) as explicit:
        Resolver(missing).resolve("chatbot")
    assert str(explicit.value) == f"lockfile {missing} (from lockfile_path) does not exist"
    with pytest.raises(LockfileNotFoundError) as from_env:
        Resolver(environ={"LLMRING_LOCKFILE_PATH": str(missing)}).resolve("chatbot")
    assert str(from_env.value) == (
        f"lockfile {missing} (from $LLMRING_LOCKFILE_PATH) does not exist"
    )


def test_the_live_environment_is_read_unless_one_is_given(
    app_lockfile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMRING_LOCKFILE_PATH", str(app_lockfile))
    resolver = Resolver()
    assert resolver.lockfile_path() == app_lockfile
    monkeypatch.setenv("LLMRING_PROFILE", "dev")
    assert resolver.resolve("chatbot") == refs("ollama:llama3.2")
    assert Resolver(app_lockfile, environ={}).resolve("chatbot") == refs("openai:gpt-4o-mini")


def test_profile_order_argument_then_env_then_default_profile_then_default(
    app_lockfile: Path, tmp_path: Path
) -> None:
    with_env = Resolver(app_lockfile, environ={"LLMRING_PROFILE": "dev"})
    assert with_env.resolve("chatbot", profile="default") == refs(
        "anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini"
    )
    assert (with_env.profile_name(), with_env.resolve("chatbot")) == (
        "dev",
        refs("ollama:llama3.2"),
    )
    without_env = Resolver(app_lockfile, environ={})
    assert (without_env.profile_name(), without_env.resolve("chatbot")) == (
        "staging",
        refs("openai:gpt-4o-mini"),
    )
    plain = tmp_path / "plain.lock"
    plain.write_text(lockfile_text(("default", "chatbot", ["ollama:llama3.2"])))
    assert Resolver(plain, environ={}).profile_name() == "default"


def test_a_profile_falls_back_to_the_default_profiles_binding(app_lockfile: Path) -> None:
    resolver = Resolver(app_lockfile, environ={})
    assert resolver.resolve("summarizer", profile="dev") == refs(
        "openai:gpt-4o", "google:gemini-2.5-flash"
    )
    assert resolver.list_aliases("dev") == {
        "chatbot": ["ollama:llama3.2"],
        "summarizer": ["openai:gpt-4o", "google:gemini-2.5-flash"],
    }


def test_an_undefined_profile_is_an_error_not_a_silent_default(app_lockfile: Path) -> None:
    resolver = Resolver(app_lockfile, environ={"LLMRING_PROFILE": "prdo"})
    with pytest.raises(LockfileError) as caught:
        resolver.resolve("chatbot")
    assert str(caught.value) == (
        f"profile 'prdo' is not defined in {app_lockfile} (default, staging, dev)"
    )
    with pytest.raises(LockfileError):
        resolver.list_aliases()


def test_provider_model_references_resolve_to_themselves_without_a_lockfile(
    tmp_path: Path,
) -> None:
    resolver = Resolver(tmp_path / "missing.lock")  # never read for a direct reference
    assert resolver.resolve("openai:gpt-4o") == refs("openai:gpt-4o")
    assert resolver.resolve("gemini:gemini-2.5-flash") == [ModelRef("google", "gemini-2.5-flash")]
    assert resolver.resolve("Ollama:llama3:8b") == [ModelRef("ollama", "llama3:8b")]
    with pytest.raises(InvalidModelReferenceError) as caught:
        resolver.resolve("openai:")
    assert "expected 'provider:model'" in str(caught.value)


def test_an_alias_resolves_to_its_models_in_order(tmp_path: Path) -> None:
    path = tmp_path / "llmring.lock"
    models = ["anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini", "ollama:llama3.2"]
    path.write_text(lockfile_text(("default", "chatbot", models)))
    assert Resolver(path).resolve("chatbot") == refs(*models)


def test_an_unknown_alias_names_the_known_ones(app_lockfile: Path) -> None:
    with pytest.raises(AliasNotFoundError) as caught:
        Resolver(app_lockfile, environ={}).resolve("chatbto", profile="dev")
    assert str(caught.value) == (
        "unknown alias 'chatbto' in profile 'dev' (known: chatbot, summarizer)"
    )
    assert (caught.value.alias, caught.value.profile, caught.value.known) == (
        "chatbto",
        "dev",
        ["chatbot", "summarizer"],
    )
    with pytest.raises(AliasNotFoundError):
        Resolver(app_lockfile, environ={}).resolve("nopkg:gpt-4o")  # not a provider, no package
    # a misspelled provider is said to be one (tests/test_suggestions.py)
    with pytest.raises(ProviderNotFoundError, match="did you mean 'openai'"):
        Resolver(app_lockfile, environ={}).resolve("opnai:gpt-4o")


@pytest.fixture
def make_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Build an importable package shipping an llmring.lock in tmp_path."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    made: list[str] = []

    def make(name: str, text: str) -> None:
        (site / name).mkdir()
        (site / name / "__init__.py").write_text("")
        (site / name / "llmring.lock").write_text(text)
        importlib.invalidate_caches()
        made.append(name)

    yield make
    for name in made:
        sys.modules.pop(name, None)


def test_extended_packages_aliases_are_namespaced_and_the_app_wins(
    tmp_path: Path, make_package: Callable[..., None]
) -> None:
    make_package(
        "llmring_test_pkg",
        lockfile_text(
            ("default", "chatbot", ["openai:gpt-4o-mini"]),
            ("default", "summarizer", ["anthropic:claude-3-5-haiku-20241022"]),
            ("dev", "summarizer", ["ollama:llama3.2"]),
        ),
    )
    app = tmp_path / "app.lock"
    app.write_text(
        lockfile_text(
            ("default", "chatbot", ["anthropic:claude-sonnet-4-20250514"]),
            ("default", "llmring_test_pkg:chatbot", ["openai:gpt-4o"]),
            ("dev", "local", ["ollama:llama3.2"]),
            head='version = "1.0"\n\n[extends]\npackages = ["llmring_test_pkg"]\n',
        )
    )
    resolver = Resolver(app, environ={})
    assert resolver.resolve("chatbot") == refs("anthropic:claude-sonnet-4-20250514")
    assert resolver.resolve("llmring_test_pkg:chatbot") == refs("openai:gpt-4o")
    assert resolver.resolve("llmring_test_pkg:summarizer") == refs(
        "anthropic:claude-3-5-haiku-20241022"
    )
    assert resolver.resolve("llmring_test_pkg:summarizer", "dev") == refs("ollama:llama3.2")
    assert resolver.list_aliases() == {
        "chatbot": ["anthropic:claude-sonnet-4-20250514"],
        "llmring_test_pkg:chatbot": ["openai:gpt-4o"],
        "llmring_test_pkg:summarizer": ["anthropic:claude-3-5-haiku-20241022"],
    }
    with pytest.raises(AliasNotFoundError) as caught:
        resolver.resolve("summarizer")  # a package's aliases are reachable only namespaced
    assert caught.value.known == [
        "chatbot",
        "llmring_test_pkg:chatbot",
        "llmring_test_pkg:summarizer",
    ]


def test_extending_a_package_that_is_not_installed_is_a_clear_error(tmp_path: Path) -> None:
    app = tmp_path / "app.lock"
    app.write_text(
        lockfile_text(
            ("default", "chatbot", ["openai:gpt-4o-mini"]),
            head='[extends]\npackages = ["llmring_not_installed"]\n',
        )
    )
    resolver = Resolver(app, environ={})
    assert resolver.resolve("chatbot") == refs("openai:gpt-4o-mini")  # needs no package
    with pytest.raises(LockfileError) as caught:
        resolver.resolve("llmring_not_installed:chatbot")
    assert str(caught.value) == (
        f"{app} extends package 'llmring_not_installed', which is not installed"
    )


def test_bind_never_writes_the_bundled_lockfile_and_creates_one_in_cwd(cwd: Path) -> None:
    bundled = bundled_lockfile_path().read_bytes()
    resolver = Resolver(environ={})
    written = resolver.bind("chatbot", ["anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o"])
    assert written == cwd / "llmring.lock"
    assert bundled_lockfile_path().read_bytes() == bundled
    assert written.read_text() == starter_text() + (
        '\n[[profiles.default.bindings]]\nalias = "chatbot"\n'
        'models = ["anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o"]\n'
    )
    assert resolver.lockfile_path() == written
    assert resolver.resolve("chatbot") == refs(
        "anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o"
    )
    assert Resolver(bundled_lockfile_path(), environ={}).write_path() == written


def test_bind_and_unbind_edit_the_profile_in_effect(app_lockfile: Path) -> None:
    resolver = Resolver(app_lockfile, environ={"LLMRING_PROFILE": "dev"})
    assert resolver.bind("summarizer", "ollama:qwen2.5") == app_lockfile
    assert resolver.bind("chatbot", ["ollama:llama3.2", "openai:gpt-4o-mini"]) == app_lockfile
    assert resolver.list_aliases() == {
        "chatbot": ["ollama:llama3.2", "openai:gpt-4o-mini"],
        "summarizer": ["ollama:qwen2.5"],
    }
    resolver.unbind("summarizer")
    assert resolver.resolve("summarizer") == refs("openai:gpt-4o", "google:gemini-2.5-flash")
    before = app_lockfile.read_text()
    with pytest.raises(AliasNotFoundError) as caught:
        resolver.unbind("summarizer")  # bound in default, not in dev itself
    assert str(caught.value) == "unknown alias 'summarizer' in profile 'dev' (known: chatbot)"
    assert app_lockfile.read_text() == before
    resolver.bind("chatbot", "openai:gpt-4o", profile="prod")
    assert Lockfile.load(app_lockfile).get_binding("chatbot", "prod") is not None
    assert resolver.resolve("chatbot", "prod") == refs("openai:gpt-4o")


def test_a_bad_bind_touches_no_file(tmp_path: Path, cwd: Path) -> None:
    with pytest.raises(InvalidModelReferenceError):
        Resolver(environ={}).bind("chatbot", ["gpt-4o"])
    with pytest.raises(LockfileNotFoundError):
        Resolver(tmp_path / "missing.lock").bind("chatbot", "openai:gpt-4o")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    assert list(cwd.iterdir()) == []


def test_comments_survive_a_bind(tmp_path: Path) -> None:
    path = tmp_path / "llmring.lock"
    original = "# Our models. Ask #platform before changing.\n" + lockfile_text(
        ("default", "chatbot", ["openai:gpt-4o-mini"])
    ).replace('["openai:gpt-4o-mini"]', '["openai:gpt-4o-mini"]  # cheap enough')
    path.write_text(original)
    Resolver(path).bind("chatbot", ["openai:gpt-4o"])
    assert path.read_text() == original.replace('"openai:gpt-4o-mini"]', '"openai:gpt-4o"]')


def test_init_lockfile_writes_the_starter_where_writes_go(tmp_path: Path, cwd: Path) -> None:
    resolver = Resolver(environ={})
    assert resolver.init_lockfile() == cwd / "llmring.lock"
    assert (cwd / "llmring.lock").read_text() == starter_text()
    with pytest.raises(LockfileError):
        resolver.init_lockfile()
    assert resolver.init_lockfile(force=True) == cwd / "llmring.lock"
    explicit = tmp_path / "new.lock"
    assert Resolver(explicit).init_lockfile() == explicit
    assert explicit.read_text() == starter_text()


def test_the_cache_follows_the_file_and_clear_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "llmring.lock"
    path.write_text(lockfile_text(("default", "chatbot", ["openai:gpt-4o-mini"])))
    loads: list[Path] = []
    real_load = Lockfile.load.__func__  # type: ignore[attr-defined]

    def counting_load(cls: type[Lockfile], p: Path) -> Lockfile:
        loads.append(p)
        return real_load(cls, p)  # type: ignore[no-any-return]

    monkeypatch.setattr(Lockfile, "load", classmethod(counting_load))
    resolver = Resolver(path)
    assert resolver.resolve("chatbot") == resolver.resolve("chatbot") == refs("openai:gpt-4o-mini")
    assert len(loads) == 1
    path.write_text(lockfile_text(("default", "chatbot", ["ollama:llama3.2", "openai:gpt-4o"])))
    assert resolver.resolve("chatbot") == refs("ollama:llama3.2", "openai:gpt-4o")
    assert len(loads) == 2
    resolver.clear_cache()
    resolver.resolve("chatbot")
    assert len(loads) == 3


def test_resolve_returns_a_fresh_list(tmp_path: Path) -> None:
    path = tmp_path / "llmring.lock"
    path.write_text(lockfile_text(("default", "chatbot", ["openai:gpt-4o-mini"])))
    resolver = Resolver(path)
    resolver.resolve("chatbot").append(ModelRef("openai", "gpt-4o"))
    assert resolver.resolve("chatbot") == refs("openai:gpt-4o-mini")


BIND_MANY = """
import sys
from llmring.config.resolver import Resolver
resolver = Resolver(sys.argv[1])
for i in range(15):
    resolver.bind(f"{sys.argv[2]}{i}", ["openai:gpt-4o-mini", "ollama:llama3.2"])
"""


def test_two_processes_binding_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "llmring.lock"
    path.write_text(lockfile_text(("default", "chatbot", ["openai:gpt-4o-mini"])))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen([sys.executable, "-c", BIND_MANY, str(path), prefix], env=env)
        for prefix in ("left", "right")
    ]
    assert [worker.wait(timeout=30) for worker in workers] == [0, 0]
    expected = ["chatbot", *(f"{side}{i}" for side in ("left", "right") for i in range(15))]
    assert sorted(Resolver(path).list_aliases()) == sorted(expected)
