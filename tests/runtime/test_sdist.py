"""Pure-Python sdists built inside a real Pyodide (PEP 517 in-process), per backend.

The loopback index serves tiny sdists (:mod:`tests.harness.sdists`) and the
real backends' wheels from PyPI (pinned, fetched once). Each test installs in
Pyodide and returns plain values; the host asserts on them and on the index
server's request log (which files were fetched: the build requirements).
"""

from __future__ import annotations

import pytest
from pytest_pyodide import run_in_pyodide

from tests.harness.sdists import BACKENDS, backend_wheels, make_sdist


def _module(backend: str) -> str:
    return "sd_" + backend.replace(".", "").replace("-", "_")


@pytest.fixture
def sdist_index(index_server):
    """The index with every backend's wheels (tests add their sdists: names differ per test,
    since the tests of a module share one runtime and its site-packages)."""
    for wheel in backend_wheels():
        index_server.add(wheel)
    return index_server


@run_in_pyodide(packages=["micropkg"])
async def _install(selenium, requirement, index_url, kwargs=None):
    """Install ``requirement``; return what happened, what the build left behind, and timings."""
    import importlib
    import os
    import sys
    import sysconfig
    import tempfile
    import time

    import micropkg

    class Listening(micropkg.Reporter):
        def __init__(self):
            self.built = []

        def building(self, project, version):
            self.built.append([project, version])

    reporter = Listening()
    # The builders' own records (sizes, seconds), for the figures: read, not changed.
    from micropkg.build import builder as builder_module

    builders = []
    original_init = builder_module.Builder.__init__

    def recording_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        builders.append(self)

    builder_module.Builder.__init__ = recording_init
    site = "/" + sysconfig.get_path("purelib").lstrip("/")  # it says "//lib/..." in Pyodide 314
    dist_infos_before = set(os.listdir(site))
    modules_before = set(sys.modules)
    path_before, cwd_before = list(sys.path), os.getcwd()
    environ_before = dict(os.environ)
    started = time.perf_counter()
    try:
        arguments = {"pyodide_packages": False, "reporter": reporter}
        if index_url is not None:
            arguments["index_urls"] = [index_url]
        arguments.update(kwargs or {})
        if requirement is None:  # a lock install takes no requirements
            installed = await micropkg.install(**arguments)
        else:
            installed = await micropkg.install(requirement, **arguments)
        result = {"installed": [[i.name, i.version, i.filename] for i in installed], "error": None}
    except micropkg.MicropkgError as exc:
        result = {"installed": None, "error": [type(exc).__name__, str(exc)]}
    finally:
        builder_module.Builder.__init__ = original_init
    result["seconds"] = time.perf_counter() - started
    result["records"] = [dict(vars(record)) for b in builders for record in b.records]
    result["built"] = reporter.built
    result["path_kept"] = sys.path == path_before and os.getcwd() == cwd_before and dict(os.environ) == environ_before
    # What the install added to the runtime: modules imported, distributions written.
    result["modules_added"] = sorted(m for m in set(sys.modules) - modules_before if not m.startswith("micropkg"))
    result["dist_infos"] = sorted(d for d in set(os.listdir(site)) - dist_infos_before if d.endswith(".dist-info"))
    result["temp_left"] = sorted(d for d in os.listdir(tempfile.gettempdir()) if d.startswith("micropkg-build-"))
    if result["installed"] and requirement is not None:
        name = requirement.split("=")[0].replace("-", "_")
        module = importlib.import_module(name)
        result["module"] = [module.BACKEND, module.__version__, module.__file__.startswith(site)]
        result["file"] = [module.__file__, site]
    return result


def _fetched(server) -> list[str]:
    return sorted(e.path.rsplit("/", 1)[-1] for e in server.log.entries if e.kind == "file")


@pytest.mark.parametrize("backend", BACKENDS)
def test_sdist_builds_and_imports(selenium, sdist_index, backend):
    name = _module(backend).replace("_", "-")
    sdist_index.add(make_sdist(name, backend=backend))
    result = _install(selenium, name, sdist_index.simple_url)
    assert result["error"] is None, result["error"]
    assert result["installed"] == [[name, "1.0", f"{_module(backend)}-1.0.tar.gz"]]
    assert result["built"] == [[name, "1.0"]]
    assert result["module"] == [backend, "1.0", True], result["file"]
    # The build environment stays out of the user's runtime: no backend in site-packages,
    # none of its modules imported, sys.path, cwd and os.environ as they were, no temp dirs.
    assert result["dist_infos"] == [f"{_module(backend)}-1.0.dist-info"]
    backends = ("setuptools", "flit_core", "hatchling", "poetry", "pdm", "pathspec", "_distutils_hack", "tomlkit")
    assert not [m for m in result["modules_added"] if m.split(".")[0] in backends], result["modules_added"]
    assert result["path_kept"] and result["temp_left"] == []
    fetched = _fetched(sdist_index)
    print(f"\n[figures] {backend}: cold {result['seconds']:.2f} s; fetched {fetched}; sizes "
          f"{ {f.filename: f.size for p in sdist_index.projects() for f in sdist_index.files(p) if f.filename in fetched} }")


def _fresh_runtime(selenium) -> None:
    # What the last install keeps for the next page load is written after it returned.
    selenium.run_async("import micropkg\nawait micropkg.settled()")
    if selenium.browser != "node":
        selenium.refresh()
    selenium.load_pyodide()
    selenium.initialize_pyodide()


def _figures(result) -> str:
    return "; ".join(
        f"{r['project']}: {'cached' if r['cached'] else 'built'} in {r['seconds']:.2f} s, sdist {r['sdist_size']} B,"
        f" wheel {r['wheel_size']} B, build requirements {r['requirements_size']} B ({', '.join(r['requirements'])})"
        for r in result["records"]
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_built_wheel_comes_from_the_cache_on_the_next_page_load(selenium, sdist_index, backend):
    name = _module(backend).replace("_", "-") + "-cached"
    sdist_index.add(make_sdist(name, backend=backend))
    first = _install(selenium, name, sdist_index.simple_url)
    assert first["error"] is None and first["built"] == [[name, "1.0"]], first
    _fresh_runtime(selenium)
    sdist_index.log.reset()
    second = _install(selenium, name, sdist_index.simple_url)
    assert second["error"] is None, second["error"]
    assert second["installed"] == first["installed"] and second["module"] == [backend, "1.0", True]
    assert second["built"] == []  # no build at all
    # No build requirement was asked for (the sdist itself comes from the cache too).
    assert _fetched(sdist_index) == [], _fetched(sdist_index)
    assert [r["cached"] for r in second["records"]] == [True]
    print(f"\n[figures] {backend}: install cold {first['seconds']:.2f} s, from the cache {second['seconds']:.2f} s;"
          f" cold: {_figures(first)}; second page load: {_figures(second)}")


def test_sdist_with_an_extension_module_is_refused_before_anything_is_installed(selenium, index_server):
    for wheel in backend_wheels():
        index_server.add(wheel)
    setup_py = (
        "from setuptools import setup, Extension\n"
        "setup(name='sd-ext', version='1.0', ext_modules=[Extension('sd_ext._speed', ['sd_ext/_speed.c'])])\n"
    )
    index_server.add(make_sdist("sd-ext", backend="setup.py", setup_py=setup_py,
                                extra={"sd_ext/_speed.c": b"int x;\n"}))
    result = _install(selenium, "sd-ext", index_server.simple_url)
    kind, message = result["error"]
    assert kind == "CannotBuild"
    assert "sd-ext 1.0" in message and "sd_ext-1.0.tar.gz" in message
    assert "C extension modules" in message and "cannot be compiled in the browser" in message
    assert result["installed"] is None
    assert result["dist_infos"] == []
    assert _fetched(index_server) == ["sd_ext-1.0.tar.gz"]  # no build requirement was downloaded
    assert result["temp_left"] == []


def test_only_binary_refuses_sdists(selenium, sdist_index):
    sdist_index.add(make_sdist("sd-binary-only", backend="flit"))
    result = _install(selenium, "sd-binary-only", sdist_index.simple_url, {"only_binary": True})
    kind, message = result["error"]
    assert kind == "NoCompatibleFile", message
    assert "only_binary is set, so no sdist is built" in message
    assert result["built"] == [] and _fetched(sdist_index) == []


def test_a_failing_build_names_project_backend_and_its_output(selenium, index_server):
    for wheel in backend_wheels():
        index_server.add(wheel)
    setup_py = "from setuptools import setup\nprint('about to fail')\nraise RuntimeError('this project is broken')\n"
    index_server.add(make_sdist("sd-broken", backend="setup.py", setup_py=setup_py))
    result = _install(selenium, "sd-broken", index_server.simple_url)
    kind, message = result["error"]
    assert kind == "BuildError", message
    assert "sd-broken 1.0" in message and "setuptools.build_meta:__legacy__" in message
    assert "this project is broken" in message
    assert not [m for m in result["modules_added"] if m.split(".")[0] in ("setuptools", "_distutils_hack", "distutils")]
    assert result["path_kept"] and result["temp_left"] == []


@pytest.mark.network
@pytest.mark.parametrize("requirement, module, check", [
    ("jsmin==3.0.1", "jsmin", "jsmin.jsmin('var  a  =  1 ;')"),
    # Installed and importable; calling it needs signal.setitimer, which Pyodide lacks.
    ("timeout-decorator==0.5.0", "timeout_decorator", "timeout_decorator.TimeoutError.__name__"),
    ("clint==0.5.1", "clint", "clint.textui.colored.red('x').s"),
])
def test_real_sdist_only_projects_from_pypi(selenium, requirement, module, check):
    """Projects that publish only an sdist ("Can't find a pure Python 3 wheel" in micropip)."""

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, requirement, module, check):
        import importlib
        import time

        import micropkg

        class Listening(micropkg.Reporter):
            built = []

            def building(self, project, version):
                self.built.append(f"{project} {version}")

        started = time.perf_counter()
        installed = await micropkg.install(requirement, reporter=Listening())
        seconds = time.perf_counter() - started
        importlib.import_module(module)
        if module == "clint":
            importlib.import_module("clint.textui")
        value = eval(check, {module: importlib.import_module(module)})
        return [[i.name, i.version, i.filename] for i in installed], Listening.built, repr(value), seconds

    installed, built, value, seconds = run(selenium, requirement, module, check)
    name, version = requirement.split("==")
    assert [name, version] in [i[:2] for i in installed]
    assert f"{name} {version}" in built
    assert value in ("'var a=1;'", "'TimeoutError'", "'x'"), value
    print(f"\n[figures] {requirement} from PyPI: {seconds:.1f} s, installed {installed}")


@run_in_pyodide(packages=["micropkg"])
async def _freeze(selenium, name):
    """freeze(format="pylock"), with only ``name``'s entry (the module's tests share one runtime)."""
    import dataclasses

    import micropkg
    from micropkg.lock.pylock import dumps, loads

    lock = loads(micropkg.freeze(format="pylock"))
    return dumps(dataclasses.replace(lock, packages=tuple(p for p in lock.packages if p.name == name)))


@run_in_pyodide(packages=["micropkg"])
async def _clear_cache(selenium):
    import micropkg

    await micropkg.clear_cache()


def test_a_built_sdist_is_locked_as_its_sdist_and_installs_from_the_lock(selenium, sdist_index, micropkg_cache_dir):
    import tomllib

    name = "sd-locked"
    sdist = sdist_index.add(make_sdist(name, backend="flit"))
    first = _install(selenium, name, sdist_index.simple_url)
    assert first["error"] is None and first["built"] == [[name, "1.0"]], first
    lock = _freeze(selenium, name)
    (entry,) = [p for p in tomllib.loads(lock)["packages"] if p["name"] == name]
    # PEP 751: the entry's file is the sdist (with its hash), and it lists no wheel.
    assert "wheels" not in entry and entry["sdist"]["hashes"] == {"sha256": sdist.sha256}
    assert entry["sdist"]["url"].endswith("/sd_locked-1.0.tar.gz")
    # ... and the wheel micropkg built from it here, by name and hash (informational: PEP 751 tool data).
    built = entry["tool"]["micropkg"]["built-wheel"]
    assert built["name"] == "sd_locked-1.0-py3-none-any.whl" and len(built["sha256"]) == 64, built
    # Next page load, same cache: the lock installs the cached build. Nothing is built and no
    # build requirement is fetched; the sdist is (a lock install reads its files, hash-pinned).
    _fresh_runtime(selenium)
    sdist_index.log.reset()
    second = _install(selenium, None, None, {"lock": lock})
    assert second["error"] is None, second["error"]
    assert second["built"] == [] and [r["cached"] for r in second["records"]] == [True]
    assert _fetched(sdist_index) == ["sd_locked-1.0.tar.gz"], _fetched(sdist_index)
    # An empty cache: the lock install builds it, its build requirements resolved from the
    # install's indexes (here the loopback index).
    # (clear_cache, not the Node directory: in a browser the cache is the Cache API)
    _clear_cache(selenium)
    _fresh_runtime(selenium)
    third = _install(selenium, None, None, {"lock": lock, "index_urls": [sdist_index.simple_url]})
    assert third["error"] is None, third["error"]
    assert third["built"] == [[name, "1.0"]]


def test_a_build_that_starts_a_process_is_refused(selenium, sdist_index):
    setup_py = (
        "import subprocess\nfrom setuptools import setup\n"
        "subprocess.run(['gcc', '-c', 'speedups.c'], check=True)\n"
        "setup(name='sd-spawns', version='1.0', py_modules=['sd_spawns'])\n"
    )
    sdist_index.add(make_sdist("sd-spawns", backend="setup.py", setup_py=setup_py))
    result = _install(selenium, "sd-spawns", sdist_index.simple_url)
    kind, message = result["error"]
    assert kind == "CannotBuild", message
    assert "sd-spawns 1.0" in message and "tried to start a process ('gcc -c speedups.c')" in message
    assert result["dist_infos"] == [] and result["temp_left"] == [] and result["path_kept"]


def test_a_build_that_makes_an_impure_wheel_is_refused(selenium, sdist_index):
    # No Extension anywhere for the scan to see; the wheel itself says it is not pure.
    setup_py = (
        "from setuptools import setup\nfrom setuptools.dist import Distribution\n"
        "class Platform(Distribution):\n    def has_ext_modules(self):\n        return True\n"
        "setup(name='sd-impure', version='1.0', py_modules=['sd_impure'], distclass=Platform)\n"
    )
    sdist_index.add(make_sdist("sd-impure", backend="setup.py", setup_py=setup_py))
    result = _install(selenium, "sd-impure", sdist_index.simple_url)
    kind, message = result["error"]
    assert kind == "CannotBuild", message
    assert "sd-impure 1.0" in message and "is not pure Python" in message
    assert result["dist_infos"] == []


IN_TREE_BACKEND = b'''"""An in-tree backend (backend-path) that asks for flit_core in get_requires_for_build_wheel."""

def get_requires_for_build_wheel(config_settings=None):
    return ["flit_core>=3.4,<5"]

def prepare_metadata_for_build_wheel(directory, config_settings=None):
    from flit_core import buildapi
    return buildapi.prepare_metadata_for_build_wheel(directory, config_settings)

def build_wheel(directory, config_settings=None, metadata_directory=None):
    from flit_core import buildapi
    return buildapi.build_wheel(directory, config_settings, metadata_directory)
'''


@pytest.mark.parametrize("prepare", [True, False], ids=["prepare_metadata", "build_wheel_for_metadata"])
def test_backend_path_and_get_requires_for_build_wheel_are_honoured(selenium, sdist_index, prepare):
    """An in-tree backend; without prepare_metadata_for_build_wheel, the metadata is the built wheel's."""
    name = "sd-intree" if prepare else "sd-intree-noprep"
    code = IN_TREE_BACKEND if prepare else IN_TREE_BACKEND.replace(b"def prepare_metadata_for_build_wheel", b"def _unused")
    sdist = make_sdist(name, backend="flit", extra={"_build/intree_backend.py": code})
    import io
    import tarfile

    from tests.harness.sdists import Sdist, tar_gz

    members: dict[str, bytes | None] = {}
    with tarfile.open(fileobj=io.BytesIO(sdist.data)) as archive:
        for member in archive:
            members[member.name + ("/" if member.isdir() else "")] = (
                None if member.isdir() else archive.extractfile(member).read()  # type: ignore[union-attr]
            )
    base = sdist.filename.removesuffix(".tar.gz")
    pyproject = members[f"{base}/pyproject.toml"].decode()  # type: ignore[union-attr]
    members[f"{base}/pyproject.toml"] = pyproject.replace(
        'requires = ["flit_core>=3.4,<5"]\nbuild-backend = "flit_core.buildapi"',
        'requires = []\nbuild-backend = "intree_backend"\nbackend-path = ["_build"]',
    ).encode()
    sdist_index.add(Sdist(sdist.filename, tar_gz(members)))
    result = _install(selenium, name, sdist_index.simple_url)
    assert result["error"] is None, result["error"]
    assert result["module"] == ["flit", "1.0", True] and result["built"] == [[name, "1.0"]]
    (record,) = result["records"]
    assert record["requirements"] == ["flit-core 4.2.0"]  # asked for by the hook, not by [build-system]
    assert "intree_backend" not in result["modules_added"]
