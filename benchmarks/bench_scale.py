"""Thousands of concurrent streams from one process: llmring against bare httpx (the floor).

``make bench-scale`` runs this. A loopback server (``scale_server.py``, its own process, on
127.0.0.1 only) streams an OpenAI-style SSE answer of ``--chunks`` text deltas to every request,
one event per stream every few milliseconds, so the streams really are open at once. For each
number of concurrent streams, each client runs in a fresh process (so peak RSS is its own):

- llmring:         ``LLMRing()`` with default settings, ``chat_stream``, text checked
- httpx (floor):   ``httpx.AsyncClient.stream`` + ``aiter_lines`` + ``json.loads``, text checked;
                   its pool sized to the number of streams (the SDKs' way: 1,000 connections)
- llmring-httpcore (``--before``): llmring on the client it used before its own pool
                   (httpx/httpcore, 100 connections), for the before/after table

Reported per cell: wall time, client CPU per chunk (process CPU time / chunks received),
time to first chunk p50/p99, peak RSS, completed streams, and (for llmring) the connections
the server still sees open after the client closed. Every cell is capped (``--cap`` for
llmring, ``--floor-cap`` for the cells on httpx's pool, which does not scale); streams still
running then count as not completed. The targets of issue 11 are checked at the
end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmring import LLMRequest, LLMRing, Message  # noqa: E402

SIZES = (50, 1000, 2000, 5000)
KEY = "sk-bench-not-a-key"


def expected_text(chunks: int) -> str:
    return "".join(f"w{i} " for i in range(chunks))


# --- one cell, in its own process ---------------------------------------------------------


async def run_llmring(ring: LLMRing, text: str, results: dict[str, Any]) -> None:
    request = LLMRequest(model="openai:gpt-4o-mini", messages=[Message(role="user", content="hi")])
    start = time.perf_counter()
    at = 0  # the text is checked as it arrives: the benchmark keeps no per-stream copy
    first = None
    chunks = 0
    try:
        async with aclosing(ring.chat_stream(request)) as stream:
            async for chunk in stream:
                chunks += 1
                if chunk.delta:
                    if first is None:
                        first = time.perf_counter() - start
                    if not text.startswith(chunk.delta, at):
                        raise ValueError(f"wrong text at {at}: {chunk.delta!r}")
                    at += len(chunk.delta)
    except Exception as exc:
        results["errors"].append(f"{type(exc).__name__}: {exc}"[:200])
        return
    finally:
        results["chunks"] += chunks
    if at != len(text):
        results["errors"].append("wrong text")
        return
    results["ttfc"].append(first)
    results["completed"] += 1


async def run_floor(
    client: httpx.AsyncClient, url: str, text: str, results: dict[str, Any]
) -> None:
    body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"authorization": f"Bearer {KEY}"}
    start = time.perf_counter()
    at = 0
    first = None
    chunks = 0
    try:
        async with client.stream("POST", url, json=body, headers=headers) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                event = json.loads(line[6:])
                chunks += 1
                for choice in event["choices"]:
                    content = choice["delta"].get("content")
                    if content:
                        if first is None:
                            first = time.perf_counter() - start
                        if not text.startswith(content, at):
                            raise ValueError(f"wrong text at {at}: {content!r}")
                        at += len(content)
    except Exception as exc:
        results["errors"].append(f"{type(exc).__name__}: {exc}"[:200])
        return
    finally:
        results["chunks"] += chunks
    if at != len(text):
        results["errors"].append("wrong text")
        return
    results["ttfc"].append(first)
    results["completed"] += 1


async def open_connections(base: str) -> int:
    """What the server sees open, once it has noticed every close (up to 2 s)."""
    async with httpx.AsyncClient() as client:
        for _ in range(40):
            count = int((await client.get(f"{base}/stats")).json()["open"])
            if count == 0:
                return 0
            await anyio.sleep(0.05)
    return count


async def cell(kind: str, streams: int, base: str, chunks: int, cap: float) -> dict[str, Any]:
    text = expected_text(chunks)
    results: dict[str, Any] = {"completed": 0, "chunks": 0, "ttfc": [], "errors": []}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if kind == "httpx":
        limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)
        async with httpx.AsyncClient(timeout=60.0, limits=limits) as client:
            with anyio.move_on_after(cap):
                async with anyio.create_task_group() as tg:
                    for _ in range(streams):
                        tg.start_soon(
                            run_floor, client, f"{base}/v1/chat/completions", text, results
                        )
    else:
        http_client = None
        if kind == "llmring-httpcore":  # what LLMRing() built before it had its own pool
            limits = httpx.Limits(
                max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0
            )
            http_client = httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits)
        ring = LLMRing(
            http_client=http_client, api_keys={"openai": KEY}, base_urls={"openai": f"{base}/v1"}
        )
        async with ring:
            with anyio.move_on_after(cap):
                async with anyio.create_task_group() as tg:
                    for _ in range(streams):
                        tg.start_soon(run_llmring, ring, text, results)
        if http_client is not None:
            await http_client.aclose()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    ttfc = sorted(results["ttfc"])
    return {
        "kind": kind,
        "streams": streams,
        "wall_s": wall,
        "cpu_us_per_chunk": cpu / results["chunks"] * 1e6 if results["chunks"] else float("nan"),
        "ttfc_p50_ms": statistics.median(ttfc) * 1000 if ttfc else None,
        "ttfc_p99_ms": ttfc[min(len(ttfc) - 1, int(len(ttfc) * 0.99))] * 1000 if ttfc else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "completed": results["completed"],
        "errors": len(results["errors"]),
        "first_errors": sorted(set(results["errors"]))[:3],
        "open_after_close": await open_connections(base),
    }


def run_cell(args: argparse.Namespace) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # one descriptor per stream
    result = anyio.run(
        cell, args.cell, args.streams, args.url, args.chunks, args.cap, backend=args.backend
    )
    result["backend"] = args.backend
    print(json.dumps(result))


# --- the driver ---------------------------------------------------------------------------


def start_server(chunks: int, interval_ms: float) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("scale_server.py")),
            "--chunks",
            str(chunks),
            "--interval-ms",
            str(interval_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("PORT "):
        server.kill()
        raise SystemExit(f"the loopback server did not start: {line!r}")
    return server, f"http://127.0.0.1:{int(line.split()[1])}"


def measure(
    kind: str, streams: int, backend: str, url: str, args: argparse.Namespace
) -> dict[str, Any]:
    cap = args.cap if kind == "llmring" else args.floor_cap
    command = [
        sys.executable,
        __file__,
        "--cell",
        kind,
        "--streams",
        str(streams),
        "--backend",
        backend,
        "--url",
        url,
        "--chunks",
        str(args.chunks),
        "--cap",
        str(cap),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=cap + 60)
    except subprocess.TimeoutExpired:  # stuck past its own cap (cancelling it took too long)
        return {
            "kind": kind, "streams": streams, "backend": backend, "wall_s": cap + 60,
            "cpu_us_per_chunk": float("nan"), "ttfc_p50_ms": None, "ttfc_p99_ms": None,
            "peak_rss_mb": float("nan"), "completed": 0, "errors": streams,
            "first_errors": [f"did not finish within {cap + 60:g} s"], "open_after_close": -1,
        }  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{kind} at {streams} streams failed:\n{done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def fmt(row: dict[str, Any]) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:8.0f}"

    label = f"{row['kind']} ({row['backend']})"
    return (
        f"{label:28} {row['streams']:>6} {row['wall_s']:8.1f} {row['cpu_us_per_chunk']:9.1f} "
        f"{ms(row['ttfc_p50_ms'])} {ms(row['ttfc_p99_ms'])} {row['peak_rss_mb']:8.0f} "
        f"{row['completed']:>6}/{row['streams']:<6} {row['errors']:>6} {row['open_after_close']:>5}"
    )


HEADER = (
    f"{'client':28} {'streams':>6} {'wall s':>8} {'CPU us/ch':>9} {'TTFC p50':>8} {'TTFC p99':>8} "
    f"{'RSS MB':>8} {'completed':>13} {'errors':>6} {'open':>5}"
)


def check_targets(rows: list[dict[str, Any]]) -> list[str]:
    """Issue 11's targets, one line each."""

    def find(kind: str, streams: int, backend: str = "asyncio") -> dict[str, Any] | None:
        return next(
            (
                r
                for r in rows
                if (r["kind"], r["streams"], r["backend"]) == (kind, streams, backend)
            ),
            None,
        )

    lines = []

    def verdict(ok: bool, text: str) -> None:
        lines.append(f"{'PASS' if ok else 'FAIL'}  {text}")

    for streams, backend in ((5000, "asyncio"), (2000, "trio")):
        row = find("llmring", streams, backend)
        if row:
            verdict(
                row["completed"] == streams and row["errors"] == 0,
                f"{streams} streams on {backend}: {row['completed']} complete, "
                f"{row['errors']} errors",
            )
    base = find("llmring", 50)
    for streams in (2000, 5000):
        row = find("llmring", streams)
        if base and row:
            ratio = row["cpu_us_per_chunk"] / base["cpu_us_per_chunk"]
            verdict(
                ratio <= 1.3, f"CPU per chunk at {streams} / at 50 streams = {ratio:.2f} (<= 1.3)"
            )
    row = find("llmring", 5000)
    if row:
        verdict(
            row["peak_rss_mb"] < 150,
            f"peak RSS at 5000 streams = {row['peak_rss_mb']:.0f} MB (< 150)",
        )
    for row in rows:
        if row["kind"] == "llmring" and row["streams"] >= 2000:
            verdict(
                row["open_after_close"] == 0,
                f"{row['streams']} streams ({row['backend']}): server sees "
                f"{row['open_after_close']} open connections after the ring closed",
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--chunks", type=int, default=100, help="text deltas per stream")
    parser.add_argument("--interval-ms", type=float, default=5.0, help="server pace per stream")
    parser.add_argument("--cap", type=float, default=900.0, help="seconds per llmring cell at most")
    parser.add_argument(
        "--floor-cap", type=float, default=180.0, help="seconds per httpx-pool cell at most"
    )
    parser.add_argument("--trio", default="50,2000", help="sizes also run on trio (llmring)")
    parser.add_argument(
        "--kinds",
        default="llmring,httpx",
        help="clients to run: llmring, httpx (the floor), llmring-httpcore (before)",
    )
    parser.add_argument("--cell", help=argparse.SUPPRESS)
    parser.add_argument("--streams", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="asyncio", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cell:
        run_cell(args)
        return
    kinds = [kind for kind in args.kinds.split(",") if kind]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    trio_sizes = [int(s) for s in args.trio.split(",") if s]
    server, url = start_server(args.chunks, args.interval_ms)
    rows = []
    try:
        print(
            f"{args.chunks} deltas per stream, one every {args.interval_ms:g} ms; "
            f"{os.cpu_count()} CPUs; cap {args.cap:g} s per llmring cell, "
            f"{args.floor_cap:g} s per cell on httpx's pool\n"
        )
        print(HEADER, flush=True)
        plan = [(kind, n, "asyncio") for n in sizes for kind in kinds]
        plan += [("llmring", n, "trio") for n in trio_sizes]
        for kind, streams, backend in plan:
            row = measure(kind, streams, backend, url, args)
            rows.append(row)
            print(fmt(row), flush=True)
            for error in row["first_errors"]:
                print(f"    e.g. {error}", flush=True)
    finally:
        server.terminate()
        server.wait(10)
    print()
    for line in check_targets(rows):
        print(line)


if __name__ == "__main__":
    main()
