"""Waiting bounded for a person at a page: a read timeout, two timeouts at most, a time budget.

The numbers are checked with a fake clock: the inner transport below behaves
as :class:`~micropkg.runtime.fetch.PyfetchTransport` does (it applies the
request's ``timeout`` and ``budget`` itself), and "waits" by moving the clock.
Inside Pyodide the same is tested against a loopback server that accepts
connections and never answers (tests/runtime/test_reliability.py).
"""

from __future__ import annotations

import asyncio

import pytest

from micropkg.errors import HTTPStatusError, NetworkError
from micropkg.net.retry import (
    DEFAULT_BUDGET,
    DEFAULT_TIMEOUT,
    RetryingTransport,
    RetryPolicy,
    timed_out,
)
from micropkg.net.transport import Request, Response, Transport
from micropkg.reporter import Reporter
from micropkg.session import Session
from micropkg.ui.progress import ConsoleReporter, retrying_line

URL = "https://index.example/simple/demo/"
NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Silent(Transport):
    """A server that accepts the connection and never answers: each attempt lasts its timeout."""

    applies_timeout = True

    def __init__(self, clock: Clock, answers: list | None = None) -> None:
        self.clock = clock
        self.requests: list[Request] = []
        self.answers = answers or []

    async def fetch(self, request: Request) -> Response:
        self.requests.append(request)
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return Response(request.url, answer, {"content-type": "text/plain"}, b"")
        limits = [t for t in (request.timeout, request.budget) if t is not None]
        self.clock.now += min(limits)
        if request.budget is not None and request.budget <= (request.timeout or request.budget):
            raise timed_out(request.url, "no complete answer within the time budget")
        raise timed_out(request.url, f"no answer for {request.timeout:g} s")


def fetch(transport: Transport) -> Response:
    return asyncio.run(transport.fetch(Request(URL)))


def retrying(inner: Transport, clock: Clock, *, budget: float | None = DEFAULT_BUDGET, on_retry=None, **policy):
    return RetryingTransport(
        inner, RetryPolicy(**policy), sleep=clock.sleep, clock=clock, random=lambda: 0.0, budget=budget, on_retry=on_retry,
    )


def test_a_dead_server_gives_a_clear_network_error_within_a_minute_by_default() -> None:
    # Before: 4 attempts of 120 s each, plus backoff: about 8 minutes.
    clock = Clock()
    inner = Silent(clock)
    with pytest.raises(NetworkError) as info:
        fetch(retrying(inner, clock))
    waited = clock.now - NOW
    assert waited < 60, waited
    assert waited == pytest.approx(2 * DEFAULT_TIMEOUT + 0.25)
    assert [r.timeout for r in inner.requests] == [DEFAULT_TIMEOUT, DEFAULT_TIMEOUT]
    message = str(info.value)
    assert info.value.timed_out and info.value.url == URL
    assert f"Could not fetch {URL}: no answer for 15 s (gave up after 2 attempts over 30.2 s)" in message
    assert "does not answer" in message and "timeout=" in message


def test_failures_that_cost_no_waiting_are_still_tried_four_times() -> None:
    clock = Clock()
    refused = NetworkError(f"Could not fetch {URL}: connection refused", url=URL)
    inner = Silent(clock, [refused, refused, refused, refused])
    with pytest.raises(NetworkError, match="connection refused .gave up after 4 attempts"):
        fetch(retrying(inner, clock))
    assert len(inner.requests) == 4


def test_each_retry_is_reported_before_its_wait() -> None:
    clock = Clock()
    heard: list[tuple] = []
    inner = Silent(clock, [503, NetworkError(f"Could not fetch {URL}: connection reset", url=URL), 200])
    response = fetch(retrying(inner, clock, on_retry=lambda *args: heard.append((*args, clock.now - NOW))))
    assert response.status == 200
    assert heard == [
        (URL, 2, 0.25, "HTTP 503 (Service Unavailable)", 0.0),
        (URL, 3, 0.5, "connection reset", 0.25),
    ]


def test_retry_notices_never_show_credentials() -> None:
    clock = Clock()
    heard: list[str] = []
    transport = retrying(Silent(clock, [503, 200]), clock, on_retry=lambda url, *_: heard.append(url))
    asyncio.run(transport.fetch(Request("https://alice:s3cret@index.example/simple/demo/")))
    assert heard == [URL]


def test_the_time_budget_bounds_every_attempt_and_every_wait() -> None:
    clock = Clock()
    inner = Silent(clock, [503, 503, 503])
    with pytest.raises(NetworkError) as info:
        fetch(retrying(inner, clock, budget=1.0))  # waits 0.25 and 0.5; the next 1 s would cross it
    assert info.value.timed_out
    assert "the install's time budget of 1 s ran out after 3 attempt(s) over 0.8 s" in str(info.value)
    assert "(the next attempt was due in 1 s)" in str(info.value)
    assert "time_budget=" in str(info.value)
    assert clock.slept == [0.25, 0.5]


def test_an_attempt_gets_only_what_is_left_of_the_budget() -> None:
    clock = Clock()
    inner = Silent(clock, [503])
    # 503, 0.25 s; silence for the 15 s timeout, 0.5 s; silence until the budget is spent.
    with pytest.raises(NetworkError, match=r"time budget of 20 s ran out after 3 attempt\(s\) over 20.0 s"):
        fetch(retrying(inner, clock, budget=20.0))
    assert [r.budget for r in inner.requests] == [20.0, pytest.approx(19.75), pytest.approx(4.25)]
    assert clock.now - NOW == pytest.approx(20.0)


def test_the_budget_counts_from_the_first_request_and_is_shared_by_all() -> None:
    clock = Clock()
    transport = retrying(Silent(clock, [200, 200]), clock, budget=10.0)
    clock.now += 100  # waiting for another install's turn costs none of it
    assert fetch(transport).status == 200
    clock.now += 11
    with pytest.raises(NetworkError, match="time budget of 10 s ran out before its first attempt"):
        fetch(transport)


def test_none_lifts_the_limits() -> None:
    clock = Clock()
    inner = Silent(clock, [504, 200])
    assert fetch(retrying(inner, clock, budget=None, timeout=None)).status == 200
    assert [(r.timeout, r.budget) for r in inner.requests] == [(None, None), (None, None)]


def test_statuses_keep_their_own_error() -> None:
    clock = Clock()
    with pytest.raises(HTTPStatusError, match="answered HTTP 503 .* on each of 4 attempts"):
        fetch(retrying(Silent(clock, [503] * 4), clock))


@pytest.mark.parametrize("value", [0, -1, "15", True, float("nan")])
def test_nonsense_limits_are_refused_before_anything_is_fetched(value) -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds or None"):
        Session.open("https://index.example/simple", timeout=value)
    with pytest.raises(ValueError, match="time_budget must be a positive number of seconds or None"):
        Session.open("https://index.example/simple", time_budget=value)


def test_reporters_show_a_retry(capsys) -> None:
    Reporter().retrying(URL, 2, 0.5, "HTTP 503 (Service Unavailable)")  # a no-op
    ConsoleReporter().retrying(URL, 2, 0.5, "HTTP 503 (Service Unavailable)")
    assert capsys.readouterr().out == f"Retrying {URL} in 0.5 s (attempt 2): HTTP 503 (Service Unavailable)\n"
    assert retrying_line(URL, 3, 2.0, "no answer for 15 s") == f"Retrying {URL} in 2.0 s (attempt 3): no answer for 15 s"
