"""Uninstalling and replacing what another installer put in site-packages.

``pyodide.loadPackage`` and micropip unpack a wheel as it is (its own RECORD)
and then add ``INSTALLER``, ``PYODIDE_SOURCE``, ``PYODIDE_URL`` and
``PYODIDE_SHA256`` to its ``.dist-info``, which that RECORD does not list.
The whole ``.dist-info`` is the distribution's (PEP 376): uninstalling
removes it, and so does replacing the distribution with ``reinstall=True``.
Inside Pyodide the same is tested against real ``loadPackage`` and micropip
installs (tests/runtime/test_reliability.py).
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from micropkg.errors import InstallError
from micropkg.installation.environment import get, uninstall
from micropkg.installation.site_packages import SitePackages
from micropkg.installation.writer import install
from tests.harness.wheels import make_wheel

from .sites import snapshot, wheel

ADDED = {
    "INSTALLER": b"pyodide",
    "PYODIDE_SOURCE": b"pyodide",
    "PYODIDE_URL": b"https://cdn.jsdelivr.net/pyodide/v314.0.7/full/demo-1.0-py3-none-any.whl",
    "PYODIDE_SHA256": b"0" * 64,
}


def unpack_like_load_package(site: Path, extra: dict[str, bytes] = ADDED) -> None:
    """demo 1.0 as loadPackage leaves it: the wheel unpacked, then files of its own in the dist-info."""
    built = make_wheel("demo", "1.0", files={"demo/__init__.py": b"VALUE = 1\n", "demo/data/x.txt": b"x"})
    zipfile.ZipFile(io.BytesIO(built.data)).extractall(site)
    for name, data in extra.items():
        target = site / "demo-1.0.dist-info" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def test_uninstall_removes_the_whole_dist_info_of_a_load_package_install(site: Path) -> None:
    unpack_like_load_package(site, {**ADDED, "licenses/NOTICE": b"not in RECORD either"})
    (site / "unrelated.py").write_bytes(b"")
    dist = get([site], "demo")
    assert dist is not None and dist.installer == "pyodide"
    removed = uninstall(dist, SitePackages(site))
    assert {f"demo-1.0.dist-info/{name}" for name in (*ADDED, "licenses/NOTICE")} <= set(removed)
    assert set(snapshot(site)) == {"unrelated.py"}


def test_installing_again_after_uninstalling_works(site: Path) -> None:
    unpack_like_load_package(site)
    uninstall(get([site], "demo"), SitePackages(site))  # type: ignore[arg-type]
    [result] = install([wheel("demo", "1.0")], SitePackages(site))
    assert get([site], "demo").installer == "micropkg"  # type: ignore[union-attr]
    assert set(result.paths) == set(_files(site))


def test_reinstall_replaces_a_load_package_install_whole(site: Path) -> None:
    # Before: "demo-1.0.dist-info/PYODIDE_SOURCE exists and is listed in no installed
    # distribution's RECORD" -- the files loadPackage added were not removed with it.
    unpack_like_load_package(site)
    [result] = install([wheel("demo", "2.0")], SitePackages(site), replace=["demo"])
    assert {f"demo-1.0.dist-info/{name}" for name in ADDED} <= set(result.removed)
    assert not (site / "demo-1.0.dist-info").exists()
    assert get([site], "demo").version.public == "2.0"  # type: ignore[union-attr]
    assert set(result.paths) == set(_files(site))


def test_a_file_only_the_dist_info_holds_still_blocks_an_install_without_replace(site: Path) -> None:
    unpack_like_load_package(site)
    before = snapshot(site)
    with pytest.raises(InstallError, match=r"demo 1.0 is already installed .*replace=\['demo'\]"):
        install([wheel("demo", "1.0")], SitePackages(site))
    assert snapshot(site) == before


def test_a_link_in_the_dist_info_is_removed_not_followed(site: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_bytes(b"keep me")
    unpack_like_load_package(site)
    os.symlink(outside, site / "demo-1.0.dist-info" / "linked")
    uninstall(get([site], "demo"), SitePackages(site))  # type: ignore[arg-type]
    assert not (site / "demo-1.0.dist-info").exists()
    assert (outside / "precious.txt").read_bytes() == b"keep me"


def _files(site: Path) -> list[str]:
    return [
        Path(directory, name).relative_to(site).as_posix()
        for directory, _, names in os.walk(site) for name in names
    ]
