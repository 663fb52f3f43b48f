"""The progress reporter inside a real Pyodide: the events an install sends, in order.

A reporter that records every hook call is handed to ``install``; the host
checks the sequence, the byte counts against the index's own file sizes, the
native-library event of a PyEmscripten wheel, the failure event, and the
console reporter's lines (``verbose=True``) as a user at a REPL reads them.
"""

from __future__ import annotations

import pytest
from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["micropkg"])
async def _events(selenium, requirements, index_url, kwargs=None):
    """Install with an EventReporter collecting dicts; return (events, error)."""
    import micropkg

    events = []
    try:
        await micropkg.install(requirements, index_urls=[index_url], reporter=micropkg.EventReporter(events.append), **(kwargs or {}))
        error = None
    except micropkg.MicropkgError as exc:
        error = (type(exc).__name__, str(exc))
    return events, error


def _kinds(events):
    return [e["event"] for e in events]


def test_events_follow_the_install(selenium, index_server):
    events, error = _events(selenium, "harness-demo==2.0.0", index_server.simple_url)
    assert error is None
    kinds = _kinds(events)
    assert kinds[:2] == ["resolving", "resolved"]
    assert kinds[-2:] == ["installing", "installed"]  # pure Python: no native library to load
    # Two wheels: one "downloading" event per arrival, then one "downloaded".
    downloading = [e for e in events if e["event"] == "downloading"]
    assert len(downloading) == 2
    sizes = {f.filename: f.size for f in (*index_server.files("harness-demo"), *index_server.files("harness-dep"))}
    total = sizes["harness_demo-2.0.0-py3-none-any.whl"] + sizes["harness_dep-1.0.0-py3-none-any.whl"]
    assert [e["total_bytes"] for e in downloading] == [total, total]
    assert downloading[-1]["done_bytes"] == total and downloading[-1]["done_files"] == 2
    assert downloading[0]["done_bytes"] < total and downloading[0]["done_files"] == 1
    (downloaded,) = [e for e in events if e["event"] == "downloaded"]
    assert downloaded["files"] == 2 and downloaded["size"] == total
    resolved = events[1]
    assert sorted(map(tuple, resolved["packages"])) == [("harness-demo", "2.0.0"), ("harness-dep", "1.0.0")]
    assert kinds.index("downloaded") < kinds.index("installing") < kinds.index("installed")
    assert sorted(map(tuple, events[-1]["packages"])) == [("harness-demo", "2.0.0"), ("harness-dep", "1.0.0")]
    assert events[-1]["seconds"] >= resolved["seconds"] >= 0


@pytest.mark.pyodide_abi("2026_0")
def test_native_library_loading_is_reported(selenium, index_server):
    events, error = _events(selenium, "luau-wasm", index_server.simple_url)
    assert error is None
    loading = [e for e in events if e["event"] == "loading"]
    assert loading and all(e["library"].endswith(".so") for e in loading), loading
    assert loading[-1]["done"] == loading[-1]["total"] == len(loading)
    kinds = _kinds(events)
    assert kinds.index("installing") < kinds.index("loading") < kinds.index("installed")


def test_a_failure_is_reported_once(selenium, index_server):
    events, error = _events(selenium, "no-such-project-here", index_server.simple_url)
    assert error is not None and error[0] == "ProjectNotFound"
    assert _kinds(events) == ["resolving", "failed"]
    assert events[-1]["type"] == "ProjectNotFound"
    assert "no-such-project-here" in events[-1]["error"]


def test_nothing_to_install_is_reported(selenium, index_server):
    _events(selenium, "harness-dep", index_server.simple_url)
    events, error = _events(selenium, "harness-dep", index_server.simple_url)
    assert error is None
    assert _kinds(events) == ["resolving", "resolved", "installed"]
    assert events[1]["packages"] == [] and events[2]["packages"] == []


def test_verbose_prints_pip_like_lines(selenium, index_server):
    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url):
        import contextlib
        import io

        import micropkg

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            await micropkg.install("harness-demo==1.0.0", index_urls=[index_url], verbose=True, reinstall=True)
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet):
            await micropkg.install("harness-dep", index_urls=[index_url])
        return out.getvalue(), quiet.getvalue()

    printed, quiet = run(selenium, index_server.simple_url)
    lines = printed.splitlines()
    assert lines[0].startswith("Resolved 1 package in ") and lines[0].endswith(" s"), lines
    assert lines[1].startswith("Downloaded 1 file, ") and (" kB in " in lines[1] or " B in " in lines[1]), lines
    assert lines[2].startswith("Installed 1 package in "), lines
    assert lines[3:] == [" + harness-demo==1.0.0"], lines
    assert quiet == ""  # not verbose, not a notebook: silent


def test_lock_install_reports_the_locks_packages(selenium, index_server):
    """An install from a lock skips resolution: ``resolved`` lists the lock's entries."""

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url):
        import micropkg

        await micropkg.install("harness-demo==2.0.0", index_urls=[index_url], reinstall=True)
        lock = micropkg.freeze(format="pylock")
        await micropkg.uninstall(["harness-demo", "harness-dep"])
        events = []
        await micropkg.install(lock=lock, reporter=micropkg.EventReporter(events.append))
        return events

    events = run(selenium, index_server.simple_url)
    kinds = _kinds(events)
    assert "resolving" not in kinds and kinds[0] == "resolved"
    assert sorted(map(tuple, events[0]["packages"])) == [("harness-demo", "2.0.0"), ("harness-dep", "1.0.0")]
    assert kinds[-1] == "installed" and "downloaded" in kinds
