"""``llmring chat``: send one prompt, stream the answer to the terminal, stop at once on Ctrl-C.

Answer text goes to stdout, flushed chunk by chunk. Everything else (errors, and with
``--verbose`` the reasoning text, model, finish reason, usage and timings) goes to stderr, so
``llmring chat ... > answer.txt`` keeps only the answer.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import anyio
import httpx
from anyio.abc import TaskStatus
from pydantic import ValidationError

from llmring import LLMRequest, LLMResponse, LLMRing, Message, StreamChunk, Usage
from llmring.cli.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    UsageError,
    report_error,
)
from llmring.cli.values import DEFAULT_TIMEOUT
from llmring.config.resolver import Resolver
from llmring.exceptions import LLMRingError, ProviderNotFoundError
from llmring.schemas import ToolCall
from llmring.testing import Recording, cassette, load_recording, replay_transport
from llmring.testing.format import read_index
from llmring.timeouts import Timeout

__all__ = ["DEFAULT_MODEL", "ChatOptions", "ChunkPrinter", "run_chat"]

#: What ``llmring chat`` asks for without ``--model``: an alias in the bundled lockfile.
DEFAULT_MODEL = "fast"
#: The prompt sent (to nobody) when a recording is replayed without one.
REPLAY_PROMPT = "(replayed from a recording)"


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """Everything ``llmring chat`` was asked to do, as typed values."""

    prompt: str | None
    model: str | None = None
    system: str | None = None
    profile: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: Timeout | None = None
    max_retries: int | None = None
    hedge_after: float | None = None
    stream: bool = True
    json: bool = False
    verbose: bool = False
    lockfile: Path | None = None
    replay: Path | None = None
    pace: float | None = None
    record: Path | None = None


def run_chat(options: ChatOptions) -> int:
    """Run one chat; the exit code. Ctrl-C cancels it cleanly and gives 130."""
    try:
        request = _build_request(options)
        if options.replay is not None and options.replay.is_dir():
            return _run_cassette(options, _cassette_replay(options, request), options.replay)
        recording = _load_replay(options) if options.replay is not None else None
    except UsageError as error:
        return report_error(error)
    if options.record is not None:
        return _run_cassette(options, request, options.record)
    return anyio.run(_until_interrupted, lambda: _chat(options, request, recording))


def _cassette_replay(options: ChatOptions, request: LLMRequest) -> LLMRequest:
    """``request`` aimed at the model a cassette directory (``--replay DIR``) recorded."""
    assert options.replay is not None
    try:
        index = read_index(options.replay)
    except ValueError as error:
        raise UsageError(f"cannot read the cassette {options.replay}: {error}") from error
    if index is None:
        raise UsageError(f"{options.replay} is not a cassette (it has no cassette.json)")
    model = options.model or index.meta.get("model")
    if not isinstance(model, str) or ":" not in model:
        raise UsageError(f"with --replay {options.replay}, pass --model provider:model")
    return request.model_copy(update={"model": model})


def _run_cassette(options: ChatOptions, request: LLMRequest, path: Path) -> int:
    """``--record DIR`` (record the call afresh) or ``--replay DIR`` (answer from it, in
    recorded order whatever the prompt, at the recorded pace unless ``--pace``)."""
    if options.record is not None:
        tape = cassette(path, mode="all")
    else:
        tape = cassette(path, mode="none", match_on=(), pace=options.pace or "recorded")
    with tape:
        code = anyio.run(_until_interrupted, lambda: _chat(options, request, None, tape.mode))
    if options.record is not None and tape.recorded:
        # What --replay DIR will ask for: the model itself, not an alias that may change.
        model = request.model
        if ":" not in model:
            model = str(Resolver(lockfile_path=options.lockfile).resolve(model, options.profile)[0])
        tape.index.meta["model"] = model
        tape.save_meta()
    return code


# --- set-up ----------------------------------------------------------------------------


def _build_request(options: ChatOptions) -> LLMRequest:
    prompt = options.prompt
    if prompt == "-":
        prompt = sys.stdin.read().rstrip("\n")
        if not prompt.strip():
            raise UsageError("the prompt read from stdin is empty; pipe some text in")
    elif prompt is None:
        if options.replay is None:
            raise UsageError("chat needs a PROMPT (or - to read it from stdin)")
        prompt = REPLAY_PROMPT
    messages = [Message(role="user", content=prompt)]
    if options.system:
        messages.insert(0, Message(role="system", content=options.system))
    try:
        return LLMRequest(
            model=options.model or DEFAULT_MODEL,
            messages=messages,
            temperature=options.temperature,
            max_tokens=options.max_tokens,
            timeout=options.timeout,
            max_retries=options.max_retries,
            hedge_after=options.hedge_after,
        )
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise UsageError(f"{where}: {problem['msg']}") from error


def _load_replay(options: ChatOptions) -> Recording:
    assert options.replay is not None
    try:
        recording = load_recording(options.replay)
    except OSError as error:
        raise UsageError(f"cannot read {options.replay}: {error.strerror or error}") from error
    except ValueError as error:
        raise UsageError(f"cannot read the sidecar of {options.replay}: {error}") from error
    is_stream = recording.path.suffix in (".sse", ".ndjson")
    if is_stream and not options.stream:
        raise UsageError(f"{options.replay} is a streamed recording; drop --no-stream")
    if options.model is not None and ":" not in options.model:
        raise UsageError("with --replay, --model must be provider:model (the recording's)")
    return recording


# --- running ---------------------------------------------------------------------------


async def _until_interrupted(job: Callable[[], Awaitable[int]]) -> int:
    """Run ``job``; the first SIGINT cancels it (closing its connection) and gives 130."""
    code = EXIT_INTERRUPTED
    failure: Exception | None = None
    async with anyio.create_task_group() as group:
        if sys.platform != "win32":  # there, Ctrl-C arrives as KeyboardInterrupt instead
            await group.start(_cancel_on_sigint, group.cancel_scope)
        try:
            code = await job()
        except Exception as error:  # raised below, as itself rather than in an ExceptionGroup
            failure = error
        group.cancel_scope.cancel()  # stop listening for SIGINT
    if failure is not None:
        raise failure
    if code == EXIT_INTERRUPTED:
        print("\nllmring: interrupted", file=sys.stderr, flush=True)
    return code


async def _cancel_on_sigint(
    scope: anyio.CancelScope, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
) -> None:
    with anyio.open_signal_receiver(signal.SIGINT) as signals:
        task_status.started()
        async for _ in signals:
            scope.cancel()
            return


async def _chat(
    options: ChatOptions,
    request: LLMRequest,
    recording: Recording | None,
    cassette_mode: str | None = None,
) -> int:
    printer = ChunkPrinter(json_output=options.json, verbose=options.verbose)
    async with AsyncExitStack() as stack:
        try:
            if cassette_mode == "none":  # --replay DIR: a stand-in key, the cassette answers
                provider = request.model.partition(":")[0]
                ring = LLMRing(lockfile_path=options.lockfile, api_keys={provider: "replay-key"})
            elif recording is None:
                ring = LLMRing(
                    lockfile_path=options.lockfile, timeout=options.timeout or DEFAULT_TIMEOUT
                )
            else:
                request = request.model_copy(update={"model": _replay_model(options, recording)})
                client = httpx.AsyncClient(transport=replay_transport(recording, pace=options.pace))
                await stack.enter_async_context(client)
                ring = _replay_ring(client, request.model, recording)
            await stack.enter_async_context(ring)
            if options.stream and (recording is None or recording.path.suffix != ".json"):
                stream = ring.chat_stream(request, profile=options.profile)
                # aclosing closes the HTTP response the moment we stop, cancellation included.
                async with aclosing(stream) as chunks:
                    async for chunk in chunks:
                        printer.feed(chunk)
            else:
                printer.feed_response(await ring.chat(request, profile=options.profile))
        except (LLMRingError, UsageError) as error:
            printer.end_text()
            return report_error(error)
    printer.finish()
    return EXIT_OK


def _replay_model(options: ChatOptions, recording: Recording) -> str:
    """``provider:model`` for a replay: --model if given, else directory and sidecar."""
    if options.model is not None:
        return options.model
    model = recording.model
    return f"{recording.provider}:{model or 'recorded'}"


def _replay_ring(client: httpx.AsyncClient, model: str, recording: Recording) -> LLMRing:
    """An LLMRing over the replay client, with a stand-in key: a replay needs none."""
    provider = model.partition(":")[0]
    try:
        # A recording is one answer: asking it again would only replay the same one.
        return LLMRing(http_client=client, api_keys={provider: "replay-key"}, max_retries=0)
    except ProviderNotFoundError as error:  # the directory is not a provider's name
        raise UsageError(
            f"cannot tell which provider recorded {recording.path}: {error}; "
            "keep it under recordings/<provider>/ or pass --model provider:model"
        ) from error


# --- output ----------------------------------------------------------------------------


class ChunkPrinter:
    """Writes chunks as they arrive and assembles the response they add up to.

    Answer text (and a refusal) goes to stdout at once, unless ``json_output``, in which case
    only the final response is printed, as JSON. Reasoning text goes to stderr, dimmed on a
    terminal, and only when ``verbose``. ``finish`` prints the verbose summary.
    """

    def __init__(
        self,
        *,
        json_output: bool = False,
        verbose: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.json_output = json_output
        self.verbose = verbose
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.started = time.perf_counter()
        self.first_token_at: float | None = None
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.final: StreamChunk | None = None
        self.whole: LLMResponse | None = None
        self.model: str | None = None
        self._last_written = "\n"
        self._reasoning_open = False
        self._dim = self.err.isatty() and "NO_COLOR" not in os.environ

    def feed(self, chunk: StreamChunk) -> None:
        """Show one chunk."""
        self.model = chunk.model
        if (chunk.delta or chunk.reasoning or chunk.refusal) and self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        if chunk.reasoning:
            self.reasoning.append(chunk.reasoning)
            if self.verbose:
                self._write_reasoning(chunk.reasoning)
        for piece, kept in ((chunk.delta, self.text), (chunk.refusal, self.refusal)):
            if piece:
                kept.append(piece)
                self._write_text(piece)
        if chunk.is_final:
            self.final = chunk

    def feed_response(self, response: LLMResponse) -> None:
        """Show a whole (non-streamed) response."""
        self.feed(
            StreamChunk(
                delta=response.content,
                model=response.model,
                reasoning=response.reasoning,
                refusal=response.refusal,
            )
        )
        self.whole = response

    def response(self) -> LLMResponse:
        """The response the chunks so far add up to (or the whole one, when not streamed)."""
        if self.whole is not None:
            return self.whole
        final = self.final
        return LLMResponse(
            content="".join(self.text),
            model=final.model if final else self.model or "",
            reasoning="".join(self.reasoning) or None,
            refusal="".join(self.refusal) or None,
            finish_reason=final.finish_reason if final else None,
            raw_finish_reason=final.raw_finish_reason if final else None,
            usage=final.usage if final else None,
            tool_calls=final.tool_calls if final else None,
            response_id=final.response_id if final else None,
            served_model=final.served_model if final else None,
            timing=final.timing if final else None,
            attempts=final.attempts if final else None,
        )

    def end_text(self) -> None:
        """End the answer's last line, so what follows starts on its own."""
        self._close_reasoning()
        if self._last_written != "\n":
            self._write_out("\n")

    def finish(self) -> None:
        """After the last chunk: tool calls, the JSON response, the verbose summary."""
        response = self.response()
        if self.json_output:
            self._write_out(response.model_dump_json(indent=2) + "\n")
        else:
            for call in response.tool_calls or []:
                self.end_text()
                self._write_out(_describe_tool_call(call) + "\n")
            self.end_text()
        if self.verbose:
            self._write_summary(response)

    # --- writing -----------------------------------------------------------------------

    def _write_text(self, text: str) -> None:
        if self.json_output:
            return
        self._close_reasoning()
        self._write_out(text)

    def _write_out(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
        self._last_written = text[-1:] or self._last_written

    def _write_reasoning(self, text: str) -> None:
        if not self._reasoning_open:
            self._reasoning_open = True
            self.err.write("\x1b[2m" if self._dim else "")
        self.err.write(text)
        self.err.flush()

    def _close_reasoning(self) -> None:
        if self._reasoning_open:
            self._reasoning_open = False
            self.err.write(("\x1b[0m" if self._dim else "") + "\n")
            self.err.flush()

    def _write_summary(self, response: LLMResponse) -> None:
        finished = time.perf_counter()
        lines = [f"model: {response.model}"]
        reason: str = response.finish_reason or "none"
        if response.raw_finish_reason and response.raw_finish_reason != reason:
            reason = f"{reason} ({response.raw_finish_reason})"
        lines.append(f"finish reason: {reason}")
        lines.append(f"usage: {_describe_usage(response.usage)}")
        total = f"{finished - self.started:.2f} s"
        if self.first_token_at is not None:
            lines.append(
                f"time to first token: {self.first_token_at - self.started:.2f} s, total {total}"
            )
        else:
            lines.append(f"time: {total}")
        self.err.write("".join(f"{line}\n" for line in lines))
        self.err.flush()


def _describe_usage(usage: Usage | None) -> str:
    if usage is None:
        return "not reported"
    prompt_notes = [
        f"{count} {label}"
        for count, label in (
            (usage.cached_tokens, "cached"),
            (usage.cache_write_tokens, "cache write"),
        )
        if count
    ]
    prompt = f"{usage.prompt_tokens} prompt" + (
        f" ({', '.join(prompt_notes)})" if prompt_notes else ""
    )
    completion = f"{usage.completion_tokens} completion" + (
        f" ({usage.reasoning_tokens} reasoning)" if usage.reasoning_tokens else ""
    )
    return f"{prompt} + {completion} = {usage.total_tokens} tokens"


def _describe_tool_call(call: ToolCall) -> str:
    return f"tool call: {call.function.name}({call.function.arguments})"
