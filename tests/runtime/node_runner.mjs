// Runs Python source in a Pyodide under Node, without pytest-pyodide.
//
// pytest-pyodide's @run_in_pyodide pickles the host's (3.11) AST of the test
// function into Pyodide, which Python 3.15 cannot unpickle
// (TypeError: ast.alias.__init__ missing ... 'name'), so Pyodide 315 tests
// go through this runner instead: see node_runner.py beside it.
//
//   node node_runner.mjs < job.json
//
// The job: {"indexURL": Pyodide folder, "packages": [...] to loadPackage,
// "code": Python source defining `async def main(args)`, "args": {...}}.
// The last line of stdout is "@@RESULT@@" + JSON: {"ok": true, "result": ...}
// (main's return value) or {"ok": false, "error": message}.

import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const job = JSON.parse(readFileSync(0, "utf8"));
const indexURL = path.resolve(job.indexURL) + path.sep;
let outcome;
try {
  const { loadPyodide } = await import(pathToFileURL(indexURL + "pyodide.mjs").href);
  const pyodide = await loadPyodide({ indexURL });
  // Loading messages go to stderr: stdout carries the result line.
  await pyodide.loadPackage(job.packages ?? ["micropkg"], { messageCallback: (m) => console.error(m) });
  pyodide.globals.set("_job_args", pyodide.toPy(job.args ?? {}));
  // As a script that exits right after should: what an install keeps for the next run is
  // written after install() returned (micropkg.settled).
  const code = `${job.code}\n\nimport json as _json, sys as _sys\n_result = _json.dumps(await main(_job_args))\n`
    + `if "micropkg.api" in _sys.modules:\n    await _sys.modules["micropkg.api"].settled()\n_result\n`;
  outcome = { ok: true, result: JSON.parse(await pyodide.runPythonAsync(code)) };
} catch (error) {
  outcome = { ok: false, error: String(error?.message ?? error) };
}
process.stdout.write("\n@@RESULT@@" + JSON.stringify(outcome) + "\n");
process.exit(0);
