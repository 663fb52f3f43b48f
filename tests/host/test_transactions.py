"""Two transactions on one site-packages: a rollback undoes its own work and nothing else.

An install keeps its transaction open while its native code loads (an await);
another install may write and commit meanwhile. micropkg's public functions
run one at a time (``micropkg.api``), but the destination must not rely on
that: another installer in the same runtime, or a second copy of micropkg,
does not take micropkg's lock. Here install A is left open (``commit=False``,
as ``install_plan`` does across native loading), install B runs to its
commit, then A rolls back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from micropkg.installation.environment import scan
from micropkg.installation.site_packages import SitePackages
from micropkg.installation.writer import install
from micropkg.model.records import parse_record

from .sites import snapshot, wheel

DEP = {"dep/__init__.py": b"DEP = 1\n", "dep/util.py": b"UTIL = 1\n"}


def _dep(version: str = "1.0", files: dict[str, bytes] | None = None):
    return wheel("dep", version, files or DEP)


def _intact(site: Path, dist_info: str) -> None:
    """Every file the distribution's RECORD lists is there, with the bytes RECORD says."""
    for entry in parse_record((site / dist_info / "RECORD").read_bytes()):
        assert entry.mismatch((site / entry.path).read_bytes()) is None, entry.path


def _installed(site: Path) -> dict[str, str]:
    return {dist.name: str(dist.version) for dist in scan(SitePackages(site))}


def test_a_rollback_leaves_the_dependency_another_install_wrote_meanwhile(site: Path) -> None:
    # The case: A and B share a dependency; B replaces the copy A wrote (the
    # same wheel, so the same bytes at the same paths) and commits; A's native code fails.
    a = SitePackages(site)
    install([wheel("app-a"), _dep()], a, commit=False)
    install([wheel("app-b"), _dep()], SitePackages(site), replace=["dep"])
    after_b = snapshot(site)

    kept = a.rollback()

    assert _installed(site) == {"app-b": "1.0", "dep": "1.0"}
    _intact(site, "dep-1.0.dist-info")
    _intact(site, "app_b-1.0.dist-info")
    # Exactly A's own files went: app-a's.
    assert snapshot(site) == {k: v for k, v in after_b.items() if not k.startswith(("app_a", "app_a-1.0.dist-info"))}
    # B's copies of dep, byte for byte what A wrote there, were left (they are other files).
    assert kept == sorted(f"dep-1.0.dist-info/{name}" for name in ("INSTALLER", "METADATA", "RECORD", "WHEEL")) + [
        "dep/__init__.py", "dep/util.py",
    ]


def test_an_older_version_does_not_come_back_beside_the_one_installed_since(site: Path) -> None:
    install([_dep("0.9", {"dep/__init__.py": b"OLD\n", "dep/old.py": b"OLD\n"})], SitePackages(site))
    a = SitePackages(site)
    install([wheel("app-a"), _dep()], a, replace=["dep"], commit=False)  # A upgrades dep to 1.0
    install([wheel("app-b"), _dep()], SitePackages(site), replace=["dep"])  # B replaces A's 1.0
    a.rollback()
    # Restoring 0.9 (its dist-info, dep/old.py) beside B's 1.0 would leave two versions of one project.
    assert _installed(site) == {"app-b": "1.0", "dep": "1.0"}
    assert not (site / "dep/old.py").exists()
    assert not (site / "dep-0.9.dist-info").exists()
    _intact(site, "dep-1.0.dist-info")
    assert not any(p.name.startswith(".micropkg-rollback-") for p in site.iterdir())


def test_what_no_other_install_touched_is_restored_as_before(site: Path) -> None:
    install([wheel("tool", "1.0", {"tool.py": b"1\n"}), _dep("0.9")], SitePackages(site))
    before = snapshot(site)
    a = SitePackages(site)
    install([wheel("tool", "2.0", {"tool.py": b"2\n"}), _dep()], a, replace=["tool", "dep"], commit=False)
    install([wheel("app-b"), _dep()], SitePackages(site), replace=["dep"])
    after_b = snapshot(site)
    a.rollback()
    # tool 1.0 is back exactly; dep is B's.
    assert _installed(site) == {"app-b": "1.0", "dep": "1.0", "tool": "1.0"}
    tool = {k: v for k, v in before.items() if k.startswith(("tool.py", "tool-1.0.dist-info"))}
    assert {k: v for k, v in snapshot(site).items() if k.startswith("tool")} == tool
    assert {k: v for k, v in snapshot(site).items() if not k.startswith("tool")} == {
        k: v for k, v in after_b.items() if not k.startswith(("tool", ".micropkg-rollback-"))  # A's undo data
    }


def test_files_another_install_adds_to_a_shared_directory_stay(site: Path) -> None:
    a = SitePackages(site)
    install([wheel("ns-a", files={"ns/a.py": b"A\n"})], a, commit=False)
    install([wheel("ns-b", files={"ns/b.py": b"B\n"})], SitePackages(site))
    assert a.rollback() == []
    assert (site / "ns/b.py").read_bytes() == b"B\n"
    assert not (site / "ns/a.py").exists()
    assert _installed(site) == {"ns-b": "1.0"}


def test_a_file_changed_after_it_was_written_is_not_this_transactions_any_more(site: Path) -> None:
    a = SitePackages(site)
    install([wheel("demo")], a, commit=False)
    (site / "demo/__init__.py").write_bytes(b"edited by someone else\n")  # same file, other bytes
    assert a.rollback() == ["demo/__init__.py"]
    assert (site / "demo/__init__.py").read_bytes() == b"edited by someone else\n"
    assert not (site / "demo-1.0.dist-info").exists()


@pytest.mark.parametrize("operation", ["rewrite", "remove"])
def test_with_nobody_else_a_rollback_is_exact(site: Path, operation: str) -> None:
    # Its own file written, removed and written again, in one transaction: all undone.
    (site / "old.py").write_bytes(b"old")
    before = snapshot(site)
    destination = SitePackages(site)
    destination.begin()
    destination.write("old.py", b"new")
    destination.remove("old.py")
    if operation == "rewrite":
        destination.write("old.py", b"newer")
    assert destination.rollback() == []
    assert snapshot(site) == before
