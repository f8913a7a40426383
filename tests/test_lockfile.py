"""Lockfile: line-accurate errors, edits that keep comments, atomic and locked saves, init,
[extends] and the bundled lockfile."""

from __future__ import annotations

import importlib
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmring.config.lockfile import (
    Binding,
    Lockfile,
    bundled_lockfile_path,
    edit_lockfile,
    init_lockfile,
    load_extension,
    starter_text,
)
from llmring.exceptions import (
    AliasNotFoundError,
    InvalidModelReferenceError,
    LockfileError,
    LockfileNotFoundError,
    LockfileParseError,
)
from llmring.model_ref import ModelRef
from tests.conftest import ROOT

ISSUE_EXAMPLE = """\
version = "1.0"
default_profile = "default"
[profiles.default]
name = "default"
[[profiles.default.bindings]]
alias = "chatbot"
models = ["anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini"]   # primary, fallback
[profiles.dev]
name = "dev"
[[profiles.dev.bindings]]
alias = "chatbot"
models = ["ollama:llama3.2"]
"""

COMMENTED = """\
# My application's models.
version = "1.0"

[profiles.default]
name = "default"

# Talks to customers.
[[profiles.default.bindings]]
alias = "chatbot"
models = ["anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini"]   # primary, fallback

# Nightly digests.
[[profiles.default.bindings]]
alias = "summarizer"
models = ["openai:gpt-4o"]

# Local models for development.
[profiles.dev]
name = "dev"
"""

EXPECTED_STARTER_ALIASES = {
    "fast": [
        "openai:gpt-4o-mini",
        "anthropic:claude-3-5-haiku-20241022",
        "google:gemini-2.5-flash",
    ],
    "balanced": [
        "anthropic:claude-sonnet-4-20250514",
        "openai:gpt-4o",
        "google:gemini-2.5-flash",
    ],
    "deep": ["openai:gpt-5", "anthropic:claude-opus-4-1-20250805", "google:gemini-2.5-pro"],
    "local": ["ollama:llama3.2"],
}


def aliases(lockfile: Lockfile, profile: str = "default") -> dict[str, list[str]]:
    found = lockfile.profiles.get(profile)
    return {} if found is None else {a: b.model_names for a, b in found.bindings.items()}


def test_the_issue_example_parses_into_profiles_and_bindings() -> None:
    lockfile = Lockfile.parse(ISSUE_EXAMPLE)
    assert (lockfile.version, lockfile.default_profile, lockfile.extends) == ("1.0", "default", ())
    assert {name: dict(p.bindings) for name, p in lockfile.profiles.items()} == {
        "default": {
            "chatbot": Binding(
                "chatbot",
                (
                    ModelRef("anthropic", "claude-3-5-haiku-20241022"),
                    ModelRef("openai", "gpt-4o-mini"),
                ),
            )
        },
        "dev": {"chatbot": Binding("chatbot", (ModelRef("ollama", "llama3.2"),))},
    }
    assert lockfile.get_binding("chatbot", "dev") == lockfile.profiles["dev"].bindings["chatbot"]
    assert lockfile.get_binding("summarizer", "dev") is None


def test_defaults_when_version_and_default_profile_are_absent() -> None:
    lockfile = Lockfile.parse("")
    assert (lockfile.version, lockfile.default_profile, dict(lockfile.profiles)) == (
        "1.0",
        "default",
        {},
    )


def test_a_profile_inherits_the_default_profiles_aliases() -> None:
    lockfile = Lockfile.parse(COMMENTED.replace('name = "dev"', 'name = "dev"\n' + DEV_CHATBOT))
    assert {a: b.model_names for a, b in lockfile.effective_bindings("dev").items()} == {
        "chatbot": ["ollama:llama3.2"],
        "summarizer": ["openai:gpt-4o"],
    }
    assert list(lockfile.effective_bindings("nonexistent")) == ["chatbot", "summarizer"]


DEV_CHATBOT = '[[profiles.dev.bindings]]\nalias = "chatbot"\nmodels = ["ollama:llama3.2"]\n'


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        pytest.param(
            'version = "1.0"\n[profiles.default\nname = "default"\n',
            2,
            "invalid TOML: Unexpected character: '\\n' (column 17)",
            id="unclosed-header",
        ),
        pytest.param(
            'version = "1.0"\ndefault_profile = "a"\ndefault_profile = "b"\n',
            3,
            'invalid TOML: Key "default_profile" already exists. (column 0)',
            id="duplicate-key",
        ),
        pytest.param(
            ISSUE_EXAMPLE.replace('["ollama:llama3.2"]', '["llama3.2"]'),
            12,
            "alias 'chatbot': 'llama3.2' is not a model reference: expected 'provider:model', "
            "e.g. 'openai:gpt-4o-mini' or 'ollama:llama3.2'",
            id="model-without-provider",
        ),
        pytest.param(
            '[[profiles.default.bindings]]\nalias = "a"\nmodels = [\n  "openai:gpt-4o",\n'
            '  "acme:large",\n]\n',
            5,
            "alias 'a': 'acme:large': unknown provider 'acme' (known: anthropic, deepseek, "
            "fireworks, google, groq, llamacpp, lmstudio, mistral, ollama, openai, "
            "openai-responses, openrouter, together, vllm, xai, gemini); "
            "expected 'provider:model', e.g. 'openai:gpt-4o-mini' or 'ollama:llama3.2'",
            id="unknown-provider-in-multiline-array",
        ),
        pytest.param(
            '[[profiles.default.bindings]]\nalias = "a"\nmodels = "openai:gpt-4o"\n',
            3,
            "alias 'a': models must be a non-empty list of 'provider:model' strings, "
            'e.g. models = ["openai:gpt-4o-mini"]',
            id="models-not-a-list",
        ),
        pytest.param(
            '[[profiles.default.bindings]]\nmodels = ["openai:gpt-4o"]\n',
            1,
            "a binding in profile 'default' has no alias = \"...\"",
            id="missing-alias",
        ),
        pytest.param(
            ISSUE_EXAMPLE.replace('name = "dev"', 'name = "dve"'),
            9,
            "name = 'dve' does not match [profiles.dev]",
            id="profile-name-mismatch",
        ),
        pytest.param(
            ISSUE_EXAMPLE + '[[profiles.dev.bindings]]\nalias = "chatbot"\nmodels = ["openai:x"]\n',
            14,
            "alias 'chatbot' is bound twice in profile 'dev'",
            id="duplicate-alias",
        ),
        pytest.param(
            '\n[[profiles.default.bindings]]\nalias = "openai:fast"\nmodels = ["openai:x"]\n',
            3,
            "'openai:fast' is not a valid alias: 'openai' is a provider, so it would be read "
            "as a model reference",
            id="alias-shadowed-by-provider",
        ),
        pytest.param(
            'version = "2.0"\n',
            1,
            "unsupported lockfile version '2.0': this llmring reads 1.x",
            id="future-version",
        ),
        pytest.param(
            'version = "1.0"\n\n[extends]\npackages = "somepkg"\n',
            4,
            'extends.packages must be a list like ["somepkg"]',
            id="extends-not-a-list",
        ),
    ],
)
def test_a_bad_lockfile_names_the_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(LockfileParseError) as caught:
        Lockfile.parse(text, path="app/llmring.lock")
    assert (caught.value.path, caught.value.line) == ("app/llmring.lock", line)
    assert str(caught.value) == f"app/llmring.lock:{line}: {message}"


def test_load_reports_missing_and_undecodable_files(tmp_path: Path) -> None:
    missing = tmp_path / "llmring.lock"
    with pytest.raises(LockfileNotFoundError) as caught:
        Lockfile.load(missing)
    assert str(caught.value) == f"lockfile {missing} does not exist"
    assert isinstance(caught.value, FileNotFoundError)

    missing.write_bytes(b'version = "1.0"\n# caf\xe9\n')
    with pytest.raises(LockfileParseError) as parse_error:
        Lockfile.load(missing)
    assert str(parse_error.value) == f"{missing}:2: not UTF-8 text"


def test_bind_keeps_comments_and_layout() -> None:
    lockfile = Lockfile.parse(COMMENTED)
    lockfile.set_binding("chatbot", ["openai:gpt-4o-mini", "gemini:gemini-2.5-flash"])
    lockfile.set_binding("chatbot", "ollama:llama3.2", profile="dev")
    lockfile.set_binding("translator", ["anthropic:claude-3-5-haiku-20241022"])
    assert lockfile.as_string() == (
        COMMENTED.replace(
            '["anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini"]   # primary',
            '["openai:gpt-4o-mini", "google:gemini-2.5-flash"]   # primary',
        ).replace(
            'models = ["openai:gpt-4o"]\n',
            'models = ["openai:gpt-4o"]\n\n[[profiles.default.bindings]]\nalias = "translator"\n'
            'models = ["anthropic:claude-3-5-haiku-20241022"]\n',
        )
        + '\n[[profiles.dev.bindings]]\nalias = "chatbot"\nmodels = ["ollama:llama3.2"]\n'
    )
    assert aliases(Lockfile.parse(lockfile.as_string())) == {
        "chatbot": ["openai:gpt-4o-mini", "google:gemini-2.5-flash"],
        "summarizer": ["openai:gpt-4o"],
        "translator": ["anthropic:claude-3-5-haiku-20241022"],
    }


def test_bind_creates_the_profile_table() -> None:
    lockfile = Lockfile.parse('version = "1.0"\n')
    binding = lockfile.set_binding("chatbot", ModelRef("ollama", "llama3.2"), profile="dev")
    assert binding.models == (ModelRef("ollama", "llama3.2"),)
    assert lockfile.as_string() == (
        'version = "1.0"\n\n[profiles.dev]\nname = "dev"\n\n'
        '[[profiles.dev.bindings]]\nalias = "chatbot"\nmodels = ["ollama:llama3.2"]\n'
    )


def test_unbind_takes_the_bindings_own_comment_and_keeps_the_next_ones() -> None:
    lockfile = Lockfile.parse(COMMENTED)
    removed = lockfile.remove_binding("chatbot")
    assert removed.model_names == ["anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini"]
    assert lockfile.as_string() == COMMENTED.replace(
        '# Talks to customers.\n[[profiles.default.bindings]]\nalias = "chatbot"\n'
        'models = ["anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini"]   # primary, '
        "fallback\n\n",
        "",
    )
    lockfile.remove_binding("summarizer")
    assert lockfile.as_string() == (
        '# My application\'s models.\nversion = "1.0"\n\n[profiles.default]\nname = "default"\n'
        '\n# Local models for development.\n[profiles.dev]\nname = "dev"\n'
    )


def test_inline_bindings_can_be_edited() -> None:
    lockfile = Lockfile.parse(
        '[profiles.default]\nbindings = [{alias = "a", models = ["openai:gpt-4o"]}]\n'
    )
    lockfile.set_binding("b", "ollama:llama3.2")
    lockfile.set_binding("a", "openai:gpt-4o-mini")
    lockfile.remove_binding("b")
    assert lockfile.as_string() == (
        '[profiles.default]\nbindings = [{alias = "a", models = ["openai:gpt-4o-mini"]}]\n'
    )


def test_unbinding_an_unbound_alias_names_the_bound_ones() -> None:
    lockfile = Lockfile.parse(ISSUE_EXAMPLE)
    with pytest.raises(AliasNotFoundError) as caught:
        lockfile.remove_binding("summarizer", "dev")
    assert str(caught.value) == "unknown alias 'summarizer' in profile 'dev' (known: chatbot)"


@pytest.mark.parametrize(
    ("alias", "models", "error", "message"),
    [
        (
            "chatbot",
            ["openai:gpt-4o", "gpt-4o-mini"],
            InvalidModelReferenceError,
            "'gpt-4o-mini' is not a model reference: expected 'provider:model', "
            "e.g. 'openai:gpt-4o-mini' or 'ollama:llama3.2'",
        ),
        ("chatbot", [], LockfileError, "a binding needs at least one model ('provider:model')"),
        (
            "chat bot",
            ["openai:gpt-4o"],
            LockfileError,
            "'chat bot' is not a valid alias: use a name without spaces, like 'chatbot', "
            "or 'package:alias' to override an alias of an extended package",
        ),
    ],
)
def test_a_bad_bind_changes_nothing(
    alias: str, models: list[str], error: type[Exception], message: str
) -> None:
    lockfile = Lockfile.parse(ISSUE_EXAMPLE)
    with pytest.raises(error) as caught:
        lockfile.set_binding(alias, models, profile="dev")
    assert str(caught.value) == message
    assert lockfile.as_string() == ISSUE_EXAMPLE


def test_save_round_trips_and_keeps_the_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "llmring.lock"
    path.write_text(ISSUE_EXAMPLE)
    path.chmod(0o600)
    lockfile = Lockfile.load(path)
    lockfile.set_binding("summarizer", "openai:gpt-4o")
    assert lockfile.save() == path
    assert Lockfile.load(path).as_string() == lockfile.as_string()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["llmring.lock"]


@pytest.mark.parametrize("crash", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_crash_while_saving_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash: BaseException
) -> None:
    path = tmp_path / "llmring.lock"
    path.write_text(ISSUE_EXAMPLE)
    lockfile = Lockfile.load(path)
    lockfile.set_binding("summarizer", "openai:gpt-4o")

    def crash_on_replace(src: object, dst: object) -> None:
        raise crash

    monkeypatch.setattr(os, "replace", crash_on_replace)
    expected = LockfileError if isinstance(crash, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as caught:
        lockfile.save()
    if isinstance(crash, OSError):
        assert str(caught.value) == f"cannot write {path}: No space left on device"
    assert path.read_text() == ISSUE_EXAMPLE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["llmring.lock"]


def test_edit_lockfile_rereads_under_the_lock_and_saves(tmp_path: Path) -> None:
    path = tmp_path / "llmring.lock"
    path.write_text(ISSUE_EXAMPLE)
    result = edit_lockfile(path, lambda lf: lf.set_binding("summarizer", "openai:gpt-4o"))
    assert result.model_names == ["openai:gpt-4o"]
    assert aliases(Lockfile.load(path)) == {
        "chatbot": ["anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini"],
        "summarizer": ["openai:gpt-4o"],
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == [".llmring.lock.flock", "llmring.lock"]


def test_edit_lockfile_writes_nothing_when_the_change_fails(tmp_path: Path) -> None:
    path = tmp_path / "llmring.lock"
    path.write_text(ISSUE_EXAMPLE)
    with pytest.raises(AliasNotFoundError):
        edit_lockfile(path, lambda lf: lf.remove_binding("nope"))
    assert path.read_text() == ISSUE_EXAMPLE


def test_edit_lockfile_needs_the_file_unless_asked_to_create_it(tmp_path: Path) -> None:
    path = tmp_path / "llmring.lock"
    with pytest.raises(LockfileNotFoundError):
        edit_lockfile(path, lambda lf: None)
    assert list(tmp_path.iterdir()) == []
    edit_lockfile(path, lambda lf: lf.set_binding("chatbot", "ollama:llama3.2"), create=True)
    assert path.read_text() == (
        starter_text()
        + '\n[[profiles.default.bindings]]\nalias = "chatbot"\nmodels = ["ollama:llama3.2"]\n'
    )


BIND_MANY = """
import sys
from llmring.config.lockfile import edit_lockfile
path, prefix = sys.argv[1], sys.argv[2]
for i in range(15):
    edit_lockfile(path, lambda lf: lf.set_binding(f"{prefix}{i}", "openai:gpt-4o-mini"))
"""


def test_concurrent_binds_from_two_processes_all_land(tmp_path: Path) -> None:
    path = tmp_path / "llmring.lock"
    path.write_text(ISSUE_EXAMPLE)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen([sys.executable, "-c", BIND_MANY, str(path), prefix], env=env)
        for prefix in ("a", "b")
    ]
    assert [worker.wait(timeout=30) for worker in workers] == [0, 0]
    bound = aliases(Lockfile.load(path))
    assert sorted(bound) == sorted(["chatbot", *(f"{p}{i}" for p in "ab" for i in range(15))])


def test_init_writes_the_starter_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "llmring.lock"
    assert init_lockfile(path) == path
    assert path.read_text() == starter_text()
    path.write_text(ISSUE_EXAMPLE)
    with pytest.raises(LockfileError) as caught:
        init_lockfile(path)
    assert str(caught.value) == (
        f"{path} already exists; pass force=True (llmring lock init --force) to replace it"
    )
    assert path.read_text() == ISSUE_EXAMPLE
    init_lockfile(path, force=True)
    assert path.read_text() == starter_text()


def test_the_bundled_lockfile_is_the_commented_starter() -> None:
    bundled = Lockfile.load(bundled_lockfile_path())
    assert bundled_lockfile_path().read_text(encoding="utf-8") == starter_text()
    assert starter_text().startswith("# llmring lockfile: names the models")
    assert (bundled.version, bundled.default_profile, list(bundled.profiles)) == (
        "1.0",
        "default",
        ["default"],
    )
    assert aliases(bundled) == EXPECTED_STARTER_ALIASES


@pytest.fixture
def make_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Path]]:
    """Build an importable package in tmp_path, optionally shipping an llmring.lock."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    made: list[str] = []

    def make(name: str, lockfile_text: str | None = None) -> Path:
        package = site / name
        package.mkdir()
        (package / "__init__.py").write_text("")
        if lockfile_text is not None:
            (package / "llmring.lock").write_text(lockfile_text)
        importlib.invalidate_caches()
        made.append(name)
        return package

    yield make
    for name in made:
        sys.modules.pop(name, None)


def test_extensions_come_from_the_packages_own_lockfile(make_package: Callable[..., Path]) -> None:
    package = make_package("llmring_test_ext_a", ISSUE_EXAMPLE)
    extension = load_extension("llmring_test_ext_a")
    assert (extension.path, aliases(extension, "dev")) == (
        package / "llmring.lock",
        {"chatbot": ["ollama:llama3.2"]},
    )
    app = Lockfile.parse('[extends]\npackages = ["llmring_test_ext_a"]\n', path="app.lock")
    assert list(app.load_extensions()) == ["llmring_test_ext_a"]


def test_a_missing_extension_is_a_clear_error(make_package: Callable[..., Path]) -> None:
    make_package("llmring_test_ext_bare")
    app = Lockfile.parse(
        '[extends]\npackages = ["llmring_test_ext_bare", "llmring_no_such_pkg"]\n',
        path="app.lock",
    )
    with pytest.raises(LockfileError) as caught:
        app.load_extensions()
    assert str(caught.value).startswith(
        "app.lock extends package 'llmring_test_ext_bare', which ships no llmring.lock ("
    )
    with pytest.raises(LockfileError) as missing:
        load_extension("llmring_no_such_pkg", required_by="app.lock")
    assert str(missing.value) == (
        "app.lock extends package 'llmring_no_such_pkg', which is not installed"
    )
