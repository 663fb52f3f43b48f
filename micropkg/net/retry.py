"""Riding out a flaky network: bounded retries with backoff, a timeout, a time budget.

:class:`RetryingTransport` wraps any :class:`~._transport.Transport`. It
tries a request again when no response arrived (:class:`~micropkg.NetworkError`,
including an attempt that timed out) or when the server answered
with a status that means "not now" (408, 429, 500, 502, 503, 504), waiting
longer each time, or as long as ``Retry-After`` asks when that is not too
long. Any other response, 404 included, is returned at once: it is an
answer, and the caller decides what it means.

Waiting is bounded for a person at a page, not for a batch job:

* an attempt times out when no bytes of the answer arrive for ``timeout``
  seconds (15 by default, pip's read timeout; its headers, then each piece of
  its body), so a slow but steady download of a big wheel goes on;
* a server that timed out twice is taken for dead (``timeout_attempts``): one
  that accepts the connection and never answers costs 2 x 15 s plus a
  quarter of a second, not four attempts of minutes;
* ``budget`` seconds (an install's, from its first request) bound everything:
  no attempt runs and no retry waits past it.

Before each retry ``on_retry(url, attempt, delay, reason)`` hears of it (the
install's :meth:`~micropkg.Reporter.retrying`), so a page can say "retrying
... in 2 s" instead of looking stuck.

When every attempt has failed it raises the last failure, saying how many
attempts were made over how long: :class:`~micropkg.HTTPStatusError` with
the last status, or :class:`~micropkg.NetworkError`. The sleep function,
the clock and the source of jitter are parameters, so tests run without
waiting::

    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    transport = RetryingTransport(inner, sleep=sleep, random=lambda: 0.5)

A timed-out attempt is cancelled; inside Pyodide, the request is aborted
through its ``AbortController`` (see :mod:`micropkg.runtime.fetch`).
"""

from __future__ import annotations

import asyncio
import random as _random
import time
from collections.abc import Awaitable, Callable

from ..errors import HTTPStatusError, NetworkError
from ..value import Value
from .transport import Request, Response, Transport, redact_url

__all__ = ["DEFAULT_BUDGET", "DEFAULT_TIMEOUT", "RetryPolicy", "RetryingTransport", "parse_retry_after", "timed_out"]

# Seconds without a byte of an answer before an attempt is given up: pip's read timeout
# (uv's is 30 s). A person at a page has reloaded long before the old 120 s.
DEFAULT_TIMEOUT = 15.0
# Seconds an install may spend on the network in all, retries included: 5 minutes is
# some 100 MB at 3 Mbit/s, more than any page should make a person wait for.
DEFAULT_BUDGET = 300.0

# Statuses that say the server may answer differently in a moment.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class RetryPolicy(Value):
    """How hard to try. The defaults make four attempts, waiting up to 0.25 s, 0.5 s
    and 1 s between them (jitter takes up to half off each wait), of which two may
    time out: a dead server gives its :class:`~micropkg.NetworkError` after about 30 s.
    Immutable by convention."""

    __slots__ = ("attempts", "backoff", "max_backoff", "max_retry_after", "timeout", "timeout_attempts", "jitter", "statuses")

    def __init__(
        self,
        attempts: int = 4,  # in all, the first one included
        backoff: float = 0.25,  # seconds before the second attempt; doubles after each
        max_backoff: float = 8.0,
        # A Retry-After longer than this is not waited for: the final error says what was asked.
        max_retry_after: float = 30.0,
        # Seconds without any bytes of the answer (None: no limit). Not for the whole answer:
        # a big wheel on a slow link is not a hung server (12 MB at 1 Mbit/s takes 96 s).
        timeout: float | None = DEFAULT_TIMEOUT,
        # Attempts that may time out: a server silent that long twice is taken for dead.
        timeout_attempts: int = 2,
        jitter: float = 0.5,  # each wait is shortened by up to this fraction, so clients spread out
        statuses: frozenset[int] = RETRY_STATUSES,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be at least 1, got {attempts!r}")
        if timeout_attempts < 1:
            raise ValueError(f"RetryPolicy.timeout_attempts must be at least 1, got {timeout_attempts!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"RetryPolicy.timeout must be positive or None, got {timeout!r}")
        if not 0 <= jitter <= 1:
            raise ValueError(f"RetryPolicy.jitter must be within [0, 1], got {jitter!r}")
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.timeout = timeout
        self.timeout_attempts = timeout_attempts
        self.jitter = jitter
        self.statuses = statuses

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


def timed_out(url: str, message: str) -> NetworkError:
    """The error of a request that got no (more) answer in time: ``message`` says why."""
    shown = redact_url(url)
    return NetworkError(f"Could not fetch {shown}: {message}", url=shown, timed_out=True)


RetryHook = Callable[[str, int, float, str], object]


class RetryingTransport(Transport):
    """A transport that retries another one; see the module docstring.

    ``budget`` (seconds, None for no limit) starts counting at the first request; ``on_retry``
    is called as ``on_retry(url, attempt, delay, reason)`` before each retry,
    ``attempt`` being the number of the attempt about to be made (2 for the first retry).
    """

    def __init__(
        self,
        transport: Transport,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        random: Callable[[], float] = _random.random,
        budget: float | None = None,
        on_retry: RetryHook | None = None,
    ) -> None:
        if budget is not None and not budget > 0:
            raise ValueError(f"the time budget must be positive seconds or None, got {budget!r}")
        self.transport = transport
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._random = random
        self.budget = budget
        self._deadline: float | None = None  # set by the first request
        self._on_retry = on_retry

    def _remaining(self) -> float | None:
        if self.budget is None:
            return None
        if self._deadline is None:
            self._deadline = self._clock() + self.budget
        return self._deadline - self._clock()

    async def _attempt(self, request: Request, remaining: float | None) -> Response:
        timeout = self.policy.timeout
        if timeout is None and remaining is None:
            return await self.transport.fetch(request)
        if self.transport.applies_timeout:
            # A timer of the event loop would outlive the request: in Pyodide a
            # cancelled call_later still holds its JS timeout, so Node stayed up
            # for the full timeout after an install finished.
            return await self.transport.fetch(request.timed(timeout, remaining))
        # Others are timed as a whole, within the smaller of the two.
        limit = min(t for t in (timeout, remaining) if t is not None)
        try:
            return await asyncio.wait_for(self.transport.fetch(request), limit)
        except TimeoutError as exc:
            raise timed_out(request.url, f"no complete answer within {limit:g} s") from exc

    async def fetch(self, request: Request) -> Response:
        policy = self.policy
        started = self._clock()
        timeouts = 0
        for attempt in range(1, policy.attempts + 1):
            last = attempt == policy.attempts
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                raise self._out_of_time(request.url, attempt - 1, started)
            try:
                response = await self._attempt(request, remaining)
            except NetworkError as exc:
                if self._deadline is not None and self._clock() >= self._deadline:
                    raise self._out_of_time(request.url, attempt, started) from exc
                timeouts += exc.timed_out
                last = last or timeouts >= policy.timeout_attempts
                if last and attempt == 1:
                    raise
                if last:
                    raise self._gave_up_network(exc, attempt, started) from exc
                await self._retry(request.url, attempt, policy.delay(attempt, self._random()), _reason(exc), started)
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
            delay = asked if asked is not None else policy.delay(attempt, self._random())
            reason = f"HTTP {response.status} ({_status_phrase(response.status)})"
            await self._retry(request.url, attempt, delay, reason, started)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _retry(self, url: str, attempt: int, delay: float, reason: str, started: float) -> None:
        """Wait ``delay`` before attempt ``attempt + 1``, unless that would cross the budget."""
        remaining = self._remaining()
        if remaining is not None and delay >= remaining:
            raise self._out_of_time(url, attempt, started, f" (the next attempt was due in {delay:g} s)")
        if self._on_retry is not None:
            self._on_retry(redact_url(url), attempt + 1, delay, reason)
        await self._sleep(delay)

    def _elapsed(self, started: float) -> str:
        return f"{max(0.0, self._clock() - started):.1f} s"

    def _out_of_time(self, url: str, attempts: int, started: float, why: str = "") -> NetworkError:
        tries = "before its first attempt" if attempts == 0 else f"after {attempts} attempt(s) over {self._elapsed(started)}"
        return timed_out(
            url,
            f"the install's time budget of {self.budget:g} s ran out {tries}{why}. Pass a larger"
            " time_budget= (or None) to wait longer, on a slow network.",
        )

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
        hint = ""
        if exc.timed_out:
            hint = (
                ". The server accepts connections but does not answer: it is down or overloaded, or"
                " the URL is wrong. On a slow network, pass a larger timeout= (seconds)"
            )
        return NetworkError(
            f"{exc} (gave up after {attempts} attempts over {self._elapsed(started)}){hint}",
            url=exc.url, timed_out=exc.timed_out,
        )


def _reason(exc: NetworkError) -> str:
    """What went wrong, for a retry notice: the error's message without its "Could not fetch URL: "."""
    return str(exc).removeprefix(f"Could not fetch {exc.url}: ")
