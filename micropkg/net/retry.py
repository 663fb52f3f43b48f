"""Riding out a flaky network: bounded retries with backoff, and a timeout per attempt.

:class:`RetryingTransport` wraps any :class:`~._transport.Transport`. It
tries a request again when no response arrived (:class:`~micropkg.NetworkError`,
including an attempt that exceeded its timeout) or when the server answered
with a status that means "not now" (408, 429, 500, 502, 503, 504), waiting
longer each time, or as long as ``Retry-After`` asks when that is not too
long. Any other response, 404 included, is returned at once: it is an
answer, and the caller decides what it means.

When every attempt has failed it raises the last failure, saying how many
attempts were made over how long: :class:`~micropkg.HTTPStatusError` with
the last status, or :class:`~micropkg.NetworkError`. The sleep function,
the clock and the source of jitter are parameters, so tests run without
waiting::

    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    transport = RetryingTransport(inner, sleep=sleep, random=lambda: 0.5)

A timed-out attempt is cancelled; inside Pyodide, cancelling ``pyfetch``
aborts the browser's (or Node's) request through its ``AbortController``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random as _random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..errors import HTTPStatusError, NetworkError
from .transport import Request, Response, Transport, redact_url

__all__ = ["RetryPolicy", "RetryingTransport", "parse_retry_after"]

# Statuses that say the server may answer differently in a moment.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. The defaults make four attempts, waiting up to 0.25 s, 0.5 s
    and 1 s between them (jitter takes up to half off each wait)."""

    attempts: int = 4  # in all, the first one included
    backoff: float = 0.25  # seconds before the second attempt; doubles after each
    max_backoff: float = 8.0
    # A Retry-After longer than this is not waited for: the final error says what was asked.
    max_retry_after: float = 30.0
    # Seconds per attempt, body included (None: no limit). Generous, because a big
    # wheel on a slow link is not a hung server: 12 MB at 1 Mbit/s takes 96 s.
    timeout: float | None = 120.0
    jitter: float = 0.5  # each wait is shortened by up to this fraction, so clients spread out
    statuses: frozenset[int] = RETRY_STATUSES

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be at least 1, got {self.attempts!r}")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError(f"RetryPolicy.timeout must be positive or None, got {self.timeout!r}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"RetryPolicy.jitter must be within [0, 1], got {self.jitter!r}")

    def delay(self, retry: int, fraction: float) -> float:
        """Seconds to wait before retry number ``retry`` (1-based); ``fraction`` in [0, 1)."""
        full = min(self.max_backoff, self.backoff * 2 ** (retry - 1))
        return full * (1 - self.jitter * fraction)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit() alone accepts "²" and other digits
        return float(value)
    try:
        import email.utils  # only for the rare HTTP-date form; email is slow to import in Pyodide

        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None  # not a header we understand: the backoff applies instead
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive one is read as such
        return None
    return max(0.0, when.timestamp() - now)


def _status_phrase(status: int) -> str:
    import http  # only when a request failed: 6 ms of compiling in a fresh Pyodide

    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "unknown status"


class RetryingTransport(Transport):
    """A transport that retries another one; see the module docstring."""

    def __init__(
        self,
        transport: Transport,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.transport = transport
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._random = random

    async def _attempt(self, request: Request) -> Response:
        timeout = self.policy.timeout
        if timeout is None:
            return await self.transport.fetch(request)
        if self.transport.applies_timeout:
            # A timer of the event loop would outlive the request: in Pyodide a
            # cancelled call_later still holds its JS timeout, so Node stayed up
            # for the full 120 s after an install finished.
            return await self.transport.fetch(dataclasses.replace(request, timeout=timeout))
        try:
            return await asyncio.wait_for(self.transport.fetch(request), timeout)
        except asyncio.TimeoutError as exc:
            url = redact_url(request.url)
            raise NetworkError(
                f"Could not fetch {url}: no complete answer within {timeout:g} s", url=url
            ) from exc

    async def fetch(self, request: Request) -> Response:
        policy = self.policy
        started = self._clock()
        for attempt in range(1, policy.attempts + 1):
            last = attempt == policy.attempts
            try:
                response = await self._attempt(request)
            except NetworkError as exc:
                if last and attempt == 1:
                    raise
                if last:
                    raise self._gave_up_network(exc, attempt, started) from exc
                await self._sleep(policy.delay(attempt, self._random()))
                continue
            if response.status not in policy.statuses:
                return response
            asked = parse_retry_after(response.headers.get("retry-after"), self._clock())
            if asked is not None and asked > policy.max_retry_after:
                raise self._gave_up_status(
                    response, attempt, started,
                    f"; it asked to retry after {asked:g} s, longer than micropkg waits"
                    f" ({policy.max_retry_after:g} s)",
                )
            if last:
                raise self._gave_up_status(response, attempt, started, "")
            await self._sleep(asked if asked is not None else policy.delay(attempt, self._random()))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _elapsed(self, started: float) -> str:
        return f"{max(0.0, self._clock() - started):.1f} s"

    def _gave_up_status(self, response: Response, attempts: int, started: float, why: str) -> HTTPStatusError:
        url = redact_url(response.url)
        tries = "once" if attempts == 1 else f"on each of {attempts} attempts"
        return HTTPStatusError(
            f"{url} answered HTTP {response.status} ({_status_phrase(response.status)}) {tries}"
            f" over {self._elapsed(started)}{why}. The server is failing or overloaded; try again later.",
            url=url,
            status=response.status,
        )

    def _gave_up_network(self, exc: NetworkError, attempts: int, started: float) -> NetworkError:
        return NetworkError(
            f"{exc} (gave up after {attempts} attempts over {self._elapsed(started)})", url=exc.url
        )
