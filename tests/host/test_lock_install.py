"""Installing from a lock through the real pipeline (into a temporary site-packages),
and freezing what is installed back into a lock."""

from __future__ import annotations

import asyncio
import json
import tomllib
from pathlib import Path

import pytest

from micropkg.errors import FetchError, IntegrityError
from micropkg.installation.installer import install_lock
from micropkg.installation.site_packages import SitePackages
from micropkg.installation.writer import install as write_wheels
from micropkg.lock.freeze import installed_lock, wheels_only
from micropkg.lock.pylock import dumps, loads
from micropkg.lock.pyodide_lock import dumps as dumps_pyodide_lock
from micropkg.model.wheel import Wheel
from tests.harness.wheels import make_wheel

from .test_resolver_scenarios import TARGET

UPLOADED = "2025-03-01T12:00:00.250000Z"


def lock_text(wheels, *, base="https://files.example/") -> str:
    lines = ['lock-version = "1.0"', 'created-by = "test"']
    for wheel in wheels:
        lines += [
            "", "[[packages]]", f'name = "{wheel.name}"', f'version = "{wheel.version}"',
            'index = "https://index.example/simple"',
            "", "[[packages.wheels]]", f'name = "{wheel.filename}"', f"upload-time = {UPLOADED}",
            f'url = "{base}{wheel.filename}"', f"size = {len(wheel.data)}", f'hashes = {{sha256 = "{wheel.sha256}"}}',
        ]
    return "\n".join(lines) + "\n"


class Files:
    """A fake network of files by URL that counts what is read."""

    def __init__(self, wheels, base="https://files.example/") -> None:
        self.data = {base + w.filename: w.data for w in wheels}
        self.reads: list[str] = []

    async def read(self, url: str) -> bytes:
        self.reads.append(url)
        await asyncio.sleep(0)
        return self.data[url]


async def no_dynlibs(root, paths):
    assert not paths


def install(text: str, files: Files, site: Path):
    return asyncio.run(install_lock(loads(text, source="pylock.toml"), TARGET, site, files.read,
                                    load_dynlibs=no_dynlibs, dynlibs_to_load=list))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    path = tmp_path / "site-packages"
    path.mkdir()
    return path


@pytest.fixture
def wheels():
    return [make_wheel("lk-app", "1.0", requires_dist=["lk-lib"]), make_wheel("lk-lib", "2.0")]


def test_a_lock_installs_exactly_its_files_each_read_once(site, wheels):
    files = Files(wheels)
    installed = install(lock_text(wheels), files, site)
    assert [(i.name, i.version, i.filename) for i in installed] == [(w.name, w.version, w.filename) for w in wheels]
    assert sorted(files.reads) == sorted(files.data)  # nothing else asked, nothing twice
    dist_info = site / "lk_app-1.0.dist-info"
    assert (dist_info / "PYODIDE_URL").read_text() == f"https://files.example/{wheels[0].filename}"
    assert (dist_info / "PYODIDE_SHA256").read_text() == wheels[0].sha256
    assert (dist_info / "PYODIDE_SOURCE").read_text() == "https://index.example/simple"
    assert (dist_info / "REQUESTED").exists() and not (dist_info / "direct_url.json").exists()
    assert "lk_app-1.0.dist-info/micropkg_source.json," in (dist_info / "RECORD").read_text()


def test_a_hash_that_does_not_match_installs_nothing(site, wheels):
    files = Files(wheels)
    evil = make_wheel("lk-lib", "2.0", files={"lk_lib/__init__.py": "print('evil')\n"})
    files.data[f"https://files.example/{wheels[1].filename}"] = evil.data
    with pytest.raises(IntegrityError) as info:
        install(lock_text(wheels), files, site)
    assert wheels[1].sha256 in str(info.value) and evil.sha256 in str(info.value)
    assert list(site.iterdir()) == []


def test_a_size_that_does_not_match_installs_nothing(site, wheels):
    text = lock_text(wheels).replace(f"size = {len(wheels[1].data)}", f"size = {len(wheels[1].data) + 1}")
    with pytest.raises((FetchError, IntegrityError), match="lock says|index said"):
        install(text, Files(wheels), site)
    assert list(site.iterdir()) == []


def test_freeze_gives_back_the_installed_lock(site, wheels):
    text = lock_text(wheels)
    install(text, Files(wheels), site)
    frozen = installed_lock(site, TARGET, runtime_packages={}, base_url=None)
    original = loads(text)
    assert [(p.name, p.version, p.wheels, p.index) for p in frozen.packages] == [
        (p.name, p.version, p.wheels, p.index) for p in original.packages
    ]
    document = tomllib.loads(dumps(frozen))
    assert document["packages"][0]["dependencies"] == [{"name": "lk-lib"}]
    [wheel] = document["packages"][0]["wheels"]
    assert set(wheel) == {"name", "upload-time", "url", "size", "hashes"}
    # Installing the frozen lock again changes nothing and reads nothing.
    files = Files(wheels)
    assert install(dumps(frozen), files, site) == [] and files.reads == []


def test_freeze_takes_pyodide_installs_from_the_runtime_lockfile(site):
    runtime_wheel = make_wheel("rt-numpy", "2.4.6")
    write_wheels([Wheel.from_bytes(runtime_wheel.filename, runtime_wheel.data)], SitePackages(site),
                 installer="pyodide.loadPackage")
    handmade = make_wheel("unrecorded", "1.0")
    write_wheels([Wheel.from_bytes(handmade.filename, handmade.data)], SitePackages(site), installer="pip")
    runtime = {
        "rt-numpy": {"name": "rt-numpy", "version": "2.4.6", "file_name": runtime_wheel.filename,
                     "sha256": runtime_wheel.sha256, "depends": ["libopenblas"], "imports": ["rt_numpy"],
                     "package_type": "package", "install_dir": "site", "tool": {}},
        "libopenblas": {"name": "libopenblas", "version": "0.3.26", "file_name": "libopenblas-0.3.26.zip",
                        "sha256": "b" * 64, "depends": [], "imports": [], "package_type": "shared_library",
                        "install_dir": "dynlib"},
        "never-loaded": {"name": "never-loaded", "version": "1", "file_name": "x.whl", "sha256": "c" * 64, "depends": []},
    }
    with pytest.warns(UserWarning, match=r"no source is recorded for unrecorded 1\.0 \(pip\)"):
        lock = installed_lock(site, TARGET, runtime_packages=runtime, base_url="https://cdn.example/full/")
    assert [p.name for p in lock.packages] == ["libopenblas", "rt-numpy"]
    document = json.loads(dumps_pyodide_lock(lock, TARGET))
    assert document["packages"]["rt-numpy"] == {
        **runtime["rt-numpy"], "file_name": f"https://cdn.example/full/{runtime_wheel.filename}", "unvendored_tests": False,
    }
    assert document["packages"]["libopenblas"]["package_type"] == "shared_library"
    with pytest.warns(UserWarning, match="libopenblas 0.3.26 are not wheels"):
        pylock = wheels_only(lock)
    assert [p.name for p in pylock.packages] == ["rt-numpy"]
