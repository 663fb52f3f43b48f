// micropkg in a module worker: Pyodide boots and installs off the page's main thread.
//   const worker = new Worker("worker.mjs", { type: "module" });
//   worker.postMessage({ pyodide: "https://…/pyodide/" });  // then: { requirements, indexUrls, code }
// It posts back { type: "ready" | "event" | "output" | "done" | "failed", … }.
let booted;

async function boot({ pyodide: base, wheels }) {
  const { loadPyodide } = await import(new URL("pyodide.mjs", base).href);
  const pyodide = await loadPyodide({ indexURL: base });
  const output = (line) => postMessage({ type: "output", line });
  pyodide.setStdout({ batched: output });
  pyodide.setStderr({ batched: output });
  const problems = [];
  await pyodide.loadPackage(wheels ?? ["micropkg"], { messageCallback: () => {}, errorCallback: (m) => problems.push(m) });
  if (problems.length) throw new Error(problems.join("\n"));
  const micropkg = pyodide.pyimport("micropkg");
  postMessage({ type: "ready", pyodide: pyodide.version, micropkg: micropkg.__version__ });
  return { pyodide, micropkg };
}

async function run({ pyodide, micropkg }, { requirements = [], indexUrls = [], code = "" }) {
  let failure = null;
  let installed = [];
  // Each event is a plain object: it crosses to the page as it is.
  const reporter = micropkg.EventReporter((event) => {
    postMessage({ type: "event", event });
    if (event.event === "failed") failure = `${event.type}: ${event.error}`;
    if (event.event === "installed") installed = event.packages;
  });
  const args = pyodide.toPy(requirements);
  const urls = indexUrls.length ? pyodide.toPy(indexUrls) : undefined;
  try {
    if (requirements.length) {
      (await micropkg.install.callKwargs(args, { index_urls: urls, reporter })).destroy();
    }
  } catch (err) {
    return { type: "done", outcome: "error", installed, error: failure ?? String(err.message ?? err) };
  } finally {
    reporter.destroy();
    args.destroy();
    urls?.destroy();
  }
  try {
    const result = await pyodide.runPythonAsync(code);
    result?.destroy?.();
    return { type: "done", outcome: "ok", installed };
  } catch (err) {
    return { type: "done", outcome: "error", installed, traceback: String(err.message ?? err) };
  }
}

onmessage = async ({ data }) => {
  if (!booted) {
    booted = boot(data);
    booted.catch((err) => postMessage({ type: "failed", error: String(err.message ?? err) }));
    return;
  }
  postMessage(await run(await booted, data));
};
