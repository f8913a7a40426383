"""A real HTTP/1.1 server on 127.0.0.1 that answers like a provider, for cassette tests.

It runs in a thread (so sync tests, async tests on either backend and subprocesses can all
use it) and streams each answer as chunked reads with a pause between them, the way a
provider does. Stopping it is how a test proves a replay never touches the network.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from llmring.testing import load_recording, split_events
from tests.conftest import RECORDINGS


@dataclass
class Seen:
    """A request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """An answer: ``reads`` sent one per network write, ``gap`` seconds apart."""

    reads: Sequence[bytes]
    content_type: str = "text/event-stream"
    status: int = 200
    gap: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ProviderServer:
    url: str
    requests: list[Seen]


Answer = Callable[[Seen], Reply]


@contextmanager
def provider_server(answer: Answer | Reply) -> Iterator[ProviderServer]:
    """Serve ``answer`` (a reply, or a function of the request) until the block ends."""
    seen: list[Seen] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            request = Seen(
                "POST",
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
            )
            seen.append(request)
            reply = answer(request) if callable(answer) else answer
            self.send_response(reply.status)
            self.send_header("content-type", reply.content_type)
            self.send_header("transfer-encoding", "chunked")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                for index, read in enumerate(reply.reads):
                    if index and reply.gap:
                        time.sleep(reply.gap)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(read), read))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client stopped reading
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ProviderServer(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


#: The streamed recording each provider's proof replays: the UTF-8 one, multi-byte throughout.
STREAM_FILES = {
    "anthropic": "anthropic/utf8.sse",
    "google": "google/utf8.sse",
    "ollama": "ollama/utf8.ndjson",
    "openai": "openai/utf8.sse",
    "openai-responses": "openai-responses/utf8.sse",
}


def provider_reply(provider: str, *, reads: int = 4, gap: float = 0.0) -> Reply:
    """``provider``'s recorded stream, its events grouped into ``reads`` network reads."""
    recording = load_recording(RECORDINGS / STREAM_FILES[provider])
    events = split_events(recording.body)
    size = -(-len(events) // reads)
    groups = [b"".join(events[i : i + size]) for i in range(0, len(events), size)]
    return Reply(groups, recording.headers.get("content-type", "text/event-stream"), gap=gap)
