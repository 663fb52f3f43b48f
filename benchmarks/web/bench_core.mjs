// One benchmark run in a fresh Pyodide, the same under Node and in Chromium.
//
// runBench(loadPyodide, config) boots Pyodide from config.indexURL, loads the
// installer under test with Pyodide's own loader (config.packages: lockfile
// names or wheel URLs/paths), then runs config.python -- a Python snippet whose
// last expression is a JSON string -- and returns {boot_ms, load_ms, result}.
// Timing inside the snippet is done by the snippet (time.perf_counter).

export async function runBench(loadPyodide, config) {
  const t0 = performance.now();
  const pyodide = await loadPyodide({ indexURL: config.indexURL, env: config.env ?? {} });
  const t1 = performance.now();
  if (config.packages.length) {
    await pyodide.loadPackage(config.packages, { messageCallback: () => {}, errorCallback: (m) => console.error(m) });
  }
  const t2 = performance.now();
  if (config.nodeCacheDir) {
    // Under Node micropkg keeps its cache in a host directory named by this variable.
    process.env.MICROPKG_CACHE_DIR = config.nodeCacheDir;
  }
  let result;
  try {
    result = JSON.parse(await pyodide.runPythonAsync(config.python));
  } catch (error) {
    result = { error: String(error).slice(-2000) };
  }
  return { boot_ms: t1 - t0, load_ms: t2 - t1, result };
}
