"""The worker demo (``demo/worker/``): Pyodide and micropkg in a module Web Worker.

The page itself loads no Pyodide: it starts ``worker.mjs`` as a module worker,
sends it what to install and run, and shows the progress events the worker
posts back with the main demo's ``ProgressView``. Clicked through like the
main demo (``test_demo``'s helpers) in every browser of the matrix: Chromium,
Firefox and WebKit.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from selenium.webdriver.common.by import By

from tests.runtime.test_demo import (
    DEMO,
    INSTALL_EVENTS,
    LUAU_CODE,
    LUAU_LIBRARY,
    LUAU_OUTPUT,
    TIME,
    WINDOW,
    _events,
    _install_and_run,
    _luau_wheel,
    _open,
    _steps,
    _text,
)

REPO = Path(__file__).resolve().parents[2]
WORKER = DEMO / "worker" / "worker.mjs"


@pytest.fixture
def page(browser):
    """The run's browser, sized like the main demo's."""
    browser.set_window_size(*WINDOW)
    return browser


@pytest.fixture
def worker_url(index_server, pyodide_dist_dir) -> str:
    demo = index_server.mount("demo", DEMO)
    pyodide = index_server.mount("pyodide", pyodide_dist_dir)
    return f"{demo}worker/index.html?{urlencode({'pyodide': pyodide, 'index': index_server.simple_url})}"


def _page_has_no_pyodide(driver) -> bool:
    # `window`, not globalThis: Firefox's Marionette runs scripts with a global of their own.
    return driver.execute_script(
        "return window.loadPyodide === undefined && window.pyodide === undefined"
        " && performance.getEntriesByType('resource').every((entry) => !entry.name.includes('pyodide.asm'))"
    )


@pytest.mark.pyodide_abi("2026_0")  # luau-wasm has only a cp314 / 2026_0 wheel
def test_the_worker_installs_and_the_page_shows_its_progress(page, worker_url, index_server):
    driver = page
    wheel = _luau_wheel(index_server)
    _open(driver, worker_url)
    assert _text(driver, "versions").endswith("· in a Web Worker")
    snapshots = _install_and_run(driver, "luau-wasm", LUAU_CODE)

    status, output = _text(driver, "status"), _text(driver, "output")
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-outcome") == "ok", (status, output)
    assert output.splitlines() == LUAU_OUTPUT
    assert re.fullmatch(rf"Installed luau-wasm 0\.1a0 in ({TIME})\. Done\.", status), status
    assert index_server.log.count("file", path=f"/files/{wheel.filename}") == 1
    # The events crossed from the worker as they happened: the steps grew while it ran.
    assert snapshots[-1] == ("resolve", "download", "install", "load", "done"), snapshots
    steps = _steps(driver)
    assert all(state == "done" for state, _ in steps.values()), steps
    assert re.fullmatch(rf"Downloaded 1 file, {round(wheel.size / 1000)} kB in ({TIME})", steps["download"][1]), steps
    assert steps["load"][1] == "Loaded 1 native library", steps
    events = _events(driver)
    assert [e["event"] for e in events] == INSTALL_EVENTS, events
    assert events[2] == {"event": "downloading", "done_bytes": wheel.size, "total_bytes": wheel.size,
                         "done_files": 1, "files": 1}, events[2]
    assert events[5]["library"].endswith(LUAU_LIBRARY)
    # Pyodide ran in the worker: the page never fetched it, the worker did.
    assert _page_has_no_pyodide(driver)
    assert index_server.log.count(path="/pyodide/pyodide.asm.wasm") == 1


def test_the_worker_reports_a_failure_and_runs_again(page, worker_url, index_server):
    driver = page
    _open(driver, worker_url)
    _install_and_run(driver, "no-such-project-here", "print('never runs')")

    status, output = _text(driver, "status"), _text(driver, "output")
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-outcome") == "error", (status, output)
    assert output.startswith(
        f"ProjectNotFound: Project 'no-such-project-here' was not found on {index_server.simple_url}"
    ), output
    assert status == f"Failed: {output}" and "\n" not in output
    steps = _steps(driver)
    assert list(steps) == ["resolve", "failed"] and steps["failed"] == ("failed", f"Failed: {output}"), steps
    assert [e["event"] for e in _events(driver)] == ["resolving", "failed"]

    # The worker is still there for the next click: nothing to install, code that raises.
    _install_and_run(driver, "", "print('still here')\n1 / 0")
    assert _text(driver, "output").splitlines()[0] == "still here"
    assert _text(driver, "status") == "Failed: ZeroDivisionError: division by zero"
    assert _steps(driver) == {} and _events(driver) == []
    assert _page_has_no_pyodide(driver)


def test_readme_shows_the_worker_as_it_is():
    """The README's worker snippet is demo/worker/worker.mjs, which the tests above run."""
    readme = (REPO / "README.md").read_text()
    assert f"```js\n{WORKER.read_text()}```" in readme, "the README no longer shows demo/worker/worker.mjs as it is"
