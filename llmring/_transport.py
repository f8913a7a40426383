"""The only module that touches the network: send a call, map every failure to a typed error.

Status codes become exception classes in one place (``exceptions.error_class_for_status``);
providers contribute only what their error bodies say (``Provider.error_info``). Lower-layer
httpx errors are re-raised ``from`` the original, the way httpx maps httpcore's. Headers are
never put into a message: they hold the keys.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx

from llmring._version import USER_AGENT
from llmring.exceptions import (
    ConnectionPoolTimeoutError,
    ModelNotFoundError,
    ProviderConfigurationError,
    ProviderConnectionError,
    ProviderError,
    ProviderResponseError,
    ProviderTimeoutError,
    error_class_for_status,
)
from llmring.providers.base import ErrorInfo, HTTPCall, Provider
from llmring.timeouts import TimeoutPhase

__all__ = ["error_from_response", "map_transport_errors", "open_stream", "post"]

_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-goog-request-id", "cf-ray")
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")
# httpx's timeout names -> the phase of ``llmring.Timeout`` that set that limit.
_TIMEOUT_PHASES: dict[str, TimeoutPhase] = {"connect": "connect", "read": "idle", "write": "idle"}


@contextmanager
def map_transport_errors(
    provider: str, model: str, request: httpx.Request | None = None
) -> Iterator[None]:
    """Turn httpx's transport failures into llmring's typed errors. With ``request``, the
    httpx error (the cause) is given it first, as httpx's own body iterators do."""
    try:
        try:
            yield
        except httpx.RequestError as exc:
            if request is not None:
                exc.request = request
            raise
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
        what = type(exc).__name__.removesuffix("Timeout").lower() or "request"
        error = ProviderTimeoutError(
            f"timed out ({what}) waiting for the provider",
            provider=provider,
            model=model,
            phase=_TIMEOUT_PHASES.get(what),
        )
        if isinstance(exc, httpx.PoolTimeout):
            error.should_retry = False  # every connection is busy: asking again adds load
        raise error from exc
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


def _request(
    client: httpx.AsyncClient, call: HTTPCall, timeout: httpx.Timeout | float | None
) -> httpx.Request:
    return client.build_request(
        "POST",
        call.url,
        json=call.body,
        headers={"User-Agent": USER_AGENT, **call.headers},
        timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else httpx.Timeout(timeout),
    )


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient,
    call: HTTPCall,
    provider: Provider,
    model: str,
    *,
    http_timeout: httpx.Timeout | float | None = None,
) -> AsyncIterator[httpx.Response]:
    """Send ``call`` and hold the streaming response open; it is closed on exit, always.

    A non-2xx answer is read whole and raised as its typed error before anything is yielded;
    redirects are not followed, so a 3xx is an error too. If its body then stalls or breaks,
    the status's error is raised all the same, with the transport failure as its cause.
    """
    with map_transport_errors(provider.name, model):
        response = await client.send(_request(client, call, http_timeout), stream=True)
    try:
        if not response.is_success:
            try:
                with map_transport_errors(provider.name, model):
                    body = await response.aread()
            except ProviderError as unread:
                note = f"the error body could not be read: {unread.message}"
                raise error_from_response(provider, model, response, b"", note=note) from unread
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
    http_timeout: httpx.Timeout | float | None = None,
) -> bytes:
    """Send ``call`` and return the whole body of a 2xx answer."""
    async with open_stream(client, call, provider, model, http_timeout=http_timeout) as response:
        with map_transport_errors(provider.name, model):
            return await response.aread()


def error_from_response(
    provider: Provider,
    model: str,
    response: httpx.Response,
    body: bytes,
    *,
    note: str | None = None,
) -> ProviderError:
    """The typed error for a non-2xx response, with the provider's own message.

    ``note`` stands in for the description of a body that could not be read.
    """
    try:
        info = provider.error_info(body)
    except Exception:  # error_info must not raise; a broken one must not hide the status
        info = ErrorInfo()
    status = response.status_code
    cls = info.error_class or error_class_for_status(status)
    if 300 <= status < 400:
        location = response.headers.get("location")
        where = f"redirected to {location}" if location else "redirected, with no Location"
        message = f"{where} (llmring does not follow redirects: check the base URL)"
    else:
        message = (
            info.message or note or describe_body(body, response.headers.get("content-type", ""))
        )
    if info.error_type:
        message = f"{message} [{info.error_type}]"
    if cls is ModelNotFoundError and not _names_a_model(info, body, model):
        cls = ProviderConfigurationError
        message = (
            f"{response.request.url.copy_with(query=None)} answered 404, and not with "
            f"{provider.name}'s model-not-found error: is the base URL right "
            f"({provider.base_url_env}={provider.base_url})? The server said: {message}"
        )
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
    error = cls(message, **common)  # type: ignore[arg-type]
    retry_after = parse_retry_after(response.headers)
    error.retry_after = info.retry_after if retry_after is None else retry_after
    error.should_retry = _should_retry(response.headers)
    return error


def _should_retry(headers: httpx.Headers) -> bool | None:
    """The server's own verdict (``x-should-retry: true|false``), which the status rule obeys."""
    match headers.get("x-should-retry", "").strip().lower():
        case "true":
            return True
        case "false":
            return False
        case _:
            return None


def _names_a_model(info: ErrorInfo, body: bytes, model: str) -> bool:
    """Whether a 404 is the provider saying the model is unknown, rather than a path nobody
    serves. Providers and compatible servers word it differently, but all in JSON that says
    "model" or names the model ("The model `x` does not exist", "model 'x' not found",
    "models/x is not found", OpenRouter's "No endpoints found for x"); a wrong URL gets an HTML
    page, a bare "404 page not found", ``{"detail": "Not Found"}`` or OpenAI's "Invalid URL
    (POST /chat/completions)"."""
    if info.error_class is ModelNotFoundError:
        return True
    if info.message is not None:
        text = info.message.lower()
    elif body.lstrip()[:1] == b"{":
        text = body.decode("utf-8", "replace").lower()
    else:
        return False
    return "model" in text or (bool(model) and model.lower() in text)


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


#: A wait longer than this is no advice anyone would follow: the header is treated as absent.
MAX_RETRY_AFTER = 86400.0


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``retry-after`` (seconds or an HTTP date).

    A value that is not finite or exceeds a day (``nan``, ``inf``, ``1e400``, a date years
    away) is treated as absent; a negative value or a past date means "now", 0.
    """
    if (millis := headers.get("retry-after-ms")) is not None:
        try:
            if (wait := _sane_wait(float(millis) / 1000)) is not None:
                return wait
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return _sane_wait(float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return _sane_wait(when.timestamp() - time.time())


def _sane_wait(seconds: float) -> float | None:
    if not math.isfinite(seconds) or seconds > MAX_RETRY_AFTER:
        return None
    return max(seconds, 0.0)
