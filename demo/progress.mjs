// Shows an install's progress in the page: one list item per step, updated in place
// as micropkg's EventReporter sends events (a plain object each, see micropkg/_progress.py).
//
//   const view = new ProgressView(document.getElementById("steps"));
//   const reporter = micropkg.EventReporter((event) => view.show(event));
//   await micropkg.install.callKwargs(requirements, { reporter });
//
// Each item carries data-step ("resolve", "download", "install", "load", "done",
// "failed") and data-state ("active", "done", "failed"), for styles and for tests.

export function formatSize(size) {
  // Decimal units, as PyPI shows sizes (and as micropkg's ConsoleReporter prints them).
  if (size >= 1_000_000) return `${(size / 1_000_000).toFixed(1)} MB`;
  if (size >= 1_000) return `${Math.round(size / 1_000)} kB`;
  return `${size} B`;
}

export function formatSeconds(seconds) {
  return seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(1)} s`;
}

const count = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;
const listed = (packages) => packages.map(([name, version]) => `${name} ${version}`).join(", ");

export class ProgressView {
  constructor(list) {
    this.list = list;
    this.reset();
  }

  reset() {
    this.list.replaceChildren();
    this.steps = new Map();
    this.resolving = false;
    this.libraries = 0;
  }

  // The item of `key`, created at the end of the list the first time; earlier
  // steps still marked active are finished once a later one starts.
  step(key, text, state = "active") {
    let item = this.steps.get(key);
    if (!item) {
      this.settle("done");
      item = document.createElement("li");
      item.dataset.step = key;
      item.append(document.createElement("span"));
      this.list.append(item);
      this.steps.set(key, item);
    }
    item.dataset.state = state;
    item.firstElementChild.textContent = text;
    return item;
  }

  // Steps still active end as `state`; a label that said "…" no longer does.
  settle(state) {
    for (const item of this.steps.values()) {
      if (item.dataset.state === "active") {
        item.dataset.state = state;
        item.firstElementChild.textContent = item.firstElementChild.textContent.replace(/…$/, "");
      }
    }
  }

  bar(item) {
    let bar = item.querySelector("progress");
    if (!bar) {
      bar = document.createElement("progress");
      bar.setAttribute("aria-label", "Downloaded");
      item.append(bar);
    }
    return bar;
  }

  show(event) {
    switch (event.event) {
      case "resolving":
        this.resolving = true;
        this.step("resolve", `Resolving ${event.requirements.join(", ")}…`);
        break;
      case "resolved": {
        const what = event.packages.length ? `: ${listed(event.packages)}` : "";
        // An install from a lock skips resolution: its first event is "resolved".
        this.step("resolve", this.resolving
          ? `Resolved ${count(event.packages.length, "package")} in ${formatSeconds(event.seconds)}${what}`
          : `Read the lock: ${count(event.packages.length, "package")} to install${what}`, "done");
        if (event.packages.length) {
          // Sizes come with the first file; until then the bar is indeterminate.
          this.bar(this.step("download", "Downloading…"));
        }
        break;
      }
      case "downloading": {
        const item = this.step("download", `Downloading ${formatSize(event.done_bytes)} of ${formatSize(event.total_bytes)}`
          + ` (${event.done_files} of ${count(event.files, "file")})`);
        const bar = this.bar(item);
        bar.max = event.total_bytes;
        bar.value = event.done_bytes;
        bar.setAttribute("aria-valuetext", `${formatSize(event.done_bytes)} of ${formatSize(event.total_bytes)}`);
        break;
      }
      case "downloaded":
        this.step("download", `Downloaded ${count(event.files, "file")}, ${formatSize(event.size)}`
          + ` in ${formatSeconds(event.seconds)}`, "done");
        break;
      case "installing":
        this.step("install", `Installing ${listed(event.packages)}…`);
        break;
      case "loading":
        this.step("load", `Loading native library ${event.library} (${event.done} of ${event.total})…`);
        this.libraries = event.total;
        break;
      case "installed":
        if (this.steps.has("install")) {
          this.step("install", `Unpacked ${listed(event.packages)} into site-packages`, "done");
        }
        if (this.steps.has("load")) {
          this.step("load", this.libraries === 1 ? "Loaded 1 native library" : `Loaded ${this.libraries} native libraries`, "done");
        }
        this.step("done", event.packages.length
          ? `Installed ${count(event.packages.length, "package")} in ${formatSeconds(event.seconds)}`
          : "Nothing to install: every requirement is already satisfied", "done");
        break;
      case "failed":
        this.settle("failed");
        // A conflict explains itself over several lines; the list keeps the first.
        this.step("failed", `Failed: ${event.type}: ${event.error.split("\n")[0]}`, "failed");
        break;
    }
  }
}
