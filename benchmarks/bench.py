"""micropkg vs micropip 0.11.1, side by side, under Node and headless Chromium.

``benchmarks/run`` (or ``python -m benchmarks.bench``) prepares what it needs
(a Pyodide folder whose lockfile lists only micropkg and its dependencies,
micropip's wheel from PyPI, the snapshot), starts the latency-injecting
mirror, and for each scenario runs micropkg and micropip alternately (A B A B)
in fresh runtimes, ``--pairs`` times. Results go to ``benchmarks/results/``:
``<name>.json`` (every run), ``<name>.md`` (the table) and ``<name>.png``.

Timing: from just before ``import <installer>`` to just after ``install``
returns, inside Pyodide (the tool's own ``loadPackage`` is timed separately:
``load``). The per-pair ratio is micropkg/micropip of one pair; the table
shows its median. The physical limit is the round trips a perfect installer
cannot avoid (two per level of dependency depth -- a page, then its metadata
-- plus one for the wheels; one for a lock; none warm) times the latency,
plus the largest transfer at the bandwidth cap.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .mirror import Mirror
from .runtimes import ChromeRuntime, NodeRuntime, RunFailed, StaticServer
from .scenarios import QUICK, SCENARIOS, Scenario, import_snippet, install_snippet, lock_snippet
from .snapshot import Snapshot

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness import pyodide_dist  # noqa: E402

CACHE = REPO / ".cache" / "bench"
SNAPSHOT = REPO / ".cache" / "bench-mirror"
RESULTS = Path(__file__).resolve().parent / "results"
PYODIDE_VERSION = "314.0.7"
MICROPIP = "micropip==0.11.1"
TOOLS = ("micropkg", "micropip")


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- preparation -----------------------------------------------------------------


def micropip_wheel() -> Path:
    """micropip 0.11.1's wheel from PyPI, downloaded once into .cache/bench/wheels/."""
    wheels = CACHE / "wheels"
    found = sorted(wheels.glob("micropip-0.11.1-*.whl"))
    if found:
        return found[0]
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--python-version", "3.14",
         "--only-binary=:all:", MICROPIP, "-d", str(wheels)],
        check=True,
    )
    return sorted(wheels.glob("micropip-0.11.1-*.whl"))[0]


def bench_pyodide(version: str = PYODIDE_VERSION) -> Path:
    """The test harness's Pyodide folder, with a lockfile listing only micropkg's closure.

    Pyodide's lockfile points at a CDN this network cannot reach, and micropip
    looks requirements up there before asking the index; with only micropkg,
    packaging and resolvelib listed, both installers go to the mirror.
    """
    source = pyodide_dist.prepare(version)
    target = CACHE / f"pyodide-{version}"
    lock = json.loads((source / "pyodide-lock.json").read_text())
    keep: set[str] = set()
    pending = ["micropkg"]
    while pending:
        name = pending.pop()
        if name not in keep:
            keep.add(name)
            pending.extend(lock["packages"][name]["depends"])
    lock["packages"] = {k: v for k, v in lock["packages"].items() if k in keep}
    wanted = {p["file_name"] for p in lock["packages"].values()}
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file() and (not path.name.endswith(".whl") or path.name in wanted) and path.name != "pyodide-lock.json":
            shutil.copyfile(path, target / path.name)
    (target / "pyodide-lock.json").write_text(json.dumps(lock))
    return target


def _host_plan(mirror_url: str, requirements: Sequence[str]) -> list:
    """micropkg's plan for ``requirements`` on Pyodide 314, resolved on the host (for the limit)."""
    from micropkg.index.client import Index
    from micropkg.model.requirements import parse_requirements
    from micropkg.model.tags import PlatformInfo
    from micropkg.model.target import Target
    from micropkg.net.transport import UrllibTransport
    from micropkg.resolution.catalog import Catalog
    from micropkg.resolution.resolver import resolve

    target = Target.for_platform(PlatformInfo(python_version=(3, 14), abi_version="2026_0"), "3.14.2")
    catalog = Catalog([Index(mirror_url, UrllibTransport())])
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


# -- measuring -------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.snapshot = Snapshot(SNAPSHOT)
        self.micropip = micropip_wheel()
        self.dist = bench_pyodide()
        self.rows: list[dict] = []
        self.facts: dict[str, dict] = {}

    def config(self, runtime, scenario: Scenario, tool: str, mirror: Mirror) -> dict | None:
        packages = ["micropkg"] if tool == "micropkg" else [runtime.wheel_url(self.micropip)]
        if scenario.kind == "import":
            python = import_snippet(tool)
        elif scenario.kind == "lock":
            lock = self.facts.get(scenario.name, {}).get("lock")
            if lock is None:
                return None
            # micropip cannot install a lock: its row is its usual resolving install, for reference.
            python = (lock_snippet(lock) if tool == "micropkg"
                      else install_snippet(tool, scenario.requirements, mirror.simple_url, scenario.imports))
        else:
            python = install_snippet(tool, scenario.requirements, mirror.simple_url, scenario.imports)
        return {"packages": packages, "python": python}

    def run_one(self, runtime, scenario: Scenario, tool: str, pair: int, mirror: Mirror) -> dict | None:
        config = self.config(runtime, scenario, tool, mirror)
        if config is None:
            return None
        upstream = self.snapshot.upstream_fetches
        started = time.monotonic()
        with runtime.origin() as origin:
            try:
                if scenario.kind == "warm":
                    origin.run(config)  # fills whatever this installer keeps between page loads
                mirror.traffic.reset()
                outcome = origin.run(config)
            except RunFailed as exc:
                outcome = {"boot_ms": None, "load_ms": None, "result": {"error": str(exc)}}
        result = outcome["result"]
        row = {
            "runtime": runtime.name,
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
            "error": result.get("error"),
            "traffic": mirror.traffic.summary(),
            "upstream_fetches": self.snapshot.upstream_fetches - upstream,
            "wall_s": round(time.monotonic() - started, 2),
        }
        total = row["total_ms"]
        _log(
            f"{runtime.name:6} {scenario.name:9} {tool:8} pair {pair}: "
            + (f"{total:8.0f} ms" if total is not None else "   (none)")
            + f", {row['traffic']['requests']} requests, {row['traffic']['bytes'] / 1e6:.2f} MB"
            + (f", ERROR {row['error'][:160]}" if row["error"] else "")
        )
        return row

    def baseline(self, runtime, scenario: Scenario, pair: int) -> dict:
        """Pyodide's loadPackage of the plan's wheels from loopback without latency: unpack and load only."""
        wheels = self.facts[scenario.name]["wheels"]
        files = [runtime.wheel_url(SNAPSHOT / "files" / name) for name in wheels]
        with runtime.origin() as origin:
            outcome = origin.run({"packages": files, "python": 'import json\njson.dumps({})'})
        row = {"runtime": runtime.name, "scenario": scenario.name, "tool": "unpack-only", "pair": pair,
               "total_ms": outcome.get("load_ms"), "error": outcome["result"].get("error")}
        _log(f"{runtime.name:6} {scenario.name:9} unpack   pair {pair}: {row['total_ms']:8.0f} ms")
        return row

    def plan_facts(self, scenario: Scenario, mirror: Mirror) -> None:
        if scenario.name in self.facts or not scenario.requirements:
            return
        lockfile = json.loads((self.dist / "pyodide-lock.json").read_text())["packages"]
        pins = _host_plan(mirror.simple_url, scenario.requirements)
        files = [p.file for p in pins if p.name not in lockfile]
        self.facts[scenario.name] = {
            "depth": _depth(pins),
            "packages": len(pins),
            "wheels": [f.filename for f in files],
            "largest": max((f.size or 0 for f in files), default=0),
            "lock": self.make_lock(scenario, mirror) if scenario.kind == "lock" else None,
        }

    def make_lock(self, scenario: Scenario, mirror: Mirror) -> str | None:
        """A pylock.toml of ``scenario`` from ``python -m micropkg lock`` (None: skip the scenario).

        Locking is another engineer's work in progress: if micropkg cannot
        lock or ``install`` takes no ``lock=`` yet, the scenario is skipped.
        """
        import inspect

        from micropkg import api as _api

        if "lock" not in inspect.signature(_api.install).parameters:
            _log("micropkg.install has no lock= yet: the lock scenario is skipped")
            return None
        done = subprocess.run(
            [sys.executable, "-m", "micropkg", "lock", *scenario.requirements, "--pyodide", "314.0",
             "--index-url", mirror.simple_url, "--format", "pylock", "-o", "-"],
            capture_output=True, text=True, cwd=REPO,
        )
        if done.returncode != 0 or not done.stdout.strip():
            _log(f"python -m micropkg lock failed (exit {done.returncode}): the lock scenario is skipped\n"
                 + done.stderr[-1500:])
            return None
        return done.stdout

    def limit_ms(self, scenario: Scenario, latency: float, bandwidth: float | None) -> float | None:
        facts = self.facts.get(scenario.name)
        if facts is None:
            return None
        round_trips = {"cold": 2 * facts["depth"] + 1, "lock": 1, "warm": 0}[scenario.kind]
        transfer = facts["largest"] / bandwidth if bandwidth and scenario.kind != "warm" else 0.0
        return (round_trips * latency + transfer) * 1000

    def measure(self, runtime, scenarios: Sequence[Scenario], mirror: Mirror, *, warmup: bool) -> None:
        for scenario in scenarios:
            self.plan_facts(scenario, mirror)
            if warmup and scenario.kind != "import":
                # Not recorded: fills the snapshot with whatever each installer asks for.
                for tool in TOOLS:
                    self.run_one(runtime, scenario, tool, -1, mirror)
            for pair in range(self.args.pairs):
                for tool in TOOLS:
                    row = self.run_one(runtime, scenario, tool, pair, mirror)
                    if row is not None:
                        self.rows.append(row)
                if scenario.kind == "warm":
                    self.rows.append(self.baseline(runtime, scenario, pair))


def summarize(bench: Bench, scenarios: Sequence[Scenario], runtimes: Sequence[str]) -> list[dict]:
    """One line per (runtime, scenario): medians, per-pair ratios, traffic, limit."""
    lines = []
    latency, bandwidth = bench.args.latency, bench.args.bandwidth_bytes
    for runtime in runtimes:
        for scenario in scenarios:
            rows = [r for r in bench.rows if r["runtime"] == runtime and r["scenario"] == scenario.name]
            if not rows:
                continue
            by_tool = {t: [r for r in rows if r["tool"] == t] for t in (*TOOLS, "unpack-only")}

            def ok(tool):
                return [r for r in by_tool[tool] if not r["error"] and r["total_ms"] is not None]

            def med(tool, key):
                values = [r[key] for r in ok(tool)]
                return statistics.median(values) if values else None

            def med_traffic(tool, key):
                values = [r["traffic"][key] for r in ok(tool)]
                return statistics.median(values) if values else None

            pairs = {}
            for r in rows:
                pairs.setdefault(r["pair"], {})[r["tool"]] = r
            ratios = [
                p["micropkg"]["total_ms"] / p["micropip"]["total_ms"]
                for p in pairs.values()
                if all(t in p and not p[t]["error"] and p[t]["total_ms"] for t in TOOLS)
            ]
            errors = {t: sorted({r["error"] for r in by_tool[t] if r["error"]}) for t in TOOLS}
            lines.append({
                "runtime": runtime,
                "scenario": scenario.name,
                "title": scenario.title,
                "kind": scenario.kind,
                "note": scenario.note,
                "micropkg_ms": med("micropkg", "total_ms"),
                "micropip_ms": med("micropip", "total_ms"),
                "micropkg_import_ms": med("micropkg", "import_ms"),
                "micropip_import_ms": med("micropip", "import_ms"),
                "micropkg_load_ms": med("micropkg", "load_ms"),
                "micropip_load_ms": med("micropip", "load_ms"),
                "ratio": statistics.median(ratios) if ratios else None,
                "ratios": ratios,
                "pairs": len(pairs),
                "requests": (med_traffic("micropkg", "requests"), med_traffic("micropip", "requests")),
                "bytes": (med_traffic("micropkg", "bytes"), med_traffic("micropip", "bytes")),
                "critical_path": (med_traffic("micropkg", "critical_path"), med_traffic("micropip", "critical_path")),
                "limit_ms": bench.limit_ms(scenario, latency, bandwidth) if scenario.kind != "import" else None,
                "unpack_ms": med("unpack-only", "total_ms"),
                "errors": errors,
                "upstream_fetches": sum(r.get("upstream_fetches", 0) for r in rows),
                "facts": {k: v for k, v in bench.facts.get(scenario.name, {}).items() if k != "lock"},
                "skipped": not by_tool["micropkg"],
            })
    return lines


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="micropkg vs micropip, side by side")
    parser.add_argument("--pairs", type=int, default=5, help="A/B pairs per scenario and runtime (default 5)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every request (default 0.05)")
    parser.add_argument("--bandwidth", type=float, default=None, help="shared bandwidth cap in MB/s (default none)")
    parser.add_argument("--runtimes", default="node,chrome", help="comma-separated: node, chrome")
    parser.add_argument("--scenarios", default=None, help="comma-separated scenario names (default all)")
    parser.add_argument("--quick", action="store_true", help=f"1 pair of {', '.join(QUICK)}: a smoke run")
    parser.add_argument("--name", default=None, help="results file name (default benchmark, or quick)")
    parser.add_argument("--from-json", type=Path, metavar="JSON",
                        help="only redo the table and chart of an earlier run's results/<name>.json")
    args = parser.parse_args(argv)
    if args.from_json:
        from .report import write_report

        saved = json.loads(args.from_json.read_text())
        name = args.name or args.from_json.stem
        write_report(RESULTS, name, saved["meta"], saved["summary"], saved["runs"])
        print((RESULTS / f"{name}.md").read_text())
        return 0
    if args.quick:
        args.pairs = 1
        args.scenarios = args.scenarios or ",".join(QUICK)
    args.bandwidth_bytes = args.bandwidth * 1e6 if args.bandwidth else None
    names = args.scenarios.split(",") if args.scenarios else [s.name for s in SCENARIOS]
    unknown = set(names) - {s.name for s in SCENARIOS}
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {[s.name for s in SCENARIOS]}")
    scenarios = [s for s in SCENARIOS if s.name in names]
    runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]

    bench = Bench(args)
    started = datetime.datetime.now(datetime.UTC)
    with Mirror(bench.snapshot, latency=args.latency, bandwidth=args.bandwidth_bytes) as mirror:
        for i, name in enumerate(runtimes):
            if name == "node":
                bench.measure(NodeRuntime(bench.dist), scenarios, mirror, warmup=i == 0)
            elif name == "chrome":
                mounts = {"web": Path(__file__).parent / "web", "pyodide": bench.dist,
                          "wheels": CACHE / "wheels", "files": SNAPSHOT / "files"}
                with StaticServer(mounts) as static:
                    bench.measure(ChromeRuntime(static), scenarios, mirror, warmup=i == 0)
            else:
                parser.error(f"unknown runtime {name!r}")

    from .report import write_report

    lines = summarize(bench, scenarios, runtimes)
    meta = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "pyodide": PYODIDE_VERSION,
        "latency_ms": args.latency * 1000,
        "bandwidth_mb_s": args.bandwidth,
        "pairs": args.pairs,
        "quick": args.quick,
    }
    name = args.name or ("quick" if args.quick else "benchmark")
    paths = write_report(RESULTS, name, meta, lines, bench.rows)
    print((RESULTS / f"{name}.md").read_text())
    _log("wrote " + ", ".join(str(p.relative_to(REPO)) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
