"""The demo page (``demo/``), clicked through in headless Chromium like a person would.

The index server serves the page, the Pyodide folder under test and the
loopback index from one origin. Each test opens the page in a fresh browser
(pytest-pyodide's ``selenium_standalone_noload``: a Chromium session that has
not loaded Pyodide itself), waits until the page says it is ready, types into
the form, clicks "Install and run" and reads what the page shows.

The success case saves a screenshot and checks it is a rendered page, not a
blank one. It writes ``docs/demo.png`` (the README shows it) only when that
file is missing or ``MICROPKG_UPDATE_SCREENSHOT=1`` is set: every run differs
(the status line shows milliseconds), and a committed image should not change
with each test run.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo"
SCREENSHOT = REPO / "docs" / "demo.png"
WINDOW = (1200, 700)

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
def driver(request, runtime):
    """A fresh headless Chromium (a Selenium WebDriver) sized for the screenshot."""
    if runtime != "chrome":
        pytest.skip(f"the demo is a web page: it is tested in the chrome run, not under {runtime}")
    runner = request.getfixturevalue("selenium_standalone_noload")
    runner.driver.set_window_size(*WINDOW)
    return runner.driver


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


def _install_and_run(driver, requirements: str, code: str) -> None:
    for element_id, text in (("requirements", requirements), ("code", code)):
        field = driver.find_element(By.ID, element_id)
        field.clear()
        field.send_keys(text)
    # What was typed is what the page will read (no auto-indent, no lost keys).
    assert driver.find_element(By.ID, "code").get_property("value") == code
    button = driver.find_element(By.ID, "run")
    assert button.text == "Install and run" and button.is_enabled()
    button.click()
    _wait_for(driver, ("done",), RUN_TIMEOUT)


# -- the cases ------------------------------------------------------------------


@pytest.mark.pyodide_abi("2026_0")  # luau-wasm has only a cp314 / 2026_0 wheel
def test_demo_installs_luau_wasm_and_runs_the_code(driver, demo_url, index_server, tmp_path):
    _open(driver, demo_url)
    _install_and_run(driver, "luau-wasm", LUAU_CODE)

    status, output = _text(driver, "status"), _text(driver, "output")
    body = driver.find_element(By.TAG_NAME, "body")
    assert body.get_attribute("data-outcome") == "ok", (status, output)
    assert output.splitlines() == ["1. fox (3)", "2. owl (3)", "3. frog (4)", "4. rabbit (6)"]
    assert status.startswith("Installed luau-wasm 0.1a0 in ") and status.endswith(" ms. Done."), status
    # The wheel came from the loopback index, through the page.
    assert index_server.log.count("file", path="/files/luau_wasm-0.1a0-cp314-cp314-pyemscripten_2026_0_wasm32.whl") == 1

    png = driver.get_screenshot_as_png()
    (tmp_path / "demo.png").write_bytes(png)
    if not SCREENSHOT.exists() or os.environ.get("MICROPKG_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.write_bytes(png)
    width, height, pixels = _decode_png(png)
    assert width >= 800 and height >= 500, (width, height)
    colours = Counter(pixels)
    # A blank page is one colour; rendered text (anti-aliased) brings hundreds.
    assert len(colours) > 50, f"the screenshot has only {len(colours)} colours: is the page blank?"
    assert colours[HEADER_RGB] > width * 20, "the header's background is missing: did demo.css load?"
    assert colours.most_common(1)[0][1] < 0.9 * width * height, "one colour fills 90% of the screenshot"


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


# -- reading the screenshot ---------------------------------------------------------


def _decode_png(png: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """(width, height, RGB pixels) of an 8-bit RGB or RGBA PNG, as Chromium writes them."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    chunks: dict[bytes, bytes] = {}
    position = 8
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        chunks[kind] = chunks.get(kind, b"") + png[position + 8 : position + 8 + length]
        position += 12 + length  # length, type, data, CRC
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, interlace) == (8, 0) and colour_type in (2, 6), (depth, colour_type, interlace)
    channels = 3 if colour_type == 2 else 4
    stride = width * channels
    data = zlib.decompress(chunks[b"IDAT"])
    previous = bytearray(stride)
    pixels: list[tuple[int, int, int]] = []
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(data[start], bytearray(data[start + 1 : start + 1 + stride]), previous, channels)
        pixels.extend(zip(row[0::channels], row[1::channels], row[2::channels]))
        previous = row
    return width, height, pixels


def _unfilter(kind: int, row: bytearray, previous: bytearray, bpp: int) -> bytearray:
    """Undo one scanline's PNG filter (None, Sub, Up, Average, Paeth)."""
    if kind == 0:
        return row
    if kind == 2:
        return bytearray((a + b) & 0xFF for a, b in zip(row, previous))
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + (left + previous[i]) // 2) & 0xFF
        elif kind == 4:
            up, up_left = previous[i], previous[i - bpp] if i >= bpp else 0
            estimate = left + up - up_left
            distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
            row[i] = (row[i] + (left, up, up_left)[distances.index(min(distances))]) & 0xFF
        else:
            raise AssertionError(f"unknown PNG filter type {kind}")
    return row
