"""Side by side over many projects: ``micropkg.install(name)`` and ``micropip.install(name)``.

``python3 -m benchmarks.sweep [NAME ...] [--projects FILE] [--limit N] [--jobs 2] [--timeout S]
[-o benchmarks/results/sweep.md] [--readme README.md] [--from-json JSON]``

For each project (default: ``benchmarks/data/top-projects.txt``), two fresh
Pyodide 314.0.7 runtimes under Node, one per installer, each a new ``node``
process killed after ``--timeout`` seconds (:class:`benchmarks.runtimes.NodeRuntime`)
with its own empty ``MICROPKG_CACHE_DIR``. Both install from live PyPI with
their defaults. micropip is 0.11.1's wheel from PyPI, loaded with
``loadPackage``; micropkg is the checkout's wheel from the benchmark's
Pyodide folder (:func:`benchmarks.bench.bench_pyodide`), whose lockfile lists
only micropkg, packaging and resolvelib: the stock lockfile's other entries
point at Pyodide's CDN, which this network cannot reach, and both installers
would try it before PyPI.

Each run records its outcome (``installed``; ``refused``: ``install`` raised;
``timeout``; ``crash``: the runtime died or gave no answer), the time of
``import <installer>`` and of ``install`` inside Pyodide and of the whole ``node`` process, the
distributions the install added (``importlib.metadata`` before and after, the
same for both installers), and the error's type and message. The table and
all rows go to ``-o`` and the ``.json`` beside it (rewritten as projects
finish, so an interrupted sweep keeps what it measured); :mod:`benchmarks.sweep_report`
writes them.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

from .bench import PYODIDE_VERSION, bench_pyodide, micropip_wheel
from .runtimes import NodeRuntime, RunFailed, RunTimedOut
from .sweep_report import compare, render, summarize, update_readme

__all__ = ["TOOLS", "install_snippet", "main", "read_projects", "run_install"]

HERE = Path(__file__).resolve().parent
DEFAULT_PROJECTS = HERE / "data" / "top-projects.txt"
DEFAULT_OUTPUT = HERE / "results" / "sweep.md"
TOOLS = ("micropkg", "micropip")

# Runs inside Pyodide; its last expression is the JSON answer. Errors are
# caught here so that a refusal is an answer; anything that escapes (or kills
# the runtime) is a crash.
_SNIPPET = """
import importlib, importlib.metadata, json, re, time, traceback

def _dists():
    importlib.invalidate_caches()  # the path finders' listings predate the install
    return {re.sub(r"[-_.]+", "-", d.metadata["Name"] or "").lower(): d.version
            for d in importlib.metadata.distributions()}

_before = _dists()
_error_type = _error = _traceback = None
_t0 = time.perf_counter()
_t1 = None
try:
    import TOOL
    _t1 = time.perf_counter()
    await TOOL.install(PROJECT)
except Exception as _exc:
    _error_type = type(_exc).__name__
    _error = str(_exc)[:4000]
    _traceback = "".join(traceback.format_exception(_exc))[-4000:]
_t2 = time.perf_counter()
_after = _dists()
json.dumps({
    "outcome": "refused" if _error_type else "installed",
    "import_ms": None if _t1 is None else (_t1 - _t0) * 1000,
    "install_ms": None if _t1 is None else (_t2 - _t1) * 1000,
    "installed": sorted(f"{n}=={v}" for n, v in _after.items() if _before.get(n) != v),
    "present": _after,
    "error_type": _error_type,
    "error": _error,
    "traceback": _traceback,
})
"""


def install_snippet(tool: str, project: str) -> str:
    """The Python that imports ``tool`` and awaits ``tool.install(project)``."""
    if tool not in TOOLS:
        raise ValueError(f"unknown installer {tool!r}; expected one of {TOOLS}")
    return _SNIPPET.replace("import TOOL", f"import {tool}").replace(
        "TOOL.install(PROJECT)", f"{tool}.install({project!r})"
    )


def read_projects(path: Path) -> list[str]:
    """Project names from ``path``: one a line; blank lines and ``#`` comments skipped."""
    names = []
    for line in path.read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if name and name not in names:
            names.append(name)
    return names


def _first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else ""


def run_install(runtime: NodeRuntime, tool: str, project: str, packages: list[str]) -> dict:
    """One fresh runtime, one ``install(project)`` with ``tool``; the row describing it."""
    config = {"packages": packages, "python": install_snippet(tool, project)}
    started = time.monotonic()
    with runtime.origin() as origin:  # a new, empty MICROPKG_CACHE_DIR
        failure: tuple[str, str, str | None] | None = None
        try:
            answer = origin.run(config)
        except RunTimedOut as exc:
            answer, failure = {}, ("timeout", str(exc), None)
        except RunFailed as exc:
            stderr = str(exc)
            # The runtime's last words say more than "node exited 1".
            last = [line for line in stderr.splitlines() if line.strip()]
            answer, failure = {}, ("crash", last[-1] if last else stderr, stderr)
    wall_s = time.monotonic() - started
    result = answer.get("result", {})
    row = {
        "project": project,
        "tool": tool,
        "wall_s": round(wall_s, 2),
        "boot_ms": answer.get("boot_ms"),
        "load_ms": answer.get("load_ms"),
        "import_ms": result.get("import_ms"),
        "install_ms": result.get("install_ms"),
        "installed": result.get("installed", []),
        "present": result.get("present", {}),
        "error_type": result.get("error_type"),
        "error": _first_line(result.get("error")) or None,
        "error_full": result.get("traceback") or result.get("error"),
    }
    if failure is not None:
        row.update(outcome=failure[0], error_type=None, error=failure[1], error_full=failure[2])
    elif "outcome" not in result:
        # runBench caught an error the snippet could not (the runtime failed underneath it).
        row.update(outcome="crash", error=_first_line(result.get("error")) or "no answer", error_full=result.get("error"))
    else:
        row["outcome"] = result["outcome"]
    return row


def _node_version() -> str:
    return subprocess.run(["node", "--version"], check=False, capture_output=True, text=True).stdout.strip()


def _log(message: str) -> None:
    print(f"[sweep] {message}", file=sys.stderr, flush=True)


class Sweep:
    """Runs both installers over ``projects`` and keeps the outputs up to date."""

    def __init__(self, projects: list[str], args: argparse.Namespace) -> None:
        self.projects = projects
        self.args = args
        self.micropip = micropip_wheel()
        self.dist = bench_pyodide()
        self.runtime = NodeRuntime(self.dist, timeout=args.timeout)
        self.packages = {"micropkg": ["micropkg"], "micropip": [str(self.micropip)]}
        self.runs: dict[tuple[str, str], dict] = {}
        self.lock = threading.Lock()
        lock = json.loads((self.dist / "pyodide-lock.json").read_text())["packages"]
        self.meta = {
            "started": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "pyodide": PYODIDE_VERSION,
            "micropkg": lock["micropkg"]["file_name"],
            "micropip": self.micropip.name,
            "lockfile": sorted(lock),
            "timeout_s": args.timeout,
            "jobs": args.jobs,
            "projects": len(projects),
            "machine": f"{platform.machine()}, {platform.system()} {platform.release()}; Node {_node_version()}",
        }

    def tasks(self) -> list[tuple[str, str]]:
        # Alternate which installer goes first, so neither always meets PyPI's caches cold.
        return [
            (project, tool)
            for i, project in enumerate(self.projects)
            for tool in (TOOLS if i % 2 == 0 else TOOLS[::-1])
        ]

    def run(self) -> list[dict]:
        started = time.monotonic()
        tasks = self.tasks()
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.args.jobs) as pool:
            futures = {
                pool.submit(run_install, self.runtime, tool, project, self.packages[tool]): (project, tool)
                for project, tool in tasks
            }
            for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
                project, tool = futures[future]
                row = future.result()
                _log(
                    f"{done}/{len(tasks)} {project} {tool}: {row['outcome']}"
                    + (f" {(row['import_ms'] + row['install_ms']) / 1000:.1f} s" if row["install_ms"] is not None else "")
                    + f" (process {row['wall_s']:.1f} s)"
                    + (f", {len(row['installed'])} added" if row["outcome"] == "installed" else "")
                    + (f": {(row['error_type'] or row['outcome'])}: {row['error']}"[:200] if row["error"] else "")
                )
                with self.lock:
                    self.runs[project, tool] = row
                    if all((project, t) in self.runs for t in TOOLS):
                        self.write(time.monotonic() - started, final=False)
        return self.write(time.monotonic() - started, final=True)

    def write(self, elapsed: float, *, final: bool) -> list[dict]:
        rows = [
            {"project": p, **{t: self.runs[p, t] for t in TOOLS}, **compare(self.runs[p, "micropkg"], self.runs[p, "micropip"])}
            for p in self.projects
            if all((p, t) in self.runs for t in TOOLS)
        ]
        meta = {**self.meta, "elapsed_s": round(elapsed, 1), "complete": final and len(rows) == len(self.projects)}
        write_outputs(self.args.output, meta, rows)
        return rows


def write_outputs(output: Path, meta: dict, rows: list[dict]) -> None:
    """``output`` (Markdown) and the JSON beside it, each replaced in one step."""
    output.parent.mkdir(parents=True, exist_ok=True)
    document = {"meta": meta, "summary": summarize(rows), "rows": rows}
    for path, text in ((output.with_suffix(".json"), json.dumps(document, indent=1)), (output, render(meta, rows))):
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text)
        temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m benchmarks.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="projects to sweep (instead of --projects)")
    parser.add_argument("--projects", type=Path, default=DEFAULT_PROJECTS,
                        help=f"file of project names, one a line (default {DEFAULT_PROJECTS.relative_to(HERE.parent)})")
    parser.add_argument("--limit", type=int, default=None, help="only the first N projects")
    parser.add_argument("--jobs", type=int, default=2, help="runtimes at a time (default 2)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds before a run's node process is killed (default 60)")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT,
                        help="Markdown table; the JSON goes beside it (default benchmarks/results/sweep.md)")
    parser.add_argument("--readme", type=Path, default=None,
                        help="also put the table between <!-- sweep:begin --> and <!-- sweep:end --> in this file")
    parser.add_argument("--from-json", type=Path, metavar="JSON", help="only redo the table of an earlier sweep's JSON")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")

    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        write_outputs(args.output, saved["meta"], saved["rows"])
    else:
        projects = args.names or read_projects(args.projects)
        if args.limit is not None:
            projects = projects[: args.limit]
        if not projects:
            parser.error("no projects to sweep")
        Sweep(projects, args).run()
    table = args.output.read_text()
    if args.readme:
        saved = json.loads(args.output.with_suffix(".json").read_text())
        update_readme(args.readme, render(saved["meta"], saved["rows"], times=False))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
