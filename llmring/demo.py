"""``make demo``: stream one answer through the whole stack, live if a key is set, else offline.

With a provider key in the environment it runs a short live chat against that provider's
cheapest model; without one it replays a recorded stream at its recorded pace. Either way it
goes through ``llmring chat --verbose``, so the answer appears as it streams, followed by the
model, finish reason, usage and time to first token. What it is doing is said on stderr.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from llmring.cli import main
from llmring.testing import load_recording

__all__ = ["LIVE_MODELS", "REPLAYS", "demo_argv", "run"]

#: Provider key variables and the cheapest model to try live with each, in order of preference.
LIVE_MODELS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("ANTHROPIC_API_KEY",), "anthropic:claude-3-5-haiku-20241022"),
    (("OPENAI_API_KEY",), "openai:gpt-4.1-nano"),
    (("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_API_KEY"), "google:gemini-2.5-flash-lite"),
)
#: Plain-text recordings to replay offline, best first (relative to the project root).
REPLAYS: tuple[str, ...] = (
    "recordings/anthropic/text.sse",
    "recordings/openai/text.sse",
    "recordings/google/text.sse",
    "recordings/ollama/text.ndjson",
)
LIVE_PROMPT = "In two short sentences: why do LLM clients stream their answers?"
#: The shortest gap between replayed events (seconds), so the streaming is there to be seen.
MIN_PACE = 0.1

_ROOT = Path(__file__).resolve().parent.parent


def demo_argv(environ: dict[str, str] | None = None, root: Path = _ROOT) -> tuple[list[str], str]:
    """The ``llmring`` arguments the demo runs, and a sentence saying what they do."""
    env = dict(os.environ) if environ is None else environ
    for variables, model in LIVE_MODELS:
        found = next((name for name in variables if env.get(name)), None)
        if found is not None:
            argv = ["chat", LIVE_PROMPT, "--model", model, "--max-tokens", "200", "--verbose"]
            return argv, f"{found} is set: streaming live from {model}"
    for relative in REPLAYS:
        path = root / relative
        if path.is_file() and (recording := load_recording(path)).model:
            argv = ["chat", "--replay", str(path), "--verbose"]
            recorded = recording.pace_ms
            pace = f"at its recorded pace ({recorded:g} ms per event)"
            if recorded / 1000 < MIN_PACE:
                argv += ["--pace", str(MIN_PACE)]
                pace = f"slowed to {MIN_PACE:g} s per event so the streaming shows"
            return argv, (
                "no provider key set (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY): "
                f"replaying {relative} offline, {pace}"
            )
    raise FileNotFoundError(f"no provider key set and no recording found under {root}")


def run() -> int:
    """Run the demo; the exit code of ``llmring chat``."""
    try:
        argv, what = demo_argv()
    except FileNotFoundError as error:
        print(f"demo: {error}; set a provider key, e.g. OPENAI_API_KEY", file=sys.stderr)
        return 1
    print(f"demo: {what}", file=sys.stderr)
    print(f"demo: llmring {' '.join(_quote(arg) for arg in argv)}\n", file=sys.stderr, flush=True)
    return main(argv)


def _quote(arg: str) -> str:
    return repr(arg) if " " in arg else arg


if __name__ == "__main__":
    raise SystemExit(run())
