"""Fresh Pyodide runtimes under Node and headless Chromium, for benchmark runs.

A run is one fresh Pyodide that loads an installer and runs a Python snippet
(:mod:`benchmarks.web.bench_core`). Runs happen on an *origin*: what
persists between two fresh runtimes of the same page. Under Node that is a
host directory micropkg may keep its cache in (Node has no HTTP cache); in
Chromium it is one browser profile (HTTP cache, Cache API, IndexedDB), each
run being a new page load. A cold run gets a new origin; a warm run is the
second run on an origin.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.harness.chrome import CHROME_FLAGS
from tests.harness.index_server import LoopbackHTTPServer

__all__ = ["ChromeRuntime", "NodeRuntime", "RunFailed", "RunTimedOut", "StaticServer"]

WEB = Path(__file__).resolve().parent / "web"


class RunFailed(Exception):
    """A run produced no result (the runtime crashed or timed out)."""


class RunTimedOut(RunFailed):
    """The run was still going at the runtime's timeout and was killed."""


class StaticServer:
    """Serves the page, Pyodide and wheels to Chromium from loopback, without latency."""

    def __init__(self, mounts: dict[str, Path]) -> None:
        self.mounts = {k.strip("/"): Path(v).resolve() for k, v in mounts.items()}
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> StaticServer:
        mounts = self.mounts

        class Handler(SimpleHTTPRequestHandler):
            extensions_map = {
                **SimpleHTTPRequestHandler.extensions_map,
                ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
                ".whl": "application/octet-stream", ".zip": "application/zip", ".json": "application/json",
            }

            def log_message(self, format, *args):
                """Quiet."""

            def translate_path(self, path):
                path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
                prefix, _, rest = path.lstrip("/").partition("/")
                root = mounts.get(prefix)
                if root is None:
                    return str(WEB / "missing")
                target = (root / rest).resolve()
                return str(target) if target.is_relative_to(root) else str(WEB / "missing")

        self._server = LoopbackHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="bench-static", daemon=True).start()
        mimetypes.add_type("text/javascript", ".mjs")
        return self

    def __exit__(self, *exc_info) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"


class NodeRuntime:
    """Each run is a new ``node`` process; an origin is a cache directory."""

    name = "node"

    def __init__(self, dist: Path | None = None, *, timeout: float = 600) -> None:
        self.dist = dist  # the Pyodide folder of runs whose config names none
        self.timeout = timeout

    def pyodide_url(self, dist: Path) -> str:
        return str(dist) + "/"

    def wheel_url(self, path: Path) -> str:
        return str(path)

    @contextlib.contextmanager
    def origin(self) -> Iterator[_NodeOrigin]:
        directory = Path(tempfile.mkdtemp(prefix="micropkg-bench-cache-"))
        try:
            yield _NodeOrigin(self, directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)


class _NodeOrigin:
    def __init__(self, runtime: NodeRuntime, cache_dir: Path) -> None:
        self.runtime = runtime
        self.cache_dir = cache_dir

    def run(self, config: dict) -> dict:
        # config["indexURL"]: the Pyodide folder (runtime.pyodide_url of a deployment's dist).
        config = {"indexURL": str(self.runtime.dist), **config, "nodeCacheDir": str(self.cache_dir)}
        try:
            done = subprocess.run(
                ["node", str(WEB / "node_runner.mjs"), json.dumps(config)],
                capture_output=True, text=True, timeout=self.runtime.timeout,
            )
        except subprocess.TimeoutExpired as exc:
            # subprocess.run has killed node by now.
            raise RunTimedOut(f"node run timed out after {self.runtime.timeout}s") from exc
        for line in done.stdout.splitlines():
            if line.startswith("BENCH-RESULT "):
                return json.loads(line[len("BENCH-RESULT ") :])
        raise RunFailed(f"node exited {done.returncode}: {done.stderr[-2000:]}")


class ChromeRuntime:
    """Headless Chromium through WebDriver; an origin is a fresh browser profile."""

    name = "chrome"

    def __init__(self, static: StaticServer, *, timeout: float = 600) -> None:
        self.static = static
        self.timeout = timeout

    def pyodide_url(self, dist: Path) -> str:
        return self.wheel_url(dist) + "/"

    def wheel_url(self, path: Path) -> str:
        for prefix, root in self.static.mounts.items():
            if path.resolve().is_relative_to(root):
                return f"{self.static.url}/{prefix}/{urllib.parse.quote(str(path.resolve().relative_to(root)))}"
        raise ValueError(f"{path} is not served by the static server")

    @contextlib.contextmanager
    def origin(self) -> Iterator[_ChromeOrigin]:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        profile = Path(tempfile.mkdtemp(prefix="micropkg-bench-chrome-"))
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for flag in CHROME_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
        os.environ.setdefault("SE_AVOID_STATS", "true")
        driver = webdriver.Chrome(options=options, service=service)
        driver.set_script_timeout(self.timeout)
        try:
            yield _ChromeOrigin(self, driver)
        finally:
            driver.quit()
            shutil.rmtree(profile, ignore_errors=True)


class _ChromeOrigin:
    def __init__(self, runtime: ChromeRuntime, driver) -> None:
        self.runtime = runtime
        self.driver = driver

    def run(self, config: dict) -> dict:
        from selenium.common.exceptions import WebDriverException

        try:
            # A new page load: a fresh Pyodide, the profile's storage kept.
            self.driver.get(self.runtime.static.url + "/web/bench.html")
            for _ in range(200):
                if self.driver.execute_script("return window.benchReady === true"):
                    break
                time.sleep(0.05)
            return self.driver.execute_async_script(
                "window.benchRun(arguments[0]).then(arguments[1], e => arguments[1]({error: String(e)}))",
                config,
            )
        except WebDriverException as exc:
            raise RunFailed(f"chromium run failed: {exc.msg}") from exc
