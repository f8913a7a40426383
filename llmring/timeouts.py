"""Deadlines for every phase of a call: ``Timeout(connect=, first_token=, idle=, total=)``.

- ``connect``: opening the TCP/TLS connection (and waiting for a pooled one);
- ``first_token``: from sending the request to the first chunk; headers alone do not count;
- ``idle``: the longest gap between two reads of the body, once it flows;
- ``total``: the whole call, retries and fallbacks included.

``connect`` and ``idle`` are handed to httpx as its connect and read timeouts, so they cost
nothing per chunk. ``first_token`` and ``total`` are anyio deadlines, checked by the engine in
places that never span a ``yield`` to the caller (see ``_engine``). ``None`` means no limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, TypeAlias

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CallDeadlines", "Timeout", "TimeoutPhase", "as_timeout"]

#: Which budget ran out, on ``ProviderTimeoutError.phase``.
TimeoutPhase: TypeAlias = Literal["connect", "first_token", "idle", "total"]


class Timeout(BaseModel):
    """How long each phase of a call may take, in seconds; ``None`` is no limit.

    A plain number ``n`` given where a ``Timeout`` is accepted means ``Timeout(connect=n,
    idle=n)``: connecting and every wait for the next bytes, not the whole answer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect: float | None = Field(default=None, gt=0)
    first_token: float | None = Field(default=None, gt=0)
    idle: float | None = Field(default=None, gt=0)
    total: float | None = Field(default=None, gt=0)

    def for_httpx(self) -> httpx.Timeout:
        """The part httpx enforces: connect (and the pool wait), and each read and write."""
        return httpx.Timeout(
            connect=self.connect, read=self.idle, write=self.idle, pool=self.connect
        )

    def total_deadline(self, now: float) -> float:
        """When a call started at ``now`` must be over (``inf`` without ``total``)."""
        return math.inf if self.total is None else now + self.total


def as_timeout(value: float | Timeout) -> Timeout:
    """``value`` as a ``Timeout``: a number bounds connecting and each read."""
    if isinstance(value, Timeout):
        return value
    return Timeout(connect=value, idle=value)


@dataclass(frozen=True, slots=True)
class CallDeadlines:
    """The deadlines of one call, fixed when it starts, on anyio's clock.

    ``http`` is the per-request httpx timeout (None: the client's own); ``idle`` is the read
    timeout httpx enforces, so the engine knows when a read may outlast ``total`` by itself.
    """

    http: httpx.Timeout | None
    idle: float | None
    first_token: float | None
    total: float

    @classmethod
    def start(
        cls, timeout: Timeout, *, per_request: bool, client_timeout: httpx.Timeout
    ) -> CallDeadlines:
        """Deadlines for a call starting now under ``timeout``.

        ``per_request``: the timeout was given for this call, so httpx is told of it; otherwise
        the client was built with it (or, borrowed, keeps its own connect and read limits).
        """
        http = timeout.for_httpx() if per_request else None
        idle = timeout.idle if per_request else client_timeout.read
        return cls(
            http=http,
            idle=idle,
            first_token=timeout.first_token,
            total=timeout.total_deadline(anyio.current_time()),
        )

    def first_token_deadline(self) -> float:
        """When the first chunk of a request sent now must have arrived."""
        if self.first_token is None:
            return self.total
        return min(anyio.current_time() + self.first_token, self.total)

    def remaining(self) -> float:
        """Seconds left before ``total`` (``inf`` without one)."""
        return self.total - anyio.current_time()
