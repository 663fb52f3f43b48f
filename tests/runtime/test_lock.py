"""Locks inside a real Pyodide: locked on the host, mirrored, installed from the lock, frozen back.

The host half runs micropkg's CLI functions on CPython against the loopback
index; the Pyodide half installs with ``install(lock=...)`` and freezes. The
index server's request log proves what was (not) asked. The runtime is shared
by the tests of this module, so each test uses projects of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import tomllib

from pytest_pyodide import run_in_pyodide

from micropkg.commands.cli import lock_requirements, main
from micropkg.lock.pylock import dumps
from micropkg.model.pyodide_releases import target_for_pyodide

NODE_LOADER = r"""
import path from "node:path";
import { pathToFileURL } from "node:url";
const [dist, lockFile, name, check] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(path.resolve(dist) + path.sep + "pyodide.mjs").href);
const pyodide = await loadPyodide({ indexURL: path.resolve(dist) + path.sep, lockFileURL: lockFile });
await pyodide.loadPackage([name], { messageCallback: () => {}, errorCallback: (m) => console.error(m) });
console.log(pyodide.runPython(check));
"""


def host_lock(index_server, pyodide_info, requirements) -> str:
    target = target_for_pyodide(pyodide_info["version"])
    return dumps(asyncio.run(lock_requirements(requirements, target, index_urls=[index_server.simple_url])))


@run_in_pyodide(packages=["micropkg"])
async def _install_lock(selenium, lock):
    """install(lock=...); return (installed, error, dist-infos)."""
    import os
    import sysconfig

    import micropkg

    try:
        installed = await micropkg.install(lock=lock)
        result = [(i.name, i.version, i.filename) for i in installed], None
    except micropkg.MicropkgError as exc:
        result = None, (type(exc).__name__, str(exc))
    site = sysconfig.get_path("purelib")
    return result[0], result[1], sorted(d for d in os.listdir(site) if d.endswith(".dist-info"))


def test_lock_mirror_install_freeze_round_trip(selenium, index_server, make_wheel, pyodide_info, tmp_path):
    index_server.add(make_wheel("rt-round", "1.0", requires_dist=["msgpack>=1.2"]))
    text = host_lock(index_server, pyodide_info, ["rt-round"])
    (tmp_path / "pylock.toml").write_text(text)
    assert main(["mirror", str(tmp_path / "pylock.toml"), "-o", str(tmp_path / "mirror")]) == 0
    base = index_server.mount("mirror", tmp_path / "mirror")
    index_server.log.reset()

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, lock_url):
        import micropkg

        installed = await micropkg.install(lock=lock_url)
        import msgpack._cmsgpack  # the native extension loads
        import rt_round  # noqa: F401 - importing is the check

        return [(i.name, i.version) for i in installed], msgpack.unpackb(msgpack.packb([1])), micropkg.freeze(format="pylock")

    installed, roundtrip, frozen = run(selenium, base + "pylock.toml")
    locked = tomllib.loads(text)["packages"]
    assert sorted(installed) == sorted((p["name"], p["version"]) for p in locked)
    assert roundtrip == [1]
    # Only the static mirror was asked: the lock, then each wheel once. No index page, no metadata.
    paths = sorted(e.path for e in index_server.log)
    assert paths == sorted(["/mirror/pylock.toml", *(f"/mirror/files/{p['wheels'][0]['name']}" for p in locked)])

    document = tomllib.loads(frozen)
    assert document["environments"] == tomllib.loads(text)["environments"]
    frozen_by_name = {p["name"]: p for p in document["packages"]}
    for package in locked:
        mine = frozen_by_name[package["name"]]
        [wheel] = mine["wheels"]
        assert mine["version"] == package["version"]
        assert wheel["hashes"]["sha256"] == package["wheels"][0]["hashes"]["sha256"]
        assert wheel["size"] == package["wheels"][0]["size"]
        assert wheel["url"] == base + "files/" + package["wheels"][0]["name"]
    assert frozen_by_name["rt-round"]["dependencies"] == [{"name": "msgpack"}]
    assert "micropkg" in frozen_by_name  # the runtime's own packages are part of the installed set


def test_host_lock_picks_what_install_picks_in_pyodide(selenium, index_server, make_wheel, pyodide_info):
    index_server.add(make_wheel("rt-compare", "1.0", requires_dist=["msgpack", "rt-compare-dep[x]"]))
    index_server.add(make_wheel("rt-compare", "2.0", requires_dist=["msgpack>=99"]))
    index_server.add(make_wheel("rt-compare-dep", "1.0", provides_extra=["x"], requires_dist=["harness-dep; extra == 'x'"]))
    text = host_lock(index_server, pyodide_info, ["rt-compare"])

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url):
        import micropkg

        plan = await micropkg.resolve(["rt-compare"], index_urls=[index_url], reinstall=True)
        return [(p.name, str(p.version), p.file.filename) for p in plan]

    in_pyodide = run(selenium, index_server.simple_url)
    on_host = [(p["name"], p["version"], p["wheels"][0]["name"]) for p in tomllib.loads(text)["packages"]]
    assert on_host == in_pyodide
    major, minor = pyodide_info["python"].split(".")[:2]
    assert ("msgpack", "1.2.4", f"msgpack-1.2.4-cp{major}{minor}-cp{major}{minor}-pyemscripten_{pyodide_info['abi_version']}_wasm32.whl") in on_host
    assert {name for name, _, _ in on_host} == {"rt-compare", "rt-compare-dep", "msgpack", "harness-dep"}


def test_lock_install_makes_no_index_request(selenium, index_server, make_wheel, pyodide_info):
    index_server.add(make_wheel("rt-quiet", "1.0", requires_dist=["rt-quiet-dep"]))
    index_server.add(make_wheel("rt-quiet-dep", "1.0"))
    text = host_lock(index_server, pyodide_info, ["rt-quiet"])
    index_server.log.reset()
    installed, error, dist_infos = _install_lock(selenium, text)
    assert error is None and sorted(n for n, _, _ in installed) == ["rt-quiet", "rt-quiet-dep"]
    assert index_server.log.counts() == {"file": 2}, index_server.log.counts()
    assert "rt_quiet-1.0.dist-info" in dist_infos


def test_bad_locks_are_refused_and_install_nothing(selenium, index_server, make_wheel, pyodide_info):
    good = make_wheel("rt-bad", "1.0")
    index_server.add(good)
    text = host_lock(index_server, pyodide_info, ["rt-bad"])
    sha = hashlib.sha256(good.data).hexdigest()
    other_abi = "cp312-cp312-pyemscripten_2024_0_wasm32" if pyodide_info["abi_version"] != "2024_0" else "cp314-cp314-pyemscripten_2026_0_wasm32"
    cases = {
        "no hash": (text.replace(f'hashes = {{sha256 = "{sha}"}}', "hashes = {}"), "LockError", "has no hashes"),
        "unknown version": (text.replace('lock-version = "1.0"', 'lock-version = "2.0"'), "LockError", "'2.0' is not supported"),
        "other ABI": (text.replace("py3-none-any", other_abi), "LockError", "fits this runtime"),
    }
    index_server.log.reset()
    for name, (bad, kind, words) in cases.items():
        assert bad != text, name
        installed, error, dist_infos = _install_lock(selenium, bad)
        assert installed is None and error[0] == kind and words in error[1], (name, error)
        assert not any(d.startswith("rt_bad") for d in dist_infos), name
    assert len(index_server.log) == 0  # refused before any download

    evil = make_wheel("rt-bad", "1.0", files={"rt_bad/__init__.py": "print('evil')\n"})
    index_server.inject(f"/files/{good.filename}", body=evil.data)
    installed, error, dist_infos = _install_lock(selenium, text)
    assert error[0] == "IntegrityError" and sha in error[1] and hashlib.sha256(evil.data).hexdigest() in error[1]
    assert not any(d.startswith("rt_bad") for d in dist_infos)


def test_requirements_file_in_install(selenium, index_server, make_wheel, tmp_path):
    index_server.add(make_wheel("rt-reqfile", "1.0"))
    index_server.add(make_wheel("rt-reqfile", "2.0"))
    (tmp_path / "requirements.txt").write_text(f"--index-url {index_server.simple_url}\nrt-reqfile  # newest\n-c pins.txt\n")
    (tmp_path / "pins.txt").write_text("rt-reqfile<2\n")
    base = index_server.mount("reqs", tmp_path)

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, url):
        import micropkg

        return [(i.name, i.version) for i in await micropkg.install(requirements_file=url)]

    assert run(selenium, base + "requirements.txt") == [("rt-reqfile", "1.0")]


def test_frozen_pyodide_lock_loads_in_a_fresh_runtime(
    selenium, index_server, make_wheel, pyodide_dist_dir, runtime, tmp_path
):
    dep = make_wheel("rt-frozen-dep", "1.0", files={"rt_frozen_dep/__init__.py": "VALUE = 42\n"})
    index_server.add(make_wheel("rt-frozen", "1.0", requires_dist=["rt-frozen-dep"],
                                files={"rt_frozen/__init__.py": "from rt_frozen_dep import VALUE\n"}))
    index_server.add(dep)

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url):
        import micropkg

        await micropkg.install("rt-frozen", index_urls=[index_url])
        return micropkg.freeze()

    frozen = json.loads(run(selenium, index_server.simple_url))
    entry = frozen["packages"]["rt-frozen"]
    assert entry["depends"] == ["rt-frozen-dep"] and entry["imports"] == ["rt_frozen"]
    assert entry["file_name"] == index_server.file_url("rt_frozen-1.0-py3-none-any.whl")
    assert frozen["packages"]["rt-frozen-dep"]["sha256"] == dep.sha256
    (tmp_path / "pyodide-lock.json").write_text(json.dumps(frozen))
    if runtime == "chrome":
        # A second, fresh Pyodide in the page, on the frozen lockfile; Pyodide's own
        # loader fetches each file and checks its sha256 against the lock (integrity).
        lock_url = index_server.mount("frozen", tmp_path) + "pyodide-lock.json"
        value = selenium.run_js(f"""
            const fresh = await loadPyodide({{ indexURL: pyodide._api.config.indexURL, lockFileURL: {json.dumps(lock_url)} }});
            await fresh.loadPackage(["rt-frozen"]);
            return fresh.runPython("import rt_frozen; str(rt_frozen.VALUE)");
        """)
        assert value == "42"
        return
    # Under Node, Pyodide resolves every file_name as a path (path.resolve), which
    # mangles http URLs: load the runtime's own package from the frozen lock there.
    (tmp_path / "loader.mjs").write_text(NODE_LOADER)
    result = subprocess.run(
        ["node", str(tmp_path / "loader.mjs"), str(pyodide_dist_dir), str(tmp_path / "pyodide-lock.json"),
         "micropkg", "import micropkg; micropkg.__name__"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "micropkg"


def test_a_lock_named_relative_to_the_page(selenium, index_server, make_wheel, pyodide_info, pyodide_dist_dir, runtime):
    """In a page, ``install(lock="pylock.toml")`` reads the lock next to the page, like fetch() would."""
    import uuid

    import pytest

    if runtime != "chrome":
        pytest.skip("only a page has a URL to be relative to; under Node a relative name is a path")
    index_server.add(make_wheel("rt-relative", "1.0"))
    name = f"rt-relative-{uuid.uuid4().hex[:8]}.pylock.toml"
    # pytest-pyodide serves its page from the Pyodide folder: the lock goes beside it, briefly.
    (pyodide_dist_dir / name).write_text(host_lock(index_server, pyodide_info, ["rt-relative"]))
    try:
        installed, error, _ = _install_lock(selenium, name)
    finally:
        (pyodide_dist_dir / name).unlink()
    assert error is None, error
    assert [n for n, _, _ in installed] == ["rt-relative"]


@run_in_pyodide(packages=["micropkg"])
async def _lock_install_imports(selenium, lock):
    """install(lock=...) in a runtime that never resolved: which of micropkg's modules it imported."""
    import sys

    import micropkg

    before = set(sys.modules)
    installed = await micropkg.install(lock=lock)
    added = set(sys.modules) - before
    return [i.name for i in installed], sorted(m for m in added if m.startswith(("micropkg", "resolvelib")))


def test_a_lock_install_imports_no_resolver(selenium_standalone, index_server, make_wheel, pyodide_info):
    # issue 14: the installation layer takes a plan and never imports the resolution layer,
    # so an install from a lock loads neither the resolver nor resolvelib.
    index_server.add(make_wheel("rt-lockonly", "1.0", requires_dist=["rt-lockonly-dep"]))
    index_server.add(make_wheel("rt-lockonly-dep", "1.0"))
    text = host_lock(index_server, pyodide_info, ["rt-lockonly"])
    index_server.log.reset()
    names, imported = _lock_install_imports(selenium_standalone, text)
    assert sorted(names) == ["rt-lockonly", "rt-lockonly-dep"]
    assert any(m.startswith("micropkg.installation") for m in imported), imported  # the control
    assert not [m for m in imported if m.startswith(("micropkg.resolution", "resolvelib"))], imported
    assert index_server.log.counts().get("page", 0) == 0, index_server.log.counts()


# What a lock install must not load (issue 17): the resolver, packaging's requirement and
# specifier parsers while the lock's conditions have the simple forms (model.lock_conditions),
# and urllib.parse (with ipaddress, ~70 ms to compile) while its URLs have the plain forms
# (model.location).
NOT_FOR_A_LOCK = ("resolvelib", "micropkg.resolution", "packaging.specifiers", "packaging.requirements",
                  "packaging.markers", "micropkg.build", "micropkg.model.metadata", "urllib.parse", "ipaddress")


@run_in_pyodide(packages=["micropkg"])
async def _lock_install_modules(selenium, lock, other_lock, forbidden):
    """In a fresh runtime: install(lock=lock), then install(lock=other_lock); the forbidden
    modules loaded before, after the first and after the second, and the environment check."""
    import sys

    import micropkg

    def loaded():
        return sorted(m for m in sys.modules if m.startswith(tuple(forbidden)))

    before = loaded()
    first = [i.name for i in await micropkg.install(lock=lock)]
    after_first = loaded()
    installer_loaded = "micropkg.installation.installer" in sys.modules  # the control: the install ran here
    second = [i.name for i in await micropkg.install(lock=other_lock)]
    after_second = loaded()
    from packaging.markers import default_environment

    from micropkg.runtime.detect import marker_environment

    same = marker_environment() == default_environment()  # the oracle, in Pyodide itself
    return before, first, after_first, installer_loaded, second, after_second, same


def _lock_pair(index_server, pyodide_info, make_wheel, stem):
    """A lock of ``stem`` as micropkg writes it, and one of ``stem-other`` whose entry has a marker
    only packaging evaluates (the positive control: its install does import packaging.markers)."""
    from micropkg.lock.pyodide_lock import dumps as dumps_pyodide_lock

    index_server.add(make_wheel(stem, "1.0", requires_dist=[f"{stem}-dep"]))
    index_server.add(make_wheel(f"{stem}-dep", "1.0"))
    index_server.add(make_wheel(f"{stem}-other", "1.0"))
    target = target_for_pyodide(pyodide_info["version"])
    lock = asyncio.run(lock_requirements([stem], target, index_urls=[index_server.simple_url]))
    other = dumps(asyncio.run(lock_requirements([f"{stem}-other"], target, index_urls=[index_server.simple_url])))
    other = other.replace('\nversion = "1.0"\n', "\nversion = \"1.0\"\nmarker = \"python_version >= '3.0'\"\n", 1)
    assert "marker = " in other
    return lock, dumps_pyodide_lock(lock, target), dumps(lock), other


def test_a_pyodide_lock_install_loads_no_resolver_nor_specifier_parser(
    selenium_standalone, index_server, make_wheel, pyodide_info,
):
    _, json_text, _, other = _lock_pair(index_server, pyodide_info, make_wheel, "rt-speed-json")
    before, first, after_first, installer_loaded, second, after_second, same = _lock_install_modules(
        selenium_standalone, json_text, other, NOT_FOR_A_LOCK)
    assert before == [] and installer_loaded and sorted(first) == ["rt-speed-json", "rt-speed-json-dep"]
    assert after_first == [], after_first
    assert second == ["rt-speed-json-other"] and "packaging.markers" in after_second, after_second  # the control
    assert same


def test_a_pylock_install_loads_no_resolver_nor_specifier_parser(
    selenium_standalone, index_server, make_wheel, pyodide_info,
):
    _, _, toml_text, other = _lock_pair(index_server, pyodide_info, make_wheel, "rt-speed-toml")
    assert "environments = " in toml_text and "requires-python = " in toml_text  # conditions, in simple forms
    before, first, after_first, installer_loaded, second, after_second, same = _lock_install_modules(
        selenium_standalone, toml_text, other, NOT_FOR_A_LOCK)
    assert before == [] and installer_loaded and sorted(first) == ["rt-speed-toml", "rt-speed-toml-dep"]
    assert after_first == [], after_first
    assert second == ["rt-speed-toml-other"] and "packaging.markers" in after_second, after_second
    assert same
