"""Soak: thousands of streams with random failures against a real loopback server.

Each stream meets a random server (a clean answer, a 503 with a short retry-after-ms, an
in-band error as the first event, a connection cut mid-body, a stall before the headers, a
trickle, a body that never ends) and a random consumer (reads all, breaks after the first chunk,
is cancelled, raises in its loop, asks a hedged alias). The ring is built as a user builds it,
``LLMRing(max_connections=5)``: llmring's own pool (``llmring._pool``) with 5 connections.

Reported per backend: streams, outcomes by kind, hangs (a stream not over within its bound),
what llmring's pool still holds once every stream is over (connections busy or in use, live
waiters, connections open at the server that the pool does not keep idle), connections left
open at the server after the ring is closed, and RSS sampled along the way (it should stay
flat). Exit status 1 on any hang, leak, unfinished stream or unexpected exception. Bounded:
every stream has a hard limit and each backend a deadline.

    python benchmarks/soak.py                    # 10,000 on asyncio, 2,000 on trio
    python benchmarks/soak.py --asyncio 500 --trio 100
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import aclosing, contextmanager
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmring import LLMRequest, LLMRing, Message, Timeout  # noqa: E402
from llmring._pool import PoolTransport  # noqa: E402
from llmring.exceptions import LLMRingError  # noqa: E402
from llmring.providers import register_provider  # noqa: E402
from tests.fakes import FakeProvider, ndjson  # noqa: E402
from tests.loopback import Reply, serve  # noqa: E402

POOL = 5
CONCURRENCY = 40
STREAM_LIMIT = 20.0  # seconds a single stream may take before it counts as a hang
BODY = [ndjson({"t": f"w{i} "}) for i in range(8)] + [ndjson({"done": "stop"})]
TIMEOUT = Timeout(connect=5.0, first_token=2.0, idle=0.5, total=8.0)

LOCKFILE = """version = "1.0"
default_profile = "default"
[profiles.default]
name = "default"
[[profiles.default.bindings]]
alias = "chat"
models = ["fake:m1", "fake:m2"]
"""


class ConsumerError(Exception):
    """Raised by a consumer in the middle of its loop, as application code does."""


def server_reply(rng: random.Random) -> Reply:
    roll = rng.random()
    if roll < 0.70:
        return Reply(body=BODY)
    if roll < 0.78:
        return Reply(503, {"retry-after-ms": "5"}, [b'{"error": "busy"}'])
    if roll < 0.83:
        return Reply(body=[ndjson({"error": "overloaded", "status": 529})])
    if roll < 0.88:
        return Reply(body=BODY[:3], cut=True)
    if roll < 0.93:
        return Reply(delay=0.2, body=BODY)
    if roll < 0.98:
        trickle: list[bytes | float] = []
        for piece in BODY:
            trickle += [piece, 0.01]
        return Reply(body=trickle)
    return Reply(body=BODY[:2], hang=True)  # only the idle timeout ends it


async def consume(service: LLMRing, rng: random.Random) -> str:
    """One stream, consumed in a random way; the kind of ending it had."""
    kind = rng.random()
    model = "chat" if kind >= 0.9 else "fake:m1"
    request = LLMRequest(
        model=model,
        messages=[Message(role="user", content="hi")],
        timeout=TIMEOUT,
        hedge_after=0.1 if model == "chat" else None,
        max_retries=2,
    )
    try:
        if 0.6 <= kind < 0.7:  # cancelled from outside at a random moment
            with anyio.move_on_after(rng.uniform(0.0, 0.05)) as scope:
                async with aclosing(service.chat_stream(request)) as chunks:
                    async for _ in chunks:
                        pass
            return "cancelled" if scope.cancelled_caught else "complete"
        async with aclosing(service.chat_stream(request)) as chunks:
            async for chunk in chunks:
                if 0.7 <= kind < 0.8:
                    return "break"
                if 0.8 <= kind < 0.9:
                    raise ConsumerError
                if chunk.is_final:
                    return "complete-hedged" if model == "chat" else "complete"
        return "ended-without-final"
    except ConsumerError:
        return "consumer-raised"
    except LLMRingError as error:
        return type(error).__name__


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pool_state(service: LLMRing) -> dict[str, int] | None:
    """llmring's pool as it stands, by count (None: the ring's transport is not llmring's pool).

    ``open`` is every slot taken (open connections, idle ones included, and any being
    opened); ``idle`` the open connections kept for reuse; ``in_use`` the connections handed
    to a request and not given back; ``waiters`` the requests queued for a slot (abandoned
    ones, which gave up and are dropped at the next hand-over, are counted apart).
    """
    transport = getattr(service._client, "_transport", None)
    if not isinstance(transport, PoolTransport):
        return None
    pool = transport.pool
    abandoned = sum(1 for waiter in pool._waiters if waiter.abandoned)
    return {
        "open": pool.connections,
        "idle": pool.idle_connections,
        "in_use": len(pool._in_use),
        "waiters": len(pool._waiters) - abandoned,
        "abandoned_waiters": abandoned,
    }


def pool_held(state: dict[str, int] | None, open_at_server: int) -> dict[str, int]:
    """What the pool still holds though no stream runs, by kind (empty: no leak).

    With every stream over, each slot taken must be an idle connection, none may be in use,
    no request may still wait, and the server may see no more connections open than the pool
    keeps idle (one more would be a socket the pool lost track of but never closed).
    """
    if state is None:
        return {"not-llmring-pool-cannot-inspect": 1}
    held = {
        "busy-slots": state["open"] - state["idle"],
        "in-use": state["in_use"],
        "waiters": state["waiters"],
        "open-at-server-not-in-pool": max(open_at_server - state["idle"], 0),
    }
    return {kind: count for kind, count in held.items() if count}


async def soak(streams: int, seed: int, run_limit: float) -> dict[str, object]:
    rng = random.Random(seed)
    register_provider("fake", FakeProvider)
    outcomes: Counter[str] = Counter()
    took: dict[str, float] = {}  # the longest stream of each outcome, in seconds
    rss: list[float] = []
    hangs = 0
    unexpected: list[str] = []
    with lockfile() as path:
        async with serve(lambda _request: server_reply(rng)) as server:
            service = LLMRing(
                max_connections=POOL,
                timeout=TIMEOUT,
                api_keys={"fake": "sk-soak"},
                base_urls={"fake": server.url},
                lockfile_path=path,
            )
            limiter = anyio.CapacityLimiter(CONCURRENCY)
            done = 0

            async def one() -> None:
                nonlocal hangs, done
                async with limiter:
                    try:
                        with anyio.fail_after(STREAM_LIMIT):
                            began = anyio.current_time()
                            outcome = await consume(service, rng)
                            outcomes[outcome] += 1
                            took[outcome] = max(
                                took.get(outcome, 0.0), anyio.current_time() - began
                            )
                    except TimeoutError:
                        hangs += 1
                    except Exception as exc:  # reported, never hidden
                        unexpected.append(f"{type(exc).__name__}: {exc}")
                    done += 1
                    if done % max(streams // 10, 1) == 0:
                        rss.append(round(rss_mb(), 1))

            with anyio.move_on_after(run_limit):
                async with anyio.create_task_group() as tg:
                    for _ in range(streams):
                        tg.start_soon(one)
            state = pool_state(service)
            idle = state["idle"] if state else 0
            for _ in range(200):  # the server notices the client's closes within moments
                if server.opened - server.closed <= idle:
                    break
                await anyio.sleep(0.01)
            in_use = pool_held(state, server.opened - server.closed)
            await service.close()
            for _ in range(200):  # the server notices closed connections within moments
                if server.opened == server.closed:
                    break
                await anyio.sleep(0.01)
            left_open = server.opened - server.closed
            requests = len(server.requests)
    return {
        "streams": streams,
        "finished": done,
        "requests": requests,
        "outcomes": dict(sorted(outcomes.items())),
        "slowest_s": {kind: round(seconds, 2) for kind, seconds in sorted(took.items())},
        "hangs": hangs,
        "unexpected": unexpected[:5],
        "pool_after": state,
        "pool_held_after": in_use,
        "server_connections_left_open": left_open,
        "rss_mb": rss,
    }


@contextmanager
def lockfile() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "llmring.lock"
        path.write_text(LOCKFILE)
        yield path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--asyncio", type=int, default=10_000, help="streams on asyncio")
    parser.add_argument("--trio", type=int, default=2_000, help="streams on trio")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--limit", type=float, default=900.0, help="seconds each backend may run at most"
    )
    args = parser.parse_args()
    failed = False
    for backend, streams in (("asyncio", args.asyncio), ("trio", args.trio)):
        if not streams:
            continue
        began = time.perf_counter()
        report = anyio.run(soak, streams, args.seed, args.limit, backend=backend)
        seconds = time.perf_counter() - began
        print(f"{backend}: {seconds:.1f} s")
        for key, value in report.items():
            print(f"  {key}: {value}")
        failed |= bool(
            report["hangs"]
            or report["unexpected"]
            or report["pool_held_after"]
            or report["finished"] != streams
            or report["server_connections_left_open"]
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
