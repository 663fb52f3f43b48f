// The demo app: boot Pyodide, load micropkg, install what the user names (or what a
// lock served next to the page lists), show the install's progress, run their code.
//
// Query parameters (all optional):
//   pyodide  - URL of a Pyodide distribution folder (default: the CDN build of 314.0.7)
//   index    - package index URL(s) for micropkg, comma separated (default: PyPI)
//   lock     - a lock (pylock.toml or pyodide-lock.json) to install instead of requirements;
//              a relative URL is read relative to the page, e.g. ?lock=pylock.toml
//   wheels   - comma-separated wheel URLs of micropkg, packaging and resolvelib, for a
//              distribution whose lockfile does not list micropkg (Pyodide's own does not)
//
// The page reports its progress in <body data-state>: "booting", "ready", "running",
// "done" (with data-outcome "ok" or "error"), or "failed" when Pyodide or micropkg
// could not be loaded. Tests and embedding pages can wait on it.
import { ProgressView, formatSeconds } from "./progress.mjs";

const params = new URLSearchParams(location.search);
const pyodideBase = new URL(params.get("pyodide") ?? "https://cdn.jsdelivr.net/pyodide/v314.0.7/full/", location.href);
const indexUrls = params.get("index")?.split(",").filter(Boolean) ?? [];
const lock = params.get("lock");
// Absolute, because micropkg fetches only https: and loopback http: URLs, a bare
// relative one included; relative to the page is what a person means by ?lock=pylock.toml.
const lockUrl = lock && new URL(lock, location.href).href;
const wheels = params.get("wheels")?.split(",").filter(Boolean) ?? null;

const $ = (id) => document.getElementById(id);
const setStatus = (text) => { $("status").textContent = text; };
const setState = (state) => { document.body.dataset.state = state; };
const progress = new ProgressView($("steps"));

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
  const micropkg = pyodide.pyimport("micropkg");
  $("versions").textContent = `Pyodide ${pyodide.version} · micropkg ${micropkg.__version__}`;
  return { pyodide, micropkg };
}

// Resolves to the installed packages as "name version" strings. A failure
// rejects with micropkg's own message (the reporter's "failed" event), which is
// written for people, rather than the traceback through micropkg's internals.
async function install({ pyodide, micropkg }, requirements) {
  let failure = null;
  let installed = [];
  const reporter = micropkg.EventReporter((event) => {
    progress.show(event);
    logEvent(event);
    if (event.event === "installed") installed = event.packages.map(([name, version]) => `${name} ${version}`);
    if (event.event === "failed") failure = `${event.type}: ${event.error}`;
  });
  // Python lists, not JS arrays: micropkg takes a str or a list of them.
  const pyRequirements = pyodide.toPy(requirements);
  const pyIndexUrls = indexUrls.length ? pyodide.toPy(indexUrls) : undefined;
  try {
    const result = lock
      ? await micropkg.install.callKwargs({ lock: lockUrl, reporter })
      : await micropkg.install.callKwargs(pyRequirements, { index_urls: pyIndexUrls, reporter });
    result.destroy();  // the "installed" event told the same, as plain data
  } catch (err) {
    throw new InstallFailed(failure ?? String(err.message ?? err));
  } finally {
    reporter.destroy();
    pyRequirements.destroy();
    pyIndexUrls?.destroy();
  }
  return installed;
}

class InstallFailed extends Error {}

// Every event as it arrived, to show what a callback of your own would receive.
function logEvent(event) {
  $("events").textContent += JSON.stringify(event) + "\n";
  $("event-count").textContent = Number($("event-count").textContent) + 1;
}

function clearEvents() {
  $("events").textContent = "";
  $("event-count").textContent = "0";
}

async function run(app) {
  const output = $("output");
  output.textContent = "";
  output.classList.remove("error");
  progress.reset();
  clearEvents();
  const requirements = $("requirements").value.split("\n").map((line) => line.trim()).filter(Boolean);
  const started = performance.now();
  let summary = "";
  try {
    if (lock || requirements.length) {
      setStatus(lock ? `Installing from ${lock}…` : `Installing ${requirements.join(", ")}…`);
      const installed = await install(app, requirements);
      const took = formatSeconds((performance.now() - started) / 1000);
      summary = installed.length ? `Installed ${installed.join(", ")} in ${took}. ` : `Nothing new to install (${took}). `;
    }
    setStatus(`${summary}Running…`);
    const result = await app.pyodide.runPythonAsync($("code").value);
    if (result instanceof app.pyodide.ffi.PyProxy) {
      result.destroy();
    }
    setStatus(`${summary}Done.`);
    document.body.dataset.outcome = "ok";
  } catch (err) {
    if (err instanceof InstallFailed) {
      // A conflict explains itself over several lines; the status keeps the first.
      fail(err.message, err.message.split("\n")[0]);
      return;
    }
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

if (lock) {
  // The lock decides what is installed: the requirements field gives way to a link to it.
  const link = $("lock-link");
  link.href = lockUrl;
  link.textContent = lock;
  $("lock-note").hidden = false;
  $("requirements-field").hidden = true;
}

boot().then((app) => {
  setStatus("Ready.");
  const button = $("run");
  button.disabled = false;
  button.textContent = "Install and run";
  $("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (document.body.dataset.state === "running") return;
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
