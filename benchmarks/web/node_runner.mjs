// node benchmarks/web/node_runner.mjs '<config JSON>': one run under Node, one JSON line out.
import path from "node:path";
import { pathToFileURL } from "node:url";
import { runBench } from "./bench_core.mjs";

const config = JSON.parse(process.argv[2]);
const dist = path.resolve(config.indexURL) + path.sep;
const { loadPyodide } = await import(pathToFileURL(dist + "pyodide.mjs").href);
const outcome = await runBench(loadPyodide, { ...config, indexURL: dist });
process.stdout.write("BENCH-RESULT " + JSON.stringify(outcome) + "\n");
process.exit(0);
