"""Who holds which connection: O(1) acquire and release, waiters served first come first served.

httpcore's pool re-examines every connection and every queued request whenever a request
starts or ends, so its cost per request grows with the number of open streams (at 5,000
streams that bookkeeping is most of the client's CPU). This one keeps, per origin, a stack of
idle connections (the most recently used on top, the oldest at the bottom where expiry looks)
and one FIFO queue of waiters; a request start or end touches only the ends of those.

A slot is the right to hold one connection, open or being opened: at most ``max_connections``
exist. A released connection (or its slot) goes straight to the oldest waiter, so a consumer
that starts its next stream the moment the last one ends cannot jump the queue, and a waiter's
pool timeout runs once, from when it started waiting.
"""

from __future__ import annotations

import time
from collections import deque

import anyio
import httpx

from llmring._pool.connection import Connection, Origin

__all__ = ["ConnectionPool", "PoolTimeout"]


class PoolTimeout(httpx.PoolTimeout):
    """No slot came free within the pool timeout; ``max_connections`` is the pool's size."""

    def __init__(self, message: str, *, max_connections: int) -> None:
        super().__init__(message)
        self.max_connections = max_connections


class _Waiter:
    """One request queued for a slot; ``connection`` is what it was handed (``None``: a bare
    slot, connect yourself)."""

    __slots__ = ("abandoned", "connection", "event", "granted", "origin")

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.event = anyio.Event()
        self.granted = False
        self.abandoned = False
        self.connection: Connection | None = None

    def grant(self, connection: Connection | None) -> None:
        self.connection = connection
        self.granted = True
        self.event.set()


class ConnectionPool:
    """At most ``max_connections`` connections over all origins; up to
    ``max_keepalive_connections`` of them kept idle for ``keepalive_expiry`` seconds."""

    def __init__(
        self,
        *,
        max_connections: int,
        max_keepalive_connections: int,
        keepalive_expiry: float | None,
    ) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections}")
        self.max_connections = max_connections
        self.max_keepalive_connections = max_keepalive_connections
        self.keepalive_expiry = keepalive_expiry
        self._slots_taken = 0
        self._idle: dict[Origin, deque[Connection]] = {}
        self._idle_count = 0
        self._waiters: deque[_Waiter] = deque()
        self._in_use: set[Connection] = set()
        self._closed = False

    @property
    def connections(self) -> int:
        """Connections open or being opened (idle ones included)."""
        return self._slots_taken

    @property
    def idle_connections(self) -> int:
        """Open connections waiting for a request."""
        return self._idle_count

    async def acquire(self, origin: Origin, pool_timeout: float | None) -> Connection | None:
        """An idle connection to ``origin``, or ``None``: a slot is yours, open a connection.

        Waits (first come, first served) while every slot is taken; after ``timeout`` seconds
        of waiting (``pool_timeout``), ``PoolTimeout``.
        """
        if self._closed:
            raise httpx.ConnectError("llmring's connection pool is closed")
        stale = self._sweep(origin)
        try:
            connection = self._take_idle(origin, stale)
            if connection is not None:
                return connection
            if self._slots_taken < self.max_connections:
                self._slots_taken += 1
                return None
            if self._idle_count:  # idle connections to other origins give up their slots
                stale.append(self._evict_one())
                return None
        finally:
            for dead in stale:
                await dead.aclose()
        return await self._wait(origin, pool_timeout)

    async def _wait(self, origin: Origin, pool_timeout: float | None) -> Connection | None:
        waiter = _Waiter(origin)
        self._waiters.append(waiter)
        try:
            with anyio.fail_after(pool_timeout):
                await waiter.event.wait()
        except BaseException as exc:
            if waiter.granted:  # handed something just as we gave up: pass it on
                await self._hand_back(waiter.connection)
            else:
                waiter.abandoned = True
            if isinstance(exc, TimeoutError):
                raise PoolTimeout(
                    f"no connection came free in llmring's pool of {self.max_connections} "
                    f"within {pool_timeout:g} s; raise LLMRing(max_connections=...) or send fewer "
                    "requests at once",
                    max_connections=self.max_connections,
                ) from exc
            raise
        if self._closed:
            await self._hand_back(waiter.connection)
            raise httpx.ConnectError("llmring's connection pool is closed")
        if waiter.connection is not None:
            self._in_use.add(waiter.connection)
        return waiter.connection

    def opened(self, connection: Connection) -> None:
        """A slot's new connection is now open and in use."""
        self._in_use.add(connection)

    def discard(self, connection: Connection) -> None:
        """Forget a dead connection but keep its slot, for a new connection in its place."""
        self._in_use.discard(connection)

    async def release(self, connection: Connection, *, reusable: bool) -> None:
        """Give ``connection`` back: to the oldest waiter, to the idle stack, or closed."""
        self._in_use.discard(connection)
        if not reusable or self._closed:
            await connection.aclose()
            self.release_slot()
            return
        connection.idle_since = time.monotonic()
        waiter = self._next_waiter()
        if waiter is not None:
            if waiter.origin == connection.origin:
                waiter.grant(connection)
                return
            waiter.grant(None)  # the slot moves on; this connection cannot serve that origin
            await connection.aclose()
            return
        if self._idle_count >= self.max_keepalive_connections:
            await connection.aclose()
            self._slots_taken -= 1
            return
        self._idle.setdefault(connection.origin, deque()).append(connection)
        self._idle_count += 1

    def release_slot(self) -> None:
        """A slot's connection is gone (closed, or never opened): the next waiter gets it."""
        waiter = self._next_waiter()
        if waiter is not None:
            waiter.grant(None)
        else:
            self._slots_taken -= 1

    async def aclose(self) -> None:
        """Close every connection, idle or in use; waiters are told the pool is closed."""
        self._closed = True
        connections = [*self._in_use, *(c for idle in self._idle.values() for c in idle)]
        self._in_use.clear()
        self._idle.clear()
        self._idle_count = 0
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.abandoned:
                waiter.grant(None)
        for connection in connections:
            await connection.aclose()

    # --- bookkeeping (synchronous: nothing else runs in between) ---------------------------

    async def _hand_back(self, connection: Connection | None) -> None:
        if connection is None:
            self.release_slot()
        else:
            await self.release(connection, reusable=True)

    def _next_waiter(self) -> _Waiter | None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.abandoned:
                return waiter
        return None

    def _take_idle(self, origin: Origin, stale: list[Connection]) -> Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if connection.is_stale(now, self.keepalive_expiry):
                stale.append(connection)
                self._slots_taken -= 1
                continue
            self._in_use.add(connection)
            return connection
        return None

    def _sweep(self, origin: Origin) -> list[Connection]:
        """Expired idle connections, oldest first from the bottom of each stack (few origins)."""
        if self.keepalive_expiry is None or not self._idle_count:
            return []
        deadline = time.monotonic() - self.keepalive_expiry
        expired: list[Connection] = []
        for idle in self._idle.values():
            while idle and idle[0].idle_since < deadline:
                expired.append(idle.popleft())
        self._idle_count -= len(expired)
        self._slots_taken -= len(expired)
        return expired

    def _evict_one(self) -> Connection:
        """The oldest idle connection of some origin (its slot stays taken, for the caller)."""
        for idle in self._idle.values():
            if idle:
                self._idle_count -= 1
                return idle.popleft()
        raise AssertionError("no idle connection to evict")
