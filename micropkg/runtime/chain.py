"""The chain of a cold install, followed in JavaScript while Python imports.

A fresh Pyodide imports the resolver for longer than a round trip takes. Yet
what the resolver does next is nearly always predictable: it takes the newest
final release with a wheel for this runtime (a pre-release when no final one
is usable: PEP 440), reads its metadata, asks for its dependencies' pages, and
downloads the wheel. :class:`Chain` does that guess in JavaScript, as each
answer arrives: from a root page's JSON (PEP 691) to its likely pick's
``.metadata`` (PEP 658; without one, the METADATA in the wheel) and wheel, to
the pages of the ``Requires-Dist`` names whose markers plainly hold here, and
on, a few levels deep.

Nothing here decides anything. The resolver still reads every page, metadata and wheel
through the index client; when one of its requests is one the chain already sent (same
URL, same headers), the transport takes that request over (:meth:`Chain.pop`), so the
bytes are on their way or here. A guess the resolver does not confirm costs only its
bytes, and is aborted when the install ends (:meth:`Chain.close`). Hence the limits: a
wheel is fetched ahead only up to :data:`WHEEL_BOUND` bytes, and the chain sends at most
:data:`MAX_REQUESTS` requests and :data:`BYTES_BOUND` bytes of wheels; it follows only
pages micropkg had no cache entry for (a warm or revalidated install reads its cache
instead), and only projects named plainly (a version constraint may rule the newest
release out).

The guess reads tags, ``Requires-Python`` and simple markers with a few rules instead of
``packaging`` (not imported yet: that is the point); a mistake there is a wasted request,
never a wrong install.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .early import Answers, EarlyRequest
from .js import js_function

if TYPE_CHECKING:
    from ..net.cache import Store

__all__ = ["BYTES_BOUND", "Chain", "MAX_REQUESTS", "WHEEL_BOUND"]

WHEEL_BOUND = 8 * 1024 * 1024  # pydantic-core's PyEmscripten wheel (~2 MB) with room to spare
BYTES_BOUND = 32 * 1024 * 1024  # all wheels fetched ahead, together
MAX_REQUESTS = 64  # a browser queues past ~6 per origin; Node's fetch fails under hundreds
DEPTH = 4  # dependency levels followed below a requested project

# One install's chain: ``facts``, what Python knows (index, headers, tags); it keeps the requests sent, by URL, until Python takes one.
_CHAIN = r"""
(facts) => {
  const sent = new Map();
  // Sent by the chain (taken over or not), or asked for by the index client: not sent again.
  const claimed = new Set();
  const state = { closed: false, requests: 0, bytes: 0 };
  const normalize = (name) => name.toLowerCase().replace(/[-_.]+/g, "-");
  const pageUrl = (name) => facts.index.includes("{package_name}")
    ? facts.index.replaceAll("{package_name}", normalize(name))
    : facts.index.replace(/\/+$/, "") + "/" + normalize(name) + "/";
  const origin = (url) => { try { return new URL(url).origin; } catch { return null; } };
  const indexOrigin = typeof URL === "function" ? origin(pageUrl("x")) : null;
  // The index's headers go to its own origin only, as the index client sends them.
  const headersFor = (url, extra) => Object.assign({}, extra, origin(url) === indexOrigin ? facts.headers : {});
  // As the transports' rule: https, or http to this machine (an index may list any URL).
  const secure = (url) => /^(https:\/\/|http:\/\/(localhost|127\.[0-9.]+)(:[0-9]+)?\/)/.test(url);
  const sendAhead = (url, headers, priority) => {  // named so: a test tells its requests by their stack
    if (state.closed || !secure(url) || claimed.has(url) || state.requests >= facts.maxRequests) return null;
    state.requests += 1;
    const controller = new AbortController();
    const init = { headers, signal: controller.signal };
    if (facts.credentials) init.credentials = facts.credentials;
    // Fetch Priority: a browser opens ~6 connections per HTTP/1.1 origin and hands a freed one
    // to the most urgent request waiting. Node's fetch ignores it.
    if (priority) init.priority = priority;
    const promise = facts.fetch(url, init);
    promise.catch(() => {});  // aborted or failed, and nobody took it: not an unhandled rejection
    const entry = { promise, controller, headers };
    sent.set(url, entry);
    claimed.add(url);
    return entry;
  };
  // A version as PEP 440 orders it: [epoch, [numbers], pre, post, dev], each part a number
  // (packaging's _cmpkey: no pre sorts after any, a lone dev before any; no post before any
  // post, no dev after any dev); null for what these forms do not cover (no guess then).
  const PHASES = { a: 0, alpha: 0, b: 1, beta: 1, c: 2, rc: 2, pre: 2, preview: 2 };
  const VERSION = new RegExp("^v?(?:(\\d+)!)?(\\d+(?:\\.\\d+)*)(?:[._-]?(a|alpha|b|beta|c|rc|pre|preview)[._-]?(\\d*))?"
    + "(?:[._-]?(?:post|rev|r)[._-]?(\\d*)|-(\\d+))?(?:[._-]?dev[._-]?(\\d*))?$", "i");
  const parseVersion = (text) => {
    const m = VERSION.exec(text.trim());
    if (!m) return null;
    const post = m[5] !== undefined ? Number(m[5] || 0) : m[6] !== undefined ? Number(m[6]) : -1;
    const dev = m[7] !== undefined ? Number(m[7] || 0) : Infinity;
    const pre = m[3] !== undefined ? PHASES[m[3].toLowerCase()] * 1e9 + Number(m[4] || 0)
      : post < 0 && dev !== Infinity ? -Infinity : Infinity;
    return [Number(m[1] || 0), m[2].split(".").map(Number), pre, post, dev];
  };
  const isPrerelease = (version) => version[2] !== Infinity || version[4] !== Infinity;
  const compareNumbers = (a, b) => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = (a[i] || 0) - (b[i] || 0);
      if (d) return d;
    }
    return 0;
  };
  const order = (a, b) => (a < b ? -1 : a > b ? 1 : 0);  // Infinity - Infinity is NaN, not 0
  const newer = (a, b) => order(a[0], b[0]) || compareNumbers(a[1], b[1]) || order(a[2], b[2]) || order(a[3], b[3]) || order(a[4], b[4]);
  // Release numbers ``have`` against ``op want`` (PEP 440, no wildcard); undefined for another op.
  const versionHolds = (have, op, want) => {
    const c = compareNumbers(have, want);
    return { "==": c === 0, "!=": c !== 0, "<=": c <= 0, ">=": c >= 0, "<": c < 0, ">": c > 0,
             "~=": c >= 0 && compareNumbers(have.slice(0, want.length - 1), want.slice(0, -1)) === 0 }[op];
  };
  const pythonFits = (spec) => (spec || "").split(",").every((clause) => {
    if (!clause.trim()) return true;
    const m = /^\s*(~=|==|!=|<=|>=|<|>)\s*(\d+(?:\.\d+)*)(\.\*)?\s*$/.exec(clause);
    if (!m) return false;  // anything unusual: no guess
    const wanted = m[2].split(".").map(Number);
    const prefix = compareNumbers(facts.python.slice(0, wanted.length), wanted) === 0;
    return m[3] ? (m[1] === "==") === prefix && (m[1] === "==" || m[1] === "!=") : versionHolds(facts.python, m[1], wanted);
  });
  const [major, minor] = facts.python;
  // How well a wheel's tags fit, in packaging's order of the runtime's tags (0: not at all):
  // a platform wheel for this interpreter's ABI, then abi3, then none; then pure wheels,
  // cpXY-none-any before py3-none-any.
  const interpreterFit = (py, abi, platform) => {
    const m = /^(py|cp)(\d)(\d*)$/.exec(py);
    if (!m || Number(m[2]) !== major) return 0;
    const at = m[3] === "" ? null : Number(m[3]);
    if (platform === "any") {
      if (abi !== "none") return 0;
      if (m[1] === "cp") return at === minor ? 2 : 0;
      return at === null || at <= minor ? 1 : 0;
    }
    if (m[1] === "py") return abi === "none" && (at === null || at <= minor) ? 3 : 0;
    if (abi === "abi3") return at !== null && at <= minor ? 4 : 0;
    if (at !== minor) return 0;
    return abi === "cp" + major + minor ? 5 : abi === "none" ? 3 : 0;
  };
  // Within one kind, the runtime's platform tags in its order (pyemscripten, pyodide, emscripten).
  const fit = (py, abi, platform) => {
    let best = 0;
    for (const p of platform.split(".")) {
      const at = p === "any" ? 0 : facts.platforms.indexOf(p);
      if (at < 0) continue;
      for (const i of py.split(".")) for (const a of abi.split(".")) {
        const kind = interpreterFit(i, a, p);
        if (kind) best = Math.max(best, kind * 10 + 9 - at);
      }
    }
    return best;
  };
  // The resolver's pick for a plain name: the newest release with a wheel for this runtime,
  // best tags first; a pre-release only when no final release is usable at all (PEP 440), a
  // final sdist counting as usable (the resolver would build it).
  const choose = (project, files) => {
    let best = null;
    let bestPre = null;
    let finalUsable = false;
    for (const file of files || []) {
      const name = file.filename || "";
      const wheel = name.endsWith(".whl");
      // A wheel's platform first, by string search: most of a large page's wheels are for
      // other systems (pydantic-core lists ~15,000 files), and fit() would turn them down last.
      const platform = wheel ? name.slice(name.lastIndexOf("-") + 1, -4) : "";
      if (wheel && !platform.split(".").some((p) => p === "any" || facts.platforms.includes(p))) continue;
      if (file.yanked || !pythonFits(file["requires-python"])) continue;
      const sdist = /^(.+)-([^-]+)\.(?:tar\.gz|zip)$/.exec(name);
      if (sdist) {
        const version = parseVersion(sdist[2]);
        if (version && !isPrerelease(version) && normalize(sdist[1]) === project) finalUsable = true;
        continue;
      }
      if (!wheel) continue;
      const parts = name.slice(0, -4).split("-");
      if ((parts.length !== 5 && parts.length !== 6) || normalize(parts[0]) !== project) continue;
      const version = parseVersion(parts[1]);
      const score = version && fit(...parts.slice(-3));
      if (!score) continue;
      const pre = isPrerelease(version);
      finalUsable = finalUsable || !pre;
      const current = pre ? bestPre : best;
      if (!current || newer(version, current.version) > 0 || (newer(version, current.version) === 0 && score > current.score)) {
        if (pre) bestPre = { file, version, score }; else best = { file, version, score };
      }
    }
    const pick = finalUsable ? best : bestPre;
    return pick && pick.file;
  };
  // Whether one marker clause (PEP 508: `name op "value"`) holds in this runtime (facts.markers)
  // with ``extras`` asked for; null for a form these rules do not cover.
  const CLAUSE = /^\s*([a-z_]+)\s*(===|==|!=|<=|>=|~=|<|>|not\s+in|in)\s*(["'])([^"']*)\3\s*$/;
  const VERSION_MARKERS = ["python_version", "python_full_version", "implementation_version"];
  const clauseHolds = (text, extras) => {
    const m = CLAUSE.exec(text);
    if (!m) return null;
    const [, name, op, , value] = m;
    if (name === "extra") return op === "==" ? extras.includes(normalize(value)) : null;
    const actual = facts.markers[name];
    if (typeof actual !== "string") return null;
    if (VERSION_MARKERS.includes(name)) {  // compared as PEP 440 versions, plain ones only
      if (!/^\d+(\.\d+)*$/.test(value) || !/^\d+(\.\d+)*$/.test(actual)) return null;
      const want = value.split(".").map(Number);
      return (op === "~=" && want.length < 2) ? null : versionHolds(actual.split(".").map(Number), op, want) ?? null;
    }
    if (op === "==") return actual === value;
    if (op === "!=") return actual !== value;
    if (op === "in") return value.includes(actual);
    if (/^not\s+in$/.test(op)) return !value.includes(actual);
    return null;  // strings ordered, or ===: left to packaging
  };
  // A marker of such clauses joined by `and` and `or` (no parentheses): true, false, or null.
  const markerHolds = (text, extras) => {
    if (/[()]/.test(text)) return null;
    let holds = false;
    for (const alternative of text.split(/\s+or\s+/)) {
      let all = true;
      for (const clause of alternative.split(/\s+and\s+/)) {
        const result = clauseHolds(clause, extras);
        if (result === null) return null;
        all = all && result;
      }
      holds = holds || all;
    }
    return holds;
  };
  // The names a metadata file's Requires-Dist lines need: those without a marker, and those
  // whose marker plainly holds here, `extra == "..."` meaning one of ``extras`` (PEP 685
  // names). A marker these rules cannot read is left to the resolver: a guess must not send
  // what may not be needed.
  const requires = (metadata, extras) => {
    const names = [];
    for (const line of metadata.split(/\r?\n\r?\n/)[0].split(/\r?\n/)) {
      const m = /^Requires-Dist:\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?[^;]*(?:;(.*))?$/i.exec(line);
      if (!m || (m[2] !== undefined && markerHolds(m[2], extras) !== true)) continue;
      if (!facts.installed.includes(normalize(m[1]))) names.push(m[1]);
    }
    return names;
  };
  // Whether micropkg's cache holds an entry (keys as net.cache's): the index client reads it there.
  const kept = (key) => facts.kept ? facts.kept(key).catch(() => false) : Promise.resolve(false);
  // Node hashes at once (node:crypto); WebCrypto answers a turn of the event loop later.
  const nodeCrypto = typeof process === "object" && typeof process.getBuiltinModule === "function"
    ? process.getBuiltinModule("node:crypto") : null;
  const pageKept = async (url) => {
    const subtle = globalThis.crypto && globalThis.crypto.subtle;  // not in an insecure context
    // WebCrypto's digest answers a turn later, behind whatever Python runs meanwhile.
    if ((!subtle && !nodeCrypto) || !facts.kept || (facts.kept.nothing && facts.kept.nothing())) return false;
    const text = url + "\n" + facts.accept;
    const hex = nodeCrypto ? nodeCrypto.createHash("sha256").update(text).digest("hex")
      : Array.from(new Uint8Array(await subtle.digest("SHA-256", new TextEncoder().encode(text))),
                   (b) => b.toString(16).padStart(2, "0")).join("");
    return kept("page/" + hex);
  };
  // base: the page's URL (a Response made from node:http has none); asked: the promise of the
  // answer Python reads, given the page narrowed (runtime.json_pages) once the guess is out.
  const follow = (response, depth, base, asked) => {
    if (typeof URL !== "function") return;  // a sandbox without it (a vm context): no guesses
    const type = response.headers.get("content-type") || "";
    if (!response.ok || !type.startsWith("application/vnd.pypi.simple.v1+json")) return;
    const parsed = response.json();
    if (asked && facts.narrowPage) {
      const narrow = (page) => { try { return facts.narrowPage(page); } catch { return null; } };  // a timer's throw would end Node
      asked.narrowed = parsed.then((page) => new Promise((resolve) => setTimeout(() => resolve(narrow(page)), 0))).catch(() => null);
    }
    parsed.then(async (page) => {
      const file = choose(normalize(page.name || ""), page.files);
      const sha = file && file.hashes && typeof file.hashes.sha256 === "string" && file.hashes.sha256.toLowerCase();
      if (!sha || typeof file.url !== "string") return;  // without a sha256, micropkg refuses the file anyway
      const url = new URL(file.url, response.url || base).href.split("#")[0];
      const advertised = file["core-metadata"] || file["dist-info-metadata"];
      const ownSha = advertised && typeof advertised.sha256 === "string" ? advertised.sha256.toLowerCase() : null;
      // As the index client's rule: some file hosts serve .metadata the page does not advertise.
      const servedAnyway = facts.metadataHosts.includes(new URL(url).hostname);
      // metadataKept: true when the cache holds it; null when no metadata file is to be asked for.
      const [wheelKept, metadataKept] = await Promise.all([
        kept("blob/" + sha), advertised || servedAnyway ? kept(ownSha ? "blob/" + ownSha : "meta/" + sha) : null,
      ]);
      // The metadata first: it leads to the next pages, while the wheel is wanted once the whole
      // resolution is known. So the wheel goes behind every page and metadata file where
      // connections are few (httpx in Chromium from an HTTP/1.1 index: 6, for 4 dependencies'
      // wheels and metadata; 2026-12-05), unless its METADATA may be the only one (none
      // advertised: read out of the wheel, runtime.wheel_metadata; pydantic's on PyPI).
      const metadata = metadataKept === false ? sendAhead(url + ".metadata", headersFor(url, {})) : null;
      const size = Number(file.size);
      let wheel = null;
      if (!wheelKept && size > 0 && size <= facts.wheelBound && state.bytes + size <= facts.bytesBound) {
        state.bytes += size;
        wheel = sendAhead(url, headersFor(url, {}), advertised ? "low" : null);
      }
      if (metadataKept === true || depth >= facts.depth) return;  // (the resolver reads it from the cache)
      let done = false;  // led on by the first METADATA to come: a wheel may land long before a 404 (137 ms, PyPI's file host)
      const lead = (text) => {
        if (done || typeof text !== "string") return;
        done = true;
        const extras = depth === 0 ? facts.extras[normalize(page.name || "")] || [] : [];
        for (const name of requires(text, extras)) askPage(name, depth + 1);
      };
      if (metadata) metadata.promise.then((answer) => (answer.ok ? answer.clone().text() : null)).then(lead).catch(() => {});
      // Copied as it lands if not taken yet, and read at once: a copy left unread, aborted at the end, rejected unhandled (Node ended).
      if (wheel && !advertised) wheel.promise.then((answer) => (done || !answer.ok || !sent.has(url) ? null : answer.clone().arrayBuffer()))
        .then((buffer) => (done || !buffer ? null : facts.wheelMetadata(new Uint8Array(buffer)))).then(lead).catch(() => {});
    }).catch(() => {});
  };
  const askPage = (name, depth) => {
    const url = pageUrl(name);
    pageKept(url).then((isKept) => {
      const entry = isKept ? null : sendAhead(url, headersFor(url, { Accept: facts.accept }));
      if (entry) entry.promise.then((response) => follow(response.clone(), depth, url, entry.promise)).catch(() => {});
    }).catch(() => {});
  };
  return {
    // The root pages' answers (runtime.early.Answers): those copied already, and any later.
    adopt: (answers) => {
      answers.adopt = (entry) => entry.copy.then((copy) => { if (!state.closed) follow(copy, 0, entry.url, entry.promise); }).catch(() => {});
      for (const entry of answers.entries) answers.adopt(entry);
      answers.entries.length = 0;
    },
    // The file the chain would fetch for a page's JSON (tests/host/test_chain_guess.py).
    guess: (page) => { const file = choose(normalize(page.name || ""), page.files); return file ? file.filename : null; },
    // The dependencies it follows from a metadata file (tests/host/test_chain_guess.py).
    requires: (metadata, extras) => requires(metadata, extras),
    take: (url) => { const entry = sent.get(url); sent.delete(url); return entry; },
    has: (url) => sent.has(url),
    claim: (url) => { claimed.add(url); },
    close: () => {
      state.closed = true;
      for (const entry of sent.values()) entry.controller.abort();
      sent.clear();
    },
  };
}
"""


class Chain:
    """The requests a cold install's first answers led to (see the module docstring).

    Started (:meth:`start`) once the first requests are written: until then the root pages'
    answers are copied as they arrive (:class:`~micropkg.runtime.early.Answers`), so the ~4 ms
    of making it (this module, its JavaScript, the platform tags) come after the request.
    """

    def __init__(
        self, index_url: str, headers: Mapping[str, str], *, accept: str, credentials: str | None,
        installed: Iterable[str], metadata_hosts: Iterable[str], store: Store | None,
        extras: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self._store = store  # its kept_probe() tells the chain what micropkg's cache holds
        self._facts = {
            "index": index_url, "headers": dict(headers), "accept": accept, "credentials": credentials or "",
            "installed": sorted(installed), "metadataHosts": sorted(metadata_hosts),
            # The extras asked for of each requested project (normalized): their dependencies are
            # followed too, from that project's own metadata.
            "extras": {name: sorted(wanted) for name, wanted in (extras or {}).items()},
            "wheelBound": WHEEL_BOUND, "bytesBound": BYTES_BOUND, "maxRequests": MAX_REQUESTS, "depth": DEPTH,
        }
        self._js: Any = None

    def start(self, answers: Answers) -> None:
        """Follow the root pages' ``answers`` (as they arrive, or now for those already here)."""
        import js
        from pyodide.ffi import to_js

        from ..model.tags import emscripten_platforms, runtime_platforms
        from .detect import known_abi_version, marker_environment
        from .early_fetch import first_fetch
        from .json_pages import NARROW_PAGE
        from .wheel_metadata import WHEEL_METADATA

        facts = {
            **self._facts, "python": list(sys.version_info[:3]), "fetch": first_fetch(),
            "platforms": emscripten_platforms(runtime_platforms(known_abi_version())),
            "markers": marker_environment(), "narrowPage": js_function(NARROW_PAGE),
            "wheelMetadata": js_function(WHEEL_METADATA),
            "kept": self._store.kept_probe() if self._store is not None else None,
        }
        self._js = js_function(_CHAIN)(to_js(facts, dict_converter=js.Object.fromEntries))
        self._js.adopt(answers.js)

    def pop(self, url: str) -> EarlyRequest | None:
        """The request the chain sent for ``url``, handed over once; None if it sent none."""
        if self._js is None:
            return None
        entry = self._js.take(url)
        if entry is None:
            return None
        return EarlyRequest.sent(url, entry.headers.to_py(), entry.promise, entry.controller)

    def holds(self, url: str) -> bool:
        """Whether the chain sent a request for ``url`` that nobody took yet."""
        return self._js is not None and bool(self._js.has(url))

    def claim(self, url: str) -> None:
        """``url`` is being fetched without the chain: the chain will not send it."""
        if self._js is not None:
            self._js.claim(url)

    def close(self) -> None:
        """Send no more, and abort what nobody took."""
        if self._js is not None:
            self._js.close()
