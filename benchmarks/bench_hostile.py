"""Hostile input at size: how fast llmring refuses what it must refuse, and reads what it must read.

    .venv/bin/python benchmarks/bench_hostile.py [--quick] [--json]

Cases (targets from issue 12):
  sse-50mb-line / ndjson-50mb-line   one 50 MB line with no end, streamed in 64 KiB reads through
                                     LLMRing.chat_stream: refused (ProviderResponseError) < 0.5 s
  error-body-200mb                   a 503 whose body runs to 200 MB, through LLMRing.chat: raised
                                     as ProviderOverloadedError after reading 1 MiB, < 0.5 s,
                                     and the peak RSS it cost stays a few MB
  chat-body-200mb                    a 200 OK chat() body of 200 MB: ResponseTooLargeError at
                                     max_response_bytes (64 MiB), the RSS it cost about that
  gzip-bomb-1gb                      1 GB of one line, gzip-compressed to ~1 MB: refused, and
                                     the peak RSS it cost stays far below the 1 GB
  sse-5mb-image / ndjson-5mb-image   a legitimate 5 MB line (an inline image) in 64 KiB reads:
                                     the decoder hands it over whole in < 50 ms
  lock-validate-{1k,4k,16k}          `llmring lock validate` on that many bindings: linear
  lockfile-50mb-comments             refused unread (LockfileError) at once

Per-chunk CPU on normal streams is benchmarks/bench_stream.py's job.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import anyio
import httpx

from llmring import LLMRequest, LLMRing, Message
from llmring._wire import NDJSONDecoder, SSEDecoder
from llmring.cli import main as cli_main
from llmring.config.lockfile import Lockfile
from llmring.exceptions import LLMRingError, LockfileError, ProviderResponseError

READ = 64 * 1024
MB = 1024 * 1024


def peak_rss_mb() -> float:
    """The process's peak resident set so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    unit = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / MB


class Body(httpx.AsyncByteStream):
    """``pieces`` as a response body that, like a connection, delivers nothing once closed."""

    def __init__(self, pieces: AsyncIterator[bytes]) -> None:
        self.pieces = pieces
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self.pieces:
            if self.closed:
                return
            yield piece

    async def aclose(self) -> None:
        self.closed = True


async def refused_after(
    provider: str, content_type: str, body: AsyncIterator[bytes], encoding: str = "identity"
) -> float:
    """Seconds from the request to the ProviderResponseError for ``body``."""

    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": content_type, "content-encoding": encoding}
        return httpx.Response(200, headers=headers, stream=Body(body))

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    request = LLMRequest(model=f"{provider}:m", messages=[Message(role="user", content="hi")])
    async with LLMRing(http_client=client, api_keys={provider: "bench-key-0123456789"}) as ring:
        started = time.perf_counter()
        try:
            async for _ in ring.chat_stream(request):
                pass
        except ProviderResponseError:
            elapsed = time.perf_counter() - started
        else:
            raise AssertionError("the oversized line was not refused")
    await client.aclose()
    return elapsed


async def whole_body_refused_after(status: int, size: int) -> tuple[float, str]:
    """Seconds until ``LLMRing.chat`` gives up on a ``status`` answer whose body runs to
    ``size`` bytes (64 KiB reads), and the error's class name."""

    async def body() -> AsyncIterator[bytes]:
        for _ in range(size // READ):
            yield b"A" * READ  # a new object per read, as off the network

    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json"}
        return httpx.Response(status, headers=headers, stream=Body(body()))

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    request = LLMRequest(model="openai:m", messages=[Message(role="user", content="hi")])
    keys = {"openai": "bench-key-0123456789"}
    async with LLMRing(http_client=client, api_keys=keys, max_retries=0) as ring:
        started = time.perf_counter()
        try:
            await ring.chat(request)
        except LLMRingError as error:
            elapsed, name = time.perf_counter() - started, type(error).__name__
        else:
            raise AssertionError("the body was not refused")
    await client.aclose()
    return elapsed, name


def one_long_line(head: bytes, size: int) -> Callable[[], AsyncIterator[bytes]]:
    async def body() -> AsyncIterator[bytes]:
        yield head
        block = b"A" * READ
        for _ in range(size // READ):
            yield block

    return body


def gzip_bomb(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip container
    block = b"A" * MB
    parts = [compressor.compress(b'data: {"x": "')]
    parts += [compressor.compress(block) for _ in range(size // MB)]
    parts.append(compressor.flush())
    return b"".join(parts)


def decode_seconds(
    make: Callable[[], SSEDecoder | NDJSONDecoder], head: bytes, size: int, end: bytes
) -> tuple[float, float]:
    """Best of 5: (wall, CPU) seconds to decode one ``size``-byte line fed in 64 KiB reads."""
    line = head + b"Q" * size + end
    reads = [line[i : i + READ] for i in range(0, len(line), READ)]
    wall, cpu = float("inf"), float("inf")
    for _ in range(5):
        decoder = make()
        started, started_cpu = time.perf_counter(), time.process_time()
        out = [payload for piece in reads for payload in decoder.feed(piece)]
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
        assert len(out) == 1 and len(out[0]) > size, "the 5 MB line did not come out whole"
    return wall, cpu


def write_lockfile(path: Path, bindings: int) -> None:
    parts = [
        'version = "1.0"\ndefault_profile = "default"\n\n[profiles.default]\nname = "default"\n'
    ]
    parts += [
        f'\n[[profiles.default.bindings]]\nalias = "alias-{i}"\n'
        'models = ["openai:gpt-4o-mini", "anthropic:claude-3-5-haiku-20241022"]\n'
        for i in range(bindings)
    ]
    path.write_text("".join(parts))


def validate_seconds(path: Path) -> float:
    started = time.perf_counter()
    with redirect_stdout(StringIO()):
        code = cli_main(["lock", "validate", "--file", str(path)])
    assert code == 0
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="skip the 16k-binding lockfile")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    args = parser.parse_args()
    rows: list[tuple[str, float, str, str]] = []

    def row(name: str, value: float, unit: str, target: str) -> None:
        rows.append((name, round(value, 4), unit, target))
        if not args.json:
            print(f"{name:<26} {value:>10.4f} {unit:<4} {target}", flush=True)

    # Peak RSS only grows: each case that reports it runs before any case that costs more.
    for name, status, target in (
        ("error-body-200mb", 503, "< 0.5 s, 1 MiB read"),
        ("chat-body-200mb", 200, "refused at max_response_bytes"),
    ):
        rss_before = peak_rss_mb()
        seconds, error = anyio.run(whole_body_refused_after, status, 200 * MB)
        row(name, seconds, "s", f"{error}, {target}")
        row(f"{name}-peak-rss", peak_rss_mb() - rss_before, "MB", "peak RSS growth")

    bomb = gzip_bomb(1024 * MB)
    rss_before = peak_rss_mb()

    async def bomb_body() -> AsyncIterator[bytes]:
        for i in range(0, len(bomb), READ):
            yield bomb[i : i + READ]

    seconds = anyio.run(refused_after, "openai", "text/event-stream", bomb_body(), "gzip")
    row("gzip-bomb-1gb", seconds, "s", f"refused ({len(bomb) // 1024} KiB on the wire)")
    row(
        "gzip-bomb-1gb-peak-rss",
        peak_rss_mb() - rss_before,
        "MB",
        "peak RSS growth (first case run)",
    )

    for provider, content_type, head in (
        ("openai", "text/event-stream", b'data: {"x": "'),
        ("ollama", "application/x-ndjson", b'{"x": "'),
    ):
        wire = "sse" if provider == "openai" else "ndjson"
        seconds = anyio.run(refused_after, provider, content_type, one_long_line(head, 50 * MB)())
        row(f"{wire}-50mb-line", seconds, "s", "refused, < 0.5 s")

    five = 5 * MB
    for name, make, head, end in (
        ("sse", SSEDecoder, b'data: {"image": "', b'"}\n\n'),
        ("ndjson", NDJSONDecoder, b'{"image": "', b'"}\n'),
    ):
        wall, cpu = decode_seconds(make, head, five, end)
        row(f"{name}-5mb-image", wall, "s", "decoded whole, < 0.05 s")
        row(f"{name}-5mb-image-cpu", cpu, "s", "CPU time of the same")

    with tempfile.TemporaryDirectory() as directory:
        sizes = (1000, 4000) if args.quick else (1000, 4000, 16000)
        for bindings in sizes:
            path = Path(directory) / f"{bindings}.lock"
            write_lockfile(path, bindings)
            per = validate_seconds(path)
            row(
                f"lock-validate-{bindings // 1000}k",
                per,
                "s",
                f"{per / bindings * 1e6:.0f} us/binding",
            )
        big = Path(directory) / "comments.lock"
        with big.open("w") as file:
            line = "# " + "x" * 1021 + "\n"
            for _ in range(50 * 1024):
                file.write(line)
        started = time.perf_counter()
        try:
            Lockfile.load(big)
        except LockfileError:
            refused = time.perf_counter() - started
        else:
            raise AssertionError("the 50 MB lockfile was not refused")
        row("lockfile-50mb-comments", refused, "s", "LockfileError, unread, at once")

    if args.json:
        print(
            json.dumps(
                [dict(zip(("case", "value", "unit", "target"), r, strict=True)) for r in rows],
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
