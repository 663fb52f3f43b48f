// The worker demo's page: no Pyodide here. worker.mjs boots it in a module worker; this
// page sends it what to install and run, and shows the events it posts back with the
// same ProgressView as the main demo.
//
// Query parameters (all optional), as in ../app.mjs:
//   pyodide  - URL of a Pyodide distribution folder (default: the CDN build of 314.0.7)
//   index    - package index URL(s) for micropkg, comma separated (default: PyPI)
//   wheels   - comma-separated wheel URLs of micropkg, packaging and resolvelib
//
// <body data-state>: "booting", "ready", "running", "done" (data-outcome "ok" or "error"),
// or "failed" when the worker could not start Pyodide or micropkg.
import { ProgressView, formatSeconds } from "../progress.mjs";

const params = new URLSearchParams(location.search);
const pyodide = new URL(params.get("pyodide") ?? "https://cdn.jsdelivr.net/pyodide/v314.0.7/full/", location.href).href;
const indexUrls = params.get("index")?.split(",").filter(Boolean) ?? [];
const wheels = params.get("wheels")?.split(",").filter(Boolean).map((url) => new URL(url, location.href).href) ?? null;

const $ = (id) => document.getElementById(id);
const setStatus = (text) => { $("status").textContent = text; };
const setState = (state) => { document.body.dataset.state = state; };
const progress = new ProgressView($("steps"));
let started = 0;

const worker = new Worker(new URL("worker.mjs", import.meta.url), { type: "module" });
worker.onerror = (event) => fail(`The worker failed: ${event.message ?? "it could not be loaded"}`, "failed");
worker.onmessage = ({ data }) => {
  switch (data.type) {
    case "ready":
      $("versions").textContent = `Pyodide ${data.pyodide} · micropkg ${data.micropkg} · in a Web Worker`;
      setStatus("Ready.");
      $("run").disabled = false;
      $("run").textContent = "Install and run";
      setState("ready");
      break;
    case "failed":
      fail(`Could not start: ${data.error}`, "failed");
      break;
    case "event":
      progress.show(data.event);
      $("events").textContent += JSON.stringify(data.event) + "\n";
      $("event-count").textContent = Number($("event-count").textContent) + 1;
      break;
    case "output":
      $("output").textContent += data.line + "\n";
      break;
    case "done":
      finish(data);
      break;
  }
};
worker.postMessage({ pyodide, wheels });

function finish({ outcome, installed, error, traceback }) {
  const took = formatSeconds((performance.now() - started) / 1000);
  const summary = installed.length ? `Installed ${installed.map(([n, v]) => `${n} ${v}`).join(", ")} in ${took}. ` : "";
  if (outcome === "ok") {
    setStatus(`${summary}Done.`);
  } else if (error) {
    // micropkg's own message, written for people; a conflict's first line in the status.
    $("output").textContent += error;
    fail(`Failed: ${error.split("\n")[0]}`);
  } else {
    $("output").textContent += traceback;
    fail(`Failed: ${traceback.trim().split("\n").at(-1)}`);
  }
  document.body.dataset.outcome = outcome;
  $("run").disabled = false;
  setState("done");
}

function fail(status, state) {
  $("output").classList.add("error");
  setStatus(status);
  if (state) setState(state);
}

$("form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (document.body.dataset.state === "running") return;
  $("run").disabled = true;
  setState("running");
  delete document.body.dataset.outcome;
  $("output").textContent = "";
  $("output").classList.remove("error");
  progress.reset();
  $("events").textContent = "";
  $("event-count").textContent = "0";
  started = performance.now();
  const requirements = $("requirements").value.split("\n").map((line) => line.trim()).filter(Boolean);
  worker.postMessage({ requirements, indexUrls, code: $("code").value });
  setStatus(requirements.length ? `Installing ${requirements.join(", ")} in the worker…` : "Running in the worker…");
});
