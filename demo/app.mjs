// The demo app: boot Pyodide, load micropkg, install what the user names, run their code.
//
// Query parameters (all optional):
//   pyodide  - URL of a Pyodide distribution folder (default: the CDN build of 314.0.7)
//   index    - package index URL(s) for micropkg, comma separated (default: PyPI)
//   wheels   - comma-separated wheel URLs to load micropkg from, when the
//              distribution's lockfile does not list micropkg itself
const params = new URLSearchParams(location.search);
const pyodideBase = params.get("pyodide") ?? "https://cdn.jsdelivr.net/pyodide/v314.0.7/full/";
const indexUrls = params.get("index")?.split(",").filter(Boolean) ?? null;
const wheels = params.get("wheels")?.split(",").filter(Boolean) ?? null;

const $ = (id) => document.getElementById(id);
const status = (text) => { $("status").textContent = text; };

async function boot() {
  const { loadPyodide } = await import(new URL("pyodide.mjs", pyodideBase).href);
  const pyodide = await loadPyodide({ indexURL: pyodideBase });
  status("Loading micropkg…");
  await pyodide.loadPackage(wheels ?? ["micropkg"]);
  pyodide.runPython("import micropkg");
  return pyodide;
}

async function run(pyodide) {
  const output = $("output");
  output.textContent = "";
  output.classList.remove("error");
  const requirements = $("requirements").value.split("\n").map((s) => s.trim()).filter(Boolean);
  pyodide.setStdout({ batched: (line) => { output.textContent += line + "\n"; } });
  pyodide.setStderr({ batched: (line) => { output.textContent += line + "\n"; } });
  const started = performance.now();
  try {
    if (requirements.length) {
      status(`Installing ${requirements.join(", ")}…`);
      const install = pyodide.globals.get("__import__")("micropkg").install;
      const installed = await install.callKwargs(pyodide.toPy(requirements), {
        index_urls: indexUrls ? pyodide.toPy(indexUrls) : null,
      });
      const names = installed.toJs().map((i) => `${i.name} ${i.version}`);
      installed.destroy();
      status(`Installed ${names.length ? names.join(", ") : "nothing new"} in ${Math.round(performance.now() - started)} ms. Running…`);
    }
    await pyodide.runPythonAsync($("code").value);
    status(`${$("status").textContent.replace(/ Running…$/, "")} Done.`);
  } catch (err) {
    output.classList.add("error");
    // A Python exception arrives as a PythonError whose message ends with the readable line.
    const message = String(err.message ?? err).trim().split("\n").filter(Boolean);
    output.textContent += message.slice(-6).join("\n");
    status("Failed: " + (message[message.length - 1] ?? "unknown error"));
  }
  document.body.dataset.state = "done";
}

boot().then((pyodide) => {
  status("Ready.");
  const button = $("run");
  button.disabled = false;
  button.textContent = "Install and run";
  button.addEventListener("click", async () => {
    button.disabled = true;
    document.body.dataset.state = "running";
    await run(pyodide);
    button.disabled = false;
  });
  document.body.dataset.state = "ready";
}, (err) => {
  status("Could not start: " + err);
  document.body.dataset.state = "failed";
});
