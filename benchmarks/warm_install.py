"""Time a warm page load's install with and without the installed-tree cache, under Node.

Each run is a fresh Node process with a fresh Pyodide (a page load), sharing one
``MICROPKG_CACHE_DIR``; the index is the loopback mirror of the test harness.
Three kinds of run, ``--repeat`` times each, printed as the median and range of
``import micropkg`` + ``install(...)`` inside Pyodide:

* cold: the cache directory empty;
* warm, no tree: pages, metadata and wheels kept, the tree entry deleted (the
  warm path before the tree cache);
* warm, tree: everything kept (a hit).

    python3 -m benchmarks.warm_install --repeat 5 luau-wasm
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from tests.harness import pyodide_dist
from tests.harness.index_server import IndexServer
from tests.harness.pypi_cache import real_wheels
from tests.runtime.node_runner import run_python

CODE = """
import sys, time
async def main(args):
    started = time.perf_counter()
    import micropkg
    installed = await micropkg.install(args["requirements"], index_urls=[args["index"]])
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "installed": [i.filename for i in installed],
            "resolver": "micropkg.resolution.resolver" in sys.modules}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("requirements", nargs="+")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pyodide-version", default=pyodide_dist.DEFAULT_VERSION)
    args = parser.parse_args()
    dist = pyodide_dist.prepare(args.pyodide_version)
    cache = Path(tempfile.mkdtemp(prefix="micropkg-warm-bench-"))
    os.environ["MICROPKG_CACHE_DIR"] = str(cache)
    results: dict[str, list[float]] = {"cold": [], "warm, no tree": [], "warm, tree": []}
    try:
        with IndexServer() as server:
            for wheel in real_wheels():
                server.add(wheel)
            job = {"requirements": args.requirements, "index": server.simple_url}
            for _ in range(args.repeat):
                for kind in results:
                    if kind == "cold":
                        shutil.rmtree(cache, ignore_errors=True)
                        cache.mkdir()
                    elif kind == "warm, no tree":
                        shutil.rmtree(cache / "tree", ignore_errors=True)
                    outcome = run_python(dist, CODE, job)
                    assert isinstance(outcome, dict)
                    assert outcome["resolver"] == (kind != "warm, tree"), (kind, outcome)
                    results[kind].append(outcome["seconds"])
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(f"install({args.requirements}) under Node, Pyodide {args.pyodide_version}, {args.repeat} runs each:")
    for kind, seconds in results.items():
        ms = sorted(s * 1000 for s in seconds)
        print(f"  {kind:14} median {statistics.median(ms):6.0f} ms  (range {ms[0]:.0f}-{ms[-1]:.0f})")


if __name__ == "__main__":
    main()
