"""Inside Pyodide: installs are all or nothing, the network is retried, credentials stay put.

Every case goes through :func:`tests.runtime.safety_probe.check`, which
asserts, besides the error a case expects, that site-packages is byte for
byte what it was, that nothing outside it changed, that no module or
package record was added, and that a good install works afterwards.
Hostile wheels and index pages are in ``test_hostile_wheels.py`` and
``test_hostile_index.py``.
"""

from __future__ import annotations

import base64
import socket

import pytest
from pytest_pyodide import run_in_pyodide

from tests.harness.index_server import IndexServer
from tests.runtime.safety_probe import check, safety_tally  # noqa: F401 - the fixture prints the tally


def _good(index_server, make_wheel, name: str) -> dict:
    index_server.add(make_wheel(name, "1.0"))
    return {"requirement": name, "module": name.replace("-", "_"), "index_urls": [index_server.simple_url]}


# -- transactions ---------------------------------------------------------------------------------


def test_native_code_that_fails_to_load_rolls_back_the_whole_install(selenium, index_server, make_wheel):
    index_server.add(make_wheel("ts-app", "1.0", requires_dist=["ts-native"]))
    index_server.add(make_wheel("ts-native", "1.0", files={
        "ts_native/__init__.py": "__version__ = '1.0'\n",
        "ts_native/libbroken.so": b"this is not WebAssembly",
    }))
    check(
        selenium,
        {"index_urls": [index_server.simple_url], "requirements": "ts-app",
         "good": _good(index_server, make_wheel, "ts-good-after-dynlib")},
        error="InstallError",
        message=(
            "Could not install ts_native-1.0-py3-none-any.whl: loading its native code failed",
            "libbroken.so",
            "Nothing was installed: every change to",
        ),
    )


def test_a_failed_upgrade_keeps_the_old_version_and_its_module(selenium, index_server, make_wheel):
    index_server.add(make_wheel("ts-keep", "1.0"))
    index_server.add(make_wheel("ts-keep", "2.0", files={
        "ts_keep/__init__.py": "__version__ = '2.0'\n",
        "ts_keep/_native.so": b"\0asm but truncated",
    }))
    result = check(
        selenium,
        {"index_urls": [index_server.simple_url], "setup": ["ts-keep==1.0"], "imports": ["ts_keep"],
         "requirements": "ts-keep==2.0", "kwargs": {"reinstall": True},
         "good": _good(index_server, make_wheel, "ts-good-after-upgrade")},
        error="InstallError",
        message=("Could not install ts_keep-2.0-py3-none-any.whl: loading its native code failed",),
    )
    assert result["versions"]["ts-keep"] == "1.0"


def test_a_write_failing_midway_rolls_back_every_wheel(selenium, index_server, make_wheel):
    # ts_ns is a namespace directory two distributions share; made read-only,
    # the second one's write into it fails after its other files were written.
    index_server.add(make_wheel("ts-ns-a", "1.0", files={"ts_ns/a.py": "A = 1\n"}))
    index_server.add(make_wheel("ts-ns-dep", "1.0"))
    index_server.add(make_wheel("ts-ns-b", "1.0", requires_dist=["ts-ns-dep"], files={
        "ts_nsb/__init__.py": "__version__ = '1.0'\n",
        "ts_ns/b.py": "B = 1\n",
    }))
    check(
        selenium,
        {"index_urls": [index_server.simple_url], "setup": ["ts-ns-a"], "readonly": ["ts_ns"],
         "requirements": "ts-ns-b", "good": _good(index_server, make_wheel, "ts-good-after-write")},
        error="InstallError",
        message=(
            "Could not install ts_ns_b-1.0-py3-none-any.whl: writing 'ts_ns/b.py' failed",
            "Nothing was installed: every change to",
        ),
    )


def test_a_dependency_failing_its_hash_check_installs_nothing(selenium, index_server, make_wheel):
    # micropip 0.11.1 installs ts-top here, then fails on its dependency.
    index_server.add(make_wheel("ts-top", "1.0", requires_dist=["ts-tampered"]))
    good = make_wheel("ts-tampered", "1.0")
    index_server.add(good)
    evil = make_wheel("ts-tampered", "1.0", files={"ts_tampered/__init__.py": "print('evil')\n"})
    index_server.inject(f"/files/{good.filename}", body=evil.data)
    check(
        selenium,
        {"index_urls": [index_server.simple_url], "requirements": "ts-top",
         "good": _good(index_server, make_wheel, "ts-good-after-hash")},
        error="IntegrityError",
        message=(index_server.file_url(good.filename), good.sha256, evil.sha256, "nothing was installed"),
    )


# -- a flaky network ----------------------------------------------------------------------------------


def test_server_errors_are_retried_until_the_install_succeeds(selenium, index_server, make_wheel):
    wheel = make_wheel("ts-flaky", "1.0")
    index_server.add(wheel)
    index_server.inject("/simple/ts-flaky/", status=503, times=2)
    index_server.inject(f"/files/{wheel.filename}.metadata", status=502, times=1)
    index_server.inject(f"/files/{wheel.filename}", status=500, times=3)
    result = check(
        selenium,
        {"index_urls": [index_server.simple_url], "requirements": "ts-flaky"},
        error=None,
    )
    assert result["installed"] == [("ts-flaky", "1.0")]
    counts = index_server.log.counts()
    assert (counts["simple-project"], counts["metadata"], counts["file"]) == (3, 2, 4), counts


def test_retry_after_is_honoured(selenium, index_server, make_wheel):
    index_server.add(make_wheel("ts-busy", "1.0"))
    index_server.inject("/simple/ts-busy/", status=429, headers={"Retry-After": "1"}, times=1)
    result = check(selenium, {"index_urls": [index_server.simple_url], "requirements": "ts-busy"}, error=None)
    assert result["installed"] == [("ts-busy", "1.0")]
    assert result["seconds"] >= 1.0
    assert index_server.log.count("simple-project") == 2


def test_a_server_that_keeps_failing_gets_a_clear_final_error(selenium, index_server, make_wheel):
    wheel = make_wheel("ts-down", "1.0")
    index_server.add(make_wheel("ts-down-app", "1.0", requires_dist=["ts-down"]))
    index_server.add(wheel)
    index_server.inject(f"/files/{wheel.filename}", status=500, body=b"<h1>Internal error</h1>", content_type="text/html")
    check(
        selenium,
        {"index_urls": [index_server.simple_url], "requirements": "ts-down-app",
         "good": _good(index_server, make_wheel, "ts-good-after-500")},
        error="HTTPStatusError",
        message=(
            f"{index_server.file_url(wheel.filename)} answered HTTP 500 (Internal Server Error) on each of 4 attempts",
            "try again later",
        ),
    )
    assert index_server.log.count("file", path=f"/files/{wheel.filename}") == 4


def test_an_unreachable_index_is_retried_then_named(selenium, index_server, make_wheel):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/simple/"
    check(
        selenium,
        {"index_urls": [dead], "requirements": "ts-anything"},
        error="NetworkError",
        message=(f"Could not fetch {dead}ts-anything/", "gave up after 4 attempts"),
    )


@run_in_pyodide(packages=["micropkg"])
async def _fetch_with_timeout(selenium, index_url, timeout, attempts):
    import time

    from micropkg.errors import NetworkError
    from micropkg.index.client import Index
    from micropkg.net.retry import RetryingTransport, RetryPolicy
    from micropkg.runtime.fetch import PyfetchTransport

    transport = RetryingTransport(PyfetchTransport(), RetryPolicy(attempts=attempts, timeout=timeout, backoff=0.1))
    started = time.monotonic()
    try:
        page = await Index(index_url, transport).project("ts-slow")
        outcome = ("page", [f.filename for f in page.files])
    except NetworkError as exc:
        outcome = ("NetworkError", str(exc))
    return outcome, time.monotonic() - started


def test_a_hung_request_times_out_and_the_retry_succeeds(selenium, index_server, make_wheel):
    index_server.add(make_wheel("ts-slow", "1.0"))
    # The server's thread sleeps on after the client gave up; short, so its late answer
    # (to a closed connection) does not outlive the test by much.
    index_server.inject("/simple/ts-slow/", delay=2.5, times=1)
    outcome, seconds = _fetch_with_timeout(selenium, index_server.simple_url, 0.5, 2)
    assert outcome == ("page", ["ts_slow-1.0-py3-none-any.whl"])
    assert 0.5 <= seconds < 2.5  # the first attempt was abandoned at its timeout, not waited out


def test_requests_that_always_hang_give_up_with_the_timeout_named(selenium, index_server, make_wheel):
    index_server.add(make_wheel("ts-slow", "1.0"))
    index_server.inject("/simple/ts-slow/", delay=2)
    outcome, seconds = _fetch_with_timeout(selenium, index_server.simple_url, 0.3, 2)
    over = outcome[1].split("over ", 1)[1].split(")", 1)[0]
    assert outcome == (
        "NetworkError",
        f"Could not fetch {index_server.simple_url}ts-slow/: no answer for 0.3 s (gave up after 2 attempts over {over})."
        " The server accepts connections but does not answer: it is down or overloaded, or the URL is wrong."
        " On a slow network, pass a larger timeout= (seconds)",
    )
    assert seconds < 2  # neither attempt waited for the server


# -- credentials and plain http -------------------------------------------------------------------------


def test_credentials_go_only_to_the_index_origin_and_never_into_messages(selenium, index_server, make_wheel):
    wheel = make_wheel("ts-private", "1.0")
    with IndexServer() as files_host:  # another origin (another port) for the files
        files_host.add(wheel)
        index_server.add(wheel)
        page = files_host.project_page("ts-private", as_json=True)[1]
        index_server.inject("/simple/ts-private/", body=page, content_type="application/vnd.pypi.simple.v1+json")
        authenticated = index_server.simple_url.replace("http://", "http://alice:s3cret@")
        result = check(
            selenium,
            {"index_urls": [authenticated], "requirements": "ts-private",
             "good": _good(index_server, make_wheel, "ts-good-after-auth")},
            error=None,
        )
        assert result["installed"] == [("ts-private", "1.0")]
        expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
        page_requests = [e for e in index_server.log if e.path == "/simple/ts-private/" and e.method == "GET"]
        assert page_requests and all(e.headers.get("authorization") == expected for e in page_requests)
        file_requests = [e for e in files_host.log if e.method == "GET"]
        assert {e.kind for e in file_requests} == {"metadata", "file"}
        assert all("authorization" not in e.headers for e in file_requests)

    check(
        selenium,
        {"index_urls": [authenticated], "requirements": "ts-no-such-project"},
        error="ProjectNotFound",
        message=(index_server.simple_url,),
        absent=("s3cret", "alice"),
    )


@pytest.mark.parametrize(
    "kind, target, message",
    [
        ("index", "http://mirror.invalid/simple/", "index URL http://mirror.invalid/simple/ over plain http"),
        ("wheel", "http://files.invalid/ts_w-1.0-py3-none-any.whl", "wheel URL http://files.invalid/"),
    ],
)
def test_plain_http_to_another_machine_is_refused(selenium, index_server, make_wheel, kind, target, message):
    case = {"index_urls": [target] if kind == "index" else [index_server.simple_url],
            "requirements": "ts-anything" if kind == "index" else target,
            "good": _good(index_server, make_wheel, f"ts-good-after-http-{kind}")}
    check(selenium, case, error="InsecureURL", message=(message, "allow_insecure_http=True"))
