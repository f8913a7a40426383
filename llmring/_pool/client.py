"""``PoolClient``: the ``httpx.AsyncClient`` an ``LLMRing`` owns.

A streamed request with nothing for httpx's client layer to do (no auth, no event hooks, no
redirect to follow: llmring's own client has none of them) goes straight to the transport
that httpx picked for its URL (the pool, or a proxy's transport from the environment). That
layer is four nested calls, an auth generator and a wrapper around the body's iterator: about
2.6 KB per stream while it waits for its response head, when thousands wait at once, and one
more generator for every read of a body. A 2xx response is not tied to its request (see
``send``). Everything else (building requests, timeouts, proxies, non-streamed requests) is
httpx's as before. Cookies a server sets are not kept: an API client has no use for them.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["PoolClient"]


class PoolClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` whose plain streamed requests skip the client layer.

    httpx's default ``Accept: */*`` and ``Connection: keep-alive`` headers are not sent: the
    first says nothing, the second is HTTP/1.1's default; each was kept per waiting request.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name in ("Accept", "Connection"):
            self.headers.pop(name, None)

    async def send(  # same parameters as httpx, passed on unchanged
        self, request: httpx.Request, *, stream: bool = False, **kwargs: object
    ) -> httpx.Response:
        if not stream or kwargs or self.auth is not None or self._has_hooks():
            return await super().send(request, stream=stream, **kwargs)  # type: ignore[arg-type]
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        response = await self._transport_for_url(request.url).handle_async_request(request)
        if not response.is_success:  # its error names the URL
            response.request = request
        # A streamed answer is not tied to its request: the request, its whole JSON body
        # included (a long conversation), is garbage once the head is in, rather than held
        # for as long as the stream runs.
        return response

    def _has_hooks(self) -> bool:
        hooks = self.event_hooks
        return bool(hooks["request"] or hooks["response"])
