"""The retry policy on its own: what is retried, how long is waited. Pure, no clock."""

from __future__ import annotations

import math

import pytest

from llmring.exceptions import (
    LLMRingError,
    ModelNotFoundError,
    ProviderAuthenticationError,
    ProviderBadRequestError,
    ProviderConnectionError,
    ProviderError,
    ProviderOverloadedError,
    ProviderRateLimitError,
    ProviderResponseError,
    ProviderTimeoutError,
    error_class_for_status,
)
from llmring.retry import RetryPolicy, backoff, is_retryable, retry_wait

NO_JITTER = RetryPolicy(random=lambda: 0.0)


def http_error(status: int, *, should_retry: bool | None = None) -> ProviderError:
    error = error_class_for_status(status)("failed", status_code=status)
    error.should_retry = should_retry
    return error


@pytest.mark.parametrize(
    ("status", "retried"),
    [(s, True) for s in (408, 409, 429, 500, 502, 503, 504, 529)]
    + [(s, False) for s in (400, 401, 403, 404, 413, 422, 501)],
)
def test_statuses_retried_and_never_retried(status: int, retried: bool) -> None:
    assert is_retryable(http_error(status)) is retried


@pytest.mark.parametrize("status", [400, 429, 503])
def test_x_should_retry_overrides_the_status_rule(status: int) -> None:
    assert is_retryable(http_error(status, should_retry=True)) is True
    assert is_retryable(http_error(status, should_retry=False)) is False


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (ProviderConnectionError("refused"), True),
        (ProviderOverloadedError("overloaded_error"), True),  # in-band, no status
        (ProviderRateLimitError("rate_limit_error"), True),
        (ProviderTimeoutError("t", phase="connect"), True),
        (ProviderTimeoutError("t", phase="first_token"), True),
        (ProviderTimeoutError("t", phase="idle"), True),
        (ProviderTimeoutError("t", phase="total"), False),
        (ProviderResponseError("malformed"), False),
        (ProviderAuthenticationError("no"), False),
        (ProviderBadRequestError("bad"), False),
        (ModelNotFoundError("gone"), False),
        (LLMRingError("anything new"), False),
    ],
)
def test_errors_without_a_status_are_judged_by_their_class(
    error: LLMRingError, retried: bool
) -> None:
    assert is_retryable(error) is retried


def test_a_new_error_class_is_not_retried_unless_it_says_so() -> None:
    class ConnectionPoolTimeoutError(ProviderError):
        fallback_eligible = True

    assert is_retryable(ConnectionPoolTimeoutError("pool")) is False


def test_backoff_doubles_from_half_a_second_to_eight() -> None:
    assert [backoff(n, lambda: 0.0) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 8, 8]
    assert [backoff(n, lambda: 0.999) for n in (1, 5)] == pytest.approx([0.375, 6.0], abs=0.01)


def test_the_servers_wait_comes_first() -> None:
    error = http_error(503)
    error.retry_after = 3.5
    assert retry_wait(error, 1, NO_JITTER, math.inf) == 3.5
    error.retry_after = None
    assert retry_wait(error, 2, NO_JITTER, math.inf) == 1.0


def test_a_wait_beyond_the_cap_is_raised_at_once() -> None:
    error = ProviderRateLimitError("slow down", status_code=429, retry_after=61.0)
    assert retry_wait(error, 1, NO_JITTER, math.inf) is None
    error.retry_after = 60.0
    assert retry_wait(error, 1, NO_JITTER, math.inf) == 60.0


def test_no_retry_past_max_retries_or_the_total_deadline() -> None:
    error = http_error(503)
    assert retry_wait(error, 3, NO_JITTER, math.inf) is None
    assert retry_wait(error, 1, RetryPolicy(max_retries=0), math.inf) is None
    assert retry_wait(error, 1, NO_JITTER, 0.4) is None  # 0.5 s would outlive the call
    assert retry_wait(error, 1, NO_JITTER, 0.6) == 0.5
