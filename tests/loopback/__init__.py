"""A real HTTP/1.1 server on 127.0.0.1, for the tests that need sockets and a clock.

Mocked transports have no connection pool and no clock, so they cannot show that a connection
was given back, that a retry waited, that a deadline fired or that a hedge closed the loser.
This server can, on asyncio and on trio:

- ``Reply`` scripts one answer (status, headers, body chunks with pauses, a wait before the
  status line, a body that never ends or is cut off, chunked / content-length / close
  framing); a script gives each request its reply (``tests/loopback/reply.py``);
- ``serve`` runs it in the test's event loop, ``serve_in_thread`` in a thread of its own
  (for sync code, nested event loops and subprocesses);
- the ``Server`` keeps each ``Request`` (line, headers, body, whether the client left before
  the end), counts connections opened and closed, and signals when a client hangs up.
"""

from tests.loopback.recorded import STREAM_FILES, provider_reply
from tests.loopback.reply import Framing, Reply, Script, streamed
from tests.loopback.request import Request
from tests.loopback.server import Server, serve, serve_in_thread

__all__ = [
    "STREAM_FILES",
    "Framing",
    "Reply",
    "Request",
    "Script",
    "Server",
    "provider_reply",
    "serve",
    "serve_in_thread",
    "streamed",
]
