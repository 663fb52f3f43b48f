"""Reading what is installed, and uninstalling exactly what RECORD lists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from packaging.version import Version

from micropkg.errors import UninstallError
from micropkg.installation.destination import MemoryDestination
from micropkg.installation.environment import (
    InstalledDistribution,
    distributions,
    get,
    remove_distribution,
    scan,
    uninstall,
)
from micropkg.installation.site_packages import SitePackages
from micropkg.installation.writer import install

from .sites import FailingSitePackages, snapshot, wheel

DEMO_FILES = {"demo/__init__.py": b"", "demo/sub/mod.py": b"X = 1\n", "demo_top.py": b""}
DEMO_RECORD = (
    "demo/__init__.py",
    "demo/sub/mod.py",
    "demo_top.py",
    "demo-1.0.dist-info/METADATA",
    "demo-1.0.dist-info/WHEEL",
    "demo-1.0.dist-info/INSTALLER",
    "demo-1.0.dist-info/REQUESTED",
    "demo-1.0.dist-info/RECORD",
)


def install_demo(site: Path) -> InstalledDistribution:
    install([wheel(files=DEMO_FILES)], SitePackages(site), requested=["demo"])
    dist = get([site], "demo")
    assert dist is not None
    return dist


# -- reading -------------------------------------------------------------------------------


def test_installed_distribution(site: Path) -> None:
    dist = install_demo(site)
    assert dist == InstalledDistribution(
        name="demo",
        version=Version("1.0"),
        dist_info_path=site.resolve() / "demo-1.0.dist-info",
        installer="micropkg",
        requested=True,
        files=DEMO_RECORD,
    )
    assert dist.dist_info == "demo-1.0.dist-info"
    assert str(dist) == "demo 1.0"


def test_get_takes_any_spelling_and_the_first_path_wins(tmp_path: Path, site: Path) -> None:
    install([wheel("Foo.Bar", "1.0", {"foo_bar.py": b""})], SitePackages(site))
    later = tmp_path / "later"
    later.mkdir()
    install([wheel("Foo.Bar", "2.0", {"foo_bar.py": b""}), wheel("other")], SitePackages(later))
    paths = [tmp_path / "missing", tmp_path / "a-file.zip", site, later]
    (tmp_path / "a-file.zip").write_bytes(b"")
    assert [(d.name, str(d.version)) for d in distributions(paths)] == [
        ("foo-bar", "1.0"),
        ("foo-bar", "2.0"),
        ("other", "1.0"),
    ]
    found = get(paths, "FOO_bar")
    assert found is not None and found.version == Version("1.0")
    assert not found.requested
    assert get(paths, "absent") is None


def test_directories_that_are_not_distributions(site: Path) -> None:
    (site / "no_metadata-1.0.dist-info").mkdir()
    (site / "no_version-1.0.dist-info").mkdir()
    (site / "no_version-1.0.dist-info/METADATA").write_bytes(b"Name: no-version\n")
    (site / "bad_version-1.0.dist-info").mkdir()
    (site / "bad_version-1.0.dist-info/METADATA").write_bytes(b"Name: x\nVersion: one\n")
    (site / "file.dist-info").write_bytes(b"")
    assert distributions([site]) == []


def test_other_installers_and_odd_metadata(site: Path) -> None:
    dist_info = site / "legacy-2.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_bytes(b"Name: Legacy\nVersion: 2.0\nSummary: caf\xe9\n")
    (dist_info / "INSTALLER").write_bytes(b"pip\n")
    (dist_info / "RECORD").write_bytes(b"legacy.py,,\nlegacy-2.0.dist-info/METADATA,,\n")
    [dist] = distributions([site])
    assert (dist.name, dist.installer, dist.requested) == ("legacy", "pip", False)
    assert dist.files == ("legacy.py", "legacy-2.0.dist-info/METADATA")


@pytest.mark.parametrize(
    ("record", "problem"),
    [(None, "RECORD is missing"), (b"a.py,md5=x,1\n", "RECORD is malformed: row 1")],
)
def test_untrustworthy_record_is_kept_and_refused_on_uninstall(
    site: Path, record: bytes | None, problem: str
) -> None:
    dist_info = site / "broken-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_bytes(b"Name: broken\nVersion: 1.0\n")
    if record is not None:
        (dist_info / "RECORD").write_bytes(record)
    [dist] = distributions([site])
    assert dist.files == ()
    assert problem in (dist.record_problem or "")
    before = snapshot(site)
    with pytest.raises(UninstallError, match=f"Cannot uninstall broken 1.0.*{problem}"):
        uninstall(dist, SitePackages(site))
    assert snapshot(site) == before


def test_scan_through_memory_destination() -> None:
    destination = MemoryDestination()
    install([wheel()], destination)
    [dist] = scan(destination)
    assert dist.dist_info_path.parent == destination.root


# -- uninstall -----------------------------------------------------------------------------------


def test_uninstall_removes_exactly_record_files(site: Path) -> None:
    install([wheel("other", files={"other.py": b""})], SitePackages(site))
    dist = install_demo(site)
    # What import leaves behind: bytecode for RECORD's .py files, and a user's
    # own file plus bytecode of a module RECORD does not list, which must stay.
    pycache = site / "demo/__pycache__"
    pycache.mkdir()
    for name in (
        "__init__.cpython-312.pyc",
        "__init__.cpython-312.opt-1.pyc",
        "mine.cpython-312.pyc",
    ):
        (pycache / name).write_bytes(b"pyc")
    (site / "demo/sub/__pycache__").mkdir()
    (site / "demo/sub/__pycache__/mod.cpython-312.pyc").write_bytes(b"pyc")
    (site / "__pycache__").mkdir()
    (site / "__pycache__/demo_top.cpython-312.pyc").write_bytes(b"pyc")
    (site / "demo/mine.py").write_bytes(b"user's own")
    before = snapshot(site)

    removed = uninstall(dist, SitePackages(site))

    pycs = {
        "demo/__pycache__/__init__.cpython-312.pyc",
        "demo/__pycache__/__init__.cpython-312.opt-1.pyc",
        "demo/sub/__pycache__/mod.cpython-312.pyc",
        "__pycache__/demo_top.cpython-312.pyc",
    }
    assert set(removed) == set(DEMO_RECORD) | pycs
    gone_dirs = {"demo/sub/__pycache__", "demo/sub", "__pycache__", "demo-1.0.dist-info"}
    after = snapshot(site)
    assert set(before) - set(after) == set(removed) | gone_dirs
    assert set(after) <= set(before)
    assert after["demo/mine.py"] == before["demo/mine.py"]
    assert "demo/__pycache__/mine.cpython-312.pyc" in after
    assert get([site], "demo") is None
    assert get([site], "other") is not None


def test_uninstall_leaves_nothing_behind(site: Path) -> None:
    before = snapshot(site)
    dist = install_demo(site)
    (site / "demo/__pycache__").mkdir()  # an empty cache directory, as an import may leave
    uninstall(dist, SitePackages(site))
    assert snapshot(site) == before


def test_files_already_gone_are_not_an_error(site: Path) -> None:
    dist = install_demo(site)
    (site / "demo_top.py").unlink()
    assert "demo_top.py" not in uninstall(dist, SitePackages(site))
    assert snapshot(site) == {}


@pytest.mark.parametrize(
    "hostile",
    [
        "../precious.txt",
        "/tmp/precious.txt",
        "demo/../../precious.txt",
        "C:/precious.txt",
        "demo\\..\\x",
    ],
)
def test_hostile_record_is_refused(tmp_path: Path, site: Path, hostile: str) -> None:
    install_demo(site)
    (tmp_path / "precious.txt").write_bytes(b"keep me")
    record = site / "demo-1.0.dist-info/RECORD"
    record.write_bytes(record.read_bytes() + f"{hostile},,\n".encode())
    dist = get([site], "demo")
    assert dist is not None
    before = snapshot(tmp_path)
    with pytest.raises(UninstallError) as info:
        uninstall(dist, SitePackages(site))
    assert f"RECORD lists {hostile!r}" in str(info.value)
    assert "Nothing was removed" in str(info.value)
    assert snapshot(tmp_path) == before


def test_record_path_through_a_symlink_out_of_the_root_is_refused(
    tmp_path: Path, site: Path
) -> None:
    # Lexically fine, so only the destination's resolved-path check stops it.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_bytes(b"keep me")
    os.symlink(outside, site / "link")
    install_demo(site)
    record = site / "demo-1.0.dist-info/RECORD"
    record.write_bytes(record.read_bytes() + b"link/precious.txt,,\n")
    dist = get([site], "demo")
    assert dist is not None
    before = snapshot(tmp_path)
    with pytest.raises(UninstallError, match="outside"):
        uninstall(dist, SitePackages(site))
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("fail_at", [1, 4, 8])
def test_failed_uninstall_rolls_back(site: Path, fail_at: int) -> None:
    dist = install_demo(site)
    (site / "demo/__pycache__").mkdir()
    (site / "demo/__pycache__/__init__.cpython-312.pyc").write_bytes(b"pyc")
    before = snapshot(site)
    with pytest.raises(UninstallError, match="Nothing was removed") as info:
        uninstall(dist, FailingSitePackages(site, fail_at, "remove"))
    assert "demo 1.0" in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    assert snapshot(site) == before


def test_uninstall_from_another_root_is_refused(tmp_path: Path, site: Path) -> None:
    dist = install_demo(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(UninstallError, match="is installed in"):
        uninstall(dist, SitePackages(elsewhere))


def test_remove_distribution_needs_the_callers_transaction(site: Path) -> None:
    dist = install_demo(site)
    with pytest.raises(RuntimeError, match="outside a transaction"):
        remove_distribution(dist, SitePackages(site))
    with SitePackages(site).transaction() as destination:
        remove_distribution(dist, destination)
    assert snapshot(site) == {}
