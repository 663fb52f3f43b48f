"""``mirror --build`` end to end: sdists built in Pyodide under Node on the host, installed in a page with no build.

The host half runs ``python -m micropkg mirror --build`` (real ``node``, this
run's Pyodide folder) on a lock whose entries are sdists from the loopback
index; the Pyodide half installs the mirrored ``pylock.toml`` from the mirror
served as a static folder. The reporter's ``building`` hook and the server's
request log prove that nothing was built and no sdist was fetched.
"""

from __future__ import annotations

import shutil
import tomllib

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name
from packaging.version import Version
from pytest_pyodide import run_in_pyodide

from micropkg.commands.cli import main
from micropkg.lock.pylock import dumps
from micropkg.model.lock import Lock, LockedPackage, LockedWheel, environment_marker
from micropkg.model.pyodide_releases import target_for_pyodide
from tests.harness.sdists import backend_wheels, make_sdist

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="mirror --build runs node on the host")


@run_in_pyodide(packages=["micropkg"])
async def _install(selenium, arguments, modules=()):
    """install(**arguments); what was installed, what was built, and each module's BACKEND."""
    import importlib

    import micropkg

    class Listening(micropkg.Reporter):
        def __init__(self):
            self.built = []

        def building(self, project, version):
            self.built.append([project, version])

    reporter = Listening()
    installed = await micropkg.install(**arguments, reporter=reporter)
    backends = [importlib.import_module(m).BACKEND for m in modules]
    return [[i.name, i.filename] for i in installed], reporter.built, backends


def test_mirror_build_then_install_from_the_mirror_builds_nothing(selenium, index_server, pyodide_dist_dir,
                                                                    pyodide_info, tmp_path, capsys):
    for wheel in backend_wheels():
        index_server.add(wheel)
    target = target_for_pyodide(pyodide_info["version"])
    packages = []
    for name, backend in (("mb-flit", "flit"), ("mb-setuptools", "setuptools")):
        listed = index_server.add(make_sdist(name, backend=backend))
        sdist = LockedWheel(filename=listed.filename, url=index_server.file_url(listed.filename), path=None,
                            hashes={"sha256": listed.sha256}, size=len(listed.data))
        packages.append(LockedPackage(canonicalize_name(name), Version("1.0"), (), other_source="sdist", sdist=sdist))
    lock = Lock(tuple(packages), source="pylock.toml", environments=(Marker(environment_marker(target)),),
                target=target)
    (tmp_path / "pylock.toml").write_text(dumps(lock))
    out = tmp_path / "mirror"
    assert main(["mirror", str(tmp_path / "pylock.toml"), "-o", str(out), "--build",
                 "--pyodide-dir", str(pyodide_dist_dir), "-i", index_server.simple_url]) == 0
    print("\n[figures] " + capsys.readouterr().err.replace("\n", "; "))
    mirrored = {p["name"]: p for p in tomllib.loads((out / "pylock.toml").read_text())["packages"]}
    wheels = sorted(p["wheels"][0]["name"] for p in mirrored.values())
    assert wheels == ["mb_flit-1.0-py3-none-any.whl", "mb_setuptools-1.0-py3-none-any.whl"]

    base = index_server.mount("mirror-build", out)
    index_server.log.reset()
    installed, built, backends = _install(selenium, {"lock": base + "pylock.toml"}, ["mb_flit", "mb_setuptools"])
    assert sorted(installed) == [["mb-flit", wheels[0]], ["mb-setuptools", wheels[1]]]
    assert built == []  # the reporter's building hook was never called
    assert backends == ["flit", "setuptools"]
    # The lock, then each built wheel once: no sdist, no index page, no build requirement.
    assert sorted(e.path for e in index_server.log) == sorted(
        ["/mirror-build/pylock.toml", *(f"/mirror-build/files/{w}" for w in wheels)])


def test_a_mirrored_sdist_without_build_is_built_by_an_index_install_from_the_mirror(
        selenium, index_server, pyodide_info, tmp_path):
    for wheel in backend_wheels():
        index_server.add(wheel)
    target = target_for_pyodide(pyodide_info["version"])
    listed = index_server.add(make_sdist("mb-index", backend="flit"))
    sdist = LockedWheel(filename=listed.filename, url=index_server.file_url(listed.filename), path=None,
                        hashes={"sha256": listed.sha256}, size=len(listed.data))
    package = LockedPackage(canonicalize_name("mb-index"), Version("1.0"), (), other_source="sdist", sdist=sdist)
    (tmp_path / "pylock.toml").write_text(dumps(Lock((package,), source="pylock.toml", target=target)))
    with pytest.warns(UserWarning, match="left out"):  # pyodide-lock.json lists wheels only
        assert main(["mirror", str(tmp_path / "pylock.toml"), "-o", str(tmp_path / "mirror")]) == 0
    base = index_server.mount("mirror-sdist", tmp_path / "mirror")
    index_server.log.reset()
    # The mirror first; the build requirement (flit-core) is on the other index only.
    installed, built, _ = _install(selenium, {"requirements": "mb-index", "pyodide_packages": False,
                                              "index_urls": [base + "simple/", index_server.simple_url]})
    assert installed == [["mb-index", "mb_index-1.0.tar.gz"]] and built == [["mb-index", "1.0"]]
    assert "/mirror-sdist/files/mb_index-1.0.tar.gz" in [e.path for e in index_server.log]
