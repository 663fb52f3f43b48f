"""What differs between the engines Pyodide runs in, and how micropkg meets each difference.

Runs in every runtime of the matrix: Node, Chromium, Firefox and WebKit
(``--runtime node|chrome|firefox|webkit``). Each test states what the engine
itself does (:data:`ENGINES`, checked here, so a new browser version that
changes shows up as a failure to read) and what micropkg makes of it:

* blocking on a coroutine (``run_sync``, what the ``%micropkg`` line magic
  needs outside a rewritten cell) only where the engine has JavaScript
  Promise Integration; elsewhere the magic's fallback;
* the Cache API missing or full: one warning, then memory for the page's life;
* ``fetch()`` failures and timeouts, which every engine words differently;
* a WebAssembly module above Chromium's 8 MB limit for synchronous
  compilation on the main thread, which micropkg compiles asynchronously.
"""

from __future__ import annotations

import pytest
from pytest_pyodide import run_in_pyodide

from tests.harness.engines import BROWSERS


class Engine:
    """What one engine does here (Node 20, Chromium 156, Firefox ESR 153, WebKitGTK 2.50)."""

    def __init__(self, *, jspi: bool | None, fetch_failed: str, sync_compile_limit: bool, reload_keeps_cache: bool) -> None:
        self.jspi = jspi  # None: depends on the Node version
        self.fetch_failed = fetch_failed  # fetch()'s message for a refused connection
        self.sync_compile_limit = sync_compile_limit  # refuses new WebAssembly.Module(> 8 MB) on the main thread
        # Cache API entries survive a page load in the test browser's session. WebKit's
        # WebDriver session (MiniBrowser --automation) is ephemeral: a reload empties its caches.
        self.reload_keeps_cache = reload_keeps_cache


ENGINES = {
    "node": Engine(jspi=None, fetch_failed="fetch failed", sync_compile_limit=False, reload_keeps_cache=False),
    "chrome": Engine(jspi=True, fetch_failed="Failed to fetch", sync_compile_limit=True, reload_keeps_cache=True),
    "firefox": Engine(
        jspi=True, fetch_failed="NetworkError when attempting to fetch resource", sync_compile_limit=False,
        reload_keeps_cache=True,
    ),
    "webkit": Engine(jspi=False, fetch_failed="Load failed", sync_compile_limit=False, reload_keeps_cache=False),
}


# The global Pyodide runs in, from a test's script: in Firefox, Marionette runs scripts
# with a globalThis of their own, and what they define there the page does not see.
PAGE = "const page = globalThis.window ?? globalThis;"


def _browser_only(runtime: str) -> None:
    if runtime not in BROWSERS:
        pytest.skip("the Cache API is a browser's store; Node keeps micropkg's cache in a directory")


# -- JSPI: the line magic blocks only where the engine can suspend ------------------------


def test_blocking_only_where_the_engine_has_jspi(selenium, index_server, make_wheel, runtime):
    index_server.add(make_wheel("rt-blocking", "1.0"))

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url):
        import js

        import micropkg
        from micropkg.commands.magic import blocking_runner

        has_jspi = getattr(js.WebAssembly, "Suspending", None) is not None
        run_sync = blocking_runner()
        installed = None
        if run_sync is not None:
            # What the magic does with a line IPython ran itself: block until the install ends.
            installed = [i.name for i in run_sync(micropkg.install("rt-blocking", index_urls=[index_url]))]
            import rt_blocking  # noqa: F401 - importing is the check

        return has_jspi, run_sync is not None, installed

    has_jspi, blocks, installed = run(selenium, index_server.simple_url)
    expected = ENGINES[runtime].jspi
    assert has_jspi == (expected if expected is not None else has_jspi), f"{runtime}: WebAssembly.Suspending is {has_jspi}"
    assert blocks == has_jspi, f"{runtime}: run_sync offered {blocks}, JSPI {has_jspi}"
    assert installed == (["rt-blocking"] if has_jspi else None)


# -- the Cache API missing or full -------------------------------------------------------------

@run_in_pyodide(packages=["micropkg"])
async def _install_twice_with_a_fresh_store(selenium, requirement, index_url):
    """Install, uninstall and install again with the store chosen anew; return the warnings."""
    import warnings

    import micropkg
    from micropkg.runtime import stores as _runtime

    _runtime._store = None  # chosen again: the page's Cache API changed under it
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            first = [i.name for i in await micropkg.install(requirement, index_urls=[index_url])]
            await micropkg.uninstall(first)
            again = [i.name for i in await micropkg.install(requirement, index_urls=[index_url])]
            await micropkg.uninstall(again)
        store = type(_runtime.cache_store()).__name__
    finally:
        _runtime._store = None
    return first, again, [str(w.message) for w in caught if "micropkg's cache" in str(w.message)], store


def test_a_page_without_the_cache_api_keeps_downloads_in_memory(selenium, index_server, make_wheel, runtime):
    _browser_only(runtime)
    index_server.add(make_wheel("rt-no-cache-api", "1.0"))
    # What an insecure context (http: on another host) looks like: no `caches` at all.
    selenium.run_js(f"""
        {PAGE}
        page.__micropkgCaches = Object.getOwnPropertyDescriptor(page, "caches");
        Object.defineProperty(page, "caches", {{value: undefined, configurable: true, writable: true}});
    """)
    try:
        first, again, said, store = _install_twice_with_a_fresh_store(selenium, "rt-no-cache-api", index_server.simple_url)
    finally:
        # The engine's own accessor again (on the global itself or, once deleted, its prototype).
        selenium.run_js(f"""
            {PAGE}
            delete page.caches;
            if (page.__micropkgCaches) Object.defineProperty(page, "caches", page.__micropkgCaches);
        """)
    assert selenium.run_js(f"{PAGE} return typeof page.caches.open;") == "function"
    assert first == again == ["rt-no-cache-api"]
    assert said == [(
        "micropkg's cache: this page has no Cache API (browsers offer it to secure contexts only: https: or localhost);"
        " until this page is closed, what it downloads is kept in memory only"
    )], said
    assert store == "FallbackStore"
    # The second install in the page read the wheel from memory.
    assert index_server.log.count("file") == 1


def test_a_full_cache_api_is_said_once_and_the_install_goes_on(selenium, index_server, make_wheel, runtime):
    _browser_only(runtime)
    index_server.add(make_wheel("rt-full-cache", "1.0", requires_dist=["rt-full-cache-dep"]))
    index_server.add(make_wheel("rt-full-cache-dep", "1.0"))
    # Every write refused the way a full origin refuses it, in any engine.
    selenium.run_js(f"""
        {PAGE}
        page.__micropkgPut = page.Cache.prototype.put;
        page.Cache.prototype.put = () => Promise.reject(new page.DOMException("The quota has been exceeded.", "QuotaExceededError"));
    """)
    try:
        first, again, said, _ = _install_twice_with_a_fresh_store(selenium, "rt-full-cache", index_server.simple_url)
    finally:
        selenium.run_js(f"{PAGE} page.Cache.prototype.put = page.__micropkgPut;")
    assert sorted(first) == sorted(again) == ["rt-full-cache", "rt-full-cache-dep"]
    # Every write (two pages, two metadata files, two wheels) failed; one warning names the error.
    assert len(said) == 1, said
    assert "QuotaExceededError" in said[0] and said[0].endswith("what it downloads is kept in memory only"), said
    assert index_server.log.count("file") == 2  # each wheel once: the second install read memory


@pytest.mark.pyodide_abi("2026_0")  # luau-wasm has only a cp314 / 2026_0 wheel
def test_a_second_pyodide_in_the_page_installs_from_the_cache_api(selenium_standalone, index_server, runtime):
    """Across runtimes in one page in every engine; across page loads where the engine keeps
    the entries (test_cache runs that in Chromium and Firefox)."""
    _browser_only(runtime)
    selenium = selenium_standalone

    @run_in_pyodide(packages=["micropkg"])
    async def install(selenium, index_url):
        import micropkg

        installed = [i.name for i in await micropkg.install("luau-wasm", index_urls=[index_url])]
        await micropkg.settled()  # what it keeps is written after it returned
        return installed

    count_entries = "return (await (await caches.open('micropkg-v1')).keys()).length;"
    assert install(selenium, index_server.simple_url) == ["luau-wasm"]
    assert index_server.log.count("file") == 1
    kept = selenium.run_js(count_entries)
    assert kept >= 3, kept  # the page, the metadata, the wheel

    selenium.load_pyodide()  # a second Pyodide, same page
    selenium.initialize_pyodide()
    assert install(selenium, index_server.simple_url) == ["luau-wasm"]
    assert index_server.log.count("file") == 1, "the second runtime downloaded the wheel again"

    selenium.refresh()
    after_reload = selenium.run_js(count_entries)
    assert (after_reload == kept) == ENGINES[runtime].reload_keeps_cache, (kept, after_reload)


# -- fetch() failures and timeouts -----------------------------------------------------------------


@run_in_pyodide(packages=["micropkg"])
async def _fetch(selenium, url, timeout=None):
    import js

    from micropkg.errors import NetworkError
    from micropkg.net.transport import Request
    from micropkg.runtime.fetch import PyfetchTransport

    native_timeout = getattr(js.AbortSignal, "timeout", None) is not None
    try:
        response = await PyfetchTransport().fetch(Request(url, {}, timeout=timeout))
    except NetworkError as exc:
        return None, str(exc), native_timeout
    return response.status, None, native_timeout


def test_a_refused_connection_reads_the_same_in_every_engine(selenium, runtime):
    url = "http://127.0.0.1:9/simple/anything/"  # the discard port: nothing listens there
    status, message, _ = _fetch(selenium, url)
    assert status is None
    hint = ""
    if runtime in BROWSERS:
        hint = (
            " The browser does not say why: the server may be unreachable or, most often, it does not send "
            "'Access-Control-Allow-Origin' for this page's origin (CORS)."
        )
    # One sentence, the engine's own words without a doubled full stop (Firefox ends its own with one).
    # (Node adds the cause after its words: "fetch failed: connect ECONNREFUSED ...".)
    assert message.startswith(f"Could not fetch {url}: no answer arrived ({ENGINES[runtime].fetch_failed}"), message
    assert message.endswith(f").{hint}"), message


@pytest.mark.parametrize("abort_signal_timeout", ["native", "missing"])
def test_a_slow_answer_times_out_in_every_engine(selenium, index_server, runtime, abort_signal_timeout):
    index_server.inject("/slow/", body=b"late", delay=3)
    if abort_signal_timeout == "missing":
        # As in Safari before 16: micropkg aborts through a controller and a timer instead.
        selenium.run_js(f"{PAGE} page.__micropkgTimeout = page.AbortSignal.timeout; delete page.AbortSignal.timeout;")
    try:
        status, message, native_timeout = _fetch(selenium, index_server.url + "slow/", 0.5)
    finally:
        if abort_signal_timeout == "missing":
            selenium.run_js(f"{PAGE} page.AbortSignal.timeout = page.__micropkgTimeout;")
    assert native_timeout == (abort_signal_timeout == "native")
    # WebKit rejects with AbortError, the others with TimeoutError: micropkg reads its own signal.
    assert (status, message) == (None, f"Could not fetch {index_server.url}slow/: no answer for 0.5 s")


# -- a large WebAssembly module --------------------------------------------------------------------

LARGE = 9 * 1024 * 1024  # above Chromium's 8 MB limit for synchronous compilation on the main thread


def _uleb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _custom_section(name: bytes, payload: bytes) -> bytes:
    body = _uleb128(len(name)) + name + payload
    return b"\x00" + _uleb128(len(body)) + body


def side_module(padding: int) -> bytes:
    """The smallest Emscripten side module (a ``dylink.0`` section: no memory, no table),
    grown to ``padding`` bytes by a custom section the engine must still read to compile."""
    memory_info = b"\x00\x00\x00\x00"  # memory size, alignment, table size, alignment: all 0
    dylink = b"\x01" + _uleb128(len(memory_info)) + memory_info  # WASM_DYLINK_MEM_INFO
    return b"\x00asm\x01\x00\x00\x00" + _custom_section(b"dylink.0", dylink) + _custom_section(b"padding", bytes(padding))


def test_a_large_native_library_is_compiled_asynchronously(selenium, index_server, make_wheel, runtime):
    library = side_module(LARGE)
    index_server.add(make_wheel("rt-large-library", "1.0", files={
        "rt_large_library/__init__.py": b"",
        "rt_large_library/liblarge.so": library,
    }))

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url):
        from pathlib import Path

        import pyodide_js
        from pyodide.code import run_js
        from pyodide.ffi import to_js

        import micropkg

        events = []
        await micropkg.install("rt-large-library", index_urls=[index_url], reporter=micropkg.EventReporter(events.append))
        import rt_large_library

        path = str(Path(rt_large_library.__file__).parent / "liblarge.so")
        loaded = pyodide_js._module.LDSO.loadedLibsByName.to_py()
        size = Path(path).stat().st_size
        # What loading it at import time (dlopen's synchronous compile) would meet on this thread.
        sync = run_js(
            "(data) => { try { new WebAssembly.Module(data); return 'compiled'; } catch (e) { return `${e.name}: ${e.message}`; } }"
        )(to_js(Path(path).read_bytes()))
        return path in loaded, size, [e["library"] for e in events if e["event"] == "loading"], sync

    loaded, size, reported, sync = run(selenium, index_server.simple_url)
    assert size == len(library) > LARGE
    assert loaded, "the library is not among the dynamic linker's loaded libraries"
    assert [name.rsplit("/", 1)[-1] for name in reported] == ["liblarge.so"]
    if ENGINES[runtime].sync_compile_limit:
        assert sync.startswith("RangeError: WebAssembly.Compile is disallowed on the main thread"), sync
    else:
        assert sync == "compiled", sync
