"""Firefox and WebKit as pytest-pyodide runtimes, beside its Chrome and Node.

pytest-pyodide drives Firefox through geckodriver (not available here) and
knows no WebKit but Apple's Safari. :func:`register` plugs in runners of
our own, so ``--runtime firefox`` and ``--runtime webkit`` run the same
``selenium`` fixtures and ``@run_in_pyodide`` tests as ``--runtime chrome``:

``firefox``
    :class:`MarionetteFirefoxRunner`, Debian's Firefox ESR through Marionette
    (:mod:`tests.harness.firefox`);
``webkit``
    :class:`WebKitGTKRunner`, WebKitGTK's MiniBrowser through WebKitWebDriver
    on a private Xvfb display (:mod:`tests.harness.webkit`).

Each opens pytest-pyodide's page (served with the Pyodide folder under test),
loads Pyodide in it and runs Python there, returning the result or raising
with the Python traceback, as its Chrome runner does. A test that drives a
page itself takes the runner's ``driver``: Selenium's for WebKit, a
Selenium-shaped :class:`~tests.harness.firefox.MarionetteDriver` for Firefox.
"""

from __future__ import annotations

from pytest_pyodide import get_global_config
from pytest_pyodide.runner import _SeleniumBaseRunner

from .firefox import start_firefox
from .webkit import start_webkit

__all__ = ["BROWSERS", "MarionetteFirefoxRunner", "WebKitGTKRunner", "register", "runtime_follows_chain"]

BROWSERS = ("chrome", "firefox", "webkit")
"""The runtimes that are web browsers (the others: node, host)."""


class MarionetteFirefoxRunner(_SeleniumBaseRunner):
    browser = "firefox"
    # Seconds for one script: a fresh Firefox boots Pyodide 314 in ~11 s here.
    script_timeout = 60

    def get_driver(self, jspi=False):
        return start_firefox()


class WebKitGTKRunner(_SeleniumBaseRunner):
    browser = "webkit"  # type: ignore[assignment]  # not in pytest-pyodide's Literal of runtimes
    # WebKit boots Pyodide 314 in ~21 s here (it compiles the 10 MB module more slowly).
    script_timeout = 90

    def get_driver(self, jspi=False):
        return start_webkit()


def register() -> None:
    """Make ``firefox`` and ``webkit`` runtimes of pytest-pyodide run on the runners above.

    Call before pytest-pyodide's ``pytest_configure`` checks ``--runtime``.
    """
    from pytest_pyodide import fixture, hook

    if "webkit" not in hook.RUNTIMES:
        hook.RUNTIMES.append("webkit")
    settings = get_global_config()
    settings.flags.setdefault("webkit", [])  # type: ignore[call-overload]
    settings.load_pyodide_script.setdefault("webkit", settings.get_load_pyodide_script("chrome"))  # type: ignore[call-overload]
    # pytest-pyodide looks runners up by (runner, browser, thread) in a cached map.
    runners = fixture._runner_map()
    runners[("selenium", "firefox", "main")] = MarionetteFirefoxRunner
    runners[("selenium", "webkit", "main")] = WebKitGTKRunner

def runtime_follows_chain(selenium) -> bool:
    """Whether the chain guesses here: not in pytest-pyodide's Node vm context, which lacks ``URL``."""
    return bool(selenium.run_js("return typeof URL === 'function';"))
