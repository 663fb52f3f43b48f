"""pytest wiring: pytest-pyodide's runtimes, the loopback index, built wheels.

Host tests run on plain CPython; runtime tests inside a real Pyodide, through
pytest-pyodide's ``selenium`` fixtures or ``@run_in_pyodide``. pytest-pyodide's
``--runtime`` picks which run: ``host`` (host tests only; pyproject.toml makes
it the default, with ``tests/host`` as the default path, so plain ``pytest``
prepares and starts no Pyodide), ``node`` or ``chrome`` (runtime tests and
host tests), ``node-no-host`` / ``chrome-no-host`` (runtime tests only), and
``firefox`` / ``webkit`` through the runners of :mod:`tests.harness.engines`.
``scripts/test`` runs each over all of ``tests/``. ``--pyodide-version`` picks
the Pyodide release of a runtime run; unless ``--dist-dir`` is given, its
folder is prepared (cached) by :mod:`tests.harness.pyodide_dist`.

Fixtures:

``index_server``
    the :class:`~tests.harness.index_server.IndexServer` of this session,
    preloaded with :data:`PRELOADED` built wheels and the real PyEmscripten
    wheels of :mod:`tests.harness.pypi_cache`. Whatever a test changes (files
    added, switches, faults) is undone after it, and the request log starts
    empty for each test.
``index_url``
    its base URL, ``http://127.0.0.1:<port>/`` -- a plain string to hand to
    ``@run_in_pyodide`` functions.
``browser``
    a fresh browser of the run (Chromium, Firefox or WebKit; a Selenium
    WebDriver or one shaped like it) without Pyodide, for tests that drive a
    page like a person (the demo, console.html, JupyterLite); skipped under Node.
``make_wheel``
    :func:`tests.harness.wheels.make_wheel`.
``real_wheels``
    the cached real wheels (:class:`~tests.harness.pypi_cache.CachedWheel`).
``pyodide_dist_dir``
    the prepared Pyodide folder under test.
``pyodide_info``
    the Pyodide under test: ``version``, ``python``, ``abi_version``, ``platform``.
``node_run``
    for a test that checks the runtime run's prepared Pyodide folder from the
    host (``pytest.mark.usefixtures("node_run")``): a runtime test that starts
    no browser, kept in the Node runs only (deselected from the others).
``micropkg_cache_dir``
    the host directory micropkg keeps its cache in under Node during this run
    (``MICROPKG_CACHE_DIR``, a fresh temporary directory, never the user's
    ``~/.cache``). Every runtime test starts with micropkg's cache empty (that
    directory, and the Cache API in Chromium), since tests count requests.

Markers: ``network`` (live PyPI; skipped outside Node, where Chromium cannot
reach it), ``runtime`` (added automatically to tests that run in Pyodide),
``pyodide_abi(*abis)`` (skip the runtime test on other Pyodide ABIs).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_pyodide import get_global_config

from tests.harness import engines, pyodide_dist
from tests.harness.chrome import CHROME_FLAGS
from tests.harness.index_server import IndexServer
from tests.harness.pypi_cache import CachedWheel
from tests.harness.pypi_cache import real_wheels as _real_wheels
from tests.harness.wheels import BuiltWheel
from tests.harness.wheels import make_wheel as _make_wheel

# Selenium Manager would look chromedriver up online (googlechromelabs.github.io,
# unreachable) before falling back to PATH; point it at Debian's driver instead.
if shutil.which("chromedriver") and "SE_CHROMEDRIVER" not in os.environ:
    os.environ["SE_CHROMEDRIVER"] = shutil.which("chromedriver")
os.environ.setdefault("SE_AVOID_STATS", "true")

# Node processes pytest-pyodide starts inherit this: micropkg's cache under Node
# goes here, not into the user's ~/.cache, and is emptied before each runtime test.
MICROPKG_CACHE_DIR = Path(tempfile.mkdtemp(prefix="micropkg-test-cache-"))
os.environ["MICROPKG_CACHE_DIR"] = str(MICROPKG_CACHE_DIR)


def _preloaded() -> tuple[BuiltWheel, ...]:
    """A small, stable catalogue: a project with two versions and a dependency."""
    return (
        _make_wheel("harness-demo", "1.0.0"),
        _make_wheel("harness-demo", "2.0.0", requires_dist=["harness-dep>=1"], requires_python=">=3.11"),
        _make_wheel("harness-dep", "1.0.0"),
    )


PRELOADED = _preloaded()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--pyodide-version",
        default=pyodide_dist.DEFAULT_VERSION,
        help="npm version of Pyodide whose prepared folder runtime tests use "
        f"(default {pyodide_dist.DEFAULT_VERSION}); ignored with --dist-dir",
    )


def _runtimes_requested(config: pytest.Config) -> bool:
    runtimes = {r.strip().removesuffix("-no-host") for r in config.option.runtime.split(",")}
    return bool(runtimes - {"host"})


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Runs before pytest-pyodide's own pytest_configure reads ``--dist-dir``."""
    engines.register()  # --runtime firefox / webkit
    settings = get_global_config()
    flags = settings.get_flags("chrome")
    # pytest-pyodide's Chrome runner passes --headless and --no-sandbox itself.
    extra = [f for f in CHROME_FLAGS if f not in flags and f not in ("--headless", "--no-sandbox")]
    settings.set_flags("chrome", [*flags, *extra])
    # pytest-pyodide runs Node's Pyodide in a vm context holding a few chosen globals; real
    # Node (like every browser) has these too, and micropkg.runtime.chain needs URL and crypto.
    settings.add_node_extra_globals([g for g in ("URL", "Headers", "crypto") if g not in settings.get_node_extra_globals()])
    dist_dir_given = Path(config.option.dist_dir) != Path("pyodide")  # pytest-pyodide's default
    if not dist_dir_given and _runtimes_requested(config):
        config.option.dist_dir = pyodide_dist.prepare(config.getoption("--pyodide-version"))


def _read_pyodide_info(dist_dir: Path) -> dict[str, str]:
    lock_info = json.loads((dist_dir / "pyodide-lock.json").read_text())["info"]
    version = json.loads((dist_dir / "package.json").read_text())["version"]
    return {
        "version": version,
        "python": lock_info["python"],
        "abi_version": lock_info["abi_version"],
        "platform": lock_info["platform"],
    }


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark runtime tests; deselect what this run will not execute.

    pytest-pyodide skips host tests under ``*-no-host`` and runtime tests
    under ``host``, one skip line per test; deselecting keeps the report to
    what actually ran. ``node_run`` tests are runtime tests of the Node runs only.
    """
    run_host = pytest.pyodide_run_host_test
    runtimes = pytest.pyodide_runtimes
    dist_dir = Path(config.option.dist_dir)
    abi = _read_pyodide_info(dist_dir)["abi_version"] if runtimes and dist_dir.is_dir() else None
    kept, dropped = [], []
    for item in items:
        fixturenames = getattr(item, "fixturenames", ())
        is_runtime = "runtime" in fixturenames
        runtime = item.callspec.params.get("runtime") if hasattr(item, "callspec") else None
        if (
            (is_runtime and not runtimes)
            or (not is_runtime and not run_host)
            or ("node_run" in fixturenames and runtime != "node")
        ):
            dropped.append(item)
            continue
        kept.append(item)
        if not is_runtime:
            continue
        item.add_marker(pytest.mark.runtime)
        if item.get_closest_marker("network") and runtime != "node":
            item.add_marker(pytest.mark.skip(reason=f"live PyPI is unreachable from {runtime} here (CORS header stripped)"))
        abi_marker = item.get_closest_marker("pyodide_abi")
        if abi_marker and abi not in abi_marker.args:
            item.add_marker(pytest.mark.skip(reason=f"needs Pyodide ABI {' or '.join(abi_marker.args)}, this is {abi}"))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


# -- fixtures ----------------------------------------------------------------


@pytest.fixture(scope="session")
def real_wheels() -> list[CachedWheel]:
    return _real_wheels()


@pytest.fixture(scope="session")
def _index_server_session(real_wheels: list[CachedWheel]) -> Iterator[IndexServer]:
    with IndexServer() as server:
        for wheel in (*PRELOADED, *real_wheels):
            server.add(wheel)
        yield server


@pytest.fixture
def index_server(_index_server_session: IndexServer) -> Iterator[IndexServer]:
    server = _index_server_session
    state = server.snapshot()
    server.restore(state)  # also empties the request log and the error list
    yield server
    errors = list(server.errors)
    server.restore(state)
    if errors:
        pytest.fail(f"the index server raised while answering: {errors!r}")


@pytest.fixture
def index_url(index_server: IndexServer) -> str:
    return index_server.url


@pytest.fixture
def browser(request, runtime):
    """A fresh browser of this run (Chromium's Selenium WebDriver, WebKit's, or Firefox's
    Selenium-shaped Marionette driver) that has not loaded Pyodide, for a test that drives
    a web page as a person would; skipped under Node."""
    if runtime not in engines.BROWSERS:
        pytest.skip(f"{request.module.__name__.rsplit('.', 1)[-1]} drives a web page: it runs in the browser runs, not under {runtime}")
    return request.getfixturevalue("selenium_standalone_noload").driver


@pytest.fixture
def make_wheel():
    return _make_wheel


@pytest.fixture
def node_run(runtime: str) -> str:
    """Makes a test that starts no browser a runtime test of the Node runs (see the module docstring)."""
    return runtime


@pytest.fixture(scope="session")
def pyodide_dist_dir(pytestconfig: pytest.Config) -> Path:
    """The Pyodide folder under test, prepared now if this run did not need it yet."""
    dist_dir = Path(pytestconfig.option.dist_dir)
    if (dist_dir / "pyodide-lock.json").is_file():
        return dist_dir
    return pyodide_dist.prepare(pytestconfig.getoption("--pyodide-version"))


@pytest.fixture(scope="session")
def pyodide_info(pyodide_dist_dir: Path) -> dict[str, str]:
    return _read_pyodide_info(pyodide_dist_dir)


@pytest.fixture(scope="session")
def micropkg_cache_dir() -> Iterator[Path]:
    yield MICROPKG_CACHE_DIR
    shutil.rmtree(MICROPKG_CACHE_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def _empty_micropkg_cache(request: pytest.FixtureRequest, micropkg_cache_dir: Path) -> None:
    """Runtime tests count requests: none may be answered from an earlier test's cache."""
    if "runtime" not in request.fixturenames:
        return
    for entry in micropkg_cache_dir.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    runtime = request.node.callspec.params.get("runtime", "") if hasattr(request.node, "callspec") else ""
    if runtime in engines.BROWSERS and "selenium" in request.fixturenames:
        request.getfixturevalue("selenium").run_js(
            "if (globalThis.caches) { await caches.delete('micropkg-v1'); }", pyodide_checks=False
        )


# A browser that lost its tab ("tab crashed", which scripts/test reruns a test for) is useless
# to every later test of a module sharing it (pytest-pyodide's module-scoped ``selenium``): after
# the test that saw the crash, that browser is closed, so the rerun and the rest get a new one.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and "tab crashed" in str(report.longrepr):
        item.stash[_TAB_CRASHED] = True


# install() returns before what it keeps for the next page load is written (micropkg.settled).
# Each test's runtime settles before its fixtures end: else the next test, in the same module's
# runtime, would find the cache directory being written as it empties it, or count requests
# against entries that land later.
_SETTLE = (  # nothing to settle where the test left no Pyodide (a page it reloaded last)
    "if (typeof pyodide !== 'undefined') await pyodide.runPythonAsync("
    "\"import sys\\nif 'micropkg.api' in sys.modules:\\n    await sys.modules['micropkg.api'].settled()\");"
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    funcargs = getattr(item, "funcargs", {})
    for name in ("selenium", "selenium_standalone"):
        runtime = funcargs.get(name)
        if runtime is None or item.stash.get(_TAB_CRASHED, False):
            continue
        try:
            runtime.run_js(_SETTLE)
        except Exception as exc:  # noqa: BLE001 - a runtime the test broke has nothing left to write; its own failure says why
            print(f"settling micropkg in the test's runtime failed: {exc!r}")
    yield
    if not item.stash.get(_TAB_CRASHED, False):
        return
    fixtureinfo = getattr(item, "_fixtureinfo", None)
    for fixturedef in (fixtureinfo.name2fixturedefs.get("selenium_module_scope", ()) if fixtureinfo else ()):
        if fixturedef.cached_result is None:
            continue
        try:
            fixturedef.finish(item._request)  # type: ignore[attr-defined]  # the module's browser: closed, made anew when asked
        except Exception as exc:  # quitting a browser whose tab is gone may fail too
            print(f"closing the browser that lost its tab failed: {exc!r}")


_TAB_CRASHED = pytest.StashKey[bool]()
