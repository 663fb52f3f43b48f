"""A lock's wheels leave before the installer loads, and the transport takes each request over.

``install(lock=...)`` knows every file it will download once the lock is read:
it sends them then (``runtime.early_files.send_files``), and the installer's modules
load while they are on their way. These tests watch that from inside a real
Pyodide (the moment each early request starts, which modules were loaded then)
and from the loopback index's request log (each file asked once; a retry and a
refusal behave as for a request sent the ordinary way).
"""

from __future__ import annotations

import asyncio
import urllib.parse

from pytest_pyodide import run_in_pyodide

from micropkg.commands.cli import lock_requirements
from micropkg.lock.pylock import dumps
from micropkg.model.pyodide_releases import target_for_pyodide


def _lock(index_server, pyodide_info, requirements) -> str:
    target = target_for_pyodide(pyodide_info["version"])
    return dumps(asyncio.run(lock_requirements(requirements, target, index_urls=[index_server.simple_url])))


@run_in_pyodide(packages=["micropkg"])
async def _install_watching_early_requests(selenium, lock):
    """install(lock=lock) in this runtime: (installed names, error, the early requests as
    (path, whether the installer was loaded when it started), dist-info directories)."""
    import os
    import sys
    import sysconfig
    import urllib.parse

    import micropkg
    from micropkg.runtime import early_files as early

    started = []
    original = early.start_fetch

    def watched(url, *args, **kwargs):
        started.append((urllib.parse.urlsplit(url).path, "micropkg.installation.installer" in sys.modules))
        return original(url, *args, **kwargs)

    early.start_fetch = watched
    try:
        installed = [i.name for i in await micropkg.install(lock=lock)]
        error = None
    except micropkg.MicropkgError as exc:
        installed, error = None, (type(exc).__name__, str(exc))
    finally:
        early.start_fetch = original
    site = sysconfig.get_path("purelib")
    return installed, error, started, sorted(d for d in os.listdir(site) if d.endswith(".dist-info"))


def test_a_locks_wheels_leave_before_the_installer_loads_and_are_asked_once(
    selenium_standalone, index_server, make_wheel, pyodide_info,
):
    index_server.add(make_wheel("rt-early", "1.0", requires_dist=["rt-early-a", "rt-early-b"]))
    index_server.add(make_wheel("rt-early-a", "1.0"))
    index_server.add(make_wheel("rt-early-b", "1.0"))
    text = _lock(index_server, pyodide_info, ["rt-early"])
    index_server.log.reset()
    installed, error, started, _ = _install_watching_early_requests(selenium_standalone, text)
    assert error is None and sorted(installed) == ["rt-early", "rt-early-a", "rt-early-b"]
    files = sorted(e.path for e in index_server.log.entries)
    assert len(files) == 3 and all(e.kind == "file" for e in index_server.log.entries), files
    # Every wheel was sent early, before the installer was imported, and the transport took each
    # request over: the index saw each file once.
    assert sorted(path for path, _ in started) == files
    assert not any(loaded for _, loaded in started), started

    # Installed at the locked versions: nothing is asked the second time.
    index_server.log.reset()
    again, error, started, _ = _install_watching_early_requests(selenium_standalone, text)
    assert error is None and again == [] and started == []
    assert len(index_server.log) == 0


def test_an_early_request_that_fails_is_retried_and_a_wrong_file_installs_nothing(
    selenium, index_server, make_wheel, pyodide_info,
):
    index_server.add(make_wheel("rt-early-retry", "1.0", requires_dist=["rt-early-retry-dep"]))
    index_server.add(make_wheel("rt-early-retry-dep", "1.0"))
    text = _lock(index_server, pyodide_info, ["rt-early-retry"])
    [dep] = index_server.files("rt-early-retry-dep")
    path = urllib.parse.urlsplit(index_server.file_url(dep.filename)).path

    # A 503 for the early request: the transport retries it as it retries any request.
    index_server.inject(path, status=503, times=1)
    index_server.log.reset()
    installed, error, started, dist_infos = _install_watching_early_requests(selenium, text)
    assert error is None and sorted(installed) == ["rt-early-retry", "rt-early-retry-dep"], error
    assert index_server.log.count(path=path) == 2  # the early request (503), then the retry
    assert "rt_early_retry_dep-1.0.dist-info" in dist_infos

    # Other bytes than the lock's: refused, and the environment is as it was.
    assert _uninstall(selenium, ["rt-early-retry", "rt-early-retry-dep"]) == []
    index_server.inject(path, status=200, body=b"not the wheel the lock pins")
    try:
        installed, error, _, after = _install_watching_early_requests(selenium, text)
    finally:
        index_server.clear_faults()
    assert installed is None and error is not None and error[0] == "IntegrityError", error
    assert not [d for d in after if d.startswith("rt_early_retry")], after


@run_in_pyodide(packages=["micropkg"])
async def _uninstall(selenium, names):
    import os
    import sysconfig

    import micropkg

    await micropkg.uninstall(names)
    site = sysconfig.get_path("purelib")
    return [d for d in os.listdir(site) if d.startswith("rt_early_retry")]


@run_in_pyodide(packages=["micropkg"])
async def _install_lock_at(selenium, location):
    """install(lock=location): (installed names, the early page-style requests as (path, whether
    tomllib and packaging's parsers had loaded when it started))."""
    import sys
    import urllib.parse

    import micropkg
    from micropkg.runtime import early

    started = []
    original = early.start_fetch

    def watched(url, *args, **kwargs):
        started.append((urllib.parse.urlsplit(url).path, "tomllib" in sys.modules or "micropkg.model.lock" in sys.modules))
        return original(url, *args, **kwargs)

    phases = []

    class Phases(micropkg.Reporter):
        def phase(self, name, at):
            phases.append(name)

    early.start_fetch = watched
    try:
        installed = sorted(i.name for i in await micropkg.install(lock=location, reporter=Phases()))
    finally:
        early.start_fetch = original
    return installed, started, phases


def test_a_lock_at_a_url_is_asked_for_before_its_parsers_load(
    selenium_standalone, index_server, make_wheel, pyodide_info, tmp_path,
):
    index_server.add(make_wheel("rt-lock-url", "1.0", requires_dist=["rt-lock-url-dep"]))
    index_server.add(make_wheel("rt-lock-url-dep", "1.0"))
    (tmp_path / "pylock.toml").write_text(_lock(index_server, pyodide_info, ["rt-lock-url"]))
    url = index_server.mount("locks", tmp_path) + "pylock.toml"
    index_server.log.reset()
    installed, started, phases = _install_lock_at(selenium_standalone, url)
    assert installed == ["rt-lock-url", "rt-lock-url-dep"]
    assert phases[:2] == ["request", "parsing"], phases  # the reporter hears when the lock left
    # The lock left before tomllib and packaging were compiled (they load while it travels), and
    # the session's read took that request over: the index saw the lock once, each wheel once.
    lock_path = urllib.parse.urlsplit(url).path
    assert (lock_path, False) in started, started
    paths = [e.path for e in index_server.log.entries]
    assert sorted(paths) == sorted(set(paths)) and lock_path in paths and len(paths) == 3, paths
