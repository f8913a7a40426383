"""How the command line turns an error into one line for a person and an exit code for a script.

0    ok
1    the provider or model failed (refused key, rate limit, overloaded, cut-off stream, ...)
2    usage error: bad arguments, a model reference not of the form provider:model
3    lockfile or alias error: missing or malformed lockfile, unknown alias
4    provider unknown or not configured (its API key is not set)
130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import sys
from typing import Final

from llmring.exceptions import (
    AliasNotFoundError,
    AllModelsFailedError,
    InvalidModelReferenceError,
    LockfileError,
    LockfileNotFoundError,
    LockfileParseError,
    ModelNotFoundError,
    ProviderAuthenticationError,
    ProviderBadRequestError,
    ProviderConnectionError,
    ProviderError,
    ProviderNotFoundError,
    ProviderOverloadedError,
    ProviderRateLimitError,
    ProviderTimeoutError,
)

__all__ = [
    "EXIT_CODES_HELP",
    "EXIT_INTERRUPTED",
    "EXIT_LOCKFILE",
    "EXIT_NOT_CONFIGURED",
    "EXIT_OK",
    "EXIT_PROVIDER",
    "EXIT_USAGE",
    "UsageError",
    "describe_error",
    "exit_code_for",
    "report_error",
]

EXIT_OK: Final = 0
EXIT_PROVIDER: Final = 1
EXIT_USAGE: Final = 2
EXIT_LOCKFILE: Final = 3
EXIT_NOT_CONFIGURED: Final = 4
EXIT_INTERRUPTED: Final = 130

EXIT_CODES_HELP: Final = """\
exit codes:
  0    ok
  1    provider or model error (key refused, rate limited, overloaded, stream cut off, ...)
  2    usage error (bad arguments, model not of the form provider:model)
  3    lockfile or alias error (missing or malformed lockfile, unknown alias)
  4    provider unknown or not configured (its API key is not set)
  130  interrupted (Ctrl-C)"""


class UsageError(Exception):
    """A command line that cannot work as given; exits with code 2."""


def exit_code_for(error: BaseException) -> int:
    """The exit code a script sees for ``error``."""
    if isinstance(error, UsageError | InvalidModelReferenceError):
        return EXIT_USAGE
    if isinstance(error, LockfileError):
        return EXIT_LOCKFILE
    if isinstance(error, ProviderNotFoundError):
        return EXIT_NOT_CONFIGURED
    if isinstance(error, AllModelsFailedError) and all(
        isinstance(attempt, ProviderNotFoundError) for _, attempt in error.attempts
    ):
        return EXIT_NOT_CONFIGURED
    return EXIT_PROVIDER


def describe_error(error: BaseException) -> str:
    """One line: what went wrong and, where it helps, what to do about it."""
    if isinstance(error, AllModelsFailedError) and exit_code_for(error) == EXIT_NOT_CONFIGURED:
        providers = ", ".join(dict.fromkeys(model.partition(":")[0] for model, _ in error.attempts))
        return (
            f"no model for {error.alias!r} can be called: its providers ({providers}) "
            "are not configured; set one of their API keys (`llmring providers` names them)"
        )
    if isinstance(error, AllModelsFailedError):
        answers = "; ".join(f"{model}: {_one_line(str(err))}" for model, err in error.attempts)
        text = f"all {len(error.attempts)} models for {error.alias!r} failed ({answers})"
    else:
        text = _one_line(str(error))
        partial = error.partial if isinstance(error, ProviderError) else None
        if partial is not None and (partial.content or partial.reasoning):
            text = f"the answer was cut off: {text}"
    hint = _hint(error)
    return f"{text}; {hint}" if hint else text


def report_error(error: BaseException) -> int:
    """Print ``error`` on stderr as ``llmring: error: ...``; return its exit code."""
    print(f"llmring: error: {describe_error(error)}", file=sys.stderr, flush=True)
    return exit_code_for(error)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _hint(error: BaseException) -> str | None:
    match error:
        case AliasNotFoundError():
            return (
                "bind it with `llmring bind ALIAS provider:model`, or pass --model provider:model"
            )
        case LockfileNotFoundError():
            return "create one with `llmring lock init` or point --file at an existing one"
        case LockfileParseError():
            return "fix that line, or start over with `llmring lock init --force`"
        case ProviderNotFoundError():
            return "`llmring providers` shows which providers are configured"
        case AllModelsFailedError():
            return "`llmring providers` shows which providers are configured"
        case ProviderAuthenticationError():
            return "check that provider's API key (`llmring providers` shows which are set)"
        case ProviderRateLimitError(retry_after=float() as seconds):
            return f"wait {seconds:g} s and try again, or bind a fallback model"
        case ProviderRateLimitError():
            return "wait a little and try again, or bind a fallback model"
        case ProviderOverloadedError():
            return "try again shortly, or bind a fallback model to the alias"
        case ProviderTimeoutError():
            return "try again, or allow more time with --timeout"
        case ProviderConnectionError():
            return "check the network and the provider's base URL"
        case ModelNotFoundError():
            return "check the model name, or bind the alias to a model this provider serves"
        case ProviderBadRequestError():
            return "the provider rejected the request as given; check the options"
    return None
