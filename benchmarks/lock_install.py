"""Install from a lock against a loopback static mirror with added latency, vs the physical limit.

    python -m benchmarks.lock_install [--latency 0.05] [--runs 5] [--pyodide 314.0.7]

What it does, all on 127.0.0.1 and bounded (a fixed number of runs, each
with a timeout; the server stops when the script ends):

1. lays out a set of wheels -- the real PyEmscripten wheels of the test cache
   (luau-wasm, msgpack) and eight small built ones -- on the test harness's
   index server, locks them on the host (``micropkg.commands.cli.lock_requirements``)
   for the chosen Pyodide, and mirrors the lock (``micropkg.lock.mirror``);
2. serves the mirror from a static server that waits ``--latency`` seconds
   before every answer (one round trip);
3. in ``--runs`` fresh Pyodide runtimes under Node, times
   ``await micropkg.install(lock=text)`` (the lock text already in hand, the
   mirror's ``path`` entries resolved against its URL), after timing one
   fetch of the largest wheel through the same server: that fetch *is* the
   physical limit, one round trip plus the largest transfer.

It prints each run and the median ratio install / limit. micropkg's own
modules are imported before the clock starts (the limit is about the network).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from micropkg.commands.cli import lock_requirements, read_location  # noqa: E402
from micropkg.lock.mirror import build_mirror  # noqa: E402
from micropkg.model.pyodide_releases import target_for_pyodide  # noqa: E402
from micropkg.net.transport import UrllibTransport  # noqa: E402
from tests.harness import pyodide_dist  # noqa: E402
from tests.harness.index_server import IndexServer, LoopbackHTTPServer  # noqa: E402
from tests.harness.pypi_cache import real_wheels  # noqa: E402
from tests.harness.wheels import make_wheel  # noqa: E402

RUN_TIMEOUT = 120  # seconds per fresh runtime

NODE_RUN = r"""
import path from "node:path";
import { pathToFileURL } from "node:url";
const [dist, lockUrl, largestUrl] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(path.resolve(dist) + path.sep + "pyodide.mjs").href);
const pyodide = await loadPyodide({ indexURL: path.resolve(dist) + path.sep });
await pyodide.loadPackage("micropkg", { messageCallback: () => {} });
pyodide.globals.set("LOCK_URL", lockUrl);
pyodide.globals.set("LARGEST_URL", largestUrl);
const out = await pyodide.runPythonAsync(`
import json, time
from pyodide.http import pyfetch
import micropkg, micropkg.api  # imported before the clock starts
lock = await (await pyfetch(LOCK_URL)).string()
# A lock given as text has no location: point its relative paths at the mirror.
lock = lock.replace('path = "files/', 'path = "' + LOCK_URL.rsplit("/", 1)[0] + '/files/')
t0 = time.perf_counter()
body = await (await pyfetch(LARGEST_URL + "?probe")).bytes()
limit = time.perf_counter() - t0
t0 = time.perf_counter()
installed = await micropkg.install(lock=lock)
took = time.perf_counter() - t0
import luau_wasm, msgpack._cmsgpack
json.dumps({"limit": limit, "install": took, "wheels": len(installed), "largest": len(body)})
`);
console.log(out);
process.exit(0);  // the runtime may keep idle timers alive; the result is in
"""


class _Handler(SimpleHTTPRequestHandler):
    latency = 0.05

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        """Quiet: the benchmark prints its own summary."""

    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def do_GET(self):
        time.sleep(self.latency)  # one round trip, in this request's own thread
        super().do_GET()


def _serve(directory: Path, latency: float) -> tuple[ThreadingHTTPServer, str]:
    handler = type("Handler", (_Handler,), {"latency": latency})
    server = LoopbackHTTPServer(("127.0.0.1", 0), lambda *a: handler(*a, directory=str(directory)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def _prepare(pyodide: str, out: Path) -> list[str]:
    """Lock and mirror the benchmark's wheels into ``out``; return their file names."""
    target = target_for_pyodide(pyodide)
    wanted = [w for w in real_wheels() if w.filename.split("-")[2] == target.tags[0].interpreter]
    built = [make_wheel(f"bench-lock-{i}", "1.0", files={f"bench_lock_{i}/__init__.py": "X = 1\n" * 200})
             for i in range(8)]
    with IndexServer() as index:
        for wheel in (*wanted, *built):
            index.add(wheel)
        requirements = [w.project for w in wanted] + [w.name for w in built]
        lock = asyncio.run(lock_requirements(requirements, target, index_urls=[index.simple_url]))
        transport = UrllibTransport()
        mirror = asyncio.run(build_mirror(lock, out, lambda url: read_location(url, transport)))
    return list(mirror.wheels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every answer (max 1)")
    parser.add_argument("--runs", type=int, default=5, help="fresh runtimes to time (max 20)")
    parser.add_argument("--pyodide", default=pyodide_dist.DEFAULT_VERSION)
    args = parser.parse_args(argv)
    if not (0 <= args.latency <= 1 and 1 <= args.runs <= 20):
        parser.error("keep it bounded: --latency within [0, 1] s, --runs within [1, 20]")
    dist = pyodide_dist.prepare(args.pyodide)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        wheels = _prepare(args.pyodide, root / "mirror")
        largest = max(wheels, key=lambda name: (root / "mirror" / "files" / name).stat().st_size)
        (root / "run.mjs").write_text(NODE_RUN)
        server, url = _serve(root / "mirror", args.latency)
        try:
            results = []
            for i in range(args.runs):
                done = subprocess.run(
                    ["node", str(root / "run.mjs"), str(dist), url + "pylock.toml", url + "files/" + largest],
                    capture_output=True, text=True, timeout=RUN_TIMEOUT,
                )
                if done.returncode != 0:
                    print(done.stderr[-2000:], file=sys.stderr)
                    return 1
                result = json.loads(done.stdout.strip().splitlines()[-1])
                results.append(result)
                print(f"run {i + 1}: install {result['install'] * 1000:.0f} ms, limit {result['limit'] * 1000:.0f} ms"
                      f" (one round trip + {result['largest']} bytes), ratio {result['install'] / result['limit']:.2f}")
        finally:
            server.shutdown()
            server.server_close()
    ratios = [r["install"] / r["limit"] for r in results]
    print(f"{results[0]['wheels']} wheels, latency {args.latency * 1000:.0f} ms, Pyodide {args.pyodide} under Node:"
          f" median install {statistics.median(r['install'] for r in results) * 1000:.0f} ms,"
          f" median limit {statistics.median(r['limit'] for r in results) * 1000:.0f} ms,"
          f" median ratio {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
