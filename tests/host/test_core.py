"""install(): what it writes, what it refuses, and rollback; plus the destinations under it."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from micropkg.errors import InstallError
from micropkg.installation.destination import MemoryDestination
from micropkg.installation.site_packages import SitePackages
from micropkg.installation.writer import InstalledFiles, install
from micropkg.model.records import parse_record

from .sites import FailingSitePackages, snapshot, wheel

DEMO_FILES = {
    "demo/__init__.py": b"VALUE = 1\n",
    "demo/sub/mod.py": b"X = 2\n",
    "demo/_core.so": b"\0asm",
}


# -- what gets written --------------------------------------------------------------


def test_install_writes_members_and_installer_files(site: Path) -> None:
    demo = wheel(files=DEMO_FILES)
    [result] = install([demo], SitePackages(site))
    assert result == InstalledFiles(
        name="demo",
        version=demo.version,
        dist_info="demo-1.0.dist-info",
        paths=(
            "demo/__init__.py",
            "demo/sub/mod.py",
            "demo/_core.so",
            "demo-1.0.dist-info/METADATA",
            "demo-1.0.dist-info/WHEEL",
            "demo-1.0.dist-info/INSTALLER",
            "demo-1.0.dist-info/RECORD",
        ),
        dynlibs=("demo/_core.so",),
        removed=(),
    )
    assert list(result) == list(result.paths)  # a sequence of the paths written
    assert result[0] == "demo/__init__.py" and len(result) == 7
    assert (site / "demo/sub/mod.py").read_bytes() == b"X = 2\n"
    assert (site / "demo-1.0.dist-info/INSTALLER").read_bytes() == b"micropkg\n"
    assert not (site / "demo-1.0.dist-info/REQUESTED").exists()
    assert not (site / "demo-1.0.dist-info/direct_url.json").exists()
    assert set(snapshot(site)) == set(result.paths) | {"demo", "demo/sub", "demo-1.0.dist-info"}


def test_record_lists_every_file_written(site: Path) -> None:
    [result] = install(
        [wheel(files=DEMO_FILES)],
        SitePackages(site),
        requested=["demo"],
        direct_urls={"demo": '{"url": "https://example.org/demo.whl", "archive_info": {}}'},
    )
    entries = parse_record((site / "demo-1.0.dist-info/RECORD").read_bytes())
    assert [entry.path for entry in entries] == list(result.paths)
    for entry in entries[:-1]:
        assert entry.hash is not None and entry.hash.algorithm == "sha256"
        assert entry.mismatch((site / entry.path).read_bytes()) is None
    assert entries[-1].path == "demo-1.0.dist-info/RECORD"
    assert entries[-1].hash is None and entries[-1].size is None


def test_requested_direct_url_and_installer_take_any_spelling(site: Path) -> None:
    url = '{"url": "file:///demo.whl", "archive_info": {}}'
    install(
        [wheel("Demo.Pkg", files={"demo_pkg/__init__.py": b""}), wheel("other")],
        SitePackages(site),
        installer="test-installer",
        requested=["demo_pkg", "not-in-batch"],
        direct_urls={"DEMO-pkg": url, "not-in-batch": "{}"},
    )
    dist_info = site / "Demo.Pkg-1.0.dist-info"
    assert (dist_info / "REQUESTED").read_bytes() == b""
    assert (dist_info / "direct_url.json").read_text() == url
    assert (dist_info / "INSTALLER").read_text() == "test-installer\n"
    assert not (site / "other-1.0.dist-info/REQUESTED").exists()
    assert not (site / "other-1.0.dist-info/direct_url.json").exists()


@pytest.mark.parametrize(
    "kwargs",
    [{"direct_urls": {"demo": "{not json"}}, {"installer": ""}, {"installer": "a\nb"}],
)
def test_bad_arguments_write_nothing(site: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        install([wheel()], SitePackages(site), **kwargs)
    assert snapshot(site) == {}


def test_empty_batch(site: Path) -> None:
    assert install([], SitePackages(site)) == []
    assert snapshot(site) == {}


def test_memory_destination() -> None:
    destination = MemoryDestination({"unrelated.py": b"x"})
    [result] = install([wheel(files=DEMO_FILES)], destination)
    assert destination.files["demo/_core.so"] == b"\0asm"
    assert set(destination.files) == set(result.paths) | {"unrelated.py"}


# -- refusals before writing -----------------------------------------------------------


def test_overwriting_another_distribution_is_refused(site: Path) -> None:
    install([wheel("alpha", files={"shared/util.py": b"alpha"})], SitePackages(site))
    before = snapshot(site)
    beta = wheel("beta", files={"shared/util.py": b"beta"})
    with pytest.raises(InstallError) as info:
        install([beta], SitePackages(site))
    message = str(info.value)
    assert beta.filename in message
    assert "'shared/util.py' belongs to alpha 1.0 (alpha-1.0.dist-info)" in message
    assert snapshot(site) == before


def test_overwriting_an_unowned_file_is_refused(site: Path) -> None:
    (site / "demo").mkdir()
    (site / "demo/__init__.py").write_bytes(b"someone else's")
    before = snapshot(site)
    with pytest.raises(
        InstallError, match="'demo/__init__.py' exists and is listed in no installed"
    ):
        install([wheel()], SitePackages(site))
    assert snapshot(site) == before


def test_two_wheels_writing_one_path_are_refused(site: Path) -> None:
    alpha = wheel("alpha", files={"shared.py": b"a"})
    beta = wheel("beta", files={"shared.py": b"b"})
    with pytest.raises(InstallError) as info:
        install([alpha, beta], SitePackages(site))
    assert alpha.filename in str(info.value) and beta.filename in str(info.value)
    assert "'shared.py'" in str(info.value)
    assert snapshot(site) == {}


def test_one_project_twice_in_a_batch_is_refused(site: Path) -> None:
    with pytest.raises(InstallError, match="same project 'demo'"):
        install([wheel("demo", "1.0"), wheel("Demo", "2.0")], SitePackages(site))
    assert snapshot(site) == {}


def test_reinstall_without_replace_is_refused(site: Path) -> None:
    install([wheel()], SitePackages(site))
    before = snapshot(site)
    with pytest.raises(InstallError, match=r"demo 1.0 is already installed .*replace=\['demo'\]"):
        install([wheel("demo", "2.0")], SitePackages(site))
    assert snapshot(site) == before


def test_destination_refuses_a_symlink_out_of_the_root(site: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, site / "demo")
    with pytest.raises(InstallError, match="outside") as info:
        install([wheel()], SitePackages(site))
    assert isinstance(info.value.__cause__, PermissionError)
    assert list(outside.iterdir()) == []


# -- replace ------------------------------------------------------------------------------


def test_upgrade_replaces_the_old_files(site: Path) -> None:
    install(
        [wheel("demo", "1.0", {"demo/__init__.py": b"1", "demo/old.py": b"old"})],
        SitePackages(site),
    )
    install([wheel("unrelated", files={"unrelated.py": b""})], SitePackages(site))
    [result] = install(
        [wheel("demo", "2.0", {"demo/__init__.py": b"2", "demo/new.py": b"new"})],
        SitePackages(site),
        replace=["Demo"],
    )
    assert set(result.removed) == {
        "demo/__init__.py",
        "demo/old.py",
        "demo-1.0.dist-info/METADATA",
        "demo-1.0.dist-info/WHEEL",
        "demo-1.0.dist-info/INSTALLER",
        "demo-1.0.dist-info/RECORD",
    }
    assert (site / "demo/__init__.py").read_bytes() == b"2"
    assert (site / "demo/new.py").read_bytes() == b"new"
    assert not (site / "demo/old.py").exists()
    assert not (site / "demo-1.0.dist-info").exists()
    assert (site / "unrelated.py").exists()


def test_replace_of_a_project_not_installed_is_a_plain_install(site: Path) -> None:
    [result] = install([wheel()], SitePackages(site), replace=["demo", "not-in-batch"])
    assert result.removed == ()


def test_replace_refuses_a_hostile_record(site: Path, tmp_path: Path) -> None:
    install([wheel()], SitePackages(site))
    (tmp_path / "precious.txt").write_bytes(b"keep me")
    record = site / "demo-1.0.dist-info/RECORD"
    record.write_bytes(record.read_bytes() + b"../precious.txt,,\n")
    before = snapshot(tmp_path)
    with pytest.raises(InstallError, match=r"RECORD lists '\.\./precious\.txt'"):
        install([wheel("demo", "2.0")], SitePackages(site), replace=["demo"])
    assert snapshot(tmp_path) == before


# -- rollback ------------------------------------------------------------------------------


def _populated(site: Path) -> None:
    install([wheel("other", files={"other/__init__.py": b"other"})], SitePackages(site))
    (site / "loose.txt").write_bytes(b"not a distribution's")
    (site / "loose.txt").chmod(0o600)


@pytest.mark.parametrize("fail_at", range(1, 8))  # demo writes 7 files
def test_failed_write_rolls_back_everything(site: Path, fail_at: int) -> None:
    _populated(site)
    before = snapshot(site)
    demo = wheel(files=DEMO_FILES)
    with pytest.raises(InstallError) as info:
        install([demo], FailingSitePackages(site, fail_at))
    assert snapshot(site) == before
    message = str(info.value)
    assert demo.filename in message
    written = [path for path, _ in demo.members] + [
        f"{demo.dist_info}/INSTALLER",
        f"{demo.dist_info}/RECORD",
    ]
    assert f"writing {written[fail_at - 1]!r}" in message
    assert "rolled back" in message
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.__cause__.errno == errno.ENOSPC


@pytest.mark.parametrize(
    ("operation", "fail_at"), [("write", 1), ("write", 3), ("write", 6), ("remove", 2)]
)
def test_failed_upgrade_restores_the_old_version(site: Path, operation: str, fail_at: int) -> None:
    _populated(site)
    install(
        [wheel("demo", "1.0", {"demo/__init__.py": b"1", "demo/old.py": b"old"})],
        SitePackages(site),
    )
    (site / "demo/old.py").chmod(0o640)  # modes come back too
    before = snapshot(site)
    with pytest.raises(InstallError, match="rolled back"):
        install(
            [wheel("demo", "2.0", {"demo/__init__.py": b"2", "demo/sub/new.py": b"new"})],
            FailingSitePackages(site, fail_at, operation),
            replace=["demo"],
        )
    assert snapshot(site) == before


def test_failure_in_the_second_wheel_rolls_back_the_first(site: Path) -> None:
    before = snapshot(site)
    with pytest.raises(InstallError) as info:
        install([wheel("alpha"), wheel("beta")], FailingSitePackages(site, 6))  # beta's 1st write
    assert "beta-1.0-py3-none-any.whl" in str(info.value)
    assert snapshot(site) == before


def test_interrupt_rolls_back_and_propagates(site: Path) -> None:
    class Interrupted(SitePackages):
        def _write(self, path: str, data: bytes) -> None:
            super()._write(path, data)
            if path.endswith("WHEEL"):
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        install([wheel()], Interrupted(site))
    assert snapshot(site) == {}


def test_failed_rollback_is_reported(site: Path) -> None:
    class BrokenRollback(FailingSitePackages):
        def _rollback(self) -> None:
            raise OSError(errno.EIO, "rollback broke")

    with pytest.raises(InstallError, match="Rolling back failed too .*rollback broke"):
        install([wheel()], BrokenRollback(site, 2))


def test_memory_destination_rolls_back() -> None:
    class Failing(MemoryDestination):
        def _write(self, path: str, data: bytes) -> None:
            if path.endswith("RECORD"):
                raise OSError(errno.ENOSPC, "full", path)
            super()._write(path, data)

    destination = Failing({"keep.py": b"k"})
    with pytest.raises(InstallError, match="RECORD"):
        install([wheel()], destination)
    assert destination.files == {"keep.py": b"k"}


# -- destinations directly -------------------------------------------------------------


def test_changes_need_a_transaction(site: Path) -> None:
    destination = SitePackages(site)
    with pytest.raises(RuntimeError, match="outside a transaction"):
        destination.write("a.py", b"")
    destination.begin()
    with pytest.raises(RuntimeError, match="already open"):
        destination.begin()
    destination.rollback()


@pytest.mark.parametrize("path", ["../escape.py", "/abs.py", "a/../../b.py", "a\\b.py"])
def test_destination_refuses_unsafe_paths(site: Path, path: str) -> None:
    with SitePackages(site).transaction() as destination:
        with pytest.raises(PermissionError, match="unsafe path"):
            destination.write(path, b"")
        with pytest.raises(PermissionError, match="unsafe path"):
            destination.remove(path)


def test_transaction_context_manager(site: Path) -> None:
    (site / "old.py").write_bytes(b"old")
    with pytest.raises(LookupError):
        with SitePackages(site).transaction() as destination:
            destination.write("old.py", b"new")
            destination.write("pkg/deep/new.py", b"new")
            destination.remove("old.py")
            raise LookupError
    assert snapshot(site) == {"old.py": ("file", b"old", 0o666 & ~_umask())}
    with SitePackages(site).transaction() as destination:
        destination.write("old.py", b"new")
    assert snapshot(site) == {"old.py": ("file", b"new", 0o666 & ~_umask())}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_site_packages_must_exist(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SitePackages(tmp_path / "missing")
