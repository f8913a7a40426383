"""Argument values of the command line: what a flag's text means, or a one-line reason why not.

Each function is an argparse ``type=``: it returns the typed value or raises
``argparse.ArgumentTypeError``, whose message argparse shows after the flag's name.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Final

from llmring.timeouts import Timeout

__all__ = ["DEFAULT_TIMEOUT", "TIMEOUT_HELP", "positive", "timeout"]

#: What ``llmring chat`` allows for connecting and for each wait for the next bytes.
DEFAULT_TIMEOUT: Final = 60.0
#: The spellings of ``Timeout``'s phases on the command line (``first_token`` works too).
_PHASES: Final = {
    "connect": "connect",
    "first-token": "first_token",
    "first_token": "first_token",
    "idle": "idle",
    "total": "total",
}
TIMEOUT_HELP: Final = (
    f"SECONDS: the longest wait to connect or for the next bytes (default {DEFAULT_TIMEOUT:g}); "
    "or PHASE=SECONDS[,...] with the phases connect, first-token, idle and total (the whole "
    "call, retries included), e.g. first-token=10,total=120; a phase not named keeps its "
    f"default (connect and idle {DEFAULT_TIMEOUT:g}, the others none), and PHASE=none lifts it"
)


def positive(kind: Callable[[str], float], *, allow_zero: bool = False) -> Callable[[str], float]:
    """A finite number of ``kind`` above 0 (or at least 0 with ``allow_zero``)."""

    def convert(text: str) -> float:
        return _number(text, kind, allow_zero=allow_zero)

    convert.__name__ = kind.__name__  # argparse names the type in its messages
    return convert


def timeout(text: str) -> Timeout:
    """``--timeout``: ``SECONDS`` (connecting and each wait for the next bytes, as a number
    given to ``LLMRing(timeout=...)`` means) or ``PHASE=SECONDS[,PHASE=SECONDS...]``."""
    if "=" not in text:
        seconds = _number(text, float)
        return Timeout(connect=seconds, idle=seconds)
    phases: dict[str, float | None] = {"connect": DEFAULT_TIMEOUT, "idle": DEFAULT_TIMEOUT}
    named: set[str] = set()
    for part in text.split(","):
        name, _, value = part.strip().partition("=")
        phase = _PHASES.get(name.strip().lower())
        if phase is None:
            raise argparse.ArgumentTypeError(
                f"unknown phase {name.strip()!r} (phases: connect, first-token, idle, total)"
            )
        if phase in named:
            raise argparse.ArgumentTypeError(f"{name.strip()} is given twice")
        named.add(phase)
        value = value.strip()
        phases[phase] = None if value.lower() == "none" else _number(value, float, name=name)
    return Timeout.model_validate(phases)


def _number(
    text: str, kind: Callable[[str], float], *, allow_zero: bool = False, name: str = ""
) -> float:
    where = f"{name.strip()}: " if name else ""
    try:
        value = kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{where}not {what}: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{where}must be a finite number, not {text!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise argparse.ArgumentTypeError(f"{where}must be {'>= 0' if allow_zero else '> 0'}")
    return value
