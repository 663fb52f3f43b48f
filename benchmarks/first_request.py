"""How long after ``install()`` is called the first request reaches the index, in a fresh Pyodide.

    python -m benchmarks.first_request [--runs 7] [--pyodide 314.0.7] [--baseline /path/to/other/checkout]

Each run boots a fresh Pyodide under Node (``loadPackage("micropkg")`` only
unpacks the wheel: nothing of micropkg is imported yet) with a fresh, empty
cache directory, then, in one ``runPythonAsync``, runs
``import micropkg; await micropkg.install(NAME, index_urls=[loopback])``.

The clocks: just before ``runPythonAsync`` the page takes
``performance.timeOrigin + performance.now()`` (Node derives ``timeOrigin``
from the wall clock at process start, and ``now()`` is monotonic since then);
the loopback index, a thread of this process, takes ``time.time()`` when it
has parsed a request's first line. Both read the same machine's wall clock,
so their difference is the delay (to within the clock's resolution and the
drift of Node's monotonic clock over a few seconds, well under a millisecond).
The server's time includes the request's trip over loopback (tens of
microseconds), as a real index's would.

``--baseline DIR`` runs another checkout's micropkg (its own Pyodide folder,
prepared by its own harness) interleaved with this one: A, B, A, B, ...
so both see the same machine load. Medians are printed for each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness import index_server as index_server_module  # noqa: E402
from tests.harness.index_server import IndexServer  # noqa: E402
from tests.harness.pyodide_dist import DEFAULT_VERSION  # noqa: E402
from tests.harness.wheels import make_wheel  # noqa: E402

RUN_TIMEOUT = 120  # seconds per fresh runtime

NODE_RUN = r"""
import path from "node:path";
import { pathToFileURL } from "node:url";
const [dist, indexUrl, requirement] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(path.resolve(dist) + path.sep + "pyodide.mjs").href);
const pyodide = await loadPyodide({ indexURL: path.resolve(dist) + path.sep });
await pyodide.loadPackage("micropkg", { messageCallback: () => {} });
pyodide.globals.set("INDEX_URL", indexUrl);
pyodide.globals.set("REQUIREMENT", requirement);
const code = "import micropkg\nawait micropkg.install(REQUIREMENT, index_urls=[INDEX_URL], pyodide_packages=False)\n";
const started = performance.timeOrigin + performance.now();
await pyodide.runPythonAsync(code);
const ended = performance.timeOrigin + performance.now();
console.log(JSON.stringify({ started, ended }));
process.exit(0);
"""


class _FirstLines:
    """Wall-clock times at which the index parsed each request's first line."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[tuple[float, str]] = []

    def install(self) -> None:
        recorder = self
        original = index_server_module._Handler.parse_request

        def parse_request(handler) -> bool:
            with recorder.lock:
                recorder.seen.append((time.time(), handler.raw_requestline.decode("latin-1").strip()))
            return original(handler)

        index_server_module._Handler.parse_request = parse_request  # type: ignore[method-assign]


def _dist_for(checkout: Path, version: str) -> Path:
    code = f"from tests.harness import pyodide_dist; print(pyodide_dist.prepare({version!r}))"
    out = subprocess.run([sys.executable, "-c", code], cwd=checkout, capture_output=True, text=True, check=True)
    return Path(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh runtimes per checkout (max 30)")
    parser.add_argument("--pyodide", default=DEFAULT_VERSION)
    parser.add_argument("--baseline", type=Path, help="another checkout, run interleaved with this one")
    parser.add_argument("--requirement", default="bench-first")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 30:
        parser.error("keep it bounded: --runs within [1, 30]")
    checkouts = {"this": REPO}
    if args.baseline is not None:
        checkouts = {"baseline": args.baseline.resolve(), "this": REPO}
    dists = {label: _dist_for(path, args.pyodide) for label, path in checkouts.items()}
    recorder = _FirstLines()
    recorder.install()
    delays: dict[str, list[float]] = {label: [] for label in dists}
    totals: dict[str, list[float]] = {label: [] for label in dists}
    with tempfile.TemporaryDirectory() as tmp, IndexServer() as index:
        index.add(make_wheel(args.requirement, "1.0", files={"bench_first/__init__.py": "X = 1\n"}))
        script = Path(tmp) / "run.mjs"
        script.write_text(NODE_RUN)
        for i in range(args.runs):
            for label, dist in dists.items():
                with recorder.lock:
                    recorder.seen.clear()
                env = {**os.environ, "MICROPKG_CACHE_DIR": str(Path(tmp) / f"cache-{label}-{i}")}
                done = subprocess.run(
                    ["node", str(script), str(dist), index.simple_url, args.requirement],
                    capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env,
                )
                if done.returncode != 0:
                    # Pyodide quotes its minified source around an error: keep the readable lines.
                    print("\n".join(line for line in done.stderr.splitlines() if len(line) < 400)[-3000:], file=sys.stderr)
                    return 1
                marks = json.loads(done.stdout.strip().splitlines()[-1])
                with recorder.lock:
                    first_time, first_line = recorder.seen[0]
                delay = first_time * 1000 - marks["started"]
                total = marks["ended"] - marks["started"]
                delays[label].append(delay)
                totals[label].append(total)
                print(f"run {i + 1} {label}: first request {delay:.1f} ms ({first_line!r}), install {total:.0f} ms")
    for label in dists:
        print(f"{label}: median first request {statistics.median(delays[label]):.1f} ms after install() was called,"
              f" median install {statistics.median(totals[label]):.0f} ms ({args.runs} runs, Pyodide {args.pyodide}, Node)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
