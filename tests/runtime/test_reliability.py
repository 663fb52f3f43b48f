"""Inside Pyodide: installs one at a time, uninstalls of any installer's work, bounded waits.

The cases of issue 16, each as a user would meet it:

* two installs made at once (``asyncio.gather``) run one after the other, and
  the second resolves against what the first left;
* an install that fails while loading native code rolls back only its own
  files, never those of an install that ran meanwhile;
* ``micropkg.uninstall`` removes what ``pyodide.loadPackage`` or micropip
  installed, the whole ``.dist-info`` and the ``loadedPackages`` entry, so
  installing it again (with either) works, as does ``reinstall=True`` over it;
* an index that accepts connections and never answers gives a clear
  ``NetworkError`` in seconds (a configured ``timeout``) or about 30 s (the
  default), each retry reported; a slow but steady download is not cut off;
* a wheel declaring a member bigger than a tab can afford is refused before
  anything is inflated, and the biggest wheel accepted is measured.

Failures go through :func:`tests.runtime.safety_probe.check`: error type and
message, nothing left installed, nothing written outside site-packages, a good
install afterwards. Hostile index pages are in ``test_hostile_index.py``.
"""

from __future__ import annotations

import http.server
import random
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from pytest_pyodide import run_in_pyodide

from tests.harness import pypi
from tests.harness.pyodide_dist import CACHE
from tests.harness.wheels import patch_header
from tests.runtime.safety_probe import check, safety_tally  # noqa: F401 - the fixture prints the tally

MICROPIP = "0.11.1"


def _good(index_server, make_wheel, name: str) -> dict:
    index_server.add(make_wheel(name, "1.0"))
    return {"requirement": name, "module": name.replace("-", "_"), "index_urls": [index_server.simple_url]}


# -- one at a time -------------------------------------------------------------------------------------


@run_in_pyodide(packages=["micropkg"])
async def _gather(selenium, index_url: str, calls: list) -> dict:
    """Run ``calls`` ((requirements, kwargs) pairs) with asyncio.gather; what each did, and what is left."""
    import asyncio

    import micropkg

    order: list = []

    async def one(number, requirements, kwargs):
        order.append(("start", number))
        try:
            done = await micropkg.install(requirements, index_urls=[index_url], **kwargs)
            return [(i.name, i.version) for i in done]
        except micropkg.MicropkgError as exc:
            return (type(exc).__name__, str(exc))
        finally:
            order.append(("end", number))

    results = await asyncio.gather(*(one(n, r, k) for n, (r, k) in enumerate(calls)))
    return {"results": results, "order": order, "versions": {p.name: p.version for p in micropkg.list().values()}}


def test_two_installs_at_once_run_one_after_the_other(selenium, index_server, make_wheel):
    # Before: both returned success, the first reporting 1.0 installed while 2.0 was there.
    index_server.add(make_wheel("rl-twice", "1.0"))
    index_server.add(make_wheel("rl-twice", "2.0"))
    done = _gather(selenium, index_server.simple_url, [("rl-twice==1.0", {}), ("rl-twice==2.0", {})])
    first, second = done["results"]
    assert first == [("rl-twice", "1.0")]
    kind, message = second
    assert kind == "ConflictError", second
    assert "rl-twice 1.0 is already installed in this runtime" in message and "reinstall=True" in message
    assert done["versions"]["rl-twice"] == "1.0"
    # Both started at once; the second's install waited for the first to end.
    assert done["order"][:2] == [("start", 0), ("start", 1)] and done["order"][2] == ("end", 0)


def test_a_second_install_with_reinstall_replaces_what_the_first_left(selenium, index_server, make_wheel):
    index_server.add(make_wheel("rl-again", "1.0"))
    index_server.add(make_wheel("rl-again", "2.0"))
    done = _gather(selenium, index_server.simple_url, [("rl-again==1.0", {}), ("rl-again==2.0", {"reinstall": True})])
    assert done["results"] == [[("rl-again", "1.0")], [("rl-again", "2.0")]]
    assert done["versions"]["rl-again"] == "2.0"


def test_a_failing_install_never_takes_the_files_of_one_made_beside_it(selenium, index_server, make_wheel):
    # The case at the API: A and B share a dependency; A's native library fails
    # to load. A is rolled back; B, made at the same moment, is installed and importable.
    index_server.add(make_wheel("rl-shared", "1.0"))
    index_server.add(make_wheel("rl-broken", "1.0", files={
        "rl_broken/__init__.py": "__version__ = '1.0'\n",
        "rl_broken/_native.so": b"not WebAssembly",
    }))
    index_server.add(make_wheel("rl-app-a", "1.0", requires_dist=["rl-shared", "rl-broken"]))
    index_server.add(make_wheel("rl-app-b", "1.0", requires_dist=["rl-shared"]))

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url):
        import asyncio
        import base64
        import hashlib
        import os
        import sysconfig
        from pathlib import Path

        import micropkg

        async def attempt(name):
            try:
                return [(i.name, i.version) for i in await micropkg.install(name, index_urls=[index_url])]
            except micropkg.MicropkgError as exc:
                return (type(exc).__name__, str(exc))

        results = await asyncio.gather(attempt("rl-app-a"), attempt("rl-app-b"))
        import rl_app_b
        import rl_shared

        site = Path(sysconfig.get_path("purelib"))
        intact = []  # every file of B and of the shared dependency has the bytes its RECORD says
        for dist in ("rl_app_b-1.0.dist-info", "rl_shared-1.0.dist-info"):
            for line in (site / dist / "RECORD").read_text().splitlines():
                path, digest, _ = line.rsplit(",", 2)
                if digest:
                    actual = base64.urlsafe_b64encode(hashlib.sha256((site / path).read_bytes()).digest())
                    intact.append(digest == "sha256=" + actual.rstrip(b"=").decode())
        leftovers = sorted(n for n in os.listdir(site) if n.startswith((".micropkg-rollback", "rl_app_a", "rl_broken")))
        return results, rl_app_b.__version__, rl_shared.__version__, intact, leftovers, sorted(
            p.name for p in micropkg.list().values() if p.name.startswith("rl-")
        )

    results, app_b, shared, intact, leftovers, installed = run(selenium, index_server.simple_url)
    (kind, message), second = results
    assert kind == "InstallError" and "loading its native code failed" in message, results
    assert "Nothing was installed" in message
    assert second == [("rl-app-b", "1.0"), ("rl-shared", "1.0")]
    assert (app_b, shared) == ("1.0", "1.0")
    assert intact and all(intact)
    assert leftovers == []
    assert "rl-app-a" not in installed and "rl-broken" not in installed


# -- other installers -----------------------------------------------------------------------------------


def test_uninstall_and_reinstall_what_load_package_installed(selenium_standalone, index_server):
    # Before: the dist-info kept INSTALLER and PYODIDE_SOURCE, loadedPackages kept "six";
    # a later loadPackage said "already loaded" and `import six` failed, and installing
    # six again failed on "PYODIDE_SOURCE exists and is listed in no installed distribution's RECORD".
    wheel = next((CACHE / "pyodide").glob("*/six-*-py2.py3-none-any.whl"))
    index_server.add_file(wheel.name, wheel.read_bytes())

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url):
        import importlib
        import os
        import sys
        import sysconfig

        import pyodide_js

        import micropkg

        site = sysconfig.get_path("purelib")

        def state():
            dist_info = [n for n in os.listdir(site) if n.startswith("six-") and n.endswith(".dist-info")]
            files = sorted(os.listdir(os.path.join(site, dist_info[0]))) if dist_info else []
            return {
                "dist_info": files,
                "module": os.path.exists(os.path.join(site, "six.py")),
                "loaded": "six" in pyodide_js.loadedPackages.object_keys(),
                "imported": "six" in sys.modules,
                "installer": micropkg.list()["six"].source if "six" in micropkg.list() else None,
            }

        await pyodide_js.loadPackage("six")
        import six  # noqa: F401

        steps = {"loadPackage": state()}
        await micropkg.uninstall("six")
        steps["uninstalled"] = state()
        await pyodide_js.loadPackage("six")  # loads it again: nothing says "already loaded"
        importlib.invalidate_caches()
        steps["loaded again"] = state() | {"works": importlib.import_module("six").PY3}
        installed = await micropkg.install("six", index_urls=[index_url], reinstall=True)
        steps["reinstalled"] = state() | {"installed": [(i.name, i.version) for i in installed]}
        await micropkg.uninstall("six")
        steps["uninstalled again"] = state()
        installed = await micropkg.install("six", index_urls=[index_url])
        steps["installed"] = state() | {"installed": [(i.name, i.version) for i in installed]}
        return steps

    steps = run(selenium_standalone, index_server.simple_url)
    assert steps["loadPackage"]["installer"] == "pyodide.loadPackage"
    assert "PYODIDE_SOURCE" in steps["loadPackage"]["dist_info"]
    gone = {"dist_info": [], "module": False, "loaded": False, "imported": False, "installer": None}
    assert steps["uninstalled"] == gone
    assert steps["loaded again"]["loaded"] and steps["loaded again"]["works"] is True
    assert steps["loaded again"]["installer"] == "pyodide.loadPackage"
    assert steps["reinstalled"]["installer"] == "micropkg" and steps["reinstalled"]["installed"] == [("six", "1.17.0")]
    assert steps["reinstalled"]["loaded"]  # recorded for loadPackage again, by micropkg
    assert steps["uninstalled again"] == gone
    assert steps["installed"]["installed"] == [("six", "1.17.0")]


def _micropip_wheel():
    found = sorted((CACHE / "wheels").glob(f"micropip-{MICROPIP}-*.whl"))
    if found:
        return found[0]
    entry = next(f for f in pypi.release_files("micropip") if f.version == MICROPIP and f.filename.endswith(".whl"))
    return pypi.download(entry, CACHE / "wheels")


def test_uninstall_and_reinstall_what_micropip_installed(selenium_standalone, index_server, make_wheel):
    micropip = _micropip_wheel()
    index_server.add_file(micropip.name, micropip.read_bytes())
    index_server.add(make_wheel("rl-mp", "1.0"))
    index_server.add(make_wheel("rl-mp", "2.0"))

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url, micropip_url):
        import os
        import sys
        import sysconfig

        import pyodide_js

        import micropkg

        await pyodide_js.loadPackage(micropip_url)
        import micropip

        site = sysconfig.get_path("purelib")

        def state():
            infos = sorted(n for n in os.listdir(site) if n.startswith("rl_mp-"))
            return {
                "dist_infos": {n: sorted(os.listdir(os.path.join(site, n))) for n in infos},
                "loaded": [k for k in pyodide_js.loadedPackages.object_keys() if k.replace("_", "-") == "rl-mp"],
                "imported": "rl_mp" in sys.modules,
                "installer": micropkg.list()["rl-mp"].source if "rl-mp" in micropkg.list() else None,
            }

        simple = index_url.rstrip("/")  # micropip appends "/<name>/"
        await micropip.install("rl-mp==1.0", index_urls=[simple])
        import rl_mp  # noqa: F401

        steps = {"micropip": state()}
        await micropkg.uninstall("rl-mp")
        steps["uninstalled"] = state()
        await micropkg.install("rl-mp==1.0", index_urls=[index_url])
        steps["micropkg"] = state()
        await micropkg.uninstall("rl-mp")
        await micropip.install("rl-mp==1.0", index_urls=[simple])
        installed = await micropkg.install("rl-mp==2.0", index_urls=[index_url], reinstall=True)
        steps["reinstall over micropip"] = state() | {"installed": [(i.name, i.version) for i in installed]}
        return steps

    steps = run(selenium_standalone, index_server.simple_url, index_server.file_url(micropip.name))
    print(steps)
    assert steps["micropip"]["installer"] == "micropip"
    [(_, files)] = steps["micropip"]["dist_infos"].items()
    assert "INSTALLER" in files
    assert steps["micropip"]["loaded"]
    assert steps["uninstalled"] == {"dist_infos": {}, "loaded": [], "imported": False, "installer": None}
    assert steps["micropkg"]["installer"] == "micropkg"
    assert list(steps["micropkg"]["dist_infos"]) == ["rl_mp-1.0.dist-info"]
    final = steps["reinstall over micropip"]
    assert final["installed"] == [("rl-mp", "2.0")] and final["installer"] == "micropkg"
    assert list(final["dist_infos"]) == ["rl_mp-2.0.dist-info"]
    assert final["loaded"] == ["rl-mp"]


# -- waiting --------------------------------------------------------------------------------------------


@pytest.fixture
def dead_server() -> Iterator[str]:
    """A loopback server that accepts connections and never answers: its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)  # kept open, never read, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/simple/"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


@run_in_pyodide(packages=["micropkg"])
async def _install_watched(selenium, requirements, index_urls, kwargs):
    """Install with an EventReporter; the events, the error and how long it took."""
    import time

    import micropkg

    events = []
    started = time.monotonic()
    try:
        await micropkg.install(requirements, index_urls=index_urls, reporter=micropkg.EventReporter(events.append), **kwargs)
        error = None
    except micropkg.MicropkgError as exc:
        error = (type(exc).__name__, str(exc), exc.url, getattr(exc, "timed_out", None))
    return events, error, time.monotonic() - started


def test_a_server_that_never_answers_fails_within_the_configured_timeout(selenium, dead_server):
    events, error, seconds = _install_watched(selenium, "rl-dead", [dead_server], {"timeout": 1})
    kind, message, url, timed_out = error
    assert kind == "NetworkError" and timed_out
    assert url == dead_server + "rl-dead/"
    assert f"Could not fetch {dead_server}rl-dead/: no answer for 1 s (gave up after 2 attempts over" in message
    assert "does not answer" in message
    assert 2 <= seconds < 5, seconds
    retries = [e for e in events if e["event"] == "retrying"]
    assert retries == [{"event": "retrying", "url": dead_server + "rl-dead/", "attempt": 2,
                        "delay": retries[0]["delay"], "reason": "no answer for 1 s"}]
    assert 0.12 <= retries[0]["delay"] <= 0.25
    assert events[-1]["event"] == "failed" and events[-1]["type"] == "NetworkError"


def test_a_dead_server_leaves_nothing_behind(selenium, index_server, make_wheel, dead_server):
    check(
        selenium,
        {"index_urls": [dead_server], "requirements": "rl-dead-safe", "kwargs": {"timeout": 1},
         "good": _good(index_server, make_wheel, "rl-good-after-dead")},
        error="NetworkError",
        message=(f"{dead_server}rl-dead-safe/", "no answer for 1 s"),
    )


@pytest.mark.driver_timeout(90)  # pytest-pyodide's default script timeout in a browser is shorter
def test_a_dead_server_fails_within_a_minute_by_default(selenium, dead_server):
    # Before: 4 attempts of 120 s and the backoff, about 8 minutes.
    events, error, seconds = _install_watched(selenium, "rl-dead-default", [dead_server], {})
    assert error[0] == "NetworkError" and "no answer for 15 s (gave up after 2 attempts" in error[1]
    assert 29 < seconds < 60, seconds
    assert [e["attempt"] for e in events if e["event"] == "retrying"] == [2]


def test_the_time_budget_ends_an_install_whose_answers_stall(selenium, index_server, make_wheel):
    index_server.add(make_wheel("rl-stalled", "1.0"))
    index_server.inject("/simple/rl-stalled/", delay=10)
    _, error, seconds = _install_watched(selenium, "rl-stalled", [index_server.simple_url], {"time_budget": 2})
    kind, message, _, timed_out = error
    assert kind == "NetworkError" and timed_out
    assert "the install's time budget of 2 s ran out after 1 attempt(s)" in message and "time_budget=" in message
    assert 1.9 < seconds < 5, seconds


class _Trickle(http.server.BaseHTTPRequestHandler):
    """Serves ``data`` in pieces, ``pause`` seconds apart: slow, but never silent for long."""

    data = b""
    pause = 0.3
    pieces = 8

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(self.data)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        step = -(-len(self.data) // self.pieces)
        for start in range(0, len(self.data), step):
            time.sleep(self.pause)
            self.wfile.write(self.data[start:start + step])
            self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


def test_a_slow_steady_download_is_not_a_timeout(selenium, make_wheel):
    # The timeout is for silence, not for the whole answer: 8 pieces 0.3 s apart take
    # 2.4 s, more than the 1 s timeout, and arrive.
    wheel = make_wheel("rl-trickle", "1.0")
    handler = type("Handler", (_Trickle,), {"data": wheel.data})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{wheel.filename}#sha256={wheel.sha256}"
        events, error, seconds = _install_watched(selenium, f"rl-trickle @ {url}", [], {"timeout": 1, "deps": False})
    finally:
        server.shutdown()
        server.server_close()
    assert error is None, error
    assert seconds > 2.4
    assert [e for e in events if e["event"] == "retrying"] == []
    assert events[-1]["event"] == "installed" and events[-1]["packages"] == [["rl-trickle", "1.0"]]


_PLAIN_NODE = """
async def main(args):
    import time
    import micropkg

    outcomes = {}
    for label, requirement, index_urls in args["cases"]:
        events, started = [], time.monotonic()
        try:
            await micropkg.install(requirement, index_urls=index_urls, timeout=1, deps=False,
                                   reporter=micropkg.EventReporter(events.append))
            error = None
        except micropkg.MicropkgError as exc:
            error = [type(exc).__name__, str(exc)]
        outcomes[label] = {"error": error, "seconds": time.monotonic() - started,
                           "retries": [e["attempt"] for e in events if e["event"] == "retrying"]}
    return outcomes
"""


def test_waits_in_plain_node(node_run, pyodide_dist_dir, make_wheel, dead_server):
    # pytest-pyodide runs Pyodide in a Node vm context without the web stream globals, so
    # the tests above read bodies the fallback way under Node (and the main way in Chromium);
    # a page's Node script has them: this is that way, in a Node of its own.
    from tests.runtime.node_runner import run_python

    wheel = make_wheel("rl-trickle-node", "1.0")
    handler = type("Handler", (_Trickle,), {"data": wheel.data})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{wheel.filename}#sha256={wheel.sha256}"
        outcomes = run_python(pyodide_dist_dir, _PLAIN_NODE, {"cases": [
            ("dead", "rl-dead-node", [dead_server]),
            ("trickle", f"rl-trickle-node @ {url}", []),
        ]})
    finally:
        server.shutdown()
        server.server_close()
    dead, trickle = outcomes["dead"], outcomes["trickle"]
    assert dead["error"][0] == "NetworkError" and "no answer for 1 s (gave up after 2 attempts" in dead["error"][1]
    assert dead["retries"] == [2] and 2 <= dead["seconds"] < 5
    assert trickle["error"] is None and trickle["retries"] == [] and trickle["seconds"] > 2.4


# -- memory ----------------------------------------------------------------------------------------------


def test_a_wheel_declaring_a_member_over_the_bound_is_refused_before_inflating(selenium, index_server, make_wheel):
    # Before: a 1000 MiB member from a 1.2 MB download installed in 61 s and grew memory by 2 GiB.
    name = "rl-huge"
    filename, data = make_wheel(name, "1.0", files={"rl_huge/__init__.py": b"", "rl_huge/big.bin": b"\0" * 4096}).file
    data = patch_header(data, "rl_huge/big.bin", size=1000 << 20)
    index_server.add_file(filename, data, metadata=f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode())
    result = check(
        selenium,
        {"index_urls": [index_server.simple_url], "requirements": name,
         "good": _good(index_server, make_wheel, "rl-good-after-huge")},
        error="InvalidWheel",
        message=(f"Refusing wheel {filename} (member 'rl_huge/big.bin')",
                 "the member declares 1,048,576,000 bytes (1,000.0 MiB) uncompressed",
                 "more than the 134,217,728 bytes (128.0 MiB) micropkg unpacks for one file"),
    )
    assert result["seconds"] < 5


@pytest.mark.parametrize(("content", "megabytes"), [("zeros", 120), ("random", 32)])
def test_memory_high_water_of_the_biggest_accepted_member(selenium_standalone, index_server, make_wheel, content, megabytes):
    """A member just under the bound installs; how much WebAssembly memory that costs a tab.

    Before members were streamed, a 120 MiB member grew it by 240 MiB (the inflated bytes,
    and zlib's output buffer joining them): memory a tab never gets back. Now what is held
    is the download (a 0.1 MB wheel of zeros; 32 MB of random bytes) and a piece at a time.
    """
    size = megabytes << 20
    data = b"\0" * size if content == "zeros" else random.Random(16).randbytes(size)
    wheel = make_wheel("rl-big", "1.0", files={"rl_big/__init__.py": b"", "rl_big/big.bin": data})
    del data
    index_server.add(wheel)

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url):
        import os
        import sysconfig
        import time

        import pyodide_js

        import micropkg

        before = pyodide_js._module.HEAPU8.length
        started = time.monotonic()
        await micropkg.install("rl-big", index_urls=[index_url], cache="off")
        seconds = time.monotonic() - started
        size = os.path.getsize(os.path.join(sysconfig.get_path("purelib"), "rl_big", "big.bin"))
        return before, pyodide_js._module.HEAPU8.length, size, seconds

    before, after, installed, seconds = run(selenium_standalone, index_server.simple_url)
    grown = (after - before) >> 20
    download = len(wheel.data) >> 20
    print(f"\nmemory: {len(wheel.data) / 1e6:.1f} MB wheel, a {installed >> 20} MiB member ({content}) installed in"
          f" {seconds:.1f} s; WebAssembly memory {before >> 20} -> {after >> 20} MiB (+{grown} MiB)")
    assert installed == size
    # The download, and pieces: not the member's size, let alone twice it.
    assert grown <= download + 16, grown
