"""The demo page (``demo/``), clicked through in headless Chromium like a person would.

The index server serves the page, the Pyodide folder under test and the
loopback index from one origin. Each test opens the page in a fresh browser
(pytest-pyodide's ``selenium_standalone_noload``: a Chromium session that has
not loaded Pyodide itself), waits until the page says it is ready, types into
the form, clicks "Install and run", watches the install's steps appear (the
progress reporter's events) and reads what the page shows. The page's lock
mode (``?lock=pylock.toml``) and the README's embed snippet (``demo/embed.html``)
are served the way the README tells: a lock made with ``python -m micropkg
lock`` and mirrored with ``python -m micropkg mirror`` into the page's folder.

The success case saves a screenshot and checks it is a rendered page, not a
blank one. It writes ``docs/demo.png`` (the README shows it) only when that
file is missing or ``MICROPKG_UPDATE_SCREENSHOT=1`` is set: every run differs
(the status line shows milliseconds), and a committed image should not change
with each test run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait

from tests.harness.screenshot import check_screenshot

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo"
SCREENSHOT = REPO / "docs" / "demo.png"
WINDOW = (1200, 780)

LUAU_CODE = """import luau_wasm
print(luau_wasm.execute(r'''
local animals = {"fox", "owl", "frog", "rabbit"}
table.sort(animals, function(a, b) return #a < #b end)
for i, name in animals do
 print(i .. ". " .. name .. " (" .. #name .. ")")
end
'''))"""

# The page's header background (demo/demo.css): seeing it proves the style
# sheet loaded and the page painted.
HEADER_RGB = (0x20, 0x32, 0x4D)

BOOT_TIMEOUT = 90  # Pyodide's first load in a fresh browser profile: ~10 s here
RUN_TIMEOUT = 60


@pytest.fixture
def driver(browser):
    """The browser, sized for the screenshot."""
    browser.set_window_size(*WINDOW)
    return browser


@pytest.fixture
def demo_url(index_server, pyodide_dist_dir) -> str:
    demo = index_server.mount("demo", DEMO)
    pyodide = index_server.mount("pyodide", pyodide_dist_dir)
    return f"{demo}index.html?{urlencode({'pyodide': pyodide, 'index': index_server.simple_url})}"


# -- driving the page ----------------------------------------------------------


def _state(driver) -> str | None:
    return driver.find_element(By.TAG_NAME, "body").get_attribute("data-state")


def _text(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def _wait_for(driver, states: tuple[str, ...], timeout: float) -> str:
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: _state(d) in states)
    except TimeoutException:
        pytest.fail(
            f"the page did not reach {' or '.join(states)} within {timeout} s: state {_state(driver)!r}, "
            f"status {_text(driver, 'status')!r}, output {_text(driver, 'output')!r}"
        )
    return _state(driver)


def _open(driver, url: str) -> None:
    driver.get(url)
    state = _wait_for(driver, ("ready", "failed"), BOOT_TIMEOUT)
    assert state == "ready", f"the page could not start: {_text(driver, 'status')!r}"


def _install_and_run(driver, requirements: str | None, code: str) -> list[tuple[str, ...]]:
    """Fill the form (requirements None: the page installs a lock), click, wait until done.

    Returns what the progress list showed while the page ran: each distinct
    sequence of step names (``resolve``, ``download``, ...) seen, in order.
    """
    fields = (("code", code),) if requirements is None else (("requirements", requirements), ("code", code))
    for element_id, text in fields:
        field = driver.find_element(By.ID, element_id)
        field.clear()
        if text:  # WebKit's driver refuses to type nothing
            # Line breaks as the Enter key: WebKit's driver drops a typed "\n" (Chromium's and Firefox's type it).
            field.send_keys(text.replace("\n", Keys.ENTER))
    # What was typed is what the page will read (no auto-indent, no lost keys).
    assert driver.find_element(By.ID, "code").get_property("value") == code
    button = driver.find_element(By.ID, "run")
    assert button.text == "Install and run" and button.is_enabled()
    button.click()
    snapshots: list[tuple[str, ...]] = []
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        state, steps = driver.execute_script(
            "return [document.body.dataset.state, [...document.querySelectorAll('#steps li')].map((li) => li.dataset.step)]"
        )
        if steps and (not snapshots or snapshots[-1] != tuple(steps)):
            snapshots.append(tuple(steps))
        if state == "done":
            return snapshots
        time.sleep(0.05)
    _wait_for(driver, ("done",), 0)  # fails with the page's state, status and output
    return snapshots


def _steps(driver) -> dict[str, tuple[str, str]]:
    """The progress list: step name -> (state, text)."""
    return {
        li.get_attribute("data-step"): (li.get_attribute("data-state"), li.text)
        for li in driver.find_elements(By.CSS_SELECTOR, "#steps li")
    }


def _events(driver) -> list[dict]:
    """The reporter's events as the page logged them (one JSON object a line; the log may be folded)."""
    text = driver.find_element(By.ID, "events").get_property("textContent")
    return [json.loads(line) for line in text.splitlines()]


# -- the cases ------------------------------------------------------------------

# The events of one install, in order (micropkg/ui/progress.py). A luau-wasm install
# from the index: one wheel, one native library.
INSTALL_EVENTS = ["resolving", "resolved", "downloading", "downloaded", "installing", "loading", "installed"]
LUAU_OUTPUT = ["1. fox (3)", "2. owl (3)", "3. frog (4)", "4. rabbit (6)"]
LUAU_LIBRARY = "_luau.cpython-314-wasm32-emscripten.so"
TIME = r"\d+ ms|\d+\.\d s"  # formatSeconds in demo/progress.mjs


@pytest.mark.pyodide_abi("2026_0")  # luau-wasm has only a cp314 / 2026_0 wheel
def test_demo_installs_luau_wasm_and_shows_its_progress(driver, demo_url, index_server, tmp_path):
    wheel = _luau_wheel(index_server)
    _open(driver, demo_url)
    snapshots = _install_and_run(driver, "luau-wasm", LUAU_CODE)

    status, output = _text(driver, "status"), _text(driver, "output")
    body = driver.find_element(By.TAG_NAME, "body")
    assert body.get_attribute("data-outcome") == "ok", (status, output)
    assert output.splitlines() == LUAU_OUTPUT
    assert re.fullmatch(rf"Installed luau-wasm 0\.1a0 in ({TIME})\. Done\.", status), status
    # The wheel came from the loopback index, through the page.
    assert index_server.log.count("file", path=f"/files/{wheel.filename}") == 1

    assert snapshots[-1] == ("resolve", "download", "install", "load", "done"), snapshots
    # The finished steps, with real numbers: the wheel's own size in bytes.
    steps = _steps(driver)
    assert list(steps) == ["resolve", "download", "install", "load", "done"], steps
    assert all(state == "done" for state, _ in steps.values()), steps
    assert re.fullmatch(rf"Resolved 1 package in ({TIME}): luau-wasm 0\.1a0", steps["resolve"][1]), steps
    assert re.fullmatch(rf"Downloaded 1 file, {round(wheel.size / 1000)} kB in ({TIME})", steps["download"][1]), steps
    assert steps["install"][1] == "Unpacked luau-wasm 0.1a0 into site-packages", steps
    assert steps["load"][1] == "Loaded 1 native library", steps
    assert re.fullmatch(rf"Installed 1 package in ({TIME})", steps["done"][1]), steps
    bar = driver.find_element(By.CSS_SELECTOR, '#steps li[data-step="download"] progress')
    assert (bar.get_property("max"), bar.get_property("value")) == (wheel.size, wheel.size)
    # What the reporter's callback received, as the page lists it.
    events = _events(driver)
    assert [e["event"] for e in events] == INSTALL_EVENTS, events
    downloading = events[2]
    assert downloading == {"event": "downloading", "done_bytes": wheel.size, "total_bytes": wheel.size,
                           "done_files": 1, "files": 1}, downloading
    assert events[1]["packages"] == [["luau-wasm", "0.1a0"]] and events[-1]["packages"] == [["luau-wasm", "0.1a0"]]
    assert events[5]["library"].endswith(LUAU_LIBRARY) and (events[5]["done"], events[5]["total"]) == (1, 1)

    _check_screenshot(driver, tmp_path)


def test_demo_shows_readable_errors(driver, demo_url, index_server):
    _open(driver, demo_url)
    _install_and_run(driver, "no-such-project-here", "print('never runs')")

    status, output = _text(driver, "status"), _text(driver, "output")
    body = driver.find_element(By.TAG_NAME, "body")
    assert body.get_attribute("data-outcome") == "error", (status, output)
    # The sources asked are the index and, after it, the Pyodide distribution's lockfile.
    assert output.startswith(
        f"ProjectNotFound: Project 'no-such-project-here' was not found on {index_server.simple_url}"
    ), output
    assert output.endswith("Check the spelling, or pass index_urls= naming an index that has it."), output
    assert status == f"Failed: {output}"
    # micropkg's message as one readable line, not a traceback; and the code did not run.
    assert "\n" not in output
    assert "error" in driver.find_element(By.ID, "output").get_attribute("class").split()
    assert index_server.log.count("simple-project", path="/simple/no-such-project-here/") == 1
    # The progress list ends on the failure, naming the project; the step that failed is marked.
    steps = _steps(driver)
    assert list(steps) == ["resolve", "failed"], steps
    assert steps["resolve"] == ("failed", "Resolving no-such-project-here")
    assert steps["failed"] == ("failed", f"Failed: {output}")
    events = _events(driver)
    assert [e["event"] for e in events] == ["resolving", "failed"], events
    assert events[1]["type"] == "ProjectNotFound" and "'no-such-project-here'" in events[1]["error"]

    # The same page, next click: an exception in the user's own code shows its
    # traceback from the user's first frame on, after what the code printed.
    _install_and_run(driver, "", "def half(n):\n    return n / 0\nprint('before')\nhalf(1)")
    assert body.get_attribute("data-outcome") == "error"
    assert _text(driver, "status") == "Failed: ZeroDivisionError: division by zero"
    assert _text(driver, "output").splitlines() == [
        "before",
        "Traceback (most recent call last):",
        '  File "<exec>", line 4, in <module>',
        '  File "<exec>", line 2, in half',
        "ZeroDivisionError: division by zero",
    ]
    assert _steps(driver) == {} and _events(driver) == []  # nothing to install this time


@pytest.mark.pyodide_abi("2026_0")
def test_demo_installs_from_a_lock_served_next_to_the_page(driver, index_server, pyodide_dist_dir, pyodide_info, tmp_path):
    # The app as deployed: the demo's files, the lock and its wheels in one static folder.
    site = tmp_path / "site"
    shutil.copytree(DEMO, site)
    _lock_and_mirror(index_server, pyodide_info, "luau-wasm", tmp_path, site)
    wheel = _luau_wheel(index_server)
    app = index_server.mount("app", site)
    pyodide = index_server.mount("pyodide", pyodide_dist_dir)
    # The wheel arrives late, so the page can be watched mid-install while it waits.
    index_server.inject(f"/app/files/{wheel.filename}", body=(site / "files" / wheel.filename).read_bytes(), delay=1.5)
    index_server.log.reset()

    _open(driver, f"{app}index.html?{urlencode({'pyodide': pyodide, 'lock': 'pylock.toml'})}")
    assert not driver.find_element(By.ID, "requirements").is_displayed()
    assert _text(driver, "lock-note").startswith("Packages: exactly what the lock pylock.toml lists")
    snapshots = _install_and_run(driver, None, LUAU_CODE)
    # The steps appeared while the install ran, one after another, not all at its end.
    assert snapshots[0] == ("resolve", "download") and snapshots[-1][-1] == "done", snapshots
    assert ("resolve", "download", "install", "load", "done") in snapshots, snapshots

    status, output = _text(driver, "status"), _text(driver, "output")
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-outcome") == "ok", (status, output)
    assert output.splitlines() == LUAU_OUTPUT
    assert re.fullmatch(rf"Installed luau-wasm 0\.1a0 in ({TIME})\. Done\.", status), status
    steps = _steps(driver)
    assert steps["resolve"] == ("done", "Read the lock: 1 package to install: luau-wasm 0.1a0"), steps
    assert re.fullmatch(rf"Downloaded 1 file, {round(wheel.size / 1000)} kB in ({TIME})", steps["download"][1]), steps
    events = _events(driver)
    assert [e["event"] for e in events] == INSTALL_EVENTS[1:], events  # a lock skips resolution
    # No package index was asked: the lock and its wheel came from the page's own folder.
    asked = [e.path for e in index_server.log if not e.path.startswith("/pyodide/")]
    assert index_server.log.count("simple-project") == index_server.log.count("simple-index") == 0, asked
    assert index_server.log.count("file") == index_server.log.count("metadata") == 0, asked
    assert "/app/pylock.toml" in asked and asked.count(f"/app/files/{wheel.filename}") == 1, asked


@pytest.mark.pyodide_abi("2026_0")
def test_embed_snippet_works_as_written(driver, index_server, pyodide_dist_dir, pyodide_info, tmp_path):
    """demo/embed.html, the README's snippet, served as its comment says: next to Pyodide, wheels and a lock."""
    snippet = (DEMO / "embed.html").read_text()
    site = tmp_path / "site"
    site.mkdir()
    (site / "embed.html").write_text(snippet)
    (site / "wheels").mkdir()
    for name in re.findall(r'"([\w.]+-[\w.]+)"', snippet.split("loadPackage(", 1)[1].split(")", 1)[0]):
        wheel = pyodide_dist_dir / f"{name}-py3-none-any.whl"
        assert wheel.is_file(), f"demo/embed.html loads {wheel.name}, which the Pyodide folder under test does not have"
        shutil.copy(wheel, site / "wheels")
    _lock_and_mirror(index_server, pyodide_info, "luau-wasm", tmp_path, site)
    base = index_server.mount("embed", site)
    index_server.mount("embed/pyodide", pyodide_dist_dir)  # the npm folder, at ./pyodide/
    index_server.log.reset()

    driver.get(base + "embed.html")
    try:
        WebDriverWait(driver, BOOT_TIMEOUT, poll_frequency=0.2).until(lambda d: _text(d, "output"))
    except TimeoutException:
        pytest.fail(f"embed.html printed nothing: status {_text(driver, 'status')!r}")
    assert _text(driver, "output") == "HELLO FROM LUAU"
    assert _text(driver, "status") == "Installed."
    bar = driver.find_element(By.ID, "bar")
    wheel = _luau_wheel(index_server)
    assert (bar.get_property("max"), bar.get_property("value")) == (wheel.size, wheel.size)
    assert index_server.log.count("simple-project") == index_server.log.count("file") == 0


def test_readme_shows_embed_html_as_it_is():
    """The README's snippet is demo/embed.html, which the test above runs: they must not drift apart."""
    snippet = (DEMO / "embed.html").read_text()
    readme = (REPO / "README.md").read_text()
    assert "demo/embed.html" in readme, "the README does not cite demo/embed.html"
    assert f"```html\n{snippet}```" in readme, "the README no longer shows demo/embed.html as it is"


# -- helpers -------------------------------------------------------------------------


def _luau_wheel(index_server):
    [wheel] = [f for f in index_server.files("luau-wasm") if f.filename.endswith("pyemscripten_2026_0_wasm32.whl")]
    return wheel


def _lock_and_mirror(index_server, pyodide_info, requirement: str, work: Path, site: Path) -> None:
    """What the README tells: lock on the host for the page's Pyodide, then mirror the lock's wheels."""
    pyodide = ".".join(pyodide_info["version"].split(".")[:2])
    lock = work / "pylock.toml"
    for command in (
        ["lock", requirement, "--index-url", index_server.simple_url, "--pyodide", pyodide, "-o", str(lock)],
        ["mirror", str(lock), "-o", str(site)],
    ):
        done = subprocess.run([sys.executable, "-m", "micropkg", *command], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, f"python -m micropkg {' '.join(command)} failed:\n{done.stderr}"
    assert (site / "pylock.toml").is_file()


def _check_screenshot(driver, tmp_path: Path) -> None:
    width, colours = check_screenshot(driver.get_screenshot_as_png(), SCREENSHOT, tmp_path, minimum=(800, 500))
    assert colours[HEADER_RGB] > width * 20, "the header's background is missing: did demo.css load?"
