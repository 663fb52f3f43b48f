"""Headless Firefox driven through Marionette, without geckodriver.

geckodriver is not packaged for Debian and cannot be downloaded here, but
Firefox speaks Marionette itself (``--marionette``), and PyPI's
``marionette-driver`` is its client. :func:`start_firefox` starts Debian's
``firefox-esr`` on a fresh profile whose Marionette port Firefox picks
(``marionette.port`` 0; it writes the port it took to ``MarionetteActivePort``
in the profile), and returns a :class:`MarionetteDriver`: the part of
Selenium's ``WebDriver`` interface the tests use (``get``, ``execute_script``,
``execute_async_script``, ``find_element`` ..., ``get_screenshot_as_png``), so a
test written for Chromium's driver drives Firefox unchanged.

Scripts run in the page's own global, as WebDriver's do (Marionette's
``sandbox=None``), not in Marionette's default sandbox, whose Xray view of
the page hides what the page's scripts defined.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

__all__ = ["FIREFOX", "MarionetteDriver", "start_firefox"]

FIREFOX = "firefox-esr"
STARTUP_TIMEOUT = 60.0

# Quiet on the network (only PyPI, npm and Debian are reachable here) and no
# first-run pages. Marionette adds its own recommended automation preferences.
_PREFERENCES = {
    "marionette.port": 0,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.update.enabled": False,
    "extensions.update.enabled": False,
    "network.http.http3.enable": False,
}


def _user_js(preferences: dict[str, object]) -> str:
    # JSON's literals are JavaScript's: true, 0, "text".
    return "".join(f"user_pref({json.dumps(name)}, {json.dumps(value)});\n" for name, value in preferences.items())


class MarionetteDriver:
    """A Firefox process and its Marionette session, with Selenium's method names."""

    def __init__(self, process: subprocess.Popen, profile: Path, client) -> None:
        self._process = process
        self._profile = profile
        self.marionette = client
        self.capabilities = client.session

    # -- navigation and scripts ---------------------------------------------------------

    def get(self, url: str) -> None:
        self.marionette.navigate(url)

    def refresh(self) -> None:
        self.marionette.refresh()

    @property
    def current_url(self) -> str:
        return self.marionette.get_url()

    def set_script_timeout(self, seconds: float) -> None:
        self.marionette.timeout.script = seconds

    def execute_script(self, script: str, *args):
        return self.marionette.execute_script(script, script_args=args, sandbox=None)

    def execute_async_script(self, script: str, *args):
        return self.marionette.execute_async_script(script, script_args=args, sandbox=None)

    # -- elements, window, screenshots --------------------------------------------------------

    def find_element(self, by: str, value: str):
        # Selenium's By values ("id", "tag name", "css selector") are WebDriver's,
        # which Marionette takes as they are.
        return self.marionette.find_element(by, value)

    def find_elements(self, by: str, value: str):
        return self.marionette.find_elements(by, value)

    def set_window_size(self, width: int, height: int) -> None:
        self.marionette.set_window_rect(width=width, height=height)

    def get_screenshot_as_png(self) -> bytes:
        # The viewport, as Selenium's screenshot is.
        return base64.b64decode(self.marionette.screenshot(full=False))

    # -- the end ------------------------------------------------------------------------------

    def quit(self) -> None:
        # Firefox may be gone already (a crash); it is stopped below either way.
        with contextlib.suppress(Exception):
            self.marionette.delete_session()
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)


def _log_tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-2000:]
    except OSError:
        return ""


def start_firefox(*, width: int = 1280, height: int = 1024) -> MarionetteDriver:
    """Headless Firefox on a fresh profile, with a Marionette session started."""
    with warnings.catch_warnings():
        # Its mozrunner/mozinfo imports warn about telnetlib and distro on Python 3.11+.
        warnings.simplefilter("ignore", DeprecationWarning)
        from marionette_driver.marionette import Marionette

    binary = shutil.which(FIREFOX)
    if binary is None:
        raise RuntimeError(f"{FIREFOX} is not installed: apt-get install -y {FIREFOX} (scripts/test does)")
    profile = Path(tempfile.mkdtemp(prefix="micropkg-firefox-"))
    (profile / "user.js").write_text(_user_js(_PREFERENCES))
    log = profile / "firefox.log"
    env = {**os.environ, "MOZ_HEADLESS_WIDTH": str(width), "MOZ_HEADLESS_HEIGHT": str(height)}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [binary, "--headless", "--marionette", "--no-remote", "--profile", str(profile)],
            stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )
    port_file = profile / "MarionetteActivePort"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not port_file.is_file() or not port_file.read_text().strip():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            tail = _log_tail(log)
            shutil.rmtree(profile, ignore_errors=True)
            raise RuntimeError(f"Firefox did not start Marionette within {STARTUP_TIMEOUT:g} s:\n{tail}")
        time.sleep(0.1)
    client = Marionette(host="127.0.0.1", port=int(port_file.read_text().strip()))
    try:
        client.start_session(timeout=STARTUP_TIMEOUT)
    except Exception:
        process.kill()
        process.wait()
        shutil.rmtree(profile, ignore_errors=True)
        raise
    return MarionetteDriver(process, profile, client)
