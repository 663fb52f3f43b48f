"""The first page requests of an install go out before the resolver is imported.

Importing packaging, resolvelib and micropkg's resolver takes longer than a
round trip in a fresh Pyodide, so ``install`` asks the first index for the
requested projects' pages first and imports while they are on the way. These
tests run in a fresh runtime each (nothing imported yet) and check, from
inside Pyodide, what had been imported when each request was sent, and, from
the index server's log, that no page is asked for twice.
"""

from __future__ import annotations

from pytest_pyodide import run_in_pyodide

from tests.harness.fetch_hook import RECORDING_FETCH


@run_in_pyodide(packages=["micropkg"])
async def _install_recording(selenium, requirements, index_url, recording_fetch):
    import sys

    from pyodide.code import run_js
    from pyodide.ffi import create_proxy

    before = set(sys.modules)
    import micropkg

    sent = []

    def record(url):
        new = set(sys.modules) - before
        sent.append((
            url.rsplit("/", 2)[-2], "micropkg.resolution.resolver" in sys.modules, "packaging.utils" in sys.modules,
            sorted(new),
        ))

    # Recorded where the request leaves: the runtime's own fetch, whoever calls it.
    hook = create_proxy(record)
    restore = run_js(recording_fetch)(hook)
    try:
        installed = await micropkg.install(requirements, index_urls=[index_url], pyodide_packages=False)
        outcome = sorted(i.name for i in installed)
    except micropkg.MicropkgError as exc:
        outcome = type(exc).__name__
    finally:
        restore()
        hook.destroy()
    return [entry[:3] for entry in sent], outcome, sent[0][3] if sent else None


# Everything a fresh runtime imports from ``import micropkg`` to an install's first request.
# The allowed set: micropkg's public module and the head start (index.head_start, runtime.early
# and its early_fetch), the runtime's js module and, under Node, the cache lookup before the
# request (net.cache, runtime.stores and what they need: the built-in sha256); a browser's request
# does not depend on micropkg's cache (its HTTP cache revalidates), so it leaves before the store
# is opened. Not urllib.parse, pyodide.http, packaging, resolvelib, the session or the
# transports: those load while the requests are on their way.
ALLOWED_BEFORE_FIRST_REQUEST = {
    "micropkg", "micropkg.api", "micropkg.index", "micropkg.index.head_start",
    "micropkg.runtime", "micropkg.runtime.changes", "micropkg.runtime.detect", "micropkg.runtime.early",
    "micropkg.runtime.early_fetch", "micropkg.runtime.js", "js",
}
LOOKED_UP_FIRST = {"micropkg.runtime.stores", "micropkg.net", "micropkg.net.cache", "micropkg.model", "micropkg.model.digests", "_sha2"}


def test_the_requested_pages_go_out_before_the_resolver_loads(selenium_standalone, index_server, make_wheel):
    index_server.add(make_wheel("rt-early", "1.0", requires_dist=["rt-early-dep"]))
    index_server.add(make_wheel("rt-early-dep", "1.0"))
    index_server.add(make_wheel("rt-early-two", "1.0"))
    sent, outcome, imported = _install_recording(selenium_standalone, ["rt-early[extra]>=1", "rt_early.two"], index_server.simple_url, RECORDING_FETCH)
    assert outcome == ["rt-early", "rt-early-dep", "rt-early-two"]
    first_two = sorted(sent[:2])
    # Both requested pages (names as PEP 503 spells them), neither resolver nor packaging loaded yet.
    assert first_two == [("rt-early", False, False), ("rt-early-two", False, False)], sent
    # The dependency's page is asked for by the resolver, once it has read the metadata.
    assert ("rt-early-dep", True, True) in sent
    pages = [e.path for e in index_server.log if e.kind == "simple-project"]
    assert sorted(pages) == sorted(set(pages)) and len(pages) == 3, pages  # no page twice


def test_the_first_request_leaves_with_only_the_head_start_imported(selenium_standalone, runtime, index_server, make_wheel):
    index_server.add(make_wheel("rt-first", "1.0"))
    sent, outcome, imported = _install_recording(selenium_standalone, "rt-first", index_server.simple_url, RECORDING_FETCH)
    assert outcome == ["rt-first"]
    assert sent[0][0] == "rt-first", sent
    allowed = ALLOWED_BEFORE_FIRST_REQUEST | (LOOKED_UP_FIRST if runtime == "node" else set())
    # pytest-pyodide has imported some of the standard library already: what is new must be
    # within the allowed set, and micropkg's own modules exactly those of the head start.
    assert set(imported) <= allowed, sorted(set(imported) - allowed)
    micropkg_modules = {m for m in allowed if m.startswith("micropkg")}
    assert {m for m in imported if m.startswith("micropkg")} == micropkg_modules, imported


def test_what_is_not_a_plain_name_waits_for_the_parser(selenium_standalone, index_server, make_wheel):
    built = make_wheel("rt-direct", "1.0")
    index_server.add(built)
    index_server.add(make_wheel("rt-marked", "1.0"))
    direct = index_server.file_url(built.filename)
    sent, outcome, _ = _install_recording(
        selenium_standalone, [direct, 'rt-marked; sys_platform == "emscripten"'], index_server.simple_url, RECORDING_FETCH,
    )
    assert outcome == ["rt-direct", "rt-marked"]
    # Nothing was guessed: every request came from the resolver, after the imports.
    assert sent and all(resolver for _, resolver, _ in sent), sent
    assert index_server.log.count("simple-project") == 1


def test_an_early_page_nobody_asks_for_is_dropped_quietly(selenium_standalone, index_server, make_wheel):
    # "rt-gone" looks like a name but the requirement is invalid: the parser refuses it,
    # and the early request for its page must not leave an unretrieved error behind.
    sent, outcome, _ = _install_recording(selenium_standalone, ["rt-gone >= ="], index_server.simple_url, RECORDING_FETCH)
    assert outcome == "InvalidRequirement"
    assert [page for page, _, _ in sent] == ["rt-gone"]


@run_in_pyodide(packages=["micropkg"])
async def _install_and_look_at_deferred(selenium, index_url):
    import sys
    import types

    already = sorted(name for name in ("platform", "sysconfig") if name in sys.modules)
    import micropkg

    # The second install replaces the first one's version: what it imported is forgotten then.
    await micropkg.install("rt-deferred-dep==0.9", index_urls=[index_url], pyodide_packages=False)
    installed = await micropkg.install("rt-deferred", index_urls=[index_url], pyodide_packages=False, reinstall=True)
    # A module LazyLoader still holds has another class until something reads an attribute.
    lazy = sorted(
        name for name in ("platform", "sysconfig")
        if object.__getattribute__(sys.modules[name], "__class__") is not types.ModuleType
    )
    import platform
    import sysconfig

    from packaging.markers import default_environment

    from micropkg.runtime.detect import marker_environment

    # The dependencies' markers were evaluated (packaging asks platform for each) on
    # micropkg's answers; uname() is not one of them: it loads the module, whose own
    # functions replace those answers, and the oracle compares micropkg's with platform's.
    answered = object.__getattribute__(platform, "machine").__module__
    usable = bool(platform.uname().machine) and sysconfig.get_config_var("EXT_SUFFIX") is not None
    loaded = platform.machine.__module__
    same = marker_environment() == default_environment()
    return already, sorted(i.name for i in installed), lazy, usable, same, (answered, loaded)


def test_what_packaging_imports_but_never_calls_here_is_not_compiled(selenium_standalone, index_server, make_wheel):
    # platform and sysconfig (~40 ms of compiling in a fresh Pyodide 314) are imported by
    # packaging's tags and markers for functions micropkg does not call inside Pyodide.
    # Its dependencies carry markers: packaging's Marker.evaluate() reads platform for each; an
    # install that replaces a version looks at every loaded module's file.
    index_server.add(make_wheel("rt-deferred", "1.0", requires_dist=[
        'rt-deferred-dep>=1; python_version >= "3" and platform_machine == "wasm32"', 'rt-never; sys_platform == "win32"',
    ]))
    index_server.add(make_wheel("rt-deferred-dep", "0.9"))
    index_server.add(make_wheel("rt-deferred-dep", "1.0"))
    already, installed, lazy, usable, same, functions = _install_and_look_at_deferred(
        selenium_standalone, index_server.simple_url,
    )
    assert installed == ["rt-deferred", "rt-deferred-dep"]
    assert lazy == sorted({"platform", "sysconfig"} - set(already)), (already, lazy)
    assert usable and same
    if "platform" not in already:
        assert functions == ("micropkg.index.head_start", "platform"), functions


@run_in_pyodide(packages=["micropkg"])
async def _order_around_give_way(selenium):
    from pyodide.code import run_js

    from micropkg.runtime.js import _background_task, give_way

    run_js(
        "globalThis.__order = [];"
        " if (globalThis.scheduler) scheduler.postTask(() => __order.push('waiting'), { priority: 'user-visible' });"
        " else setTimeout(() => __order.push('waiting'), 0);"
    )
    await give_way()
    run_js("__order.push('after')")
    return _background_task() is not None, list(run_js("__order").to_py())


def test_between_imports_what_waits_in_a_browser_goes_first(selenium_standalone):
    # In a browser the import steps yield at "background" priority, so an answer waiting in
    # the event loop is read before the next module (under Node: the I/O poll between immediates).
    background, order = _order_around_give_way(selenium_standalone)
    assert background == (selenium_standalone.browser in ("chrome", "firefox"))
    if background:
        assert order == ["waiting", "after"], order
    else:
        assert "after" in order, order
