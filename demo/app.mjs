// The demo app: boot Pyodide, load micropkg, install what the user names, run their code.
//
// Query parameters (all optional):
//   pyodide  - URL of a Pyodide distribution folder (default: the CDN build of 314.0.7)
//   index    - package index URL(s) for micropkg, comma separated (default: PyPI)
//   wheels   - comma-separated wheel URLs of micropkg, packaging and resolvelib, for a
//              distribution whose lockfile does not list micropkg (Pyodide's own does not)
//
// The page reports its progress in <body data-state>: "booting", "ready", "running",
// "done" (with data-outcome "ok" or "error"), or "failed" when Pyodide or micropkg
// could not be loaded. Tests and embedding pages can wait on it.
const params = new URLSearchParams(location.search);
const pyodideBase = new URL(params.get("pyodide") ?? "https://cdn.jsdelivr.net/pyodide/v314.0.7/full/", location.href);
const indexUrls = params.get("index") ?? "";
const wheels = params.get("wheels")?.split(",").filter(Boolean) ?? null;

// The Python half. Only strings cross into JavaScript, so no PyProxy of a
// result outlives a call, and micropkg's own errors arrive as one readable
// line instead of a traceback through micropkg's internals.
const HELPERS = `
import json
import micropkg

VERSION = micropkg.__version__

async def install(requirements, index_urls):
    requirements = [line.strip() for line in requirements.splitlines() if line.strip()]
    index_urls = [url for url in index_urls.split(",") if url] or None
    try:
        installed = await micropkg.install(requirements, index_urls=index_urls)
    except micropkg.MicropkgError as error:
        return json.dumps({"error": f"{type(error).__name__}: {error}"})
    return json.dumps({"installed": [f"{i.name} {i.version}" for i in installed]})
`;

const $ = (id) => document.getElementById(id);
const setStatus = (text) => { $("status").textContent = text; };
const setState = (state) => { document.body.dataset.state = state; };

async function boot() {
  setState("booting");
  setStatus(`Loading Pyodide from ${pyodideBase.href}…`);
  const { loadPyodide } = await import(new URL("pyodide.mjs", pyodideBase).href);
  const pyodide = await loadPyodide({ indexURL: pyodideBase.href });
  const write = (line) => { $("output").textContent += line + "\n"; };
  pyodide.setStdout({ batched: write });
  pyodide.setStderr({ batched: write });

  setStatus("Loading micropkg…");
  // loadPackage reports a package it knows but cannot fetch only through
  // errorCallback, so collect those and fail loudly.
  const problems = [];
  await pyodide.loadPackage(wheels ?? ["micropkg"], {
    messageCallback: () => {},
    errorCallback: (message) => problems.push(message),
  });
  if (problems.length) {
    throw new Error(`${problems.join("\n")}\n(give ?wheels= the URLs of micropkg, packaging and resolvelib, `
      + "or ?pyodide= a Pyodide folder whose lockfile lists micropkg)");
  }
  const namespace = pyodide.globals.get("dict")();
  pyodide.runPython(HELPERS, { globals: namespace });
  const install = namespace.get("install");
  $("versions").textContent = `Pyodide ${pyodide.version} · micropkg ${namespace.get("VERSION")}`;
  namespace.destroy();
  return { pyodide, install };
}

async function run({ pyodide, install }) {
  const output = $("output");
  output.textContent = "";
  output.classList.remove("error");
  const requirements = $("requirements").value;
  const started = performance.now();
  let summary = "";
  try {
    if (requirements.trim()) {
      setStatus(`Installing ${requirements.trim().split(/\s*\n\s*/).join(", ")}…`);
      const answer = JSON.parse(await install(requirements, indexUrls));
      if (answer.error) {
        // A conflict explains itself over several lines; the status keeps the first.
        return fail(answer.error, answer.error.split("\n")[0]);
      }
      const took = Math.round(performance.now() - started);
      summary = answer.installed.length
        ? `Installed ${answer.installed.join(", ")} in ${took} ms. `
        : `Nothing new to install (${took} ms). `;
    }
    setStatus(`${summary}Running…`);
    const result = await pyodide.runPythonAsync($("code").value);
    if (result instanceof pyodide.ffi.PyProxy) {
      result.destroy();
    }
    setStatus(`${summary}Done.`);
    document.body.dataset.outcome = "ok";
  } catch (err) {
    // Anything else is a Python exception from the user's code (or a bug):
    // show the traceback, and its last line, which names the exception.
    const text = withoutPyodideFrames(String(err.message ?? err).trim());
    fail(text, text.split("\n").filter(Boolean).at(-1) ?? "unknown error");
  }
}

// A traceback from runPythonAsync starts with Pyodide's own frames (eval_code_async,
// run_async); the user's code is "<exec>". Keep the header and the user's frames.
function withoutPyodideFrames(traceback) {
  const lines = traceback.split("\n");
  const header = lines.indexOf("Traceback (most recent call last):");
  const firstOwn = lines.findIndex((line) => line.startsWith('  File "<exec>"'));
  if (header === -1 || firstOwn <= header) {
    return traceback;
  }
  return [...lines.slice(0, header + 1), ...lines.slice(firstOwn)].join("\n");
}

function fail(details, headline) {
  const output = $("output");
  output.classList.add("error");
  output.textContent += details;
  setStatus(`Failed: ${headline}`);
  document.body.dataset.outcome = "error";
}

boot().then((app) => {
  setStatus("Ready.");
  const button = $("run");
  button.disabled = false;
  button.textContent = "Install and run";
  button.addEventListener("click", async () => {
    button.disabled = true;
    setState("running");
    delete document.body.dataset.outcome;
    try {
      await run(app);
    } finally {
      button.disabled = false;
      setState("done");
    }
  });
  setState("ready");
}, (err) => {
  setStatus(`Could not start: ${err.message ?? err}`);
  $("output").classList.add("error");
  setState("failed");
});
