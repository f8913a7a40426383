"""The only module that touches the network: send a call, map every failure to a typed error.

Status codes become exception classes in one place (``exceptions.error_class_for_status``);
providers contribute only what their error bodies say (``Provider.error_info``). Lower-layer
httpx errors are re-raised ``from`` the original, the way httpx maps httpcore's. Headers are
never put into a message: they hold the keys.
"""

from __future__ import annotations

import email.utils
import functools
import math
import re
import ssl
import time

import httpx

from llmring._body import read_at_most
from llmring._version import USER_AGENT
from llmring.exceptions import (
    ConnectionPoolTimeoutError,
    ModelNotFoundError,
    ProviderConfigurationError,
    ProviderConnectionError,
    ProviderError,
    ProviderResponseError,
    ProviderTimeoutError,
    ResponseTooLargeError,
    error_class_for_status,
)
from llmring.providers.base import ErrorInfo, HTTPCall, Provider
from llmring.timeouts import TimeoutPhase

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_ERROR_BODY_BYTES",
    "build_request",
    "error_from_response",
    "map_transport_errors",
    "open_stream",
    "post",
]

#: The bound of a whole non-streamed answer (``LLMRing(max_response_bytes=...)``): room for
#: several inline images, far below what would exhaust a service's memory.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: How much of an error body is read. Providers' error objects are well under 10 KB, and a
#: proxy's HTML page is described by its title: the rest of a longer body is left unread.
MAX_ERROR_BODY_BYTES = 1024 * 1024
#: How much of a body an error shows (``body_excerpt``).
_EXCERPT = 500

_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-goog-request-id", "cf-ray")
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")
# httpx's timeout names -> the phase of ``llmring.Timeout`` that set that limit.
_TIMEOUT_PHASES: dict[str, TimeoutPhase] = {"connect": "connect", "read": "idle", "write": "idle"}


class map_transport_errors:
    """Turns httpx's transport failures into llmring's typed errors (a context manager).

    With ``url`` (a body read straight off its stream, where no httpx iterator attaches the
    request), the httpx error, which becomes the cause, is given a request for that URL,
    made only then: an open stream holds its URL, not its request and the request's body.

    A class, not a ``@contextmanager``: no generator per use, and one is open around every
    stream's reads, thousands at once.
    """

    __slots__ = ("model", "provider", "url")

    def __init__(self, provider: str, model: str, url: str | None = None) -> None:
        self.provider = provider
        self.model = model
        self.url = url

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if isinstance(exc, _MAPPED):
            if self.url is not None and getattr(exc, "_request", None) is None:
                exc.request = httpx.Request("POST", self.url)  # every llmring call is a POST
            raise _typed_transport_error(exc, self.provider, self.model) from exc


_MAPPED = (httpx.TransportError, httpx.DecodingError)


def _typed_transport_error(
    exc: httpx.RequestError, provider: str, model: str
) -> ProviderError | ConnectionPoolTimeoutError:
    if isinstance(exc, httpx.PoolTimeout):  # a wait in our own pool: nothing reached the provider
        size = getattr(exc, "max_connections", None)
        return ConnectionPoolTimeoutError(
            f"{provider}:{model}: {exc}"
            if size
            else f"{provider}:{model}: no free connection "
            "in the HTTP client's pool within the pool timeout",
            provider=provider,
            max_connections=size,
        )
    if isinstance(exc, httpx.TimeoutException):
        what = type(exc).__name__.removesuffix("Timeout").lower() or "request"
        return ProviderTimeoutError(
            f"timed out ({what}) waiting for the provider",
            provider=provider,
            model=model,
            phase=_TIMEOUT_PHASES.get(what),
        )
    if isinstance(exc, httpx.DecodingError):
        return ProviderResponseError(
            f"the response body could not be decoded: {exc}", provider=provider, model=model
        )
    error = ProviderConnectionError(
        f"connection failed: {type(exc).__name__}: {exc}".rstrip(": "),
        provider=provider,
        model=model,
    )
    if _caused_by(exc, ssl.SSLCertVerificationError):
        error.should_retry = False  # the same certificate fails the same way: ask once
    return error


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``kind`` is anywhere in ``exc``'s chain of causes."""
    seen: BaseException | None = exc
    for _ in range(16):  # chains are short; a cycle must not loop forever
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@functools.lru_cache(maxsize=256)
def _parsed_url(url: str) -> httpx.URL:
    """A provider's endpoint, parsed once (an ``httpx.URL`` is immutable): parsing it anew for
    every request cost a few hundred bytes per stream and the time to parse."""
    return httpx.URL(url)


def build_request(
    client: httpx.AsyncClient, call: HTTPCall, timeout: httpx.Timeout | float | None
) -> httpx.Request:
    """``call`` as an httpx request (its body encoded to JSON), with httpx's ``timeout``."""
    return client.build_request(
        "POST",
        _parsed_url(call.url),
        json=call.body,
        headers={"User-Agent": USER_AGENT, **call.headers},
        timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else httpx.Timeout(timeout),
    )


async def open_stream(
    client: httpx.AsyncClient, request: httpx.Request, provider: Provider, model: str
) -> httpx.Response:
    """Send ``request``; the 2xx response, its body still to read: the caller closes it.

    A non-2xx answer is raised as its typed error, its body read up to
    ``MAX_ERROR_BODY_BYTES`` (the rest is left unread and the connection closed); redirects
    are not followed, so a 3xx is an error too. If its body then stalls or breaks, the
    status's error is raised all the same, with the transport failure as its cause.
    """
    with map_transport_errors(provider.name, model):
        response = await client.send(request, stream=True)
    if response.is_success:
        return response
    try:
        with map_transport_errors(provider.name, model):
            body, whole = await read_at_most(response, MAX_ERROR_BODY_BYTES)
    except ProviderError as unread:
        note = f"the error body could not be read: {unread.message}"
        raise error_from_response(provider, model, response, b"", note=note) from unread
    finally:
        await response.aclose()
    cut_at = None if whole else MAX_ERROR_BODY_BYTES
    raise error_from_response(provider, model, response, body, cut_at=cut_at)


async def post(
    client: httpx.AsyncClient,
    call: HTTPCall,
    provider: Provider,
    model: str,
    *,
    http_timeout: httpx.Timeout | float | None = None,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> bytes:
    """Send ``call`` and return the whole body of a 2xx answer.

    A body over ``max_bytes`` (after content decoding) raises ``ResponseTooLargeError``:
    unread if its ``Content-Length`` says so, else as soon as it crosses the bound; the
    connection is closed, not reused.
    """
    request = build_request(client, call, http_timeout)
    response = await open_stream(client, request, provider, model)
    try:
        declared = response.headers.get("content-length", "")
        encoded = response.headers.get("content-encoding", "identity") != "identity"
        if not encoded and declared.isdigit() and int(declared) > max_bytes:
            body, whole = b"", False
        else:
            with map_transport_errors(provider.name, model):
                body, whole = await read_at_most(response, max_bytes, keep=_EXCERPT)
        if not whole:
            raise ResponseTooLargeError(
                f"the response body is over {max_bytes} bytes; refused (raise "
                "LLMRing(max_response_bytes=...) if the provider really sends answers that large)",
                limit=max_bytes,
                provider=provider.name,
                model=model,
                status_code=response.status_code,
                body_excerpt=body.decode("utf-8", "replace"),
            )
        return body
    finally:
        await response.aclose()


def error_from_response(
    provider: Provider,
    model: str,
    response: httpx.Response,
    body: bytes,
    *,
    note: str | None = None,
    cut_at: int | None = None,
) -> ProviderError:
    """The typed error for a non-2xx response, with the provider's own message.

    ``note`` stands in for the description of a body that could not be read; ``cut_at``
    says ``body`` is only the first that many bytes of a longer one.
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
    if cut_at is not None:
        message = f"{message} (the error body was cut at {cut_at} bytes, the rest unread)"
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
