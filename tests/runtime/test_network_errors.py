"""A failed request names its URL and what went wrong, in the runtime's words -- never
pyfetch's "'NoneType' object has no attribute 'message'" (micropkg.runtime.fetch)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from pytest_pyodide import run_in_pyodide


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def cut_short() -> Iterator[str]:
    """A loopback server that answers 200, promises 100,000 bytes, sends 7 and hangs up."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return  # closed: the test is over
            with connection:
                connection.recv(65536)
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nAccess-Control-Allow-Origin: *\r\n\r\npartial"
                )

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/files/cut-1.0-py3-none-any.whl"
    server.close()


@run_in_pyodide(packages=["micropkg"])
async def _install_error(selenium, requirements, index_url):
    import micropkg

    try:
        await micropkg.install(requirements, index_urls=[index_url])
    except micropkg.MicropkgError as exc:
        return type(exc).__name__, str(exc), getattr(exc, "url", None)
    return None


@run_in_pyodide(packages=["micropkg"])
async def _fetch_error(selenium, url, attempts):
    from micropkg.errors import NetworkError
    from micropkg.net.retry import RetryingTransport, RetryPolicy
    from micropkg.net.transport import Request
    from micropkg.runtime.fetch import PyfetchTransport

    transport = RetryingTransport(PyfetchTransport(), RetryPolicy(attempts=attempts, backoff=0.05))
    try:
        await transport.fetch(Request(url, {}))
    except NetworkError as exc:
        return str(exc), exc.url
    return None


def test_a_closed_port_names_the_url_and_the_cause(selenium, closed_port, runtime):
    index = f"http://127.0.0.1:{closed_port}/simple/"
    kind, message, url = _install_error(selenium, "rt-anything", index)
    assert kind == "NetworkError" and url == f"{index}rt-anything/"
    assert message.startswith(f"Could not fetch {index}rt-anything/: no answer arrived (")
    assert message.endswith("(gave up after 4 attempts over " + message.rsplit("over ", 1)[1])
    assert "NoneType" not in message
    if runtime.startswith("node"):  # Node's fetch says why: its error's cause
        assert f"connect ECONNREFUSED 127.0.0.1:{closed_port}" in message, message


def test_an_answer_that_breaks_off_names_the_url_and_says_so(selenium, cut_short, runtime):
    message, url = _fetch_error(selenium, cut_short, 2)
    assert url == cut_short
    assert message.startswith(f"Could not fetch {cut_short}: the answer (HTTP 200) broke off before its body was complete")
    assert "gave up after 2 attempts" in message
    assert "NoneType" not in message and "attribute" not in message
    if runtime.startswith("node"):
        assert "(terminated: other side closed)" in message, message
