"""``python -m micropkg mirror`` with locked sdists: copied, checked, listed; ``--build`` in Pyodide under Node.

The lock is written here (PEP 751 ``[packages.sdist]``, no wheels), pointing at
the loopback index's sdists (:mod:`tests.harness.sdists`). The ``--build``
tests start real ``node`` with the repo's prepared Pyodide 314.0.7 folder and
are skipped when either is missing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import shutil
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name
from packaging.version import Version

from micropkg.commands import node_build
from micropkg.commands.cli import main, read_location
from micropkg.commands.node_build import node_builder
from micropkg.errors import BuildError, BuildRuntimeError
from micropkg.installation.installer import install_lock
from micropkg.lock.mirror import build_mirror
from micropkg.lock.pylock import dumps as dumps_pylock
from micropkg.lock.pyodide_lock import parse_lock
from micropkg.model.lock import Lock, LockedPackage, LockedWheel, environment_marker
from micropkg.model.pyodide_releases import target_for_pyodide
from micropkg.net.transport import UrllibTransport
from tests.harness.index_server import IndexServer
from tests.harness.pyodide_dist import dist_dir
from tests.harness.sdists import backend_wheels, make_sdist
from tests.harness.wheels import make_wheel

PYODIDE_314 = dist_dir("314.0.7")
needs_node_and_pyodide = pytest.mark.skipif(
    shutil.which("node") is None or not (PYODIDE_314 / "pyodide.mjs").is_file(),
    reason="mirror --build needs node and the prepared Pyodide 314.0.7 folder (tests/harness/pyodide_dist.py)",
)
SETUP_PY_EXT = (
    "from setuptools import setup, Extension\n"
    "setup(name='ms-ext', version='1.0', ext_modules=[Extension('ms_ext._speed', ['ms_ext/_speed.c'])])\n"
)

SETUP_PY_BROKEN = "print('ms-broken: the VERSION file is missing')\nraise SystemExit('cannot read VERSION')\n"


@pytest.fixture(scope="module")
def server():
    with IndexServer() as server:
        server.add(make_sdist("ms-flit", backend="flit"))
        server.add(make_sdist("ms-setuptools", backend="setuptools"))
        server.add(make_sdist("ms-ext", backend="setup.py", setup_py=SETUP_PY_EXT, extra={"ms_ext/_speed.c": b"int x;\n"}))
        server.add(make_sdist("ms-broken", backend="setup.py", setup_py=SETUP_PY_BROKEN))
        server.add(make_wheel("ms-wheel", "2.0"))
        yield server


@pytest.fixture(scope="module")
def backends(server):
    """The build backends' wheels (PyPI's, fetched once into .cache/pypi-wheels), for the tests that build."""
    for wheel in backend_wheels():
        server.add(wheel)
    return server


@pytest.fixture(autouse=True)
def fresh_log(server):
    server.log.reset()


def _file(server, filename: str, *, sha256: str | None = None) -> LockedWheel:
    found = server.file(filename)
    return LockedWheel(filename=filename, url=server.file_url(filename), path=None,
                       hashes={"sha256": sha256 or found.sha256}, size=len(found.data))


def write_lock(server, path: Path, sdists: dict[str, str], *, pyodide: str = "314", wrong_hash: str = "") -> Path:
    """A pylock.toml locking ms-wheel to its wheel and each of ``sdists`` (project -> file) to its sdist."""
    target = target_for_pyodide(pyodide)
    packages = [LockedPackage(canonicalize_name("ms-wheel"), Version("2.0"),
                              (_file(server, "ms_wheel-2.0-py3-none-any.whl"),))]
    for project, filename in sdists.items():
        sdist = _file(server, filename, sha256="0" * 64 if filename == wrong_hash else None)
        packages.append(LockedPackage(canonicalize_name(project), Version("1.0"), (), other_source="sdist", sdist=sdist))
    lock = Lock(tuple(packages), source=str(path), environments=(Marker(environment_marker(target)),), target=target)
    path.write_text(dumps_pylock(lock))
    return path


def test_mirror_copies_checks_and_lists_the_sdists(server, tmp_path):
    lock = write_lock(server, tmp_path / "pylock.toml", {"ms-flit": "ms_flit-1.0.tar.gz"})
    out = tmp_path / "mirror"
    out.mkdir()
    (out / "index.html").write_text("the site's own page")  # a page's folder: the mirror is added beside it
    with pytest.warns(UserWarning, match="ms-flit 1.0, built from an sdist by micropkg, is left out"):
        assert main(["mirror", str(lock), "-o", str(out)]) == 0  # pyodide-lock.json lists wheels only
    sdist = server.file("ms_flit-1.0.tar.gz")
    assert (out / "files" / "ms_flit-1.0.tar.gz").read_bytes() == sdist.data
    assert not (out / "files" / "ms_flit-1.0.tar.gz.metadata").exists()  # PEP 658 is for wheels
    page = json.loads((out / "simple" / "ms-flit" / "index.json").read_text())
    [entry] = page["files"]
    assert entry["filename"] == "ms_flit-1.0.tar.gz" and entry["url"] == "../../files/ms_flit-1.0.tar.gz"
    assert entry["hashes"]["sha256"] == sdist.sha256 and entry["size"] == len(sdist.data)
    assert "core-metadata" not in entry and page["versions"] == ["1.0"]
    html = (out / "simple" / "ms-flit" / "index.html").read_text()
    assert f'href="../../files/ms_flit-1.0.tar.gz#sha256={sdist.sha256}"' in html
    assert "data-core-metadata" not in html
    projects = json.loads((out / "simple" / "index.json").read_text())["projects"]
    assert [p["name"] for p in projects] == ["ms-flit", "ms-wheel"]
    mirrored = {p["name"]: p for p in tomllib.loads((out / "pylock.toml").read_text())["packages"]}
    assert mirrored["ms-flit"]["sdist"]["path"] == "files/ms_flit-1.0.tar.gz"
    assert mirrored["ms-flit"]["sdist"]["hashes"] == {"sha256": sdist.sha256}
    assert "wheels" not in mirrored["ms-flit"]  # nothing built without --build
    assert mirrored["ms-wheel"]["wheels"][0]["path"] == "files/ms_wheel-2.0-py3-none-any.whl"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mirror-")]  # the staging folder is gone
    assert sorted(p.name for p in out.iterdir()) == ["files", "index.html", "pylock.toml", "pyodide-lock.json", "simple"]
    assert (out / "index.html").read_text() == "the site's own page"


def test_an_sdist_whose_hash_differs_from_the_lock_is_refused_and_nothing_is_written(server, tmp_path, capsys):
    lock = write_lock(server, tmp_path / "pylock.toml", {"ms-flit": "ms_flit-1.0.tar.gz"},
                      wrong_hash="ms_flit-1.0.tar.gz")
    out = tmp_path / "mirror"
    assert main(["mirror", str(lock), "-o", str(out)]) == 1
    error = capsys.readouterr().err
    actual = server.file("ms_flit-1.0.tar.gz").sha256
    assert "Hash mismatch" in error and "ms_flit-1.0.tar.gz" in error
    assert f"expected sha256={'0' * 64}, got sha256={actual}" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pylock.toml"]  # no mirror, no staging folder left


def test_build_without_a_pyodide_folder_says_how_to_get_one(server, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PYODIDE_DIR", raising=False)
    lock = write_lock(server, tmp_path / "pylock.toml", {"ms-flit": "ms_flit-1.0.tar.gz"})
    assert main(["mirror", str(lock), "-o", str(tmp_path / "mirror"), "--build"]) == 1
    error = capsys.readouterr().err
    assert "--pyodide-dir" in error and "PYODIDE_DIR" in error and "npm install pyodide@314.0.7" in error
    assert main(["mirror", str(lock), "-o", str(tmp_path / "mirror"), "--build", "--pyodide-dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert f"{str(tmp_path)!r} is not a Pyodide folder: it has no pyodide.mjs or pyodide-lock.json" in error
    assert not (tmp_path / "mirror").exists()


@needs_node_and_pyodide
def test_build_refuses_a_pyodide_that_is_not_the_locks_runtime(server, tmp_path, capsys):
    lock = write_lock(server, tmp_path / "pylock.toml", {"ms-flit": "ms_flit-1.0.tar.gz"}, pyodide="0.29")
    args = ["mirror", str(lock), "-o", str(tmp_path / "mirror"), "--build", "--pyodide-dir", str(PYODIDE_314)]
    assert main(args) == 1
    error = capsys.readouterr().err
    assert "is locked for Python 3.13 (ABI 2025_0" in error
    assert f"but the Pyodide in {str(PYODIDE_314)!r} is Python 3.14 (ABI 2026_0" in error
    assert not (tmp_path / "mirror").exists()


def _wheel_of(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n).decode() for n in archive.namelist() if n.endswith((".py", "WHEEL"))}


@needs_node_and_pyodide
def test_build_makes_wheels_in_pyodide_that_the_mirrored_lock_installs_without_building(server, backends, tmp_path,
                                                                                        capsys):
    sdists = {"ms-flit": "ms_flit-1.0.tar.gz", "ms-setuptools": "ms_setuptools-1.0.tar.gz"}
    lock = write_lock(server, tmp_path / "pylock.toml", sdists)
    out = tmp_path / "mirror"
    args = ["mirror", str(lock), "-o", str(out), "--build", "--pyodide-dir", str(PYODIDE_314), "-i", server.simple_url]
    assert main(args) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    print(err)  # the figures: build time per sdist under Node
    assert "Mirrored 3 wheels, 2 sdists (2 wheels built from them) of 3 projects" in err
    mirrored = {p["name"]: p for p in tomllib.loads((out / "pylock.toml").read_text())["packages"]}
    for project, backend in (("ms-flit", "flit"), ("ms-setuptools", "setuptools")):
        module = project.replace("-", "_")
        [wheel] = mirrored[project]["wheels"]
        assert wheel["name"] == f"{module}-1.0-py3-none-any.whl" and wheel["path"] == f"files/{wheel['name']}"
        data = (out / "files" / wheel["name"]).read_bytes()
        assert wheel["hashes"] == {"sha256": hashlib.sha256(data).hexdigest()} and wheel["size"] == len(data)
        assert f'BACKEND = "{backend}"' in _wheel_of(out / "files" / wheel["name"])[f"{module}.py"]
        assert mirrored[project]["sdist"]["path"] == f"files/{module}-1.0.tar.gz"  # kept beside it
        names = [f["filename"] for f in json.loads((out / "simple" / project / "index.json").read_text())["files"]]
        assert names == [f"{module}-1.0-py3-none-any.whl", f"{module}-1.0.tar.gz"]
        assert (out / "files" / f"{wheel['name']}.metadata").read_bytes().startswith(b"Metadata-Version")
    pyodide_lock = json.loads((out / "pyodide-lock.json").read_text())
    assert pyodide_lock["packages"]["ms-flit"]["file_name"] == "files/ms_flit-1.0-py3-none-any.whl"
    # The build requirements came from the index given with -i.
    fetched = {e.path.rsplit("/", 1)[-1] for e in server.log.entries if e.kind == "file"}
    assert any(name.startswith("flit_core-") for name in fetched) and any(n.startswith("setuptools-") for n in fetched)

    # Installed from the mirror's lock (on CPython here; in Pyodide: tests/runtime/test_mirror_build.py):
    # the built wheels, and never the sdists.
    base = server.mount("mirror-build", out)
    server.log.reset()
    transport = UrllibTransport()
    lock_url = base + "pylock.toml"
    parsed = parse_lock(asyncio.run(read_location(lock_url, transport)).decode(), source=lock_url, base_url=lock_url)
    site = tmp_path / "site"
    site.mkdir()
    server.log.reset()

    async def no_dynlibs(root, paths):
        assert not paths

    installed = asyncio.run(install_lock(parsed, target_for_pyodide("314"), site,
                                         lambda url: read_location(url, transport),
                                         load_dynlibs=no_dynlibs, dynlibs_to_load=list))
    assert sorted((i.name, i.filename) for i in installed) == [
        ("ms-flit", "ms_flit-1.0-py3-none-any.whl"), ("ms-setuptools", "ms_setuptools-1.0-py3-none-any.whl"),
        ("ms-wheel", "ms_wheel-2.0-py3-none-any.whl"),
    ]
    assert sorted(e.path for e in server.log) == sorted(f"/mirror-build/files/{n}" for n in (
        "ms_flit-1.0-py3-none-any.whl", "ms_setuptools-1.0-py3-none-any.whl", "ms_wheel-2.0-py3-none-any.whl"))


@needs_node_and_pyodide
def test_build_of_an_extension_module_is_refused_naming_the_project_and_nothing_is_written(server, backends, tmp_path,
                                                                                          capsys, monkeypatch):
    lock = write_lock(server, tmp_path / "pylock.toml", {"ms-flit": "ms_flit-1.0.tar.gz", "ms-ext": "ms_ext-1.0.tar.gz"})
    out = tmp_path / "mirror"
    out.mkdir()
    (out / "index.html").write_text("the site's own page")
    monkeypatch.setenv("PYODIDE_DIR", str(PYODIDE_314))  # --pyodide-dir's default
    args = ["mirror", str(lock), "-o", str(out), "--build", "-i", server.simple_url]
    assert main(args) == 1
    error = capsys.readouterr().err
    assert "Cannot install ms-ext 1.0 from its sdist ms_ext-1.0.tar.gz" in error and "C extension" in error
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]  # the folder is as it was
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mirror-")]


def test_build_without_node_says_so(server, tmp_path):
    lock = parse_lock(write_lock(server, tmp_path / "pylock.toml", {"ms-flit": "ms_flit-1.0.tar.gz"}).read_text(),
                      source="pylock.toml")
    with pytest.raises(BuildRuntimeError, match="'no-such-node' is not on PATH. Install Node.js") as caught:
        node_builder(lock, tmp_path, None, node="no-such-node")
    assert caught.value.what == "no-such-node"


@needs_node_and_pyodide
def test_a_build_that_dies_in_node_quotes_its_last_lines_and_writes_nothing(server, tmp_path, capsys):
    broken = tmp_path / "broken-pyodide"
    broken.mkdir()
    shutil.copy(PYODIDE_314 / "pyodide-lock.json", broken)  # the lock's runtime, as far as the check can tell
    (broken / "pyodide.mjs").write_text('console.error("pyodide says: out of memory");\nprocess.exit(7);\n')
    lock = write_lock(server, tmp_path / "pylock.toml", {"ms-flit": "ms_flit-1.0.tar.gz"})
    assert main(["mirror", str(lock), "-o", str(tmp_path / "mirror"), "--build", "--pyodide-dir", str(broken)]) == 1
    error = capsys.readouterr().err
    assert "node exited with status 7 before the builds of ms-flit 1.0 finished" in error
    assert "    pyodide says: out of memory" in error
    assert not (tmp_path / "mirror").exists()


def test_build_builds_only_the_sdists_locked_without_a_wheel(server, tmp_path):
    """Other tools lock an sdist beside the wheels: an install takes a wheel then, so nothing is built for it."""
    path = write_lock(server, tmp_path / "pylock.toml", {"ms-flit": "ms_flit-1.0.tar.gz"})
    lock = parse_lock(path.read_text(), source=str(path))
    both = LockedPackage(canonicalize_name("ms-setuptools"), Version("1.0"),
                         (_file(server, "ms_wheel-2.0-py3-none-any.whl"),), sdist=_file(server, "ms_setuptools-1.0.tar.gz"))
    lock = dataclasses.replace(lock, packages=(*lock.packages, both))
    asked: list[str] = []

    async def build(sdists):  # records what build_mirror asks for; the real builds: the tests above
        asked.extend(s.filename for s in sdists)
        return [(s.filename.replace(".tar.gz", "-py3-none-any.whl"), server.file("ms_wheel-2.0-py3-none-any.whl").data)
                for s in sdists]

    transport = UrllibTransport()
    # The "built" wheel is ms-wheel's bytes under ms-flit's name: the mirror reads its METADATA and refuses it.
    with pytest.raises(BuildError, match=r"gave 'ms_flit-1.0-py3-none-any.whl', whose METADATA cannot be read \(Wheel"
                       r" ms_flit-1.0-py3-none-any.whl has 0 matching .dist-info/METADATA.*not a wheel of ms-flit 1.0"):
        asyncio.run(build_mirror(lock, tmp_path / "mirror", lambda url: read_location(url, transport), build=build))
    assert asked == ["ms_flit-1.0.tar.gz"]  # not ms-setuptools: it is locked with a wheel too
    assert not (tmp_path / "mirror").exists()


@needs_node_and_pyodide
def test_a_failing_build_quotes_the_backends_last_lines(server, backends, tmp_path, capsys):
    lock = write_lock(server, tmp_path / "pylock.toml", {"ms-broken": "ms_broken-1.0.tar.gz"})
    args = ["mirror", str(lock), "-o", str(tmp_path / "mirror"), "--build", "--pyodide-dir", str(PYODIDE_314),
            "-i", server.simple_url]
    assert main(args) == 1
    error = capsys.readouterr().err
    assert "Building ms-broken 1.0 from its sdist ms_broken-1.0.tar.gz failed" in error
    assert "SystemExit: cannot read VERSION" in error
    assert "Its last output:\n    ms-broken: the VERSION file is missing" in error
    assert not (tmp_path / "mirror").exists()


@needs_node_and_pyodide
def test_a_build_cannot_write_outside_its_work_folder(server, backends, tmp_path, capsys, monkeypatch):
    """Pyodide under Node reaches the host through JavaScript; Node's permission model stops it there."""
    escaped = tmp_path / "escaped.txt"
    script = f"process.getBuiltinModule('fs').writeFileSync({json.dumps(str(escaped))}, 'out')"
    setup_py = f"from pyodide.code import run_js\nrun_js({script!r})\n"
    server.add(make_sdist("ms-escape", backend="setup.py", setup_py=setup_py))
    lock = write_lock(server, tmp_path / "pylock.toml", {"ms-escape": "ms_escape-1.0.tar.gz"})
    args = ["mirror", str(lock), "-o", str(tmp_path / "mirror"), "--build", "--pyodide-dir", str(PYODIDE_314),
            "-i", server.simple_url]
    assert main(args) == 1
    error = capsys.readouterr().err
    assert "Building ms-escape 1.0 from its sdist ms_escape-1.0.tar.gz failed" in error
    assert "JsException: Error: Access to this API has been restricted" in error, error
    assert not escaped.exists()
    # The control: without Node's permission flags the same build does write there.
    monkeypatch.setattr(node_build, "_permissions", lambda node, folder, work: [])
    main(args)
    assert escaped.read_text() == "out"
