"""The only module that touches the network: send a call, map every failure to a typed error.

Status codes become exception classes in one place (``exceptions.error_class_for_status``);
providers contribute only what their error bodies say (``Provider.error_info``). Lower-layer
httpx errors are re-raised ``from`` the original, the way httpx maps httpcore's. Headers are
never put into a message: they hold the keys.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx

from llmring.exceptions import (
    ConnectionPoolTimeoutError,
    ProviderConnectionError,
    ProviderError,
    ProviderRateLimitError,
    ProviderResponseError,
    ProviderTimeoutError,
    error_class_for_status,
)
from llmring.providers.base import ErrorInfo, HTTPCall, Provider

__all__ = ["error_from_response", "map_transport_errors", "open_stream", "post"]

_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-goog-request-id", "cf-ray")
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


@contextmanager
def map_transport_errors(provider: str, model: str) -> Iterator[None]:
    """Turn httpx's transport failures into llmring's typed errors."""
    try:
        yield
    except httpx.PoolTimeout as exc:  # a wait in our own pool: nothing reached the provider
        size = getattr(exc, "max_connections", None)
        raise ConnectionPoolTimeoutError(
            f"{provider}:{model}: {exc}"
            if size
            else f"{provider}:{model}: no free connection "
            "in the HTTP client's pool within the pool timeout",
            provider=provider,
            max_connections=size,
        ) from exc
    except httpx.TimeoutException as exc:
        phase = type(exc).__name__.removesuffix("Timeout").lower() or "request"
        raise ProviderTimeoutError(
            f"timed out ({phase}) waiting for the provider", provider=provider, model=model
        ) from exc
    except httpx.DecodingError as exc:
        raise ProviderResponseError(
            f"the response body could not be decoded: {exc}", provider=provider, model=model
        ) from exc
    except httpx.TransportError as exc:
        raise ProviderConnectionError(
            f"connection failed: {type(exc).__name__}: {exc}".rstrip(": "),
            provider=provider,
            model=model,
        ) from exc


def _request(client: httpx.AsyncClient, call: HTTPCall, timeout: float | None) -> httpx.Request:
    return client.build_request(
        "POST",
        call.url,
        json=call.body,
        headers=call.headers,
        timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else httpx.Timeout(timeout),
    )


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient,
    call: HTTPCall,
    provider: Provider,
    model: str,
    *,
    http_timeout: float | None = None,
) -> AsyncIterator[httpx.Response]:
    """Send ``call`` and hold the streaming response open; it is closed on exit, always.

    A non-2xx answer is read whole and raised as its typed error before anything is yielded.
    """
    with map_transport_errors(provider.name, model):
        response = await client.send(_request(client, call, http_timeout), stream=True)
    try:
        if response.is_error:
            with map_transport_errors(provider.name, model):
                body = await response.aread()
            raise error_from_response(provider, model, response, body)
        yield response
    finally:
        await response.aclose()


async def post(
    client: httpx.AsyncClient,
    call: HTTPCall,
    provider: Provider,
    model: str,
    *,
    http_timeout: float | None = None,
) -> bytes:
    """Send ``call`` and return the whole body of a 2xx answer."""
    async with open_stream(client, call, provider, model, http_timeout=http_timeout) as response:
        with map_transport_errors(provider.name, model):
            return await response.aread()


def error_from_response(
    provider: Provider, model: str, response: httpx.Response, body: bytes
) -> ProviderError:
    """The typed error for a non-2xx response, with the provider's own message."""
    try:
        info = provider.error_info(body)
    except Exception:  # error_info must not raise; a broken one must not hide the status
        info = ErrorInfo()
    status = response.status_code
    cls = info.error_class or error_class_for_status(status)
    message = info.message or describe_body(body, response.headers.get("content-type", ""))
    if info.error_type:
        message = f"{message} [{info.error_type}]"
    common = {
        "provider": provider.name,
        "model": model,
        "status_code": status,
        "body_excerpt": body[:500].decode("utf-8", "replace"),
        "request_id": next(
            (response.headers[name] for name in _REQUEST_ID_HEADERS if name in response.headers),
            None,
        ),
    }
    if issubclass(cls, ProviderRateLimitError):
        retry_after = parse_retry_after(response.headers)
        return cls(
            message,
            retry_after=info.retry_after if retry_after is None else retry_after,
            **common,
        )
    return cls(message, **common)  # type: ignore[arg-type]


def describe_body(body: bytes, content_type: str) -> str:
    """A one-line account of an error body no provider parser understood."""
    if not body.strip():
        return "the provider sent an empty error body"
    if "html" in content_type or body.lstrip()[:1] == b"<":
        # A proxy or gateway answered instead of the provider (502 pages, captive portals).
        match = _TITLE.search(body)
        text = match.group(1).decode("utf-8", "replace") if match else ""
        if not text:
            text = _TAGS.sub(" ", body[:2000].decode("utf-8", "replace"))
        return f"the server answered with an HTML page: {_SPACES.sub(' ', text).strip()[:200]}"
    return _SPACES.sub(" ", body[:300].decode("utf-8", "replace")).strip()


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``retry-after`` (seconds or an HTTP date)."""
    if (millis := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
