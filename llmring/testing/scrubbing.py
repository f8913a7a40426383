"""Keep credentials out of cassettes: scrubbed at record time, before anything is written.

Scrubbed: the values of the headers that carry keys (``authorization``, ``x-api-key``,
``x-goog-api-key``, ...), credential query parameters (``key=``, ...), a password in the URL,
cookies, and every occurrence of a known secret anywhere in the request or the response
(headers, URL, body bytes). The known secrets are the keys the ring was configured with, the
provider key variables in the environment, any ``secrets=`` given to the cassette, and every
value seen in a credential header or parameter, so a key echoed back in a body goes too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "CREDENTIAL_HEADERS",
    "CREDENTIAL_PARAMS",
    "KEY_ENVIRONMENT",
    "REDACTED",
    "Scrubber",
]

REDACTED = "REDACTED"
#: Request and response headers whose whole value is a credential.
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "x-goog-api-key",
        "api-key",
        "cookie",
        "set-cookie",
    }
)
#: Query parameters whose value is a credential (Gemini's ``?key=``).
CREDENTIAL_PARAMS = frozenset({"key", "api_key", "apikey", "access_token", "token"})
#: Environment variables holding provider keys: scrubbed even if this ring did not use them.
KEY_ENVIRONMENT = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GEMINI_API_KEY",
    "OLLAMA_API_KEY",
)
#: Shorter "secrets" are ignored: replacing every "abc" in a body would wreck it.
MIN_SECRET_LENGTH = 6


class Scrubber:
    """Replaces credentials with ``REDACTED``; learns each key it sees in a credential slot."""

    def __init__(self, secrets: Iterable[str] = (), *, environ: Mapping[str, str] | None = None):
        env = os.environ if environ is None else environ
        self._secrets: set[str] = set()
        for secret in [*secrets, *(env.get(name, "") for name in KEY_ENVIRONMENT)]:
            self.learn(secret)

    def learn(self, secret: str) -> None:
        """Scrub ``secret`` wherever it appears from now on."""
        secret = secret.strip()
        if len(secret) >= MIN_SECRET_LENGTH:
            self._secrets.add(secret)

    def learn_from(self, headers: Iterable[tuple[str, str]], url: str) -> None:
        """Learn the keys a request carries in its credential headers and parameters."""
        for name, value in headers:
            if name.lower() in CREDENTIAL_HEADERS:
                self.learn(value)
                self.learn(value.partition(" ")[2])  # "Bearer <key>"
        for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
            if name.lower() in CREDENTIAL_PARAMS:
                self.learn(value)

    def text(self, text: str) -> str:
        """``text`` with every known secret replaced (longest first, so none is half-left)."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def bytes(self, data: bytes) -> bytes:
        """``data`` with every known secret replaced, as UTF-8 bytes."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            raw = secret.encode("utf-8")
            if raw in data:
                data = data.replace(raw, REDACTED.encode())
        return data

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Header names lowercased; credential values redacted (an auth scheme is kept)."""
        out: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            if key in CREDENTIAL_HEADERS:
                scheme, _, rest = value.partition(" ")
                value = (
                    f"{scheme} {REDACTED}" if rest and key.endswith("authorization") else (REDACTED)
                )
            else:
                value = self.text(value)
            out[key] = f"{out[key]}, {value}" if key in out else value
        return out

    def url(self, url: str) -> str:
        """``url`` without a password, with credential parameters and known secrets redacted."""
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        query = urlencode(
            [
                (name, REDACTED if name.lower() in CREDENTIAL_PARAMS else value)
                for name, value in parse_qsl(parts.query, keep_blank_values=True)
            ],
            safe=":/",
        )
        return self.text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))
