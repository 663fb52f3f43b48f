"""The phase hooks (``Reporter.phase``, ``ResolutionStats.phases``) fire in order with times
counted from the call: the resolver's over the in-memory index, the installer's over a lock
install into a temporary site-packages. The whole install's order is tested in Pyodide
(tests/runtime/test_phases.py)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from micropkg.index.client import Index
from micropkg.installation.installer import install_lock
from micropkg.lock.pylock import loads
from micropkg.model.requirements import parse_requirements
from micropkg.reporter import PHASES, Reporter, call_started, since_call
from micropkg.resolution.catalog import Catalog
from micropkg.resolution.resolver import resolve
from tests.harness.wheels import make_wheel

from .memory_index import INDEX_URL, memory_transport
from .test_lock_install import Files, lock_text, no_dynlibs
from .test_resolver_scenarios import TARGET


class Phases(Reporter):
    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []

    def phase(self, name: str, at: float) -> None:
        self.marks.append((name, at))


def _resolve(index: dict, requirements: list[str]) -> tuple[list[tuple[str, float]], float]:
    async def run():
        call_started.set(time.perf_counter())  # as install() and resolve() do
        catalog = Catalog([Index(INDEX_URL, memory_transport(index))])
        plan = await resolve(parse_requirements(requirements), catalog, TARGET)
        return plan.stats.phases, since_call()

    return asyncio.run(run())


def _nondecreasing(marks) -> bool:
    times = [at for _, at in marks]
    return all(a <= b for a, b in zip(times, times[1:])) and times[0] >= 0


def test_a_resolution_waits_then_resolves_once_when_nothing_walks_back() -> None:
    index = {"app": {"1.0": {"requires": ["lib>=1"]}}, "lib": {"1.0": {}, "2.0": {}}}
    phases, end = _resolve(index, ["app"])
    assert [name for name, _ in phases] == ["waiting", "resolving", "resolved"]
    assert _nondecreasing(phases) and phases[-1][1] <= end


def test_a_walk_back_repeats_waiting_and_resolving_per_round() -> None:
    releases = {f"{v}.0": {"requires": [f"core=={v}.0"]} for v in range(1, 60)}
    index = {"lib": releases, "core": {f"{v}.0": {} for v in range(1, 60)}}
    phases, _ = _resolve(index, ["lib", "core==3.0"])
    names = [name for name, _ in phases]
    assert names[0] == "waiting" and names[-1] == "resolved"
    assert names.count("resolving") >= 2 and names.count("waiting") == names.count("resolving")
    assert all(a != b for a, b in zip(names, names[1:-1]))  # alternating: waiting, resolving, waiting...
    assert _nondecreasing(phases)


def test_outside_a_call_the_clock_reads_zero() -> None:
    assert call_started.get() is None and since_call() == 0.0


def test_an_install_from_a_lock_reports_download_verify_write_in_order(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    wheels = [make_wheel("ph-app", "1.0", requires_dist=["ph-lib"]), make_wheel("ph-lib", "2.0")]
    files = Files(wheels)
    reporter = Phases()

    async def run():
        call_started.set(time.perf_counter())
        return await install_lock(loads(lock_text(wheels), source="pylock.toml"), TARGET, site, files.read,
                                  load_dynlibs=no_dynlibs, dynlibs_to_load=list, reporter=reporter)

    installed = asyncio.run(run())
    assert {i.name for i in installed} == {"ph-app", "ph-lib"}
    # No native library: no "loading"; "done" is install()'s own (api), not the installer's.
    assert [name for name, _ in reporter.marks] == ["downloading", "verifying", "writing"]
    assert _nondecreasing(reporter.marks)
    assert all(name in PHASES for name, _ in reporter.marks)
