"""WebKit (WebKitGTK, the engine of Safari) driven through Selenium.

Debian's ``webkit2gtk-driver`` has ``WebKitWebDriver``; it drives WebKitGTK's
``MiniBrowser`` started with ``--automation``. MiniBrowser needs a display
(its ``--headless`` flag hangs here), so :func:`start_webkit` runs it on an
Xvfb server of this process's own: started on first use on a display number
Xvfb picks itself (``-displayfd``, so agents sharing the machine never collide),
stopped when the process exits. ``DISPLAY`` reaches only the driver and the
browser it starts, not the rest of the test run.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import threading
import warnings
from pathlib import Path

__all__ = ["MINIBROWSER", "WEBKIT_DRIVER", "display", "start_webkit"]

WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
XVFB = "Xvfb"
XVFB_TIMEOUT = 30.0
SESSION_TIMEOUT = 60.0  # MiniBrowser starts in a few seconds here

_display: str | None = None
_display_lock = threading.Lock()


def _start_xvfb() -> str:
    binary = shutil.which(XVFB)
    if binary is None:
        raise RuntimeError("Xvfb is not installed: apt-get install -y xvfb (scripts/test does)")
    read, write = os.pipe()
    try:
        process = subprocess.Popen(
            [binary, "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
            pass_fds=(write,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    finally:
        os.close(write)
    with os.fdopen(read) as displayfd:
        # Xvfb writes the display number once it accepts connections.
        timer = threading.Timer(XVFB_TIMEOUT, process.kill)
        timer.start()
        number = displayfd.readline().strip()
        timer.cancel()
    if not number:
        process.kill()
        process.wait()
        raise RuntimeError(f"Xvfb did not start within {XVFB_TIMEOUT:g} s (exit status {process.poll()})")

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()

    atexit.register(stop)
    return f":{number}"


def display() -> str:
    """This process's Xvfb display (``:N``), started on first use."""
    global _display
    with _display_lock:
        if _display is None:
            _display = _start_xvfb()
        return _display


def start_webkit():
    """A Selenium ``WebDriver`` for a fresh MiniBrowser (an ephemeral session each).

    A session that has not started within :data:`SESSION_TIMEOUT` is given up and tried once
    more: once in a full run (2026-12-05) MiniBrowser never came up and the driver never
    answered, which held the whole run for 14 minutes until the driver was killed.
    """
    from selenium import webdriver
    from selenium.webdriver.webkitgtk.options import Options
    from selenium.webdriver.webkitgtk.service import Service

    for path in (WEBKIT_DRIVER, MINIBROWSER):
        if not Path(path).is_file():
            raise RuntimeError(f"{path} is missing: apt-get install -y webkit2gtk-driver (scripts/test does)")
    options = Options()
    options.binary_location = MINIBROWSER
    options.add_argument("--automation")
    env = {**os.environ, "DISPLAY": display()}
    env.pop("WAYLAND_DISPLAY", None)
    for attempt in (1, 2):
        service = Service(executable_path=WEBKIT_DRIVER, env=env)
        started: dict[str, object] = {}

        def start(service=service, started=started) -> None:
            try:
                with warnings.catch_warnings():
                    # Selenium's own WebKitGTK class still passes remote_server_addr, which it deprecated.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    started["driver"] = webdriver.WebKitGTK(options=options, service=service)
            except Exception as exc:  # noqa: BLE001 - raised below, from the caller's thread
                started["error"] = exc

        thread = threading.Thread(target=start, name="webkit-session", daemon=True)
        thread.start()
        thread.join(SESSION_TIMEOUT)
        if "driver" in started:
            return started["driver"]
        service.stop()  # the driver goes, and the request waiting on it ends
        thread.join(10)
        if attempt == 2:
            problem = started.get("error")
            raise RuntimeError(f"WebKit did not start a session within {SESSION_TIMEOUT:g} s, twice") from (
                problem if isinstance(problem, BaseException) else None
            )
    raise AssertionError("unreachable")
