"""``LLMRing``: the facade an application holds. Resolve the name, fall back, run the engine.

It owns one pooled ``httpx.AsyncClient`` (or borrows the caller's), one configured instance
per provider, and the alias resolver. Everything else lives in the modules it calls.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

import httpx

from llmring import _engine
from llmring._cassette_hook import wrap_transport
from llmring._observe import Observer
from llmring._wire import DEFAULT_MAX_EVENT_BYTES
from llmring.events import EventHook
from llmring.fallback import first_response, first_stream
from llmring.model_ref import ModelRef
from llmring.providers import canonical_name, create_provider, provider_names, register_provider
from llmring.providers.base import Provider
from llmring.providers.presets import ProviderSettings
from llmring.schemas import LLMRequest, LLMResponse, StreamChunk
from llmring.structured import apply_spec, output_spec, structured_stream

if TYPE_CHECKING:
    from llmring.config.resolver import Resolver

__all__ = ["LLMRing"]

_POOL = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)


class LLMRing:
    """One async API over every provider.

    ``timeout`` bounds connecting and every wait for the next bytes (not the whole answer, so
    long streams are fine). Keys and base URLs come from ``api_keys`` / ``base_urls`` (keyed
    by provider name) or else the environment. ``http_client`` lets the caller share a client;
    it is then the caller's to close and its own timeout applies. ``max_event_bytes`` bounds
    one line or event of a stream (after decompression); a bigger one raises
    ``ProviderResponseError`` at once instead of buffering without end.

    ``providers`` declares named OpenAI-compatible (or Anthropic-compatible, Ollama) servers:
    ``{"mybox": {"kind": "openai", "base_url": "http://gpu1:8000/v1", "api_key_env":
    "MYBOX_KEY"}}`` (a ``ProviderSettings`` or its fields), usable as ``mybox:<model>``.
    ``on_event`` receives a typed event (``llmring.events``) as each call starts, gets its
    first chunk, retries, falls back, finishes or fails.

    Use as ``async with LLMRing() as ring:``, or call ``await ring.close()``.
    """

    def __init__(
        self,
        *,
        timeout: float = 60.0,
        http_client: httpx.AsyncClient | None = None,
        api_keys: Mapping[str, str] | None = None,
        base_urls: Mapping[str, str] | None = None,
        lockfile_path: str | Path | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        providers: Mapping[str, ProviderSettings | Mapping[str, object]] | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        if max_event_bytes < 1:
            raise ValueError(
                f"max_event_bytes must be a positive number of bytes, not {max_event_bytes}"
            )
        self._max_event_bytes = max_event_bytes
        self._api_keys = {canonical_name(k): v for k, v in (api_keys or {}).items()}
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), limits=_POOL, transport=self._cassette_transport()
        )
        for name, settings in (providers or {}).items():
            register_provider(name, ProviderSettings.model_validate(settings))
        self._observer = Observer(on_event)
        self._base_urls = {canonical_name(k): v for k, v in (base_urls or {}).items()}
        self._providers: dict[str, Provider] = {}
        self._lockfile_path = lockfile_path
        self._resolver: Resolver | None = None

    def _cassette_transport(self) -> httpx.AsyncBaseTransport | None:
        """Inside ``llmring.testing.cassette(...)``: the pooled transport wrapped to record to
        or replay from it. Otherwise None: httpx's own transport (pool limits, proxies)."""
        return wrap_transport(
            lambda: httpx.AsyncHTTPTransport(limits=_POOL), self._api_keys.values()
        )

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
        """The whole response, from the non-streaming endpoint of the first model that answers."""

        async def send(ref: ModelRef) -> LLMResponse:
            return await _engine.complete(
                self._client,
                self.provider(ref.provider),
                request,
                ref,
                http_timeout=request.timeout,
                observer=self._observer,
            )

        spec = output_spec(request.response_format)
        refs = self.resolve(request.model, profile)
        response = await first_response(
            request.model, refs, send, on_fallback=self._observer.fallback
        )
        return response if spec is None else apply_spec(spec, response)

    def chat_stream(
        self, request: LLMRequest, profile: str | None = None
    ) -> AsyncGenerator[StreamChunk, None]:
        """Chunks as the model produces them; the last one has finish reason and usage.

        The model name is resolved at once (an unknown alias raises here); nothing is sent
        until the first chunk is asked for. Closing the generator closes the HTTP response:
        ``async with contextlib.aclosing(ring.chat_stream(request)) as chunks`` closes it the
        moment you stop reading, rather than when the generator is finalized.
        """
        refs = self.resolve(request.model, profile)
        spec = output_spec(request.response_format)  # a malformed one raises here

        def start(ref: ModelRef) -> AsyncGenerator[StreamChunk, None]:
            return _engine.stream(
                self._client,
                self.provider(ref.provider),
                request,
                ref,
                http_timeout=request.timeout,
                max_event_bytes=self._max_event_bytes,
                observer=self._observer,
            )

        # Nothing to fall back to, no structured output: no extra layer on the hot path.
        chunks = (
            start(refs[0])
            if len(refs) == 1
            else first_stream(request.model, refs, start, on_fallback=self._observer.fallback)
        )
        return chunks if spec is None else structured_stream(chunks, spec)

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
