"""The build package's pure logic on CPython: unpacking hostile sdists, [build-system],
the extension scan, and the interpreter state a build must leave as it found it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from micropkg.build import sdist as sdist_module
from micropkg.build.backend import SpawnAttempt, isolated, no_processes
from micropkg.build.extensions import extension_reason
from micropkg.build.sdist import LEGACY_BACKEND, LEGACY_REQUIRES, BuildSystem, SdistName, read_build_system, unpack
from micropkg.errors import InvalidSdist, MicropkgError
from tests.harness.sdists import make_sdist, tar_gz

NAME = SdistName("demo", "1.0", "demo-1.0.tar.gz")
GOOD = {"demo-1.0/": None, "demo-1.0/setup.py": b"from setuptools import setup\nsetup()\n", "demo-1.0/demo.py": b"x = 1\n"}


def _refused(data: bytes, tmp_path: Path, name: SdistName = NAME) -> InvalidSdist:
    with pytest.raises(InvalidSdist) as info:
        unpack(data, tmp_path, name)
    assert isinstance(info.value, MicropkgError)
    text = str(info.value)
    assert "demo 1.0" in text and name.filename in text  # names project, version and file
    return info.value


def test_a_good_sdist_unpacks_to_its_one_top_level_directory(tmp_path):
    root = unpack(tar_gz(GOOD), tmp_path, NAME)
    assert root == tmp_path / "demo-1.0"
    assert (root / "demo.py").read_bytes() == b"x = 1\n"


@pytest.mark.parametrize("member", ["demo-1.0/../../escape.py", "../escape.py", "demo-1.0/a/../../../x"])
def test_dot_dot_is_refused(tmp_path, member):
    error = _refused(tar_gz({**GOOD, member: b"evil"}), tmp_path / "out")
    assert error.member == member and "'..'" in str(error)
    assert not (tmp_path / "escape.py").exists()


@pytest.mark.parametrize("member", ["/etc/evil", "C:/evil", "\\evil"])
def test_absolute_paths_are_refused(tmp_path, member):
    error = _refused(tar_gz({**GOOD, member: b"evil"}), tmp_path)
    assert error.member == member


@pytest.mark.parametrize("kind, words", [(tarfile.SYMTYPE, "is a link"), (tarfile.LNKTYPE, "is a link"),
                                         (tarfile.CHRTYPE, "device"), (tarfile.FIFOTYPE, "FIFO")])
def test_links_and_devices_are_refused(tmp_path, kind, words):
    error = _refused(tar_gz(GOOD, links={"demo-1.0/link": (kind, "/etc/passwd")}), tmp_path)
    assert error.member == "demo-1.0/link" and words in str(error)


def test_oversize_and_too_many_members_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(sdist_module, "MAX_TOTAL_SIZE", 1000)
    error = _refused(tar_gz({**GOOD, "demo-1.0/big.bin": b"\0" * 2000}), tmp_path / "a")
    assert "more than 0 MiB" in str(error) and error.member == "demo-1.0/big.bin"
    monkeypatch.setattr(sdist_module, "MAX_TOTAL_SIZE", 10**9)
    monkeypatch.setattr(sdist_module, "MAX_MEMBERS", 5)
    many = {**GOOD, **{f"demo-1.0/m{i}.py": b"" for i in range(5)}}
    assert "more than 5 members" in str(_refused(tar_gz(many), tmp_path / "b"))


def test_a_gzip_bomb_is_stopped_by_the_size_bound_not_by_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(sdist_module, "MAX_TOTAL_SIZE", 1024 * 1024)
    bomb = tar_gz({**GOOD, "demo-1.0/zeros": b"\0" * (8 * 1024 * 1024)})
    assert len(bomb) < 20_000
    _refused(bomb, tmp_path)
    assert not (tmp_path / "demo-1.0" / "zeros").exists()  # refused before it was written


def _zip(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def test_zip_sdists_follow_the_same_rules(tmp_path):
    name = SdistName("demo", "1.0", "demo-1.0.zip")
    good = {k: v for k, v in GOOD.items() if v is not None}
    assert unpack(_zip(good), tmp_path / "ok", name).name == "demo-1.0"
    assert "is a link" in str(_refused(_zip(good, symlink="demo-1.0/link"), tmp_path / "a", name))
    assert "'..'" in str(_refused(_zip({**good, "demo-1.0/../../x": b""}), tmp_path / "b", name))


def test_an_archive_needs_one_top_level_directory_with_a_build_file(tmp_path):
    assert "one top-level directory" in str(_refused(tar_gz({**GOOD, "other/x.py": b""}), tmp_path / "a"))
    assert "neither a pyproject.toml nor a setup.py" in str(_refused(tar_gz({"demo-1.0/x.py": b""}), tmp_path / "b"))
    assert "not a readable .tar.gz" in str(_refused(b"not a tar at all", tmp_path / "c"))


# -- [build-system] ----------------------------------------------------------------------------


def _tree(tmp_path: Path, pyproject: str | None, **files: str) -> Path:
    root = tmp_path / "demo-1.0"
    root.mkdir(parents=True)
    if pyproject is not None:
        (root / "pyproject.toml").write_text(pyproject)
    for name, text in files.items():
        (root / name.replace("__", "/")).parent.mkdir(parents=True, exist_ok=True)
        (root / name.replace("__", "/")).write_text(text)
    return root


def test_no_pyproject_or_no_table_is_pep_517s_fallback(tmp_path):
    legacy = BuildSystem(LEGACY_REQUIRES, LEGACY_BACKEND)
    assert read_build_system(_tree(tmp_path / "a", None), NAME) == legacy
    assert read_build_system(_tree(tmp_path / "b", "[project]\nname='demo'\n"), NAME) == legacy
    assert legacy.requires == ("setuptools>=40.8.0",) and legacy.backend == "setuptools.build_meta:__legacy__"


def test_a_declared_build_system_is_read(tmp_path):
    root = _tree(tmp_path, '[build-system]\nrequires = ["flit_core>=3.4"]\nbuild-backend = "flit_core.buildapi"\n')
    assert read_build_system(root, NAME) == BuildSystem(("flit_core>=3.4",), "flit_core.buildapi")
    # requires without a backend: the legacy backend with those requirements (as pip does).
    root = _tree(tmp_path / "b", '[build-system]\nrequires = ["setuptools>=70"]\n')
    assert read_build_system(root, NAME) == BuildSystem(("setuptools>=70",), LEGACY_BACKEND)


def test_backend_path_stays_inside_the_tree(tmp_path):
    root = _tree(tmp_path, '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["_build"]\n')
    assert read_build_system(root, NAME).backend_path == (str((root / "_build").resolve()),)
    for path in ("..", "/tmp", "_build/../../x"):
        (root / "pyproject.toml").write_text(f'[build-system]\nrequires = []\nbuild-backend = "b"\nbackend-path = ["{path}"]\n')
        with pytest.raises(InvalidSdist, match="leaves the source tree"):
            read_build_system(root, NAME)


@pytest.mark.parametrize("table, words", [
    ('[build-system]\nbuild-backend = "x"\n', "requires should be a list"),
    ('[build-system]\nrequires = ["not a requirement!"]\n', "not PEP 508"),
    ('[build-system]\nrequires = []\nbuild-backend = "x y"\n', "is not 'module:object'"),
    ('[build-system\n', "not valid TOML"),
])
def test_a_malformed_build_system_is_refused_naming_the_file(tmp_path, table, words):
    with pytest.raises(InvalidSdist) as info:
        read_build_system(_tree(tmp_path, table), NAME)
    assert words in str(info.value) and info.value.member == "demo-1.0/pyproject.toml"


# -- the extension scan ------------------------------------------------------------------------

PURE = BuildSystem(("flit_core",), "flit_core.buildapi")


@pytest.mark.parametrize("system, files, words", [
    (BuildSystem(("maturin>=1",), "maturin"), {}, "Rust extension modules (maturin)"),
    (BuildSystem(("scikit-build-core",), "scikit_build_core.build"), {}, "scikit-build-core"),
    (BuildSystem(("meson-python",), "mesonpy"), {}, "meson-python"),
    (BuildSystem(("setuptools", "Cython>=3"), LEGACY_BACKEND), {}, "Cython extension modules"),
    (BuildSystem(("setuptools", "setuptools-rust"), LEGACY_BACKEND), {}, "setuptools-rust"),
    (PURE, {"Cargo.toml": "[package]\n"}, "a Cargo.toml"),
    (PURE, {"setup.py": "setup(ext_modules=[])"}, "setup.py declares 'ext_modules'"),
    (PURE, {"setup.py": "Extension ('a', ['a.c'])"}, "Extension ("),
    (PURE, {"setup.cfg": "[options]\next_modules = x\n"}, "setup.cfg declares"),
    (PURE, {"pyproject.toml": "[tool.setuptools]\next-modules = []\n"}, "ext-modules"),
    (PURE, {"demo__speedups.c": "int x;"}, "C extension sources (demo-1.0/demo/speedups.c)"),
    (PURE, {"demo__fast.pyx": ""}, "Cython extension sources"),
    (PURE, {"src__lib.rs": ""}, "Rust extension sources"),
])
def test_extension_signs_are_found(tmp_path, system, files, words):
    root = _tree(tmp_path, None, **files)
    reason = extension_reason(root, system)
    assert reason is not None and words in reason, reason


def test_a_pure_tree_passes_even_with_c_files_in_its_tests(tmp_path):
    root = _tree(tmp_path, None, **{"demo__init__.py": "", "tests__fixture.c": "", "docs__x.cpp": ""})
    assert extension_reason(root, PURE) is None


# -- the interpreter state around a build ------------------------------------------------------


def test_isolated_puts_everything_back_even_when_the_build_raises(tmp_path):
    environment = tmp_path / "env"
    (environment / "shadowed_pkg").mkdir(parents=True)
    (environment / "shadowed_pkg" / "__init__.py").write_text("WHERE = 'env'\n")
    (environment / "newmod.py").write_text("X = 1\n")
    source = tmp_path / "src"
    source.mkdir()
    before = (list(sys.path), os.getcwd(), dict(os.environ), list(sys.meta_path), list(sys.argv))
    sentinel = type(sys)("shadowed_pkg")
    sys.modules["shadowed_pkg"] = sentinel
    try:
        with pytest.raises(RuntimeError), isolated(source, [str(environment)], {sys.path[-1]}, environment):
            import newmod  # noqa: F401
            import shadowed_pkg

            assert shadowed_pkg.WHERE == "env"  # the environment's own, not the one imported before
            assert os.getcwd() == str(source)
            os.environ["BUILD_ONLY"] = "1"
            sys.argv[:] = ["setup.py", "bdist_wheel"]
            sys.meta_path.insert(0, object())  # type: ignore[arg-type]
            raise RuntimeError("the backend failed")
        assert (list(sys.path), os.getcwd(), dict(os.environ), list(sys.meta_path), list(sys.argv)) == before
        assert "newmod" not in sys.modules and sys.modules["shadowed_pkg"] is sentinel
    finally:
        sys.modules.pop("shadowed_pkg", None)


def test_no_processes_refuses_and_remembers_each_attempt():
    attempts: list[str] = []
    with no_processes(attempts):
        with pytest.raises(SpawnAttempt):
            subprocess.run(["gcc", "-c", "x.c"])
        with pytest.raises(SpawnAttempt):
            os.system("cc x.c")
    assert attempts == ["gcc -c x.c", "cc x.c"]
    assert subprocess.run([sys.executable, "-c", "pass"]).returncode == 0  # restored afterwards


def test_harness_sdists_unpack_under_these_rules(tmp_path):
    sdist = make_sdist("demo-flit", backend="flit")
    root = unpack(sdist.data, tmp_path, SdistName("demo-flit", "1.0", sdist.filename))
    assert read_build_system(root, NAME).backend == "flit_core.buildapi"
    assert extension_reason(root, read_build_system(root, NAME)) is None
