"""A Node script that installs with micropkg ends when its work does.

Node exits when nothing is pending. A request deadline kept as an event-loop
timer in Pyodide outlived the install (a cancelled ``call_later`` keeps its JS
timeout), so ``node script.mjs`` sat idle for 120 s after printing its result.
This boots Pyodide 314 in a plain Node process -- no ``process.exit`` -- and
times how long the process lives after the install returns.
"""

from __future__ import annotations

import json
import subprocess
import time

from tests.harness import pyodide_dist

SCRIPT = r"""
import path from "node:path";
import { pathToFileURL } from "node:url";
const [dist, index] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(path.resolve(dist) + path.sep + "pyodide.mjs").href);
const pyodide = await loadPyodide({ indexURL: path.resolve(dist) + path.sep });
await pyodide.loadPackage("micropkg", { messageCallback: () => {} });
pyodide.globals.set("INDEX", index);
const installed = await pyodide.runPythonAsync(`
import micropkg
[i.name for i in await micropkg.install("harness-demo==2.0.0", index_urls=[INDEX])]
`);
console.log(JSON.stringify({ installed: installed.toJs(), at: Date.now() }));
"""


def test_node_exits_as_soon_as_the_install_is_done(index_server, tmp_path):
    dist = pyodide_dist.prepare("314.0.7")
    script = tmp_path / "install.mjs"
    script.write_text(SCRIPT)
    done = subprocess.run(
        ["node", str(script), str(dist), index_server.simple_url],
        capture_output=True, text=True, timeout=150,
    )
    ended = time.time() * 1000
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(result["installed"]) == ["harness-demo", "harness-dep"]
    lingered = (ended - result["at"]) / 1000
    assert lingered < 10, f"node stayed up {lingered:.1f} s after the install returned"
