"""A person at Pyodide's browser REPL, typing what the README's "At a REPL" section tells.

The page is Pyodide's own ``console.html`` from the Pyodide folder under
test, with its jQuery / jquery.terminal CDN URLs pointed at copies from the
npm registry (:mod:`tests.harness.console`); everything else on it is as
Pyodide ships it: ``PyodideConsole``, top-level ``await``, tracebacks shown
with ``term.error``. The index server serves that folder and the loopback
index from one origin.

The test types into the terminal key by key (Selenium's key events go to
jquery.terminal's focused textarea), presses Enter, and waits as a person
does: until the ``>>>`` prompt, hidden while a command runs, is back. It
reads what the terminal shows from the DOM. ``import micropkg`` works
without a ``loadPackage`` call: ``PyodideConsole`` loads the packages a
line imports from the folder's lockfile, which lists micropkg.

It saves a screenshot of the session so far once luau-wasm has run, and
checks it shows the terminal's text; ``docs/repl.png`` (the README shows
it) is written only when missing or with ``MICROPKG_UPDATE_SCREENSHOT=1``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait

from tests.harness import console
from tests.harness.screenshot import check_screenshot

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "repl.png"
# Wide enough for the longest line (micropkg's error, naming two URLs) to fit
# unbroken. The screenshot is taken at SCREENSHOT_SIZE (the page's viewport).
WINDOW = (2800, 900)
SCREENSHOT_SIZE = (1200, 560)
GREY = (204, 204, 204)  # the terminal's text: rgba(255, 255, 255, 0.8) on black

BOOT_TIMEOUT = 90  # Pyodide's first load in a fresh browser profile: ~10 s here
RUN_TIMEOUT = 60
TIME = r"\d+ ms|\d+\.\d+ s"  # how micropkg's ConsoleReporter writes durations


@pytest.fixture
def driver(browser):
    """The browser, sized for the screenshot."""
    browser.set_window_size(*WINDOW)
    return browser


@pytest.fixture
def console_url(index_server, pyodide_dist_dir, tmp_path) -> str:
    page = console.prepare(pyodide_dist_dir, tmp_path / "site")
    return index_server.mount("repl", page.parent) + page.name


# -- a person at the terminal ------------------------------------------------------


def _screen(driver, *, whole_lines: bool = True) -> list[str]:
    """The terminal's output, line by line, read from the DOM.

    jquery.terminal renders each echo as a ``div[data-index]`` holding one
    ``div`` per row, spaces as NBSP, and breaks a line wider than the
    terminal into rows of ``term.cols()`` characters (or one fewer: seen where
    it turns a URL into a link). The session runs in a window wide enough that
    no line is broken -- checked: every row is shorter than that -- so rows
    are lines (``whole_lines=False`` skips that check).
    """
    cols, rows = driver.execute_script(
        "return [term.cols(), [...document.querySelectorAll('.terminal-output > div[data-index] > div')]"
        ".map((row) => row.textContent)]"
    )
    if whole_lines:
        assert all(len(row) < cols - 1 for row in rows), f"a line fills the terminal's {cols} columns: widen WINDOW"
    return [row.replace("\xa0", " ") for row in rows]


def _prompt_shown(driver) -> bool:
    """The ``>>>`` prompt is on screen: jquery.terminal hides it while a command runs."""
    prompts = driver.find_elements(By.CSS_SELECTOR, ".cmd-prompt")
    return bool(prompts) and prompts[0].is_displayed() and prompts[0].text.replace("\xa0", " ") == ">>> "


def _wait(driver, condition, timeout: float, what: str) -> None:
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)
    except TimeoutException:
        booted = driver.execute_script("return typeof term !== 'undefined'")
        screen = _screen(driver, whole_lines=False) if booted else [driver.find_element(By.TAG_NAME, "body").text]
        shown = "\n".join(screen)
        pytest.fail(f"{what} within {timeout} s; the page shows:\n{shown}")


def _resize(driver, width: int, height: int) -> None:
    """Give the page a ``width`` x ``height`` viewport; wait until the terminal has redrawn to it.

    jquery.terminal redraws its output in the resize handler that changes
    ``term.cols()``; the rows are then also checked to hold still.
    """
    chrome, cols = driver.execute_script(
        "return [[outerWidth - innerWidth, outerHeight - innerHeight], term.cols()]")
    driver.set_window_size(width + chrome[0], height + chrome[1])
    _wait(driver, lambda d: d.execute_script("return [innerWidth, innerHeight, term.cols() !== arguments[0]]", cols)
          == [width, height, True], 10, f"the terminal did not redraw at {width} px")
    rows = None
    while rows != (rows := _screen(driver, whole_lines=False)):
        time.sleep(0.2)


def _open(driver, url: str, pyodide_info: dict) -> None:
    driver.get(url)
    _wait(driver, lambda d: d.execute_script("return typeof term !== 'undefined'") and _prompt_shown(d),
          BOOT_TIMEOUT, "the console did not show its prompt")
    banner = _screen(driver)
    assert banner[0] == f"Welcome to the Pyodide {pyodide_info['version']} terminal emulator 🐍", banner
    assert banner[1].startswith(f"Python {pyodide_info['python']} ("), banner
    # A person clicks into the terminal before typing.
    driver.find_element(By.CSS_SELECTOR, ".terminal").click()


def _type(driver, line: str, timeout: float = RUN_TIMEOUT) -> list[str]:
    """Type ``line`` key by key, press Enter, wait for the prompt; return the lines it printed."""
    before = len(_screen(driver))
    ActionChains(driver).send_keys(line).perform()
    # What was typed is what the command line holds (no lost or doubled keys);
    # the cursor, after the text, renders as one more space.
    typed = driver.find_element(By.CSS_SELECTOR, ".cmd-wrapper").get_property("textContent").replace("\xa0", " ")
    assert typed.rstrip() == f">>> {line}", typed
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    _wait(driver, lambda d: len(_screen(d)) > before and _prompt_shown(d), timeout, f"{line!r} did not finish")
    screen = _screen(driver)
    assert screen[before] == f">>> {line}", screen[before:]
    return screen[before + 1 :]


def _check_screenshot(png: bytes, tmp_path: Path) -> None:
    # A terminal's black background fills 92% of the screen even when text covers
    # it top to bottom (measured at 800 to 1200 px wide): allow it, and require the
    # terminal's own colours instead, a black background and plenty of grey text.
    width, colours = check_screenshot(png, SCREENSHOT, tmp_path, minimum=SCREENSHOT_SIZE, max_share=0.97)
    height = sum(colours.values()) // width
    assert colours[(0, 0, 0)] > 0.5 * width * height, "the console's black background is missing"
    assert colours[GREY] > 2000, f"only {colours[GREY]} pixels of the terminal's grey text"


# -- the session -------------------------------------------------------------------


@pytest.mark.pyodide_abi("2026_0")  # luau-wasm has only a cp314 / 2026_0 wheel
def test_repl_session_from_the_readme(driver, console_url, index_server, pyodide_info, tmp_path):
    index = index_server.simple_url
    [wheel] = [f for f in index_server.files("luau-wasm") if f.filename.endswith("pyemscripten_2026_0_wasm32.whl")]
    started = time.monotonic()
    _open(driver, console_url, pyodide_info)
    booted = time.monotonic()

    # No loadPackage first: PyodideConsole loads what a line imports from the lockfile.
    assert _type(driver, "import micropkg") == []
    printed = _type(driver, f'await micropkg.install("luau-wasm", index_urls=["{index}"], verbose=True)')
    # The pip-like lines, printed while it ran, then the REPL's repr of what install() returned.
    assert len(printed) == 5, printed
    assert re.fullmatch(rf"Resolved 1 package in ({TIME})", printed[0]), printed
    assert re.fullmatch(rf"Downloaded 1 file, {round(wheel.size / 1000)} kB in ({TIME})", printed[1]), printed
    assert printed[1].startswith("Downloaded 1 file, 272 kB in "), printed  # as the README says
    assert re.fullmatch(rf"Installed 1 package in ({TIME})", printed[2]), printed
    assert printed[3] == " + luau-wasm==0.1a0", printed
    assert printed[4] == (
        f"[Installed(name='luau-wasm', version='0.1a0', filename='{wheel.filename}', source='{index}')]"
    ), printed
    assert index_server.log.count("file", path=f"/files/{wheel.filename}") == 1

    assert _type(driver, "import luau_wasm") == []
    # Luau's print separates with a tab (the terminal draws it to the next tab stop)
    # and ends with a newline, to which Python's print adds its own.
    assert _type(driver, """print(luau_wasm.execute('print("hi", 6*7)'))""") == ["hi  42", ""]

    # The README's picture: the session so far, in a window of ordinary size.
    _resize(driver, *SCREENSHOT_SIZE)
    _check_screenshot(driver.get_screenshot_as_png(), tmp_path)
    _resize(driver, *WINDOW)

    printed = _type(driver, f'await micropkg.install("no-such-project-here", index_urls=["{index}"])')
    # A traceback, from the line typed at the console to micropkg's message, naming
    # the sources asked: the index, then the Pyodide folder's lockfile.
    assert printed[:2] == ["Traceback (most recent call last):", '  File "<console>", line 1, in <module>'], printed
    message = (
        f"ProjectNotFound: Project 'no-such-project-here' was not found on {index}, "
        f"{index_server.url}repl/pyodide-lock.json. "
        "Check the spelling, or pass index_urls= naming an index that has it."
    )
    # The class as Python names it: micropkg.errors.ProjectNotFound today.
    assert re.fullmatch(rf"micropkg\.(_errors\.)?{re.escape(message)}", printed[-1]), printed[-1]
    assert index_server.log.count("simple-project", path="/simple/no-such-project-here/") == 1

    printed = _type(driver, "print(micropkg.list())")
    assert printed[0].split() == ["Name", "Version", "Source"], printed
    assert [set(rule) for rule in printed[1].split()] == [{"-"}] * 3, printed
    rows = {tuple(line.split()) for line in printed[2:] if line}
    # luau-wasm from micropkg; micropkg and its dependencies from the console's own loadPackage.
    assert ("luau-wasm", "0.1a0", "micropkg") in rows, printed
    assert ("micropkg", "0.1.0", "pyodide.loadPackage") in rows, printed
    assert ("resolvelib", "1.2.1", "pyodide.loadPackage") in rows, printed
    assert not any("no-such-project-here" in line for line in printed), printed  # the failure changed nothing
    print(f"\nconsole.html (boot {booted - started:.1f} s, session {time.monotonic() - booted:.1f} s):")
    print("\n".join(_screen(driver)))
