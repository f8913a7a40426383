"""llmring's own HTTP connection pool, under httpx's client API (internal).

``pool_transport`` is the transport under the ``httpx.AsyncClient`` an ``LLMRing`` owns:
httpx for requests, responses and timeouts, with ``PoolTransport`` underneath so that
thousands of concurrent streams cost what one does (see the README, "Thousands of concurrent
streams", for why not httpcore's pool).

- ``connect.py``        opening a TCP connection (RFC 8305 addresses, no task in the common case)
- ``socket_stream.py``  an anyio byte stream straight over the non-blocking socket
- ``connection.py``     one HTTP/1.1 connection: h11 over that stream, TLS included
- ``pool.py``           slots, idle stacks per origin, FIFO waiters; O(1) per request
- ``transport.py``      the ``httpx.AsyncBaseTransport`` that sends a request on a pooled connection
- ``client.py``         the ``httpx.AsyncClient`` over it, whose streamed requests skip httpx's
                        client layer
"""

from __future__ import annotations

from llmring._pool.client import PoolClient
from llmring._pool.pool import ConnectionPool, PoolTimeout
from llmring._pool.transport import PoolTransport

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "KEEPALIVE_EXPIRY",
    "ConnectionPool",
    "PoolClient",
    "PoolTimeout",
    "PoolTransport",
    "pool_transport",
]

DEFAULT_MAX_CONNECTIONS = 10_000
"""Open connections over all hosts. An LLM stream holds its connection for 10-60 s, so a
service at 100 requests/s needs thousands; each costs a file descriptor and a few KB."""

KEEPALIVE_EXPIRY = 30.0
"""Seconds an idle connection is kept for reuse (shorter than providers' own idle cut-offs)."""


def pool_transport(max_connections: int | None = None) -> PoolTransport:
    """The transport under the client ``LLMRing`` owns: ``max_connections`` over all hosts
    (``DEFAULT_MAX_CONNECTIONS`` when None); the client's timeouts apply to it, its pool
    timeout to a wait for a free connection."""
    size = DEFAULT_MAX_CONNECTIONS if max_connections is None else max_connections
    return PoolTransport(
        max_connections=size, max_keepalive_connections=size, keepalive_expiry=KEEPALIVE_EXPIRY
    )
