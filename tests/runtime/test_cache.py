"""micropkg's persistent cache in real runtimes: a directory under Node, the Cache API in Chromium.

Each test installs in one fresh Pyodide, then loads a second fresh Pyodide on
the same origin (a new page load in Chromium, a new Pyodide instance in the
same Node process, the same ``MICROPKG_CACHE_DIR``) and installs again,
asserting on the index server's request log.
"""

from __future__ import annotations

import pytest
from pytest_pyodide import run_in_pyodide


def _fresh_runtime(selenium) -> None:
    """A second, fresh Pyodide on the same origin: what a page reload gives."""
    # What the last install keeps for the next page load is written after it returned.
    selenium.run_async("import micropkg\nawait micropkg.settled()")
    if selenium.browser != "node":
        selenium.refresh()  # a new page: the browser profile (and its Cache API) stays
    selenium.load_pyodide()
    selenium.initialize_pyodide()


@run_in_pyodide(packages=["micropkg"])
async def _install(selenium, requirement, index_url, cache="default"):
    import micropkg

    try:
        installed = await micropkg.install(requirement, index_urls=[index_url], cache=cache)
    except micropkg.MicropkgError as exc:
        return None, (type(exc).__name__, str(exc))
    return [i.filename for i in installed], None


@run_in_pyodide(packages=["micropkg"])
async def _damage(selenium, sha256):
    """Flip the last bytes of the kept copy of the file with ``sha256``; return its size (None: not kept)."""
    from micropkg.runtime.stores import cache_store

    store = cache_store()
    key = f"blob/{sha256}"
    entry = await store.get(key)
    if entry is None:
        return None
    await store.put(key, entry[:-64] + bytes(b ^ 0xFF for b in entry[-64:]))
    return len(entry)


@run_in_pyodide(packages=["micropkg"])
async def _kept(selenium, sha256):
    """Whether an intact copy of the file with ``sha256`` is kept, once what the last install
    keeps is written (after ``install()`` returned: ``micropkg.settled()``)."""
    import micropkg
    from micropkg.net.cache import Cache
    from micropkg.runtime.stores import cache_store

    await micropkg.settled()
    return await Cache(cache_store()).file(sha256) is not None


@run_in_pyodide(packages=["micropkg"])
async def _clear(selenium):
    import micropkg

    await micropkg.clear_cache()


LUAU = "luau_wasm-0.1a0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
# The same project in another spelling: the same plan, but another request, for which the
# installed-tree cache (tests/runtime/test_tree_cache.py) keeps nothing; so a second runtime's
# install of it reads pages, metadata and wheels from the cache tested here.
LUAU_AGAIN = "luau_wasm"


def test_a_failed_resolution_keeps_what_it_fetched(selenium_standalone, index_server, make_wheel):
    # Cache writes wait for the install's next request or its end: a resolution
    # that fails ends too, and what it read last is kept for the next try.
    selenium = selenium_standalone
    index_server.add(make_wheel("rt-keep", "1.0", requires_dist=["rt-keep-dep"]))
    index_server.add(make_wheel("rt-keep-dep", "1.0", requires_dist=["rt-keep>=2"]))  # read last, then the conflict
    for attempt in range(2):
        if attempt:
            index_server.log.reset()
            _fresh_runtime(selenium)
        installed, error = _install(selenium, "rt-keep", index_server.simple_url)
        assert installed is None and error[0] == "ConflictError", error
        counts = index_server.log.counts()
        assert counts["metadata"] == (2 if attempt == 0 else 0), counts


@pytest.mark.pyodide_abi("2026_0")
def test_a_second_runtime_installs_without_downloading_again(selenium_standalone, index_server):
    selenium = selenium_standalone
    installed, error = _install(selenium, "luau-wasm", index_server.simple_url)
    assert error is None and installed == ["luau_wasm-0.1a0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"]
    first = index_server.log.counts()
    assert first["file"] == 1 and first["metadata"] == 1, first

    index_server.log.reset()
    _fresh_runtime(selenium)
    installed, error = _install(selenium, LUAU_AGAIN, index_server.simple_url)
    assert error is None and installed == ["luau_wasm-0.1a0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"]
    again = index_server.log.counts()
    # The test index sends no Cache-Control, so its page is asked for again; wheel and metadata are not.
    assert again["file"] == 0 and again["metadata"] == 0 and again["simple-project"] == 1, again


# fetch(), wrapped to tell which requests left and which were stopped (their signal aborted).
STOPS_RECORDING_FETCH = (
    "(sent, stopped) => { const real = globalThis.fetch;"
    " globalThis.fetch = (request, init) => { const url = String(request.url ?? request); sent(url);"
    " init?.signal?.addEventListener('abort', () => stopped(url)); return real(request, init); };"
    " return () => { globalThis.fetch = real; }; }"
)


@run_in_pyodide(packages=["micropkg"])
async def _install_watching_stops(selenium, requirement, index_url, recording):
    import sys

    from pyodide.code import run_js
    from pyodide.ffi import create_proxy

    import micropkg

    sent, stopped = [], []
    on_sent = create_proxy(lambda url: sent.append(url))
    # Whether the resolver had loaded when the request was stopped: a cold install's ends later.
    on_stop = create_proxy(lambda url: stopped.append((url, "micropkg.resolution.resolver" in sys.modules)))
    restore = run_js(recording)(on_sent, on_stop)
    try:
        installed = await micropkg.install(requirement, index_urls=[index_url])
    finally:
        restore()
        on_sent.destroy()
        on_stop.destroy()
    return [i.filename for i in installed], sent, stopped


@pytest.mark.pyodide_abi("2026_0")
def test_a_page_kept_fresh_is_read_from_the_cache(selenium_standalone, runtime, index_server):
    selenium = selenium_standalone
    index_server.page_max_age = 600  # PyPI's
    assert _install(selenium, "luau-wasm", index_server.simple_url) == ([LUAU], None)

    index_server.log.reset()
    _fresh_runtime(selenium)
    installed, sent, stopped = _install_watching_stops(selenium, LUAU_AGAIN, index_server.simple_url, STOPS_RECORDING_FETCH)
    assert installed == [LUAU]
    assert len(index_server.log) == 0, index_server.log.counts()
    if runtime != "node":
        # A browser's first request leaves before micropkg's store is opened (its headers do not
        # depend on it): the store's answer, kept and fresh, stops it at once, not as the install ends.
        page = index_server.project_url("luau-wasm")
        assert sent.count(page) == 1, sent
        assert (page, False) in stopped, stopped


@pytest.mark.pyodide_abi("2026_0")
def test_a_damaged_entry_is_dropped_and_downloaded_again(selenium_standalone, index_server):
    selenium = selenium_standalone
    sha256 = index_server.file(LUAU).sha256
    assert _install(selenium, "luau-wasm", index_server.simple_url) == ([LUAU], None)
    assert _damage(selenium, sha256) > 200_000

    index_server.log.reset()
    _fresh_runtime(selenium)
    assert not _kept(selenium, sha256)  # the damaged copy fails its check (and is deleted)...
    assert _install(selenium, LUAU_AGAIN, index_server.simple_url) == ([LUAU], None)
    assert index_server.log.counts()["file"] == 1  # ...so the wheel is downloaded, never installed from it
    assert _kept(selenium, sha256)  # and kept again, intact


@pytest.mark.pyodide_abi("2026_0")
def test_offline_installs_from_the_cache_alone_and_fails_clearly_on_a_miss(selenium_standalone, index_server):
    selenium = selenium_standalone
    assert _install(selenium, "luau-wasm", index_server.simple_url) == ([LUAU], None)

    index_server.log.reset()
    _fresh_runtime(selenium)
    assert _install(selenium, "luau-wasm", index_server.simple_url, "offline") == ([LUAU], None)
    installed, (kind, message) = _install(selenium, "harness-dep", index_server.simple_url, "offline")
    assert installed is None and kind == "NetworkError"
    assert "/simple/harness-dep/" in message and "cache='offline'" in message
    assert len(index_server.log) == 0


def test_node_keeps_the_cache_in_the_host_directory_and_clears_it(selenium, index_server, micropkg_cache_dir):
    if selenium.browser != "node":
        pytest.skip("the host directory is Node's store; Chromium's is covered by the tests above")
    assert _install(selenium, "harness-demo==1.0.0", index_server.simple_url)[1] is None
    selenium.run_async("import micropkg\nawait micropkg.settled()")  # the keeping goes on after install() returned
    kept = sorted(p.relative_to(micropkg_cache_dir).parts[0] for p in micropkg_cache_dir.rglob("*") if p.is_file())
    assert kept == ["blob", "blob", "page", "tree"]  # the wheel, its metadata, the page, the files installed
    _clear(selenium)
    assert [p for p in micropkg_cache_dir.rglob("*") if p.is_file()] == []


@run_in_pyodide(packages=["micropkg"])
async def _mark_and_listing(selenium):
    import js

    from micropkg.runtime.stores import CacheApiStore

    name = "micropkg-test-mark"
    await js.caches.delete(name)
    js.localStorage.removeItem(name + ":written")
    seen = {}

    def mark():
        value = js.localStorage.getItem(name + ":written")
        return value if isinstance(value, str) else None  # JavaScript's null (jsnull in Pyodide 314)

    never_written = CacheApiStore(name)
    seen["never written, at once"] = never_written.surely_missing("page/abc")  # no lookup: no mark
    await never_written.put("page/abc", b"kept")
    seen["mark after a write"] = mark()
    written = CacheApiStore(name)  # a later page load: the mark says a lookup is needed
    seen["written, before its listing"] = written.surely_missing("page/other")
    await written._listing.ready
    seen["written, listed: held"] = written.surely_missing("page/abc")
    seen["written, listed: not held"] = written.surely_missing("page/other")
    seen["read back"] = (await written.get("page/abc")).decode()
    await written.clear()
    seen["mark after clear"] = mark()
    return seen


def test_a_store_never_written_to_answers_without_a_lookup(selenium, runtime):
    # Until the Cache API's keys are listed, a localStorage mark says whether this origin's
    # store was ever written to: without one, the first page request asks no Cache API first.
    if runtime not in ("chrome", "firefox", "webkit"):
        pytest.skip("the Cache API is a browser's store; Node's directory answers with a stat")
    assert _mark_and_listing(selenium) == {
        "never written, at once": True,
        "mark after a write": "1",
        "written, before its listing": False,
        "written, listed: held": False,
        "written, listed: not held": True,
        "read back": "kept",
        "mark after clear": None,
    }
