"""One hostile install inside Pyodide, and everything it must not have changed.

:func:`attempt` runs in Pyodide (``@run_in_pyodide``). It installs what a
case sets up, snapshots the whole file system (site-packages byte for byte,
the rest by size, mode and mtime), ``sys.modules`` and Pyodide's
loaded-package records, runs the hostile install, snapshots again, and then
runs a good install to show the runtime is still usable. :func:`check`, on
the host, asserts on what it returns and tallies the counts the safety
report gives (:data:`TALLY`).

pytest-pyodide ships a decorated function's source, found in its module's
syntax tree, which it records only for collected test modules; this helper
module records its own (as pytest-pyodide's doctest support does) so the
test modules can share one probe.
"""

from __future__ import annotations

import ast
import collections
from pathlib import Path

import pytest
from pytest_pyodide import run_in_pyodide
from pytest_pyodide.hook import ORIGINAL_MODULE_ASTS

__all__ = ["TALLY", "attempt", "check", "safety_tally"]

ORIGINAL_MODULE_ASTS[__file__] = ast.parse(Path(__file__).read_bytes(), filename=__file__)

# Summed over the session, for the report: cases tried, and what must stay 0.
TALLY: collections.Counter[str] = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def safety_tally():
    """Print the running tally after each module that imports this fixture (see with -s)."""
    yield
    print("\nsafety tally: " + ", ".join(f"{key} {TALLY[key]}" for key in (
        "cases", "partial installs", "files written outside site-packages", "cache entries written")))


@run_in_pyodide(packages=["micropkg"], pytest_assert_rewrites=False)
async def attempt(selenium, case: dict) -> dict:
    """Run ``case`` (see :func:`check` for its keys); return what changed."""
    import hashlib
    import os
    import stat
    import sys
    import sysconfig
    import time

    import pyodide_js

    import micropkg
    import micropkg.runtime.stores  # a submodule: not an attribute until something imports it

    site = "/" + os.path.normpath(sysconfig.get_path("purelib")).lstrip("/")  # Pyodide says //lib/...
    index_urls = case["index_urls"]

    # micropkg's download cache (a host directory mounted under Node) is the one place
    # besides site-packages it writes to: content-addressed, each entry hash-checked when
    # read. It is kept out of the "outside" snapshot and reported on its own.
    store = getattr(micropkg.runtime.stores, "cache_store", lambda: None)()
    cache = getattr(store, "root", None)
    cache = "/" + os.path.normpath(str(cache)).lstrip("/") if cache is not None else None

    def tree(top: str, *, exact: bool, skip: tuple = ()) -> dict:
        found = {}
        for directory, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if os.path.join(directory, d) not in ("/dev", "/proc", "/sys", *skip)]
            for name in dirnames + filenames:
                path = os.path.join(directory, name)
                info = os.lstat(path)
                if stat.S_ISREG(info.st_mode):
                    content = hashlib.sha256(open(path, "rb").read()).hexdigest() if exact else info.st_mtime_ns
                    found[path] = ("file", info.st_size, stat.S_IMODE(info.st_mode), content)
                else:
                    found[path] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode))
        return found

    def changed(before: dict, after: dict) -> list:
        return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))

    def loaded() -> set:
        return set(pyodide_js.loadedPackages.object_keys())

    async def install(requirements, **kwargs):
        kwargs.setdefault("index_urls", index_urls)
        return await micropkg.install(requirements, **kwargs)

    for requirements in case.get("setup", []):
        await install(requirements)
    imported = {name: __import__(name) for name in case.get("imports", [])}
    modes = {}
    for directory in case.get("readonly", []):
        path = os.path.join(site, directory)
        modes[path] = os.stat(path).st_mode
        os.chmod(path, 0o555)  # a write into it fails like a full or read-only disk

    outside = (site, cache) if cache else (site,)
    site_before, outside_before = tree(site, exact=True), tree("/", exact=False, skip=outside)
    cache_before = tree(cache, exact=False) if cache else {}
    modules_before, loaded_before = set(sys.modules), loaded()
    started = time.monotonic()
    error = installed = None
    try:
        if case.get("api") == "resolve":
            plan = await micropkg.resolve(case["requirements"], index_urls=index_urls, **case.get("kwargs", {}))
            installed = [(p.name, str(p.version)) for p in plan]
        else:
            result = await install(case["requirements"], **case.get("kwargs", {}))
            installed = [(i.name, i.version) for i in result]
    except micropkg.MicropkgError as exc:
        error = (type(exc).__name__, str(exc), getattr(exc, "url", None), getattr(exc, "status", None))
    seconds = time.monotonic() - started
    site_after, outside_after = tree(site, exact=True), tree("/", exact=False, skip=outside)
    cache_after = tree(cache, exact=False) if cache else {}
    def new_file(module) -> bool:
        origin = getattr(module, "__file__", None)
        if not origin:
            return False
        origin = "/" + os.path.normpath(origin).lstrip("/")
        return origin.startswith(site + "/") and origin not in site_before

    added_modules = sorted(n for n in set(sys.modules) - modules_before if new_file(sys.modules[n]))
    result = {
        "error": error,
        "installed": installed,
        "seconds": seconds,
        "site_changes": [os.path.relpath(p, site) for p in changed(site_before, site_after)],
        "outside_changes": changed(outside_before, outside_after),
        "cache_changes": changed(cache_before, cache_after),
        "added_modules": added_modules,
        "replaced_modules": sorted(n for n, m in imported.items() if sys.modules.get(n) is not m),
        "added_loaded": sorted(loaded() - loaded_before),
        "versions": {p.name: p.version for p in micropkg.list().values()},
    }
    for path, mode in modes.items():
        os.chmod(path, mode)

    good = case.get("good")
    if good is not None:
        try:
            done = await install(good["requirement"], index_urls=good.get("index_urls", index_urls))
            module = __import__(good["module"])
            result["good"] = ([(i.name, i.version) for i in done], module.__version__)
        except micropkg.MicropkgError as exc:
            result["good"] = (type(exc).__name__, str(exc))
    return result


def check(
    selenium,
    case: dict,
    *,
    error: str | None,
    message: tuple[str, ...] = (),
    absent: tuple[str, ...] = (),
) -> dict:
    """Run ``case`` in Pyodide and assert the safety properties of a failed install.

    ``case`` keys: ``index_urls``, ``requirements``, ``kwargs`` (for install),
    ``api`` ("install" or "resolve"), ``setup`` (requirements installed first),
    ``imports`` (modules imported first, which must stay the same objects),
    ``readonly`` (site-packages directories made read-only during the attempt)
    and ``good`` (``{"requirement", "module", "index_urls"}``: a later install
    that must work; ``index_urls`` defaults to the case's).

    ``error`` is the expected exception type name (None: the install must
    succeed), ``message`` fragments its message must contain, ``absent``
    strings it must not contain (credentials).
    """
    result = attempt(selenium, case)
    # Shown with -s or on failure: the message a user would read.
    print(f"{case['requirements']!r} -> {result['error'] or result['installed']} in {result['seconds']:.2f} s")
    TALLY["cases"] += 1
    TALLY["partial installs"] += bool(error and result["site_changes"])
    TALLY["files written outside site-packages"] += len(result["outside_changes"])
    TALLY["cache entries written"] += len(result["cache_changes"])
    if error is None:
        assert result["error"] is None, result["error"]
    else:
        assert result["error"] is not None, f"installed {result['installed']} instead of raising {error}"
        kind, text = result["error"][:2]
        assert kind == error, result["error"]
        for fragment in message:
            assert fragment in text, f"{fragment!r} not in {text!r}"
        for secret in absent:
            assert secret not in text, f"{secret!r} leaked into {text!r}"
        # Nothing installed: site-packages is byte for byte what it was, with no
        # rollback directory left; no module or package record was added.
        assert result["site_changes"] == [], f"a partial install: {result['site_changes']}"
        assert result["added_modules"] == [], f"modules left behind: {result['added_modules']}"
        assert result["added_loaded"] == [], f"loaded-package records left: {result['added_loaded']}"
    assert result["outside_changes"] == [], f"written outside site-packages: {result['outside_changes']}"
    assert result["replaced_modules"] == [], f"modules replaced: {result['replaced_modules']}"
    if "good" in case:
        installed, version = result["good"]
        assert installed == [(case["good"]["requirement"], "1.0")], result["good"]
        assert version == "1.0"
    return result
