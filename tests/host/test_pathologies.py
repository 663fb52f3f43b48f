"""The long tail's pathologies, hermetic (issue 15): each decided quickly, with its cause named.

(a) every release of a parent needs a project nothing here provides;
(b) a walk-back through hundreds of releases whose ``.metadata`` files are missing,
    from a file host that answers ranges and from one that does not;
(d) a requested project that would be walked back across a major version, and one
    walked back within it.
The folded-licence METADATA (c) is tests/host/test_headers.py's and, installed inside
Pyodide, tests/runtime/test_pathologies.py's.

(a) and (d) read the in-memory index; (b) the loopback index server over HTTP
(urllib), whose request log counts requests and bytes.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator

import pytest

from micropkg.errors import UnavailableDependency
from micropkg.index.client import Index
from micropkg.model.requirements import parse_requirements
from micropkg.model.zip_directory import TAIL_SIZE
from micropkg.net.transport import UrllibTransport
from micropkg.resolution.catalog import Catalog
from micropkg.resolution.resolver import resolve
from tests.harness.index_server import IndexServer
from tests.harness.wheels import make_wheel

from .memory_index import INDEX_URL, memory_transport
from .test_resolver_scenarios import TARGET

LINUX = "cp314-cp314-manylinux_2_17_x86_64"


def run(index: dict, request: list[str]):
    transport = memory_transport(index)
    catalog = Catalog([Index(INDEX_URL, transport)])
    started = time.perf_counter()
    try:
        plan = asyncio.run(resolve(parse_requirements(request), catalog, TARGET))
    except UnavailableDependency as error:
        return error, transport, time.perf_counter() - started
    return plan, transport, time.perf_counter() - started


# -- (a) every release of a parent needs an unavailable project ----------------------------


def parent_index(releases: int, blocker: dict) -> dict:
    return {
        "app": {"1.0": {"requires": ["parent>=3"]}},
        "parent": {f"3.{i}.0": {"requires": ["blocker>=1"]} for i in range(releases)},
        **({"blocker": blocker} if blocker else {}),
    }


@pytest.mark.parametrize(("blocker", "reason"), [
    ({"1.0": {"tags": [LINUX]}, "2.0": {"tags": [LINUX]}}, "blocker has no build for Emscripten"),
    ({}, "no index knows blocker"),
])
def test_every_release_of_a_parent_needs_an_unavailable_project(blocker, reason):
    error, transport, seconds = run(parent_index(40, blocker), ["app"])
    assert isinstance(error, UnavailableDependency)
    assert (error.project, error.blocker) == ("app", "blocker")
    message = str(error)
    # The chain from the request, the parent's releases, the blocker and why.
    assert message.startswith("Cannot install app 1.0 (app 1.0 ← your request): it needs parent>=3")
    assert "every parent 3.x needs it: parent 3.39.0 needs blocker>=1" in message
    assert reason in message
    assert "no older release of app has a file for this runtime" in message  # no pin that names nothing
    # Decided by reading each parent release at most once: 3 pages (blocker's a 404 when no
    # index knows it) and at most 41 metadata files (fewer: the newest DEAD_STREAK decide it).
    assert len(transport.requests) <= 3 + 41, [r.url for r in transport.requests]
    assert len({r.url for r in transport.requests}) == len(transport.requests)
    assert seconds < 5


def test_the_parent_requested_itself_gets_the_pin_that_accepts_its_older_major():
    index = parent_index(40, {"1.0": {"tags": [LINUX]}})
    index["parent"].update({f"2.{i}.0": {} for i in range(5)})
    error, transport, _ = run(index, ["parent"])
    assert isinstance(error, UnavailableDependency) and (error.project, error.blocker) == ("parent", "blocker")
    assert "accept an older parent by pinning it (e.g. 'parent<3')" in str(error)
    assert not any("parent-2." in r.url for r in transport.requests)  # the older major is never read


# -- (d) walked back across a major version, or within one ----------------------------------


def test_a_walk_back_across_a_major_version_is_refused_with_the_pin():
    index = {
        "lib": {"3.1": {"requires": ["blocker"]}, "3.0": {"requires": ["blocker"]}, "2.9": {}, "2.8": {}},
        "blocker": {"1.0": {"tags": [LINUX]}},
    }
    error, _, _ = run(index, ["lib"])
    assert isinstance(error, UnavailableDependency) and (error.project, error.blocker) == ("lib", "blocker")
    message = str(error)
    assert "Cannot install lib 3.1 (lib 3.1 ← your request): it needs blocker" in message
    assert "micropkg does not walk lib back to an older major version on its own" in message
    assert "(e.g. 'lib<3')" in message
    # The pin it names works.
    plan, _, _ = run(index, ["lib<3"])
    assert {p.name: str(p.version) for p in plan} == {"lib": "2.9"} and plan.walked_back == []


def test_a_walk_back_within_a_major_version_installs_and_says_so():
    index = {
        "lib": {"2.5": {"requires": ["blocker"]}, "2.4": {"requires": ["blocker"]}, "2.3": {"requires": ["blocker"]},
                "2.2": {}, "2.1": {}, "1.9": {}},
        "blocker": {"1.0": {"tags": [LINUX]}},
    }
    plan, _, _ = run(index, ["lib"])
    assert {p.name: str(p.version) for p in plan} == {"lib": "2.2"}
    (notice,) = plan.walked_back
    assert (notice.name, str(notice.chosen), str(notice.newest)) == ("lib", "2.2", "2.5")
    assert str(notice) == (
        "installed lib 2.2, not 2.5: newer releases need blocker,"
        " and blocker has no build for Emscripten (its wheels are for other platforms)"
    )


def test_a_request_that_fits_its_newest_release_is_not_a_walk_back():
    plan, _, _ = run({"lib": {"2.5": {}, "2.4": {}}}, ["lib"])
    assert plan.walked_back == []
    plan, _, _ = run({"lib": {"2.5": {}, "2.4": {}}}, ["lib<2.5"])  # the request's own limit
    assert plan.walked_back == []


# -- (b) hundreds of releases without .metadata, with and without ranges -----------------------

RELEASES = 300
PINNED = 60  # lib 1.k needs core==1.k: core==1.60.0 walks lib back through 239 releases
BLOB = 250_000  # incompressible: each lib wheel is ~251 kB, nearly four times the zip tail read first


@pytest.fixture(scope="module")
def walk_back_server() -> Iterator[tuple[IndexServer, int]]:
    with IndexServer() as server:
        for i in range(RELEASES):
            wheel = make_wheel(
                "wb-lib", f"1.{i}.0", requires_dist=[f"wb-core==1.{i}.0"],
                files={"wb_lib/__init__.py": b"", "wb_lib/blob.bin": random.Random(i).randbytes(BLOB)},
            )
            server.add(wheel, metadata=None)  # no PEP 658 file: METADATA is inside the wheel only
            server.add(make_wheel("wb-core", f"1.{i}.0"))
        yield server, len(wheel.data)


@pytest.mark.parametrize("ranges", [True, False], ids=["ranges", "no-ranges"])
def test_a_walk_back_of_hundreds_of_releases_without_metadata_files(walk_back_server, ranges):
    server, wheel_size = walk_back_server
    server.ranges = ranges
    server.log.reset()
    catalog = Catalog([Index(server.simple_url, UrllibTransport())])
    started = time.perf_counter()
    plan = asyncio.run(resolve(parse_requirements(["wb-lib", f"wb-core==1.{PINNED}.0"]), catalog, TARGET))
    seconds = time.perf_counter() - started

    assert {p.name: str(p.version) for p in plan} == {"wb-lib": f"1.{PINNED}.0", "wb-core": f"1.{PINNED}.0"}
    files = [e for e in server.log if e.kind == "file"]
    read = {e.path for e in files}
    # Every release from the newest down to the one chosen was read, each once, and the
    # batches stop soon after it: not all 300.
    assert len(read) == len(files)
    assert RELEASES - PINNED <= len(read) < RELEASES, len(read)
    assert all(e.path.startswith("/files/wb_lib-") for e in files)
    received = sum(e.size for e in files)
    if ranges:
        # One range per wheel, the zip's tail (directory and METADATA with it): no wheel whole.
        assert {e.status for e in files} == {206}
        assert received == len(files) * TAIL_SIZE < len(files) * wheel_size / 3
    else:
        # The host ignores Range: each wheel arrives whole, once, and is kept for the install.
        assert {e.status for e in files} == {200}
        assert received == sum(server.file(e.path.rsplit("/", 1)[1]).size for e in files)
    # wb-core's .metadata files: the greedy walk's pick (1.299.0, what wb-lib 1.299.0 pins) and 1.60.0.
    assert server.log.count("metadata") == 2
    assert server.log.count("simple-project") == 2
    assert plan.stats.requests == len(server.log) and plan.stats.attempts <= 6, plan.stats
    assert plan.stats.received == sum(e.size for e in server.log)
    assert seconds < 20
    print(f"\n{'with' if ranges else 'without'} ranges: {len(read)} wheels read, {len(server.log)} requests,"
          f" {received / 1e6:.1f} MB in {seconds:.1f} s; {plan.stats}")


# -- a metadata guess slower than the wheel's download -------------------------------------------


def test_a_download_under_way_beats_a_slow_metadata_guess(monkeypatch):
    # PyPI's file host, seen from here: pages advertise no .metadata, a guess at one may take
    # a 404 long in coming, and the greedy pick's wheel is downloading already. Whichever
    # answers first gives the METADATA: here the wheel, with no range request besides.
    from micropkg.index import client

    monkeypatch.setattr(client, "METADATA_HOSTS", frozenset({"127.0.0.1"}))
    with IndexServer(core_metadata=False) as server:
        wheel = make_wheel("race-lib", "1.0", files={"race_lib/blob.bin": random.Random(1).randbytes(200_000)})
        assert len(wheel.data) > TAIL_SIZE  # not small enough to be read whole anyway
        server.add(wheel, metadata=None)
        server.inject(f"/files/{wheel.filename}.metadata", status=404, delay=3.0)
        catalog = Catalog([Index(server.simple_url, UrllibTransport())], speculative=True)

        async def timed():
            started = time.perf_counter()
            # (asyncio.run then waits for the guess's thread: urllib cannot be aborted)
            return await resolve(parse_requirements(["race-lib"]), catalog, TARGET), time.perf_counter() - started

        plan, seconds = asyncio.run(timed())
        ranges = [e for e in server.log if e.kind == "file" and "range" in e.headers]
    assert [p.name for p in plan] == ["race-lib"]
    assert seconds < 2.5, seconds  # not the guess's 3 s
    assert not ranges, ranges
