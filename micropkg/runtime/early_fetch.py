"""The ``fetch`` of the requests an install sends before its transports exist.

:func:`first_fetch` sends the root pages (:mod:`.early`), what their answers lead to
(:mod:`.chain`) and a lock's files (:mod:`.early_files`): under Node through Node's own http
modules, answered as fetch() would answer without loading undici (see the comment below);
elsewhere through the runtime's ``fetch``, made to reject only with errors that have a stack
(:func:`stacked_fetch`, which the transports use too).
"""

from __future__ import annotations

import sys
from typing import Any

from .js import js_function

__all__ = ["first_fetch", "stacked_fetch"]


def stacked_fetch():
    """``fetch``, rejecting only with errors that have a stack.

    WebKit's ``fetch()`` rejects with a ``TypeError`` that has no ``stack``, and
    awaiting a JS error without one in Pyodide 314 never ends (in every engine).
    So such an error is thrown again as a fresh one of the same name and message.
    """
    return js_function(
        "(request, init) => fetch(request, init).catch((error) => {"
        " if (error instanceof Error && !error.stack) {"
        " const copy = new Error(error.message); copy.name = error.name; throw copy; }"
        " throw error; })"
    )


# Under Node, fetch() is undici, which Node 20 loads on the first call: ~29 ms of compiling
# (Pyodide 314, this machine) before that call returns, longer than all of micropkg's work
# before it. Node's own http/https modules send the same request in ~7 ms, with the body
# decoded as fetch would. The answer is an ``Answer``: what micropkg reads of a fetch()
# Response (status, url, headers, body, arrayBuffer(), text(), json(), clone(), its
# constructor over a stream, as runtime.fetch reads a body) without undici's Response, whose
# first use compiles undici: 25 ms (Node 20, this machine, 2026-12-05) right as the first
# answer arrived, while the chain waited to follow it. Headers as fetch() gives them:
# lower-case names, a repeated one's values joined by ", ". A redirect is left to fetch() (it
# follows them), and so is everything when the context has no Response global
# (pytest-pyodide's Node vm context).
_NODE_FETCH = """(() => {
  class Answer {
    constructor(body, init = {}) {
      this.body = body ?? null;
      this.status = init.status ?? 200;
      this.statusText = init.statusText ?? "";
      this.url = "";
      const headers = new Map();
      for (const [name, value] of init.headers ?? []) {
        const key = String(name).toLowerCase();
        headers.set(key, headers.has(key) ? `${headers.get(key)}, ${value}` : String(value));
      }
      this.headers = headers;
    }
    get ok() { return this.status >= 200 && this.status < 300; }
    clone() {  // as Response.clone(): the body teed, each copy read on its own
      const copy = new Answer(null, { status: this.status, statusText: this.statusText });
      copy.headers = new Map(this.headers);
      copy.url = this.url;
      if (this.body !== null) [this.body, copy.body] = this.body.tee();
      return copy;
    }
    async arrayBuffer() {
      if (this.body === null) return new ArrayBuffer(0);
      const reader = this.body.getReader();
      const pieces = [];
      let size = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        pieces.push(value);
        size += value.length;
      }
      const joined = new Uint8Array(size);
      let at = 0;
      for (const piece of pieces) { joined.set(piece, at); at += piece.length; }
      return joined.buffer;
    }
    async text() { return new TextDecoder().decode(await this.arrayBuffer()); }
    async json() { return JSON.parse(await this.text()); }
  }
  return (url, init) => {
    const { headers, signal } = init;
    const fetchIt = () => fetch(url, init);
    if (!("Response" in globalThis) || typeof process?.getBuiltinModule !== "function") return fetchIt();
    const client = process.getBuiltinModule(url.startsWith("https:") ? "node:https" : "node:http");
    const sent = { "accept-encoding": "gzip, deflate, br", "accept-language": "*", "sec-fetch-mode": "cors", "user-agent": "node" };
    for (const [name, value] of Object.entries(headers)) sent[name.toLowerCase()] = value;
    return new Promise((resolve, reject) => {
      if (signal.aborted) { reject(signal.reason); return; }
      let answer = null;
      const request = client.request(url, { headers: sent });
      const abort = () => { reject(signal.reason); if (answer !== null) answer.destroy(signal.reason); request.destroy(); };
      signal.addEventListener("abort", abort, { once: true });
      request.on("error", (error) => reject(new TypeError("fetch failed", { cause: error })));
      request.on("response", (response) => {
        const status = response.statusCode;
        if ((status >= 300 && status < 400 && response.headers.location) || status < 200 || status > 599) {
          signal.removeEventListener("abort", abort);
          response.resume();
          resolve(fetchIt());
          return;
        }
        answer = response;
        response.on("close", () => signal.removeEventListener("abort", abort));
        const headerPairs = [];
        for (let i = 0; i < response.rawHeaders.length; i += 2) headerPairs.push([response.rawHeaders[i], response.rawHeaders[i + 1]]);
        let body = null;
        if (![204, 205, 304].includes(status)) {
          // The body is gathered as it arrives and decoded in one go at its end, as one chunk: a
          // streaming decoder takes an event-loop turn per 16 KB, and while Python imports, this
          // thread has few to give (a 900 KB page took 240 ms to read, most of it waiting).
          const coding = String(response.headers["content-encoding"] ?? "").trim().toLowerCase();
          const zlib = coding ? process.getBuiltinModule("node:zlib") : null;
          const flush = zlib && { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
          const decode = coding === "gzip" || coding === "x-gzip" ? (data) => zlib.gunzipSync(data, flush)
            : coding === "deflate" ? (data) => zlib.inflateSync(data, flush)
            : coding === "br" ? (data) => zlib.brotliDecompressSync(data) : (data) => data;
          body = new ReadableStream({
            start(controller) {
              const chunks = [];
              let ended = false;
              response.on("data", (chunk) => chunks.push(chunk));
              response.on("end", () => {
                ended = true;
                try {
                  const data = decode(Buffer.concat(chunks));
                  if (data.length) controller.enqueue(new Uint8Array(data.buffer, data.byteOffset, data.length));
                  controller.close();
                } catch (error) {
                  controller.error(new TypeError("terminated", { cause: error }));
                }
              });
              response.on("error", (error) => { if (!ended) { ended = true; controller.error(error); } });
              response.on("close", () => { if (!ended) { ended = true; controller.error(new TypeError("terminated")); } });
            },
            cancel() { response.destroy(); },
          });
        }
        resolve(new Answer(body, { status, statusText: response.statusMessage, headers: headerPairs }));
      });
      request.end();
    });
  };
})()"""


def first_fetch() -> Any:
    """``fetch`` for the requests sent before the transports exist (the root pages, the chain's,
    a lock's files): under Node, Node's http modules answering without undici (``_NODE_FETCH``),
    so they leave and are read before undici has loaded; elsewhere the runtime's."""
    info = getattr(sys, "_emscripten_info", None)
    if info is not None and str(info.runtime).startswith("Node"):
        return js_function(_NODE_FETCH)
    return stacked_fetch()
