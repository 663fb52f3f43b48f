"""SitePackages.write's directory checks, made once per directory: links on the way to a file.

A write makes the file's missing parent directories and refuses a parent that
resolves outside the root. Both are decided once per directory and transaction
(a wheel's files share few directories), walking down from the root: these
tests hold that walk to what resolving every parent would decide.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from micropkg.errors import InstallError
from micropkg.installation.site_packages import SitePackages
from micropkg.installation.writer import install

from .sites import snapshot, wheel


def _write(site: Path, path: str, data: bytes = b"x") -> None:
    destination = SitePackages(site)
    with destination.transaction():
        destination.write(path, data)


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_a_link_out_of_the_root_below_real_directories_is_refused_and_nothing_is_made_outside(
    site: Path, tmp_path: Path, depth: int
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    real = site.joinpath(*[f"d{i}" for i in range(depth)])
    real.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, real / "link")
    before = snapshot(site)
    relative = "/".join([*(f"d{i}" for i in range(depth)), "link", "new", "deeper", "mod.py"])
    with pytest.raises(PermissionError, match="outside"):
        _write(site, relative)
    assert list(outside.iterdir()) == []
    assert snapshot(site) == before


def test_a_link_that_stays_inside_the_root_is_written_through(site: Path) -> None:
    (site / "real").mkdir()
    os.symlink(site / "real", site / "alias")
    _write(site, "alias/sub/mod.py", b"1")
    assert (site / "real" / "sub" / "mod.py").read_bytes() == b"1"


def test_a_link_as_the_files_parent_out_of_the_root_is_refused(site: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (site / "pkg").mkdir()
    os.symlink(outside, site / "pkg" / "data")
    with pytest.raises(PermissionError, match="outside"):
        _write(site, "pkg/data/file.txt")
    assert list(outside.iterdir()) == []


def test_a_file_where_a_directory_is_needed_is_refused(site: Path) -> None:
    (site / "pkg").write_bytes(b"not a directory")
    with pytest.raises(NotADirectoryError):
        _write(site, "pkg/mod.py")
    assert (site / "pkg").read_bytes() == b"not a directory"


def test_a_directory_removed_in_the_transaction_is_made_again_for_a_later_write(site: Path) -> None:
    destination = SitePackages(site)
    with destination.transaction():
        destination.write("pkg/a.py", b"a")
        destination.remove("pkg/a.py")
        destination.remove_dir("pkg")
        destination.write("pkg/b.py", b"b")
    assert sorted(os.listdir(site / "pkg")) == ["b.py"]


def test_made_directories_are_rolled_back_with_the_files(site: Path) -> None:
    before = snapshot(site)
    destination = SitePackages(site)
    destination.begin()
    for path in ("pkg/a.py", "pkg/sub/b.py", "pkg/sub/deep/c.py", "other/d.py", "top.py"):
        destination.write(path, b"x")
    assert destination.rollback() == []
    assert snapshot(site) == before
    assert not (site / "pkg").exists() and not (site / "other").exists()


def test_an_install_into_new_and_existing_directories(site: Path) -> None:
    # The conflict check lists only directories that exist: a new package's are not asked about.
    install([wheel("first", files={"shared/one.py": b"1", "first/__init__.py": b""})], SitePackages(site))
    install([wheel("second", files={"shared/two.py": b"2", "second/x/y.py": b""})], SitePackages(site))
    assert (site / "shared" / "one.py").read_bytes() == b"1"
    assert (site / "shared" / "two.py").read_bytes() == b"2"
    before = snapshot(site)
    with pytest.raises(InstallError, match="'shared/one.py' belongs to first 1.0"):
        install([wheel("third", files={"shared/one.py": b"3"})], SitePackages(site))
    assert snapshot(site) == before


def test_a_scan_handed_to_the_writer_is_used_and_a_stale_one_overwrites_nothing(site: Path) -> None:
    from micropkg.installation.environment import scan

    install([wheel("demo", "1.0", {"demo/__init__.py": b"1"})], SitePackages(site))
    before = snapshot(site)
    # The caller's scan (install_plan's) is what the writer judges by: "already installed".
    with pytest.raises(InstallError, match="demo 1.0 is already installed"):
        install([wheel("demo", "2.0", {"demo/__init__.py": b"2"})], SitePackages(site),
                installed=scan(SitePackages(site)))
    # One that says nothing is installed cannot make it overwrite what is there.
    with pytest.raises(InstallError, match="'demo/__init__.py' exists and is listed in no installed"):
        install([wheel("demo", "2.0", {"demo/__init__.py": b"2"})], SitePackages(site), installed=[])
    assert snapshot(site) == before
