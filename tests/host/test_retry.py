"""RetryingTransport: what is retried, how long it waits, and what it says when it gives up.

Nothing here waits for real: the transport gets a recording ``sleep`` and a
fake clock that the sleeps advance, so a test of a 30-second Retry-After
takes microseconds (the timeout tests wait 10 ms).
"""

from __future__ import annotations

import asyncio
import email.utils

import pytest

from micropkg.errors import HTTPStatusError, NetworkError
from micropkg.net.retry import RetryingTransport, RetryPolicy, parse_retry_after
from micropkg.net.transport import MockTransport, Request, Response

URL = "https://index.example/simple/demo/"
NOW = 1_800_000_000.0


class FakeTime:
    """A clock that only moves when the transport sleeps."""

    def __init__(self) -> None:
        self.now = NOW
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def scripted(*answers):
    """A MockTransport answering each request with the next item: a status,
    a (status, headers) pair, or an exception to raise."""
    queue = list(answers)

    def handler(request: Request) -> Response:
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        return Response(request.url, status, {"content-type": "text/plain", **headers}, b"body")

    return MockTransport(handler)


def retrying(inner, time: FakeTime, **policy) -> RetryingTransport:
    return RetryingTransport(
        inner, RetryPolicy(**policy), sleep=time.sleep, clock=time.clock, random=lambda: 0.0
    )


def fetch(transport, url: str = URL) -> Response:
    return asyncio.run(transport.fetch(Request(url)))


def offline() -> NetworkError:
    return NetworkError(f"Could not fetch {URL}: connection refused", url=URL)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_temporary_statuses_are_retried_with_doubling_waits(status: int) -> None:
    time, inner = FakeTime(), scripted(status, status, status, 200)
    response = fetch(retrying(inner, time), URL)
    assert response.status == 200
    assert len(inner.requests) == 4
    assert time.slept == [0.25, 0.5, 1.0]


@pytest.mark.parametrize("status", [200, 301, 400, 401, 403, 404, 410, 501])
def test_answers_that_will_not_change_are_returned_at_once(status: int) -> None:
    time, inner = FakeTime(), scripted(status)
    assert fetch(retrying(inner, time)).status == status
    assert len(inner.requests) == 1 and time.slept == []


def test_giving_up_names_the_url_the_status_and_the_attempts() -> None:
    time, inner = FakeTime(), scripted(500, 502, 503, 503)
    with pytest.raises(HTTPStatusError) as info:
        fetch(retrying(inner, time))
    error = info.value
    assert error.status == 503 and error.url == URL
    assert str(error) == (
        f"{URL} answered HTTP 503 (Service Unavailable) on each of 4 attempts over 1.8 s."
        " The server is failing or overloaded; try again later."
    )
    assert len(inner.requests) == 4 and time.slept == [0.25, 0.5, 1.0]


def test_waits_are_capped_and_jittered() -> None:
    time, inner = FakeTime(), scripted(*[503] * 6, 200)
    transport = RetryingTransport(
        inner,
        RetryPolicy(attempts=7, backoff=1.0, max_backoff=4.0, jitter=0.5),
        sleep=time.sleep,
        clock=time.clock,
        random=lambda: 1.0,  # the largest cut jitter can make: half
    )
    assert fetch(transport).status == 200
    assert time.slept == [0.5, 1.0, 2.0, 2.0, 2.0, 2.0]


@pytest.mark.parametrize("retry_after", ["7", " 7 "])
def test_retry_after_seconds_are_honoured(retry_after: str) -> None:
    time, inner = FakeTime(), scripted((429, {"retry-after": retry_after}), 200)
    assert fetch(retrying(inner, time)).status == 200
    assert time.slept == [7.0]


def test_retry_after_as_an_http_date() -> None:
    time, inner = FakeTime(), scripted((503, {"retry-after": email.utils.formatdate(NOW + 12, usegmt=True)}), 200)
    assert fetch(retrying(inner, time)).status == 200
    assert time.slept == [12.0]


def test_unreadable_retry_after_falls_back_to_the_backoff() -> None:
    time, inner = FakeTime(), scripted((429, {"retry-after": "soon"}), (429, {"retry-after": "-3"}), 200)
    assert fetch(retrying(inner, time)).status == 200
    assert time.slept == [0.25, 0.5]


def test_a_retry_after_too_long_to_wait_for_gives_up_at_once() -> None:
    time, inner = FakeTime(), scripted((429, {"retry-after": "3600"}), 200)
    with pytest.raises(HTTPStatusError) as info:
        fetch(retrying(inner, time))
    assert info.value.status == 429
    assert "HTTP 429 (Too Many Requests) once" in str(info.value)
    assert "asked to retry after 3600 s, longer than micropkg waits (30 s)" in str(info.value)
    assert len(inner.requests) == 1 and time.slept == []


def test_transport_errors_are_retried() -> None:
    time, inner = FakeTime(), scripted(offline(), offline(), 200)
    assert fetch(retrying(inner, time)).status == 200
    assert len(inner.requests) == 3 and time.slept == [0.25, 0.5]


def test_giving_up_on_the_network_keeps_the_last_error_and_counts_attempts() -> None:
    time, inner = FakeTime(), scripted(*[offline() for _ in range(3)])
    with pytest.raises(NetworkError) as info:
        fetch(retrying(inner, time, attempts=3))
    assert str(info.value) == (
        f"Could not fetch {URL}: connection refused (gave up after 3 attempts over 0.8 s)"
    )
    assert info.value.url == URL
    assert isinstance(info.value.__cause__, NetworkError)


def test_a_single_attempt_raises_the_error_unchanged() -> None:
    time, error = FakeTime(), offline()
    with pytest.raises(NetworkError) as info:
        fetch(retrying(scripted(error), time, attempts=1))
    assert info.value is error


def test_an_attempt_past_its_timeout_is_cancelled_and_retried() -> None:
    cancelled = []

    async def handler(request: Request) -> Response:
        if len(inner.requests) == 1:
            try:
                await asyncio.Event().wait()  # a server that never answers
            except asyncio.CancelledError:
                cancelled.append(request.url)
                raise
        return Response(request.url, 200, {}, b"late but fine")

    inner = MockTransport(handler)
    time = FakeTime()
    response = fetch(retrying(inner, time, timeout=0.01))
    assert response.body == b"late but fine"
    assert cancelled == [URL]  # the hung attempt was cancelled, not left running
    assert time.slept == [0.25]


def test_every_attempt_timing_out_says_so() -> None:
    async def handler(request: Request) -> Response:
        await asyncio.Event().wait()
        raise AssertionError("never answered")

    time = FakeTime()
    with pytest.raises(NetworkError) as info:
        fetch(retrying(MockTransport(handler), time, attempts=2, timeout=0.01))
    assert str(info.value) == (
        f"Could not fetch {URL}: no complete answer within 0.01 s (gave up after 2 attempts over 0.2 s)."
        " The server accepts connections but does not answer: it is down or overloaded, or the URL is"
        " wrong. On a slow network, pass a larger timeout= (seconds)"
    )
    assert info.value.timed_out


def test_credentials_never_appear_in_the_final_error() -> None:
    secret_url = "https://alice:s3cret@index.example/simple/demo/"
    time = FakeTime()
    with pytest.raises(HTTPStatusError) as info:
        fetch(retrying(scripted(500, 500), time, attempts=2), secret_url)
    assert "s3cret" not in str(info.value) and "alice" not in str(info.value)
    assert info.value.url == URL


@pytest.mark.parametrize(
    "kwargs", [{"attempts": 0}, {"timeout": 0}, {"timeout": -1.0}, {"jitter": 1.5}, {"jitter": -0.1}]
)
def test_nonsense_policies_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError, match=f"RetryPolicy.{next(iter(kwargs))}"):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        ("0", 0.0),
        ("120", 120.0),
        ("1.5", None),  # delta-seconds are whole numbers
        ("garbage", None),
        ("", None),
        ("Fri, 15 Jan 2027 08:00:00", None),  # a date without its zone is not HTTP's
    ],
)
def test_parse_retry_after(value, expected) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_dates_count_from_the_clock() -> None:
    value = "Fri, 15 Jan 2027 08:00:00 GMT"
    when = email.utils.parsedate_to_datetime(value).timestamp()
    assert parse_retry_after(value, when - 90) == 90.0
    assert parse_retry_after(value, when + 90) == 0.0  # a date in the past: retry now
