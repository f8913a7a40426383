"""Instructions per streamed chunk under callgrind: a CPU measure that load does not move.

``make bench`` times CPU per chunk, which moves 10% from run to run on a shared machine.
This counts instructions instead: for each provider it runs ``LLMRing.chat_stream`` over
``bench_stream``'s long stream (3,000 text deltas, one event per read) once and three times,
each in its own process under ``valgrind --tool=callgrind``, and reports
(Ir(3) - Ir(1)) / 2 / chunks: start-up, imports and first-use caches cancel out.

    python benchmarks/callgrind_stream.py [--providers openai,ollama] [--root DIR]

``--root`` measures another checkout's ``llmring`` on the same bytes (the events are built
from this checkout's recordings), e.g. an older commit extracted with ``git archive``.
Needs valgrind; takes about a minute per provider.
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_stream  # noqa: E402

# Responses is not in ``make bench`` (no SDK to compare); its text deltas are counted here.
bench_stream.STREAMS.setdefault(
    "openai-responses",
    ("openai-responses/text.sse", lambda e: b'"response.output_text.delta"' in e),
)

_COLLECTED = re.compile(rb"Collected : (\d+)")


def inner(events_file: str, provider: str, runs: int) -> None:
    """Stream ``runs`` times (in the measured process), then print the chunk count."""
    import anyio

    with open(events_file, "rb") as file:
        events, content_type, model = pickle.load(file)
    count = 0
    for _ in range(runs):
        count = anyio.run(bench_stream.run_llmring, events, content_type, provider, model)
    print(f"chunks {count}")


def instructions(root: Path, events_file: str, provider: str, runs: int) -> tuple[int, int]:
    """Instructions the whole process took, and the chunks of one stream."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--inner",
        events_file,
        provider,
        str(runs),
    ]
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, env=env, check=True)
    found = _COLLECTED.search(done.stderr)
    chunks = re.search(rb"chunks (\d+)", done.stdout)
    if found is None or chunks is None:
        raise RuntimeError(done.stderr.decode(errors="replace")[-2000:])
    return int(found[1]), int(chunks[1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--inner":
        # bench_stream imports this checkout's llmring; --root's must win.
        sys.path.insert(0, os.environ["PYTHONPATH"])
        for name in [name for name in sys.modules if name.split(".")[0] == "llmring"]:
            del sys.modules[name]
        import llmring

        bench_stream.LLMRing, bench_stream.LLMRequest, bench_stream.Message = (
            llmring.LLMRing,
            llmring.LLMRequest,
            llmring.Message,
        )
        inner(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--providers", default=",".join(bench_stream.STREAMS))
    parser.add_argument("--deltas", type=int, default=3000)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose llmring to count")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for provider in args.providers.split(","):
            events_file = os.path.join(scratch, f"{provider}.pickle")
            with open(events_file, "wb") as file:
                pickle.dump(bench_stream.long_stream(provider, args.deltas), file)
            once, chunks = instructions(args.root, events_file, provider, 1)
            thrice, _ = instructions(args.root, events_file, provider, 3)
            print(f"{provider:<17} chunks={chunks:<5} Ir/chunk={(thrice - once) / 2 / chunks:,.0f}")


if __name__ == "__main__":
    main()
