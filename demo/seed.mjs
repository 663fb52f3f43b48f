// The seed example: a fresh Pyodide under Node installs luau-wasm from PyPI with
// micropkg, then runs Luau code through it.
//
//   node demo/seed.mjs <Pyodide folder whose lockfile lists micropkg>
//
// scripts/seed prepares that folder and runs this.
import path from "node:path";
import { pathToFileURL } from "node:url";

const dist = path.resolve(process.argv[2] ?? ".cache/pyodide/314.0.7") + path.sep;
const { loadPyodide } = await import(pathToFileURL(dist + "pyodide.mjs").href);
const pyodide = await loadPyodide({ indexURL: dist });
await pyodide.loadPackage("micropkg", { messageCallback: () => {} });

await pyodide.runPythonAsync(`
import micropkg
await micropkg.install("luau-wasm")
import luau_wasm
print(luau_wasm.execute(r'''
local animals = {"fox", "owl", "frog", "rabbit"}
table.sort(animals, function(a, b) return #a < #b end)
for i, name in animals do
 print(i .. ". " .. name .. " (" .. #name .. ")")
end
'''))
`);
