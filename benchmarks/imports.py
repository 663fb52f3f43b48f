"""What importing an install's machinery costs in a fresh Pyodide, and where it goes.

    python -m benchmarks.imports [--runs 3] [--pyodide 314.0.7]

Each run boots a fresh Pyodide under Node from the fair race's bytecode deployment
(:func:`benchmarks.fair.prepare_deployment`: micropkg, packaging and resolvelib with
CPython 3.14 bytecode), then imports what a cold ``install()`` imports, in its order
(``micropkg.api``, then ``head_start._SESSION`` and ``_RESOLVER``), with the modules
``defer_unused_modules`` defers left deferred. It prints the total, and the part spent
creating dataclasses and compiling regular expressions (both run Python code at import
time, slow in WebAssembly), with the costliest of each. Not a timed test: figures for
the README and for finding what to cut.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.fair import prepare_deployment  # noqa: E402

# Runs inside Pyodide: wraps dataclasses' class processing and re's compiler with timers.
_MEASURE = r'''
import json, re, sys, time, dataclasses
from micropkg.index import head_start
head_start.defer_unused_modules()
names = ["micropkg.api", *head_start._SESSION, *head_start._RESOLVER]
classes, patterns = [], []
compile_pattern, process_class = re._compiler.compile, dataclasses._process_class
def timed_compile(pattern, flags=0):
    begun = time.perf_counter()
    try:
        return compile_pattern(pattern, flags)
    finally:
        patterns.append(((time.perf_counter() - begun) * 1000, " ".join(str(pattern).split())[:60]))
def timed_class(cls, *args, **kwargs):
    begun = time.perf_counter()
    try:
        return process_class(cls, *args, **kwargs)
    finally:
        classes.append(((time.perf_counter() - begun) * 1000, f"{cls.__module__}.{cls.__qualname__}"))
re._compiler.compile, dataclasses._process_class = timed_compile, timed_class
begun = time.perf_counter()
for name in names:
    __import__(name)
total = (time.perf_counter() - begun) * 1000
print("@@RESULT@@" + json.dumps({"total": total, "classes": sorted(classes, reverse=True), "patterns": sorted(patterns, reverse=True)}))
'''

_RUNNER = """
import { loadPyodide } from %(module)s;
const py = await loadPyodide({ indexURL: %(folder)s });
await py.loadPackage(["micropkg", "packaging", "resolvelib"]);
await py.runPythonAsync(%(code)s);
"""


def run_once(folder: Path) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "imports.mjs"
        script.write_text(_RUNNER % {
            "module": json.dumps((folder / "pyodide.mjs").as_uri()), "folder": json.dumps(str(folder) + "/"),
            "code": json.dumps(_MEASURE),
        })
        done = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=300, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("@@RESULT@@"))
    return json.loads(line[len("@@RESULT@@"):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pyodide", default="314.0.7")
    args = parser.parse_args()
    folder = prepare_deployment("bytecode", args.pyodide).dist
    for run in range(args.runs):
        result = run_once(folder)
        classes = sum(ms for ms, _ in result["classes"])
        patterns = sum(ms for ms, _ in result["patterns"])
        print(f"run {run + 1}: imports {result['total']:.0f} ms; {len(result['classes'])} dataclasses {classes:.1f} ms;"
              f" {len(result['patterns'])} regular expressions compiled {patterns:.1f} ms")
        for ms, what in (result["classes"][:3] + result["patterns"][:3]):
            print(f"    {ms:5.1f} ms  {what}")


if __name__ == "__main__":
    main()
