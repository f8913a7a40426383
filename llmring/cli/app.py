"""The ``llmring`` command line: manage the lockfile's aliases, see providers, chat from a terminal.

    llmring lock init [--force] [--file PATH]      write a starter lockfile
    llmring lock validate [--file PATH]            check a lockfile
    llmring bind ALIAS MODEL[,MODEL...]            bind an alias (primary first, then fallbacks)
    llmring unbind ALIAS                           remove an alias
    llmring aliases [--json]                       list the aliases of a profile
    llmring providers [--json] [--file PATH]       providers (built-in, presets, the lockfile's)
    llmring chat PROMPT | --replay FILE            stream an answer to the terminal

``main(argv)`` returns the exit code (listed in ``llmring --help``) instead of exiting, so it
can be called from Python; the ``llmring`` entry point and ``python -m llmring`` exit with it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from llmring import LLMRing, __version__
from llmring.cli.chat import DEFAULT_MODEL, ChatOptions, run_chat
from llmring.cli.errors import (
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PROVIDER,
    EXIT_USAGE,
    UsageError,
    report_error,
)
from llmring.cli.values import TIMEOUT_HELP, positive, timeout
from llmring.exceptions import LLMRingError
from llmring.providers import provider_settings

__all__ = ["build_parser", "chat_options", "main", "mask_key"]

Command = Callable[[argparse.Namespace], int]

CHAT_DESCRIPTION = """\
Send PROMPT and stream the answer to stdout as it arrives.

stdout holds only the answer (and any tool calls, one per line). stderr gets errors and,
with --verbose, the model's reasoning text (dimmed on a terminal), then the model that
answered, the finish reason, token usage and the time to first token. Without --verbose
reasoning is not shown. Ctrl-C stops at once, closes the connection and exits with 130;
if the stream breaks, the text received so far stays on stdout and the error follows on
stderr.

examples:
  llmring chat "Why is the sky blue?" --model openai:gpt-4o-mini --verbose
  git diff | llmring chat - --system "Review this diff" --model balanced
  llmring chat --replay recordings/anthropic/text.sse --verbose
  llmring chat "Hello" --model openai:gpt-4.1-nano --record tests/cassettes/hello
  llmring chat --replay tests/cassettes/hello"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error argparse has printed
        return stop.code if isinstance(stop.code, int) else EXIT_OK
    command: Command = args.run
    try:
        return command(args)
    except (LLMRingError, UsageError) as error:
        return report_error(error)
    except KeyboardInterrupt:
        print("\nllmring: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `llmring chat ... | head -1`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PROVIDER


# --- the parser ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command, each with its own ``--help``."""
    parser = _parser(
        _Parser,
        prog="llmring",
        description="Chat with LLMs from the terminal and manage the aliases in llmring.lock.",
    )
    parser.add_argument("--version", action="version", version=f"llmring {__version__}")
    commands = parser.add_subparsers(
        title="commands", metavar="COMMAND", required=True, parser_class=_Parser
    )

    lock = _subcommand(commands, "lock", "create or check a lockfile")
    lock_commands = lock.add_subparsers(
        title="commands", metavar="COMMAND", required=True, parser_class=_Parser
    )
    init = _subcommand(lock_commands, "init", "write a starter lockfile", run=_lock_init)
    init.add_argument("--force", action="store_true", help="overwrite an existing lockfile")
    _add_file(init, "the lockfile to write (default: $LLMRING_LOCKFILE_PATH or ./llmring.lock)")
    validate = _subcommand(lock_commands, "validate", "check a lockfile", run=_lock_validate)
    _add_file(validate)

    bind = _subcommand(commands, "bind", "bind an alias to models", run=_bind)
    bind.add_argument("alias", metavar="ALIAS", help="the name code asks for, e.g. chatbot")
    bind.add_argument(
        "models",
        metavar="MODEL[,MODEL...]",
        help="provider:model references, primary first, then fallbacks in order",
    )
    _add_profile(bind)
    _add_file(bind, "the lockfile to edit (default: $LLMRING_LOCKFILE_PATH or ./llmring.lock)")

    unbind = _subcommand(commands, "unbind", "remove an alias", run=_unbind)
    unbind.add_argument("alias", metavar="ALIAS")
    _add_profile(unbind)
    _add_file(unbind, "the lockfile to edit (default: $LLMRING_LOCKFILE_PATH or ./llmring.lock)")

    aliases = _subcommand(commands, "aliases", "list aliases and their models", run=_aliases)
    _add_profile(aliases)
    aliases.add_argument("--json", action="store_true", help="print {alias: [models...]}")
    _add_file(aliases)

    providers = _subcommand(
        commands, "providers", "which providers the environment configures", run=_providers
    )
    providers.add_argument("--json", action="store_true", help="print the table as JSON")
    _add_file(providers, "the lockfile whose [providers.<name>] tables to list too")

    _add_chat(commands)
    return parser


def _add_chat(commands: argparse._SubParsersAction[_Parser]) -> None:
    chat = _subcommand(
        commands,
        "chat",
        "send a prompt and stream the answer",
        run=_chat,
        description=CHAT_DESCRIPTION,
    )
    chat.add_argument(
        "prompt", metavar="PROMPT", nargs="?", help="the prompt; - reads it from stdin"
    )
    chat.add_argument(
        "--model",
        "-m",
        help=f"an alias from the lockfile or provider:model (default: the alias {DEFAULT_MODEL!r})",
    )
    chat.add_argument("--system", "-s", help="a system prompt")
    _add_profile(chat)
    chat.add_argument("--temperature", "-t", type=float, metavar="T", help="sampling temperature")
    chat.add_argument(
        "--max-tokens", type=positive(int), metavar="N", help="cap the answer's length"
    )
    chat.add_argument(
        "--timeout", type=timeout, metavar="SECONDS|PHASE=SECONDS,...", help=TIMEOUT_HELP
    )
    chat.add_argument(
        "--max-retries",
        type=positive(int, allow_zero=True),
        metavar="N",
        help="ask a model again up to N times after a retryable failure before its first "
        "chunk (0: never; default 2)",
    )
    chat.add_argument(
        "--hedge-after",
        type=positive(float),
        metavar="SECONDS",
        help="for an alias with fallbacks: start its next model beside a model that has "
        "produced nothing after SECONDS; the first to answer wins (default: the alias's "
        "hedge_after in the lockfile)",
    )
    chat.add_argument(
        "--no-stream",
        dest="stream",
        action="store_false",
        help="wait for the whole answer (the provider's non-streaming endpoint)",
    )
    chat.add_argument(
        "--json", action="store_true", help="print the final response as JSON instead of text"
    )
    chat.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="reasoning, model, finish reason, usage and timings on stderr",
    )
    _add_file(chat)
    chat.add_argument(
        "--replay",
        type=Path,
        metavar="FILE|DIR",
        help=(
            "answer from a recording (recordings/<provider>/NAME.sse|.ndjson|.json) or a "
            "cassette directory (see --record) at its recorded pace, offline and without a "
            "key; PROMPT is then optional"
        ),
    )
    chat.add_argument(
        "--record",
        type=Path,
        metavar="DIR",
        help="record the call (live) into the cassette directory DIR, for --replay DIR",
    )
    chat.add_argument(
        "--pace",
        type=positive(float, allow_zero=True),
        metavar="SECONDS",
        help="with --replay: the gap between events instead of the recorded one",
    )


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad command line told in one line, as every other error is."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"llmring: error: {message} (see `{self.prog} --help`)\n")


def _parser(
    factory: Callable[..., argparse.ArgumentParser], **kwargs: object
) -> argparse.ArgumentParser:
    return factory(
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs
    )


def _subcommand(
    commands: argparse._SubParsersAction[_Parser],
    name: str,
    summary: str,
    *,
    run: Command | None = None,
    description: str | None = None,
) -> argparse.ArgumentParser:
    parser = _parser(
        commands.add_parser, name=name, help=summary, description=description or summary
    )
    if run is not None:
        parser.set_defaults(run=run)
    return parser


def _add_file(parser: argparse.ArgumentParser, text: str | None = None) -> None:
    parser.add_argument(
        "--file",
        "-f",
        type=Path,
        metavar="PATH",
        help=text
        or "the lockfile (default: $LLMRING_LOCKFILE_PATH, ./llmring.lock, the bundled one)",
    )


def _add_profile(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        "-p",
        metavar="P",
        help="the profile (default: $LLMRING_PROFILE, then the lockfile's default_profile)",
    )


# --- lockfile and alias commands -------------------------------------------------------


def _lock_init(args: argparse.Namespace) -> int:
    ring = LLMRing(lockfile_path=args.file)
    path = ring.init_lockfile(force=args.force)
    print(f"wrote {path}")
    return EXIT_OK


def _lock_validate(args: argparse.Namespace) -> int:
    ring = LLMRing(lockfile_path=args.file)
    lockfile = ring.resolver.lockfile()  # raises LockfileParseError naming file and line
    counts = []
    for profile in list(lockfile.profiles) or ["default"]:
        aliases = ring.list_aliases(profile)  # also loads every [extends] package
        for alias in aliases:
            ring.resolve(alias, profile)
        counts.append(f"profile {profile}: {_plural(len(aliases), 'alias', 'aliases')}")
    print(f"{ring.resolver.lockfile_path()}: ok; {', '.join(counts)}")
    return EXIT_OK


def _bind(args: argparse.Namespace) -> int:
    models = [model.strip() for model in args.models.split(",") if model.strip()]
    if not models:
        raise UsageError("give at least one model, e.g. openai:gpt-4o-mini")
    ring = LLMRing(lockfile_path=args.file)
    target = ring.resolver.write_path()
    ring.bind_alias(args.alias, models, profile=args.profile)
    profile = ring.resolver.profile_name(args.profile)
    print(f"{args.alias} -> {', '.join(models)} (profile {profile}, {target})")
    return EXIT_OK


def _unbind(args: argparse.Namespace) -> int:
    ring = LLMRing(lockfile_path=args.file)
    target = ring.resolver.write_path()
    ring.unbind_alias(args.alias, profile=args.profile)
    profile = ring.resolver.profile_name(args.profile)
    print(f"removed {args.alias} (profile {profile}, {target})")
    return EXIT_OK


def _aliases(args: argparse.Namespace) -> int:
    ring = LLMRing(lockfile_path=args.file)
    aliases = ring.list_aliases(args.profile)
    if args.json:
        print(json.dumps(aliases, indent=2))
        return EXIT_OK
    if not aliases:
        print("no aliases bound; add one with `llmring bind ALIAS provider:model`", file=sys.stderr)
    width = max((len(alias) for alias in aliases), default=0)
    for alias, models in aliases.items():
        primary, fallbacks = models[0], len(models) - 1
        extra = f" (+{_plural(fallbacks, 'fallback')})" if fallbacks else ""
        print(f"{alias:<{width}} -> {primary}{extra}")
    return EXIT_OK


def _plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


# --- providers -------------------------------------------------------------------------


def mask_key(key: str) -> str:
    """A key shown safely: ``sk-...abcd`` (start and last four), or ``***`` if it is short."""
    return f"{key[:3]}...{key[-4:]}" if len(key) >= 16 else "***"


def _providers(args: argparse.Namespace) -> int:
    ring = LLMRing(lockfile_path=args.file)
    ring.resolver.lockfile()  # registers the providers the lockfile declares
    table: dict[str, dict[str, object]] = {}
    for name, configured in ring.configured_providers().items():
        provider = ring.provider(name)
        key_env = next((var for var in provider.api_key_env if os.environ.get(var)), None)
        table[name] = {
            "configured": configured,
            "key_env": key_env,
            "key": mask_key(os.environ[key_env]) if key_env else None,
            "key_vars": list(provider.api_key_env),
            "base_url": provider.base_url,
            "kind": settings.kind if (settings := provider_settings(name)) else name,
        }
    if args.json:
        print(json.dumps(table, indent=2))
        return EXIT_OK
    width = max(len(name) for name in table)
    for name, row in table.items():
        print(f"{name:<{width}}  {_describe_provider(row)}")
    return EXIT_OK


def _describe_provider(row: dict[str, object]) -> str:
    if row["key"]:
        return f"configured    {row['key_env']}={row['key']}  {row['base_url']}"
    if row["configured"]:
        return f"configured    (no key needed)  {row['base_url']}"
    key_vars = row["key_vars"]
    assert isinstance(key_vars, list)
    return f"not configured: set {' or '.join(key_vars)}"


# --- chat ------------------------------------------------------------------------------


def _chat(args: argparse.Namespace) -> int:
    if args.pace is not None and args.replay is None:
        raise UsageError("--pace only applies with --replay FILE")
    if args.record is not None and args.replay is not None:
        raise UsageError("--record and --replay do not go together")
    return run_chat(chat_options(args))


def chat_options(args: argparse.Namespace) -> ChatOptions:
    """What ``llmring chat`` was asked to do, from its parsed arguments."""
    return ChatOptions(
        prompt=args.prompt,
        model=args.model,
        system=args.system,
        profile=args.profile,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        timeout=args.timeout,
        max_retries=args.max_retries,
        hedge_after=args.hedge_after,
        stream=args.stream,
        json=args.json,
        verbose=args.verbose,
        lockfile=args.file,
        replay=args.replay,
        pace=args.pace,
        record=args.record,
    )
