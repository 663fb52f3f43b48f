"""micropkg vs micropip 0.11.1: a fair race, with floors and a phase timeline.

``benchmarks/run`` (or ``python -m benchmarks.bench``) prepares what it needs
(the deployments of :mod:`benchmarks.fair`, the snapshot), starts the
latency-injecting mirror (or, with ``--network pypi``, uses live PyPI from
Node), and for each scenario runs micropkg and micropip alternately (A B B A ...: the second of
a pair may find the CDN warmed by the first)
in fresh runtimes with empty caches, ``--pairs`` times, then the scenario's
local floor. Results go to ``benchmarks/results/<name>.{json,md}``.

The race is fair by default: every tool and shared dependency carries CPython
3.14 bytecode compiled the same way (the ``bytecode`` deployment); the
``source`` deployment (nobody has bytecode) is run beside it for the
single-request scenarios. Each tool is loaded with ``loadPackage`` before the
timer; the timer covers ``import <tool>`` and ``install(...)``.

Floors, per row:

* network floor: the round trips no installer can avoid, times the latency,
  plus the bytes it must receive at the bandwidth cap. Cold: two per level of
  dependency depth (a page, then the pick's metadata and wheel together; its
  dependencies' pages need that metadata); from a lock one (every wheel at
  once); warm none.
* local floor: Pyodide's own ``loadPackage`` of the same wheels from a local
  folder (unpack, and compile and load native code), in a fresh runtime of the
  same run: what installing costs with no network and no resolution.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from . import fair
from .fair import CACHE, DEPLOYMENTS, Deployment, prepare_deployment
from .mirror import LivePyPI, Mirror
from .runtimes import ChromeRuntime, NodeRuntime, RunFailed, StaticServer
from .scenarios import GEOMEAN, QUICK, SCENARIOS, Scenario, import_snippet, install_snippet, lock_snippet
from .snapshot import Snapshot
from .summary import summarize

REPO = Path(__file__).resolve().parents[1]
SNAPSHOT = REPO / ".cache" / "bench-mirror"
RESULTS = Path(__file__).resolve().parent / "results"
PYODIDE_VERSION = "314.0.7"
TOOLS = ("micropkg", "micropip")


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- the network: the mirror, or live PyPI ---------------------------------------------


def bench_pyodide(version: str = PYODIDE_VERSION) -> Path:
    """The fair deployment's Pyodide folder (for benchmarks.sweep)."""
    return prepare_deployment("bytecode", version).dist


def micropip_wheel() -> Path:
    """micropip's wheel with the fair deployment's bytecode (for benchmarks.sweep)."""
    return fair.with_bytecode(fair.micropip_wheel())


__all__ = ["bench_pyodide", "main", "micropip_wheel"]


def _host_plan(index_url: str, requirements: Sequence[str]) -> list:
    """micropkg's plan for ``requirements`` on Pyodide 314, resolved on the host (for the floors)."""
    from micropkg.index.client import Index
    from micropkg.model.requirements import parse_requirements
    from micropkg.model.tags import PlatformInfo
    from micropkg.model.target import Target
    from micropkg.net.transport import UrllibTransport
    from micropkg.resolution.catalog import Catalog
    from micropkg.resolution.resolver import resolve

    target = Target.for_platform(PlatformInfo(python_version=(3, 14), abi_version="2026_0"), "3.14.2")
    catalog = Catalog([Index(index_url, UrllibTransport())])
    plan = asyncio.run(resolve(parse_requirements(list(requirements)), catalog, target))
    return list(plan)


def _depth(pins: list) -> int:
    """Levels of the dependency graph, by the shortest chain from the request (what a walk discovers)."""
    parents = {p.name: [r.split(" ")[0] for r in p.required_by] for p in pins}
    depth: dict[str, int] = {}
    frontier = [p.name for p in pins if "the request" in p.required_by]
    level = 1
    while frontier:
        for name in frontier:
            depth.setdefault(name, level)
        level += 1
        frontier = [n for n, ps in parents.items() if n not in depth and any(q in depth for q in ps)]
    return max(depth.values(), default=0)


def _wheel_file(pin, snapshot: Snapshot) -> Path:
    """The plan's wheel on disk (the snapshot's copy; live PyPI's newer files beside it)."""
    path = SNAPSHOT / "files" / pin.file.filename
    if path.is_file() or snapshot.file(pin.file.filename) is not None:
        return path
    path = CACHE / "live-files" / pin.file.filename
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(pin.file.url, timeout=120) as response:
            path.write_bytes(response.read())
    return path


# -- measuring -------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.trace = bool(getattr(args, "trace", False))
        self.snapshot = Snapshot(SNAPSHOT)
        self.deployments = {name: prepare_deployment(name, PYODIDE_VERSION) for name in args.deployments}
        self.rows: list[dict] = []
        self.facts: dict[str, dict] = {}
        self.clock_offset = time.time() - time.monotonic()  # the mirror logs monotonic times

    def config(self, runtime, deployment: Deployment, scenario: Scenario, tool: str, net) -> dict | None:
        packages = ["micropkg"] if tool == "micropkg" else [runtime.wheel_url(deployment.micropip)]
        if scenario.kind == "import":
            python = import_snippet(tool)
        elif scenario.kind == "lock" and tool == "micropkg":
            lock = self.facts.get(scenario.name, {}).get("lock")
            if lock is not None and scenario.lock_at_url:
                lock = net.serve_document(f"{scenario.name}/pylock.toml", lock.encode()) if hasattr(net, "serve_document") else None
            if lock is None:
                return None
            python = lock_snippet(lock, trace=self.trace)
        else:
            # micropip cannot install a lock: its lock row is its usual resolving install.
            python = install_snippet(tool, scenario.requirements, net.simple_url, scenario.imports, trace=self.trace)
        return {"packages": packages, "python": python, "indexURL": runtime.pyodide_url(deployment.dist)}

    def run_one(self, runtime, deployment: Deployment, scenario: Scenario, tool: str, pair: int, net) -> dict | None:
        config = self.config(runtime, deployment, scenario, tool, net)
        if config is None:
            return None
        upstream = self.snapshot.upstream_fetches
        started = time.monotonic()
        with runtime.origin() as origin:
            try:
                if scenario.kind == "warm":
                    origin.run(config)  # fills whatever this installer keeps between page loads
                if net.traffic is not None:
                    net.traffic.reset()
                outcome = origin.run(config)
            except RunFailed as exc:
                outcome = {"boot_ms": None, "load_ms": None, "result": {"error": str(exc)}}
        result = outcome["result"]
        row = {
            "runtime": runtime.name,
            "deployment": deployment.name,
            "scenario": scenario.name,
            "tool": tool,
            "pair": pair,
            "boot_ms": outcome.get("boot_ms"),
            "load_ms": outcome.get("load_ms"),
            "import_ms": result.get("import_ms"),
            "install_ms": result.get("install_ms"),
            "total_ms": result.get("total_ms"),
            "modules": result.get("modules"),
            "installed": result.get("installed", []),
            "marks": result.get("marks", []),
            "error": result.get("error"),
            "settled_ms": result.get("settled_ms"),  # install() returned → its keeping for the next page load done
            "trace": result.get("trace"),
            "traffic": net.traffic.summary() if net.traffic is not None else None,
            "network": self.network_timeline(net, result),
            "upstream_fetches": self.snapshot.upstream_fetches - upstream,
            "wall_s": round(time.monotonic() - started, 2),
        }
        total = row["total_ms"]
        traffic = row["traffic"]
        _log(
            f"{runtime.name:6} {deployment.name:8} {scenario.name:9} {tool:8} pair {pair}: "
            + (f"{total:8.0f} ms" if total is not None else "   (none)")
            + (f", {traffic['requests']} requests, {traffic['bytes'] / 1e6:.2f} MB" if traffic else "")
            + (f", {row['upstream_fetches']} upstream" if row["upstream_fetches"] else "")
            + (f", ERROR {row['error'][:160]}" if row["error"] else "")
        )
        return row

    def network_timeline(self, net, result: dict) -> dict | None:
        """When the run's requests went out and came back, in ms since ``import`` began (the mirror's log)."""
        if net.traffic is None or "wall0" not in result:
            return None
        exchanges = net.traffic.snapshot()
        if not exchanges:
            return None

        def ms(monotonic: float) -> float:
            return round((monotonic + self.clock_offset - result["wall0"]) * 1000, 1)

        index = [e for e in exchanges if e.kind in ("page", "metadata")]
        files = [e for e in exchanges if e.kind == "file"]
        return {
            "first_request": ms(min(e.arrived for e in exchanges)),
            "last_index_answer": ms(max(e.done for e in index)) if index else None,
            "first_wheel_request": ms(min(e.arrived for e in files)) if files else None,
            "last_wheel_answer": ms(max(e.done for e in files)) if files else None,
            # Each request, for reading the chain's hops: kind, path, arrived, answered.
            "log": [[e.kind, e.path, ms(e.arrived), ms(e.done)] for e in sorted(exchanges, key=lambda e: e.arrived)],
        }

    def local_floor(self, runtime, scenario: Scenario, pair: int) -> dict | None:
        """Pyodide's loadPackage of the plan's wheels from a local folder: unpack and load only."""
        facts = self.facts.get(scenario.name)
        if not facts or not facts["files"]:
            return None
        deployment = next(iter(self.deployments.values()))
        files = [runtime.wheel_url(Path(path)) for path in facts["files"]]
        with runtime.origin() as origin:
            try:
                outcome = origin.run({"packages": files, "python": 'import json\njson.dumps({})',
                                      "indexURL": runtime.pyodide_url(deployment.dist)})
            except RunFailed as exc:
                outcome = {"load_ms": None, "result": {"error": str(exc)}}
        row = {"runtime": runtime.name, "deployment": "-", "scenario": scenario.name, "tool": "local-floor",
               "pair": pair, "total_ms": outcome.get("load_ms"), "error": outcome["result"].get("error")}
        _log(f"{runtime.name:6} {'-':8} {scenario.name:9} local floor pair {pair}: {row['total_ms'] or 0:8.0f} ms")
        return row

    def plan_facts(self, scenario: Scenario, net) -> None:
        if scenario.name in self.facts or not scenario.requirements:
            return
        lockfile = json.loads((next(iter(self.deployments.values())).dist / "pyodide-lock.json").read_text())
        pins = _host_plan(net.simple_url, scenario.requirements)
        pins = [p for p in pins if p.name not in lockfile["packages"]]
        files = [_wheel_file(p, self.snapshot) for p in pins]
        pages = 0
        if isinstance(net, Mirror):
            for p in pins:
                rendered = net.render_page(p.name, True)
                pages += len(rendered[1]) if rendered else 0
        self.facts[scenario.name] = {
            "depth": _depth(pins),
            "packages": len(pins),
            "files": [str(f) for f in files],
            "wheel_bytes": sum(f.stat().st_size for f in files),
            "page_bytes": pages,
            "lock": self.make_lock(scenario, net) if scenario.kind == "lock" else None,
        }

    def make_lock(self, scenario: Scenario, net) -> str | None:
        """A pylock.toml of ``scenario`` from ``python -m micropkg lock`` (None: skip the scenario)."""
        done = subprocess.run(
            [sys.executable, "-m", "micropkg", "lock", *scenario.requirements, "--pyodide", "314.0",
             "--index-url", net.simple_url, "--format", "pylock", "-o", "-"],
            capture_output=True, text=True, cwd=REPO,
        )
        if done.returncode != 0 or not done.stdout.strip():
            _log(f"python -m micropkg lock failed (exit {done.returncode}): the lock scenario is skipped\n"
                 + done.stderr[-1500:])
            return None
        return done.stdout

    def network_floor_ms(self, scenario: Scenario, latency: float, bandwidth: float | None) -> float | None:
        facts = self.facts.get(scenario.name)
        if facts is None or scenario.kind == "import":
            return None
        # A lock at a URL: the lock, then its files.
        round_trips = {"cold": 2 * facts["depth"], "lock": 2 if scenario.lock_at_url else 1, "warm": 0}[scenario.kind]
        lock_bytes = len(facts["lock"] or "") if scenario.lock_at_url else 0
        size = {"cold": facts["wheel_bytes"] + facts["page_bytes"], "lock": facts["wheel_bytes"] + lock_bytes, "warm": 0}
        transfer = size[scenario.kind] / bandwidth if bandwidth else 0.0
        return (round_trips * latency + transfer) * 1000

    def measure(self, runtime, scenarios: Sequence[Scenario], net) -> None:
        for scenario in scenarios:
            self.plan_facts(scenario, net)
            deployments = [d for d in self.deployments.values()
                           if d.name == "bytecode" or scenario.name in self.args.source_scenarios]
            for pair in range(self.args.pairs):
                for deployment in deployments:
                    # A B, then B A: against live PyPI the first runner of a pair warms the CDN's
                    # edge and the resolver's DNS cache for the second.
                    for tool in TOOLS if pair % 2 == 0 else TOOLS[::-1]:
                        row = self.run_one(runtime, deployment, scenario, tool, pair, net)
                        if row is not None and row["upstream_fetches"]:
                            # The snapshot went to PyPI during the run: time it again, from disk.
                            row = self.run_one(runtime, deployment, scenario, tool, pair, net)
                        if row is not None:
                            self.rows.append(row)
                if scenario.kind != "import":
                    floor = self.local_floor(runtime, scenario, pair)
                    if floor is not None:
                        self.rows.append(floor)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    chromium = ""
    if shutil.which("chromium"):
        chromium = subprocess.run(["chromium", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; Node {node}; {chromium}"


def _load() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="micropkg vs micropip: a fair race with floors")
    parser.add_argument("--pairs", type=int, default=3, help="A/B pairs per scenario, runtime and deployment (default 3)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every request (default 0.05)")
    parser.add_argument("--bandwidth", type=float, default=None, help="shared bandwidth cap in MB/s (default none)")
    parser.add_argument("--network", choices=("mirror", "pypi"), default="mirror",
                        help="the loopback mirror (default) or live PyPI (Node only)")
    parser.add_argument("--runtimes", default="node,chrome", help="comma-separated: node, chrome")
    parser.add_argument("--scenarios", default=None, help="comma-separated scenario names (default all)")
    parser.add_argument("--deployments", default=",".join(DEPLOYMENTS),
                        help="bytecode (the fair race), source (nobody has bytecode); default both")
    parser.add_argument("--source-scenarios", default=",".join((*GEOMEAN, "import")),
                        help="scenarios also run in the source deployment (default the single requests and import)")
    parser.add_argument("--trace", action="store_true",
                        help="record each Python event-loop callback of 2 ms or more (what held the thread)")
    parser.add_argument("--quick", action="store_true", help="1 pair of every scenario: a smoke run")
    parser.add_argument("--name", default=None, help="results file name (default benchmark, quick, or pypi)")
    parser.add_argument("--from-json", type=Path, metavar="JSON",
                        help="only redo the table of an earlier run's results/<name>.json")
    args = parser.parse_args(argv)
    from .report import write_report

    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        name = args.name or args.from_json.stem
        write_report(RESULTS, name, saved["meta"], saved["summary"], saved["runs"])
        print((RESULTS / f"{name}.md").read_text())
        return 0
    if args.quick:
        args.pairs = 1
        args.scenarios = args.scenarios or ",".join(QUICK)
    if args.network == "pypi":
        if args.runtimes != "node":
            _log("live PyPI runs under Node only (Chromium here cannot reach PyPI): --runtimes node")
        args.runtimes = "node"
        args.bandwidth = None
    args.bandwidth_bytes = args.bandwidth * 1e6 if args.bandwidth else None
    args.deployments = [d for d in args.deployments.split(",") if d]
    args.source_scenarios = set(args.source_scenarios.split(","))
    names = args.scenarios.split(",") if args.scenarios else [s.name for s in SCENARIOS]
    unknown = set(names) - {s.name for s in SCENARIOS}
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {[s.name for s in SCENARIOS]}")
    scenarios = [s for s in SCENARIOS if s.name in names]
    runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]

    bench = Bench(args)
    started = datetime.datetime.now(datetime.UTC)
    load_before = _load()
    network = (Mirror(bench.snapshot, latency=args.latency, bandwidth=args.bandwidth_bytes)
               if args.network == "mirror" else LivePyPI())
    with network as net:
        for name in runtimes:
            if name == "node":
                bench.measure(NodeRuntime(), scenarios, net)
            elif name == "chrome":
                mounts = {"web": Path(__file__).parent / "web", "files": SNAPSHOT / "files", "bench": CACHE}
                with StaticServer(mounts) as static:
                    bench.measure(ChromeRuntime(static), scenarios, net)
            else:
                parser.error(f"unknown runtime {name!r}")
    latency = net.latency
    summary = summarize(bench, scenarios, runtimes, latency)
    meta = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "minutes": round((datetime.datetime.now(datetime.UTC) - started).total_seconds() / 60, 1),
        "machine": machine(),
        "load_average": {"before": load_before, "after": _load()},
        "pyodide": PYODIDE_VERSION,
        "network": args.network,
        "latency_ms": latency * 1000,
        "bandwidth_mb_s": args.bandwidth,
        "pairs": args.pairs,
        "quick": args.quick,
        "deployments": args.deployments,
        "command": "benchmarks/run " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    name = args.name or ("pypi" if args.network == "pypi" else "quick" if args.quick else "benchmark")
    paths = write_report(RESULTS, name, meta, summary, bench.rows)
    print((RESULTS / f"{name}.md").read_text())
    _log("wrote " + ", ".join(str(p.relative_to(REPO)) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
