"""Keys out of errors: every configured API key is replaced by ``***`` in what an error carries
(internal).

A provider or a proxy may echo the request back in an error body (``"invalid key sk-..."``,
``"Authorization: Bearer sk-..."``), and that body becomes the error's message, its
``body_excerpt``, its ``args`` and, through ``__cause__``, its traceback. Rather than trust
every body parser to be careful, each error leaving the engine passes through
``redact_error`` once, whatever the body said.

Every key a provider is configured with is registered here (``register_secret``), so a key is
scrubbed even from an error of another provider's call. The registry holds the raw key plus the
spellings a body may echo it in: JSON-escaped and URL-encoded. "Bearer <key>" becomes
"Bearer ***" with it. Values under ``MIN_SECRET_LENGTH`` characters are not registered: no real
key is that short, and replacing a one-letter test key everywhere would garble every message.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "redact", "redact_error", "register_secret"]

REDACTED = "***"
MIN_SECRET_LENGTH = 8

_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register_secret(value: str) -> None:
    """Scrub ``value`` (and its JSON-escaped and URL-encoded spellings) from every error."""
    global _pattern
    if len(value) < MIN_SECRET_LENGTH:
        return
    spellings = {value, json.dumps(value)[1:-1], quote(value, safe="")}
    if spellings <= _secrets:
        return
    _secrets.update(spellings)
    # Longest first, so a spelling that contains another is replaced whole.
    ordered = sorted(_secrets, key=len, reverse=True)
    _pattern = re.compile("|".join(re.escape(secret) for secret in ordered))


def redact(text: str) -> str:
    """``text`` with every registered key replaced by ``***``."""
    if _pattern is None:
        return text
    return _pattern.sub(REDACTED, text)


def _leaks(text: str) -> bool:
    return _pattern is not None and _pattern.search(text) is not None


def redact_error(error: BaseException) -> None:
    """Scrub ``error`` in place: its args and string attributes (``message``,
    ``body_excerpt``, ...), then each exception it chains to. A chained exception whose text
    still shows a key after its args are scrubbed (one that formats itself from other state)
    is cut from the chain, so no traceback can print it."""
    if _pattern is None:
        return
    _scrub(error)
    current = error
    seen = {id(error)}
    while True:
        linked = current.__cause__ if current.__cause__ is not None else current.__context__
        if linked is None or id(linked) in seen:
            return
        seen.add(id(linked))
        _scrub(linked)
        if _leaks(_describe(linked)):
            current.__cause__ = None
            current.__context__ = None
            current.__suppress_context__ = True
            return
        current = linked


def _scrub(error: BaseException) -> None:
    error.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in error.args)
    for name, value in list(vars(error).items()):
        if isinstance(value, str):
            setattr(error, name, redact(value))
        elif name == "__notes__" and isinstance(value, list):
            value[:] = [redact(note) if isinstance(note, str) else note for note in value]


def _describe(error: BaseException) -> str:
    try:
        return f"{error}\n{error!r}"
    except Exception:  # a broken __str__ must not hide the original error
        return ""
