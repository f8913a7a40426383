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
from llmring._pool import build_client
from llmring.fallback import first_response, first_stream
from llmring.model_ref import ModelRef
from llmring.providers import canonical_name, create_provider, provider_names
from llmring.providers.base import Provider
from llmring.schemas import LLMRequest, LLMResponse, StreamChunk

if TYPE_CHECKING:
    from llmring.resolver import Resolver

__all__ = ["LLMRing"]


class LLMRing:
    """One async API over every provider.

    ``timeout`` bounds connecting and every wait for the next bytes (not the whole answer, so
    long streams are fine). Keys and base URLs come from ``api_keys`` / ``base_urls`` (keyed
    by provider name) or else the environment. ``http_client`` lets the caller share a client;
    it is then the caller's to close and its own timeout applies. ``max_connections`` sizes
    llmring's own connection pool (default 10,000 over all hosts); a request that finds every
    connection busy for ``timeout`` seconds raises ``ConnectionPoolTimeoutError``.

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
        max_connections: int | None = None,
    ) -> None:
        self._owns_client = http_client is None
        self._client = http_client or build_client(timeout=timeout, max_connections=max_connections)
        self._api_keys = {canonical_name(k): v for k, v in (api_keys or {}).items()}
        self._base_urls = {canonical_name(k): v for k, v in (base_urls or {}).items()}
        self._providers: dict[str, Provider] = {}
        self._lockfile_path = lockfile_path
        self._resolver: Resolver | None = None

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
            )

        return await first_response(request.model, self.resolve(request.model, profile), send)

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

        def start(ref: ModelRef) -> AsyncGenerator[StreamChunk, None]:
            return _engine.stream(
                self._client,
                self.provider(ref.provider),
                request,
                ref,
                http_timeout=request.timeout,
            )

        if len(refs) == 1:  # nothing to fall back to: no extra layer on the hot path
            return start(refs[0])
        return first_stream(request.model, refs, start)

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
            from llmring.resolver import Resolver  # lockfile support loads only when used

            self._resolver = Resolver(lockfile_path=self._lockfile_path)
        return self._resolver

    def resolve(self, model: str, profile: str | None = None) -> list[ModelRef]:
        """The models to try for ``model``, in order: itself if ``provider:model``, else the
        alias's bindings in ``profile``."""
        direct = ModelRef.direct(model)  # no lockfile is read for provider:model
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
