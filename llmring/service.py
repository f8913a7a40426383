"""``LLMRing``: the facade an application holds. Resolve the name, fall back, run the engine.

It owns one pooled ``httpx.AsyncClient`` (or borrows the caller's), one configured instance
per provider, and the alias resolver. Everything else lives in the modules it calls.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypeVar

import httpx

from llmring import _engine
from llmring._attempts import AttemptLog, with_retries
from llmring._cassette_hook import wrap_transport
from llmring._observe import Observer
from llmring._pool import PoolClient, pool_transport
from llmring._transport import DEFAULT_MAX_RESPONSE_BYTES
from llmring._wire import DEFAULT_MAX_EVENT_BYTES
from llmring.events import EventHook
from llmring.fallback import first_to_answer
from llmring.model_ref import ModelRef
from llmring.providers import canonical_name, create_provider, provider_names, register_provider
from llmring.providers.base import Provider
from llmring.providers.presets import ProviderSettings
from llmring.retry import RetryPolicy
from llmring.schemas import LLMRequest, LLMResponse, StreamChunk
from llmring.structured import apply_spec, output_spec, structured_stream
from llmring.timeouts import CallDeadlines, Timeout, as_timeout

if TYPE_CHECKING:
    from llmring.config.resolver import Resolver

__all__ = ["LLMRing"]

T = TypeVar("T")


class LLMRing:
    """One async API over every provider.

    ``timeout`` is a number, bounding connecting and every wait for the next bytes (not the
    whole answer, so long streams are fine), or a ``Timeout`` with a deadline per phase
    (``connect``, ``first_token``, ``idle``, ``total``). ``max_retries`` is how many times a
    model is asked again after a retryable failure before its first chunk (0: never);
    ``max_retry_wait`` is the longest wait a server may ask for that is slept rather than
    raised at once (so a fallback can serve). Keys and base URLs come from ``api_keys`` /
    ``base_urls`` (keyed by provider name) or else the environment. ``http_client`` lets the
    caller share a client; it is then the caller's to close and its own connect and read
    timeouts apply. ``max_event_bytes`` bounds one line or event of a stream (after
    decompression), ``max_response_bytes`` (default 64 MiB) the whole body of a ``chat()``
    answer; a bigger one raises ``ResponseTooLargeError`` at once instead of buffering without
    end. An error body is read up to 1 MiB.

    ``providers`` declares named OpenAI-compatible (or Anthropic-compatible, Ollama) servers:
    ``{"mybox": {"kind": "openai", "base_url": "http://gpu1:8000/v1", "api_key_env":
    "MYBOX_KEY"}}`` (a ``ProviderSettings`` or its fields), usable as ``mybox:<model>``.
    ``on_event`` receives a typed event (``llmring.events``) as each call starts, gets its
    first chunk, retries, falls back, finishes or fails.
    ``max_connections`` sizes llmring's own connection pool (default 10,000 over all hosts); a
    request that finds every connection busy for the connect timeout raises
    ``ConnectionPoolTimeoutError``.

    Use as ``async with LLMRing() as ring:``, or call ``await ring.close()``.
    """

    def __init__(
        self,
        *,
        timeout: float | Timeout = 60.0,
        http_client: httpx.AsyncClient | None = None,
        api_keys: Mapping[str, str] | None = None,
        base_urls: Mapping[str, str] | None = None,
        lockfile_path: str | Path | None = None,
        max_retries: int = 2,
        max_retry_wait: float = 60.0,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_connections: int | None = None,
        providers: Mapping[str, ProviderSettings | Mapping[str, object]] | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, not {max_retries}")
        if max_event_bytes < 1:
            raise ValueError(
                f"max_event_bytes must be a positive number of bytes, not {max_event_bytes}"
            )
        self._timeout = as_timeout(timeout)
        self._retry = RetryPolicy(max_retries=max_retries, max_wait=max_retry_wait)
        if max_response_bytes < 1:
            raise ValueError(
                f"max_response_bytes must be a positive number of bytes, not {max_response_bytes}"
            )
        self._max_event_bytes = max_event_bytes
        self._max_response_bytes = max_response_bytes
        self._api_keys = {canonical_name(k): v for k, v in (api_keys or {}).items()}
        self._owns_client = http_client is None
        self._client = http_client or self._own_client(max_connections)
        for name, settings in (providers or {}).items():
            register_provider(name, ProviderSettings.model_validate(settings))
        self._observer = Observer(on_event)
        self._base_urls = {canonical_name(k): v for k, v in (base_urls or {}).items()}
        self._providers: dict[str, Provider] = {}
        self._lockfile_path = lockfile_path
        self._resolver: Resolver | None = None

    def _own_client(self, max_connections: int | None) -> httpx.AsyncClient:
        """The client this ring owns: llmring's own pool (``llmring._pool``) under httpx.
        Inside ``llmring.testing.cassette(...)`` the pool is wrapped to record to, or replay
        from, the cassette (and a replay never opens it)."""

        def pool() -> httpx.AsyncBaseTransport:
            return pool_transport(max_connections)

        transport = wrap_transport(pool, self._api_keys.values()) or pool()
        return PoolClient(timeout=self._timeout.for_httpx(), transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP client if this service created it."""
        if self._owns_client:
            await self._client.aclose()

    # --- calling models ----------------------------------------------------------------

    async def chat(self, request: LLMRequest, profile: str | None = None) -> LLMResponse:
        """The whole response, from the non-streaming endpoint of the first model that answers.

        ``response.attempts`` lists every request made (retries, fallback, hedging).
        """
        refs = self.resolve(request.model, profile)
        spec = output_spec(request.response_format)
        deadlines = self._deadlines(request)

        def send(provider: Provider, ref: ModelRef, attempt: int) -> Awaitable[LLMResponse]:
            return _engine.complete(
                self._client,
                provider,
                request,
                ref,
                deadlines,
                max_response_bytes=self._max_response_bytes,
                observer=self._observer,
                attempt=attempt,
            )

        answer, log = self._first_to_answer(request, refs, profile, deadlines, send)
        response = (await answer).model_copy(update={"attempts": log.public()})
        return response if spec is None else apply_spec(spec, response)

    def chat_stream(
        self, request: LLMRequest, profile: str | None = None
    ) -> AsyncGenerator[StreamChunk, None]:
        """Chunks as the model produces them; the last one has finish reason, usage and
        ``attempts`` (every request made: retries, fallback, hedging).

        The model name is resolved at once (an unknown alias raises here); nothing is sent
        until the first chunk is asked for. Closing the generator closes the HTTP response:
        ``async with contextlib.aclosing(ring.chat_stream(request)) as chunks`` closes it the
        moment you stop reading, rather than when the generator is finalized.
        """
        refs = self.resolve(request.model, profile)
        spec = output_spec(request.response_format)  # a malformed one raises here

        # Plain functions that build what is awaited: thousands of streams wait in here, and
        # a frame of their own would be held by each.
        def open_first(
            deadlines: CallDeadlines,
        ) -> tuple[Awaitable[_engine.OpenedStream], AttemptLog]:
            send = functools.partial(self._open_attempt, request, deadlines)
            return self._first_to_answer(request, refs, profile, deadlines, send, discard=_close)

        # No structured output: no extra layer on the hot path.
        chunks = _engine.stream(open_first, functools.partial(self._deadlines, request))
        return chunks if spec is None else structured_stream(chunks, spec)

    def _open_attempt(
        self,
        request: LLMRequest,
        deadlines: CallDeadlines,
        provider: Provider,
        ref: ModelRef,
        attempt: int,
    ) -> Awaitable[_engine.OpenedStream]:
        return _engine.open_attempt(
            self._client,
            provider,
            request,
            ref,
            deadlines,
            max_event_bytes=self._max_event_bytes,
            observer=self._observer,
            attempt=attempt,
        )

    def _first_to_answer(
        self,
        request: LLMRequest,
        refs: list[ModelRef],
        profile: str | None,
        deadlines: CallDeadlines,
        send: Callable[[Provider, ModelRef, int], Awaitable[T]],
        *,
        discard: Callable[[T], Awaitable[None]] | None = None,
    ) -> tuple[Awaitable[T], AttemptLog]:
        """What ``send`` gives for the first model of ``refs`` that answers, each model with
        its retries (``_attempts``), in order or hedged (``fallback``), to await; and the log
        of the attempts it makes.
        """
        policy = self._policy(request)
        log = AttemptLog()

        def start(ref: ModelRef) -> Awaitable[T]:  # no frame of its own while it waits
            provider = self.provider(ref.provider)
            return with_retries(
                ref,
                functools.partial(send, provider, ref),  # send(provider, ref, attempt)
                policy,
                deadlines,
                log,
                self._observer,
            )

        answer = first_to_answer(
            request.model,
            refs,
            start,
            log,
            hedge_after=self._hedge_after(request, refs, profile),
            discard=discard,
            on_fallback=self._observer.fallback,
        )
        return answer, log

    def _deadlines(self, request: LLMRequest) -> CallDeadlines:
        """The deadlines of a call starting now: the request's timeout, else the ring's."""
        per_request = request.timeout is not None
        timeout = as_timeout(request.timeout) if request.timeout is not None else self._timeout
        return CallDeadlines.start(
            timeout, per_request=per_request, client_timeout=self._client.timeout
        )

    def _policy(self, request: LLMRequest) -> RetryPolicy:
        if request.max_retries is None:
            return self._retry
        return RetryPolicy(max_retries=request.max_retries, max_wait=self._retry.max_wait)

    def _hedge_after(
        self, request: LLMRequest, refs: list[ModelRef], profile: str | None
    ) -> float | None:
        """The request's ``hedge_after``, else the alias's in the lockfile (aliases only)."""
        if request.hedge_after is not None or len(refs) < 2:
            return request.hedge_after
        return self.resolver.hedge_after(request.model, profile)

    # --- providers ---------------------------------------------------------------------

    def provider(self, name: str) -> Provider:
        """The configured provider ``name`` (``gemini`` is ``google``), created on first use."""
        name = canonical_name(name)
        if name not in self._providers:
            self._providers[name] = create_provider(
                name, api_key=self._api_keys.get(name), base_url=self._base_urls.get(name)
            )
        return self._providers[name]

    def configured_providers(self) -> dict[str, bool]:
        """Each provider name, and whether it can be called (its key is set, or none is needed)."""
        return {name: self.provider(name).is_configured for name in provider_names()}

    # --- aliases and the lockfile --------------------------------------------------------

    @property
    def resolver(self) -> Resolver:
        """The alias resolver over the lockfile (loaded on first use)."""
        if self._resolver is None:
            from llmring.config.resolver import Resolver  # lockfile support loads only when used

            self._resolver = Resolver(lockfile_path=self._lockfile_path)
        return self._resolver

    def resolve(self, model: str, profile: str | None = None) -> list[ModelRef]:
        """The models to try for ``model``, in order: itself if ``provider:model``, else the
        alias's bindings in ``profile``."""
        direct = ModelRef.direct(model)  # no lockfile is read for provider:model
        if direct is None and ":" in model:
            # Perhaps a provider the lockfile declares: reading it registers its providers.
            self.resolver.lockfile()
            direct = ModelRef.direct(model)
        return [direct] if direct is not None else self.resolver.resolve(model, profile)

    def resolve_alias(self, alias: str, profile: str | None = None) -> str:
        """The primary ``provider:model`` an alias stands for."""
        return str(self.resolve(alias, profile)[0])

    def bind_alias(self, alias: str, models: str | list[str], profile: str | None = None) -> Path:
        """Bind ``alias`` to a model or an ordered list (primary first); the file written."""
        return self.resolver.bind(alias, [models] if isinstance(models, str) else models, profile)

    def unbind_alias(self, alias: str, profile: str | None = None) -> Path:
        """Remove ``alias`` from ``profile`` in the lockfile; the file written."""
        return self.resolver.unbind(alias, profile)

    def list_aliases(self, profile: str | None = None) -> dict[str, list[str]]:
        """Every alias in ``profile`` and its models, primary first."""
        return self.resolver.list_aliases(profile)

    def init_lockfile(self, force: bool = False) -> Path:
        """Write a starter lockfile; refuses to overwrite one unless ``force``."""
        return self.resolver.init_lockfile(force=force)

    def clear_alias_cache(self) -> None:
        """Forget cached lockfile contents and resolutions."""
        self.resolver.clear_cache()


async def _close(opened: _engine.OpenedStream) -> None:
    await opened.aclose()
