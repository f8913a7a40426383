"""A loopback OpenAI-style streaming server for ``bench_scale.py``, cheap enough not to be measured.

One process, plain asyncio protocols, 127.0.0.1 only. Every request to ``/v1/chat/completions``
gets the same pre-built chunked SSE response: a role event, ``--chunks`` text deltas, a finish
event, a usage event and ``[DONE]``. One ticker paces every open stream at once, one event per
stream per ``--interval-ms``, so streams really are open at the same time (as LLM streams are)
and the server does one ``write`` per event, nothing else. ``GET /stats`` answers the number of
client connections open right now (itself excluded), for the closing check.

Prints ``PORT <n>`` on stdout once listening; exits after ``--lifetime`` seconds at the latest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys

TEMPLATE = {
    "id": "chatcmpl-bench",
    "object": "chat.completion.chunk",
    "created": 1761300412,
    "model": "gpt-4o-mini-2024-07-18",
    "system_fingerprint": "fp_bench",
}


def event(payload: dict[str, object] | str) -> bytes:
    """One SSE event framed as one HTTP chunk."""
    data = payload if isinstance(payload, str) else json.dumps({**TEMPLATE, **payload})
    body = f"data: {data}\n\n".encode()
    return b"%x\r\n%s\r\n" % (len(body), body)


def word(i: int) -> str:
    """The text of delta ``i``; the client checks the joined text against these."""
    return f"w{i} "


def response_events(chunks: int) -> list[bytes]:
    delta = "choices"
    events = [
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
        b"transfer-encoding: chunked\r\n\r\n"
        + event({delta: [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
    ]
    for i in range(chunks):
        content = {"index": 0, "delta": {"content": word(i)}, "finish_reason": None}
        events.append(event({delta: [content]}))
    events.append(event({delta: [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    usage = {"prompt_tokens": 9, "completion_tokens": chunks, "total_tokens": 9 + chunks}
    events.append(event({delta: [], "usage": usage}) + event("[DONE]") + b"0\r\n\r\n")
    return events


class Server:
    def __init__(self, chunks: int) -> None:
        self.events = response_events(chunks)
        self.streaming: dict[Stream, int] = {}  # connection -> next event index
        self.open = 0


class Stream(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.open += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.open -= 1
        self.server.streaming.pop(self, None)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self.buffer[:head_end].lower()
        length = 0
        if (at := head.find(b"content-length:")) >= 0:
            length = int(head[at + 15 :].split(b"\r\n", 1)[0])
        if len(self.buffer) < head_end + 4 + length:
            return
        self.buffer = self.buffer[head_end + 4 + length :]
        assert self.transport is not None
        if head.startswith(b"get /stats"):
            body = json.dumps({"open": self.server.open - 1}).encode()
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(body), body)
            )
            self.transport.close()
            return
        self.transport.write(self.server.events[0])
        self.server.streaming[self] = 1


async def tick(server: Server, interval: float) -> None:
    events, last = server.events, len(server.events)
    while True:
        await asyncio.sleep(interval)
        done = []
        for stream, index in server.streaming.items():
            assert stream.transport is not None
            stream.transport.write(events[index])
            if index + 1 == last:
                done.append(stream)
            else:
                server.streaming[stream] = index + 1
        for stream in done:
            del server.streaming[stream]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=100)
    parser.add_argument("--interval-ms", type=float, default=5.0)
    parser.add_argument("--lifetime", type=float, default=1800.0)
    args = parser.parse_args()
    server = Server(args.chunks)
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(
        lambda: Stream(server), "127.0.0.1", 0, backlog=8192, reuse_address=True
    )
    port = listener.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    ticker = asyncio.ensure_future(tick(server, args.interval_ms / 1000))
    try:
        await asyncio.wait_for(asyncio.shield(ticker), args.lifetime)
    except TimeoutError:
        pass
    finally:
        ticker.cancel()
        listener.close()


if __name__ == "__main__":
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass
    asyncio.run(main())
    sys.exit(0)
