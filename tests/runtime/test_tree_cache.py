"""Warm page loads restore an install's files from the installed-tree cache.

Each test installs in one fresh Pyodide, then loads a second fresh Pyodide on
the same origin (a new page in Chromium; a new Pyodide instance in the same
Node process, the same ``MICROPKG_CACHE_DIR``) and installs again. A hit is
seen from inside Pyodide (the resolver was never imported) and from the index
server's log (no wheel, no metadata requested); its files and RECORD are
compared with those of the cold install.
"""

from __future__ import annotations

import pytest
from pytest_pyodide import run_in_pyodide

LUAU = "luau_wasm-0.1a0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"


def _fresh_runtime(selenium) -> None:
    """A second, fresh Pyodide on the same origin: what a page reload gives."""
    # What the last install keeps for the next page load is written after it returned.
    selenium.run_async("import micropkg\nawait micropkg.settled()")
    if selenium.browser != "node":
        selenium.refresh()  # a new page: the browser profile (and its Cache API) stays
    selenium.load_pyodide()
    selenium.initialize_pyodide()


@run_in_pyodide(packages=["micropkg"])
async def _install(selenium, requirements, index_url, options):
    import sys

    import micropkg

    try:
        installed = await micropkg.install(requirements, index_urls=[index_url], **options)
    except micropkg.MicropkgError as exc:
        return {"error": [type(exc).__name__, str(exc)]}
    return {
        "installed": sorted([i.name, i.version, i.filename, i.source] for i in installed),
        "resolver": "micropkg.resolution.resolver" in sys.modules or "resolvelib" in sys.modules,
        "wheel_opened": "micropkg.model.wheel" in sys.modules,
    }


@run_in_pyodide(packages=["micropkg"])
def _tree(selenium, names):
    """Every file the named distributions' RECORDs list, with its sha256; and each RECORD's text."""
    import hashlib
    import site
    from pathlib import Path

    root = Path(site.getsitepackages()[0])
    files, records = {}, {}
    for name in names:
        dist_infos = [p for p in root.glob("*.dist-info") if p.name.split("-")[0].lower() == name.replace("-", "_")]
        assert len(dist_infos) == 1, (name, dist_infos)
        record = (dist_infos[0] / "RECORD").read_text()
        records[name] = record
        for line in record.splitlines():
            path = line.rsplit(",", 2)[0]
            files[path] = hashlib.sha256((root / path).read_bytes()).hexdigest()
        files.update({f"{dist_infos[0].name}/{p.name}": "listed" for p in dist_infos[0].iterdir()})
    return files, records


@run_in_pyodide(packages=["micropkg"])
def _run_luau(selenium):
    import luau_wasm
    import pyodide_js

    return luau_wasm.execute('print("hi", 6*7)'), str(getattr(pyodide_js.loadedPackages, "luau-wasm", None))


@run_in_pyodide(packages=["micropkg"])
async def _uninstall(selenium, names):
    import micropkg

    return await micropkg.uninstall(names)


@run_in_pyodide(packages=["micropkg"])
def _import(selenium, module):
    import importlib

    return importlib.import_module(module).__name__


def _hit(outcome) -> bool:
    assert "error" not in outcome, outcome
    return not outcome["resolver"]


@pytest.mark.pyodide_abi("2026_0")
def test_a_second_page_load_restores_the_files_without_resolving(selenium_standalone, index_server):
    selenium = selenium_standalone
    requested = ["luau-wasm", "harness-demo"]
    cold = _install(selenium, requested, index_server.simple_url, {})
    assert not _hit(cold)
    cold_files, cold_records = _tree(selenium, ["luau-wasm", "harness-demo", "harness-dep"])

    index_server.log.reset()
    _fresh_runtime(selenium)
    warm = _install(selenium, requested, index_server.simple_url, {})
    assert _hit(warm) and not warm["wheel_opened"], warm
    assert warm["installed"] == cold["installed"]
    counts = index_server.log.counts()
    # The test index sends no Cache-Control, so its three pages are asked again (and answer
    # the same); no wheel and no metadata is.
    assert counts["file"] == 0 and counts["metadata"] == 0 and counts["simple-project"] == 3, counts
    assert _tree(selenium, ["luau-wasm", "harness-demo", "harness-dep"]) == (cold_files, cold_records)
    output, loaded = _run_luau(selenium)
    assert output.startswith("hi") and "42" in output, output
    luau_source = next(row[3] for row in warm["installed"] if row[0] == "luau-wasm")
    assert loaded == luau_source, (loaded, luau_source)  # marked in loadPackage's books, as a cold install does
    assert _import(selenium, "harness_dep") == "harness_dep"


def test_another_request_or_a_changed_page_misses(selenium_standalone, index_server, make_wheel):
    selenium = selenium_standalone
    index_server.add(make_wheel("rt-tree", "1.0", requires_dist=["harness-dep"]))
    assert not _hit(_install(selenium, "rt-tree", index_server.simple_url, {}))

    _fresh_runtime(selenium)
    assert not _hit(_install(selenium, "rt-tree", index_server.simple_url, {"deps": False}))  # other options

    _fresh_runtime(selenium)
    assert not _hit(_install(selenium, "rt-tree>=1", index_server.simple_url, {}))  # another requirement

    _fresh_runtime(selenium)
    assert _hit(_install(selenium, "rt-tree", index_server.simple_url, {}))  # the first request's entry is kept

    index_server.add(make_wheel("rt-tree", "1.1", requires_dist=["harness-dep"]))  # a new release: its page changes
    _fresh_runtime(selenium)
    outcome = _install(selenium, "rt-tree", index_server.simple_url, {})
    assert not _hit(outcome) and ["rt-tree", "1.1"] == outcome["installed"][1][:2], outcome


def test_uninstall_and_another_installed_version_are_respected(selenium_standalone, index_server, make_wheel):
    selenium = selenium_standalone
    index_server.add(make_wheel("harness-dep", "0.9"))
    assert not _hit(_install(selenium, "harness-demo", index_server.simple_url, {}))

    _fresh_runtime(selenium)
    assert _hit(_install(selenium, "harness-demo", index_server.simple_url, {}))
    assert sorted(_uninstall(selenium, ["harness-demo", "harness-dep"])) == ["harness-demo", "harness-dep"]
    again = _install(selenium, "harness-demo", index_server.simple_url, {})  # as before the first install: a hit
    assert _hit(again) and [row[:2] for row in again["installed"]] == [["harness-demo", "2.0.0"], ["harness-dep", "1.0.0"]]
    assert _import(selenium, "harness_demo") == "harness_demo"

    _fresh_runtime(selenium)
    assert _install(selenium, "harness-dep==0.9", index_server.simple_url, {})["installed"][0][:2] == ["harness-dep", "0.9"]
    # With dep 0.9 installed the resolver keeps it and walks demo back to 1.0.0: the entry's
    # plan (demo 2.0.0, dep 1.0.0) would be wrong here, and is not used.
    walked_back = _install(selenium, "harness-demo", index_server.simple_url, {})
    assert not _hit(walked_back) and [row[:2] for row in walked_back["installed"]] == [["harness-demo", "1.0.0"]]


def test_a_damaged_entry_is_detected_and_the_install_takes_the_normal_path(selenium, index_server, micropkg_cache_dir):
    if selenium.browser != "node":
        pytest.skip("flips a byte in Node's cache directory; the check is the same code in every store")
    assert not _hit(_install(selenium, "harness-demo", index_server.simple_url, {}))
    cold = _tree(selenium, ["harness-demo", "harness-dep"])
    selenium.run_async("import micropkg\nawait micropkg.settled()")
    entries = [p for p in (micropkg_cache_dir / "tree").rglob("*") if p.is_file()]
    assert len(entries) == 1, entries
    blob = bytearray(entries[0].read_bytes())
    blob[-10] ^= 0x01  # inside the last file's bytes
    entries[0].write_bytes(bytes(blob))

    _fresh_runtime(selenium)
    outcome = _install(selenium, "harness-demo", index_server.simple_url, {})
    assert not _hit(outcome)
    assert _tree(selenium, ["harness-demo", "harness-dep"]) == cold  # installed from the wheels, as the first time
    selenium.run_async("import micropkg\nawait micropkg.settled()")
    assert entries[0].read_bytes() != bytes(blob)  # the damaged entry was dropped and kept anew

    _fresh_runtime(selenium)
    assert _hit(_install(selenium, "harness-demo", index_server.simple_url, {}))


@run_in_pyodide(packages=["micropkg"])
async def _install_then_uninstall_at_once(selenium, index_url):
    import micropkg
    from micropkg.runtime import changes

    def keeping():
        return sum(not task.done() for task in changes._finishing)

    await micropkg.install("harness-demo", index_urls=[index_url])
    after_return = keeping()  # the keeping goes on after install() returned...
    removed = await micropkg.uninstall(["harness-demo", "harness-dep"])  # ...and the uninstall waits for it
    after_uninstall = keeping()
    await micropkg.settled()
    return after_return, sorted(removed), after_uninstall, keeping()


def test_install_returns_before_the_keeping_which_the_next_change_waits_for(selenium_standalone, index_server):
    # install() returns once the packages import; what it keeps for the next page load is
    # written after, in its turn: an uninstall called at once waits, so the entry holds the
    # installed files, not a half-removed tree.
    selenium = selenium_standalone
    after_return, removed, after_uninstall, after_settled = _install_then_uninstall_at_once(
        selenium, index_server.simple_url,
    )
    assert after_return == 1 and after_uninstall == 0 and after_settled == 0, (after_return, after_uninstall)
    assert removed == ["harness-demo", "harness-dep"]
    _fresh_runtime(selenium)
    again = _install(selenium, "harness-demo", index_server.simple_url, {})
    assert _hit(again) and [row[:2] for row in again["installed"]] == [["harness-demo", "2.0.0"], ["harness-dep", "1.0.0"]]
    assert _import(selenium, "harness_demo") == "harness_demo"


def test_cache_off_neither_keeps_nor_restores(selenium_standalone, index_server):
    selenium = selenium_standalone
    assert not _hit(_install(selenium, "harness-demo", index_server.simple_url, {"cache": "off"}))
    _fresh_runtime(selenium)
    assert not _hit(_install(selenium, "harness-demo", index_server.simple_url, {}))  # nothing was kept
    _fresh_runtime(selenium)
    index_server.log.reset()
    assert not _hit(_install(selenium, "harness-demo", index_server.simple_url, {"cache": "off"}))  # kept, not used
    assert index_server.log.counts()["file"] == 2
