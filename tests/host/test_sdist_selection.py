"""Which release an sdist is built for: pip's --prefer-binary, over the in-memory index.

The builder is replaced by one that answers each sdist's metadata from the
snapshot (the host cannot run a backend in Pyodide's place; the runtime tests
in tests/runtime/test_sdist.py build for real). It records which sdists the
resolution asked it to build.
"""

from __future__ import annotations

import asyncio

import pytest
from packaging.utils import canonicalize_name

from micropkg import errors
from micropkg.index.client import Index
from micropkg.model.candidates import SDIST_RANK, Releases, judge_files
from micropkg.model.requirements import parse_requirements
from micropkg.model.simple import DistFile, ProjectPage
from micropkg.model.sources import IndexSource
from micropkg.resolution.catalog import Catalog
from micropkg.resolution.resolver import resolve

from .memory_index import INDEX_URL, memory_transport, metadata_bytes
from .test_resolver_scenarios import TARGET

SRC = IndexSource("https://idx.example/simple")


class SnapshotBuilds:
    """An SdistBuilds that reads each sdist's metadata out of the snapshot; records the asks."""

    def __init__(self, snapshot: dict) -> None:
        self.snapshot = snapshot
        self.asked: list[str] = []

    async def metadata(self, candidate, sdist: bytes) -> bytes:
        assert sdist == candidate.file.filename.encode()  # the hash-checked download
        self.asked.append(f"{candidate.name} {candidate.version}")
        return metadata_bytes(candidate.name, str(candidate.version), self.snapshot[candidate.name][str(candidate.version)])

    async def wheel(self, candidate, sdist: bytes):
        raise AssertionError("resolution never builds a wheel")

    def close(self) -> None:
        pass


def _resolve(snapshot: dict, request: list[str], *, only_binary: bool = False):
    builds = None if only_binary else SnapshotBuilds(snapshot)
    catalog = Catalog([Index(INDEX_URL, memory_transport(snapshot))], builds=builds)
    plan = asyncio.run(resolve(parse_requirements(request), catalog, TARGET))
    return plan, builds


def _page(files: list[str]) -> ProjectPage:
    return ProjectPage(
        name=canonicalize_name("p"), url="https://h.example/simple/p/",
        files=tuple(DistFile(f, f"https://h.example/{f}", {"sha256": "0" * 64}) for f in files),
    )


def test_a_release_with_a_wheel_beats_newer_sdist_only_releases():
    page = _page(["p-1.0-py3-none-any.whl", "p-1.0.tar.gz", "p-2.0.tar.gz", "p-3.0.tar.gz", "p-0.5-py3-none-any.whl"])
    releases = Releases(canonicalize_name("p"), judge_files(page, TARGET, usable_only=True, sdists=True))
    chosen = releases.select(source=SRC)
    assert [(str(c.version), c.file.filename) for c in chosen] == [
        ("1.0", "p-1.0-py3-none-any.whl"),  # the wheel, not the same release's sdist
        ("0.5", "p-0.5-py3-none-any.whl"),
        ("3.0", "p-3.0.tar.gz"),  # then sdist-only releases, newest first
        ("2.0", "p-2.0.tar.gz"),
    ]


def test_without_a_builder_sdists_are_refused_as_before():
    page = _page(["p-2.0.tar.gz", "p-1.0.zip", "p-1.0.tar.bz2"])
    assert judge_files(page, TARGET, usable_only=True) == []
    verdicts = judge_files(page, TARGET)
    assert {v.file.filename: v.refused for v in verdicts} == {
        "p-2.0.tar.gz": "a source distribution, not built with only_binary",
        "p-1.0.zip": "a source distribution, not built with only_binary",
        "p-1.0.tar.bz2": "not an sdist micropkg can build (only .tar.gz and .zip)",
    }
    built = {v.file.filename: v.refused for v in judge_files(page, TARGET, sdists=True)}
    assert built["p-2.0.tar.gz"] is None and built["p-1.0.zip"] is None
    assert built["p-1.0.tar.bz2"] == "not an sdist micropkg can build (only .tar.gz and .zip)"


def test_sdist_rank_comes_after_every_wheel_tag():
    ranks = [v.rank for v in judge_files(_page(["p-1.0-py3-none-any.whl", "p-1.0.tar.gz"]), TARGET, sdists=True)]
    assert ranks[0] is not None and ranks[0] < SDIST_RANK == ranks[1]


SNAPSHOT = {
    "app": {
        "1.0": {"requires": ["dep"]},
        "2.0": {"requires": ["dep"], "tags": [], "sdist": True},
    },
    "dep": {"0.9": {"tags": [], "sdist": True}},  # sdist-only project
    "wheelonly": {"1.0": {}},
}


def test_prefer_binary_walks_back_and_says_why():
    plan, builds = _resolve(SNAPSHOT, ["app"])
    pins = {p.name: (str(p.version), p.file.filename) for p in plan}
    assert pins == {"app": ("1.0", "app-1.0-py3-none-any.whl"), "dep": ("0.9", "dep-0.9.tar.gz")}
    assert builds.asked == ["dep 0.9"]  # app 2.0's sdist is never built
    (notice,) = plan.walked_back
    assert str(notice.newest) == "2.0" and "publish only an sdist" in notice.reason
    assert "'app==2.0'" in notice.reason


def test_a_pin_on_an_sdist_only_release_builds_it():
    plan, builds = _resolve(SNAPSHOT, ["app==2.0"])
    assert {p.name: p.file.filename for p in plan} == {"app": "app-2.0.tar.gz", "dep": "dep-0.9.tar.gz"}
    assert sorted(builds.asked) == ["app 2.0", "dep 0.9"]
    # The metadata the pin carries is the builder's: the installer checks the built wheel against it.
    assert all(p.metadata is not None for p in plan)


def test_only_binary_keeps_the_old_refusal():
    with pytest.raises(errors.NoCompatibleFile) as info:
        _resolve(SNAPSHOT, ["dep"], only_binary=True)
    assert "only_binary is set, so no sdist is built" in str(info.value)


def test_the_magic_takes_only_binary_as_pip_does():
    from micropkg.commands.magic import MagicUsageError, parse

    assert parse("install jsmin --only-binary :all:").install_arguments()["only_binary"] is True
    assert parse("install --only-binary=:all: jsmin").install_arguments() == {
        "requirements": ["jsmin"], "deps": True, "pre": False, "reinstall": False, "only_binary": True,
    }
    assert parse("install jsmin --only-binary").only_binary is True
    assert "only_binary" not in parse("install jsmin").install_arguments()
    with pytest.raises(MagicUsageError, match="takes only :all:"):
        parse("install --only-binary jsmin")


def test_pylock_round_trips_an_sdist_entry_and_plans_it_as_a_pin():
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from micropkg.lock.pylock import dumps, loads
    from micropkg.model.lock import Lock, LockedPackage, LockedWheel, plan_from_lock

    sdist = LockedWheel("jsmin-3.0.1.tar.gz", "https://files.example/jsmin-3.0.1.tar.gz", None,
                        {"sha256": "ab" * 32}, 14000, None)
    built = {"name": "jsmin-3.0.1-py3-none-any.whl", "sha256": "cd" * 32}
    lock = Lock(packages=(LockedPackage(NormalizedName("jsmin"), Version("3.0.1"), (), sdist=sdist, built_wheel=built),),
                source="<t>")
    text = dumps(lock)
    assert "[packages.sdist]" in text and "[[packages.wheels]]" not in text
    assert "[packages.tool.micropkg.built-wheel]" in text
    (package,) = loads(text).packages
    assert package.sdist == sdist and package.wheels == () and package.built_wheel == built
    plan, files = plan_from_lock(loads(text), TARGET, {})
    (pin,) = plan.to_install
    assert pin.file.filename == "jsmin-3.0.1.tar.gz" and not pin.file.is_wheel
    assert files[pin.file.url].hashes == {"sha256": "ab" * 32}


def test_reporters_say_a_build_starts():
    import io

    from micropkg.reporter import Reporter
    from micropkg.ui.progress import ConsoleReporter

    out = io.StringIO()
    ConsoleReporter(file=out).building("jsmin", "3.0.1")
    assert out.getvalue() == "Building jsmin 3.0.1 from its sdist\n"
    assert Reporter().building("jsmin", "3.0.1") is None  # the base hook does nothing


class RefusingBuilds(SnapshotBuilds):
    """As SnapshotBuilds, but the sdists of ``refused`` projects need a compiler (CannotBuild)."""

    def __init__(self, snapshot: dict, refused: set[str]) -> None:
        super().__init__(snapshot)
        self.refused = refused

    async def metadata(self, candidate, sdist: bytes) -> bytes:
        if candidate.name in self.refused:
            self.asked.append(f"{candidate.name} {candidate.version}")
            raise errors.CannotBuild(
                f"Cannot install {candidate.name} {candidate.version}: it has Rust extension modules (maturin)",
                project=candidate.name, version=str(candidate.version), filename=candidate.file.filename,
                reason="has Rust extension modules (maturin)",
            )
        return await super().metadata(candidate, sdist)


# The long tail with sdists built: `rusty` publishes wheels for other platforms and an sdist that
# needs a compiler, as fastuuid does for litellm.
RUSTY = {
    "app": {
        "1.0": {"requires": ["helper"]},
        "1.1": {"requires": ["rusty>=0.5", "helper"]},
        "1.2": {"requires": ["rusty>=0.5", "helper"]},
        **{f"2.{i}": {"requires": ["rusty>=0.5", "helper"]} for i in range(10)},
    },
    "helper": {"1.0": {}},
    "rusty": {
        "0.5": {"tags": ["cp314-cp314-manylinux_2_17_x86_64"], "sdist": True},
        "0.6": {"tags": ["cp314-cp314-manylinux_2_17_x86_64"], "sdist": True},
    },
}


def _resolve_refusing(snapshot: dict, request: list[str], refused: set[str]):
    builds = RefusingBuilds(snapshot, refused)
    catalog = Catalog([Index(INDEX_URL, memory_transport(snapshot))], builds=builds)
    return asyncio.run(resolve(parse_requirements(request), catalog, TARGET)), builds


def test_an_sdist_that_needs_a_compiler_is_no_candidate_and_the_parent_walks_back():
    plan, builds = _resolve_refusing(RUSTY, ["app<2"], {"rusty"})
    assert {p.name: str(p.version) for p in plan} == {"app": "1.0", "helper": "1.0"}
    assert set(builds.asked) == {"rusty 0.6", "rusty 0.5"}  # each refused once, never installed
    (notice,) = plan.walked_back
    assert "rusty" in notice.reason, notice.reason


def test_a_pin_on_a_release_that_needs_it_names_the_unbuildable_dependency():
    with pytest.raises(errors.UnavailableDependency) as info:
        _resolve_refusing(RUSTY, ["app>=2"], {"rusty"})
    message = str(info.value)
    assert "rusty" in message and "has Rust extension modules (maturin)" in message, message
    assert "rusty offers no wheel for this runtime, and its sdist rusty-0.6.tar.gz has Rust extension modules" \
        " (maturin), which cannot be built in the browser" in message, message


def test_a_requested_project_whose_sdist_needs_a_compiler_gets_the_builds_own_refusal():
    with pytest.raises(errors.CannotBuild, match=r"rusty 0\.6: it has Rust extension modules"):
        _resolve_refusing(RUSTY, ["rusty"], {"rusty"})
