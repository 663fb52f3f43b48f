"""Requests sent before the session exists: an install's root pages, straight through ``fetch``.

A fresh Pyodide compiles what it imports. The session, the index client, the
transports and their dataclasses are dozens of modules: ~100 ms before a
request could leave through them. The page of a plainly named project needs
none of that: its URL, its ``Accept`` header, the cache entry it may already
have. :func:`send_page` looks the page up in the persistent cache and, unless
it is kept and fresh, starts the runtime's ``fetch`` for it at once, with the
headers the index client would send (``If-None-Match`` included); under Node,
through Node's own http modules, as fetch() there loads for longer than the
rest of the way to the request takes (see ``_NODE_REQUEST``). Nothing
here reads the answer: the transport takes the started request over when
the index asks for that page (:meth:`EarlyRequest.take`), and from there
it is an ordinary request (timeouts, retries, the redirect check, the cache).

It imports nothing of micropkg: the cache it is handed is the only other
module on the way (see ``tests/host/test_head_start.py`` for the whole list).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .js import js_function

if TYPE_CHECKING:
    from ..net.cache import Cache


class Chain(Protocol):
    """What follows the root pages' answers (:class:`micropkg.runtime.chain.Chain`, which imports this module)."""

    def pop(self, url: str) -> EarlyRequest | None: ...

    def holds(self, url: str) -> bool: ...

    def claim(self, url: str) -> None: ...

    def close(self) -> None: ...


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


def start_fetch(url: str, headers: Mapping[str, str], credentials: str | None, signal: Any, fetch: Any = None) -> Any:
    """The runtime's ``fetch(url, init)`` (or ``fetch``'s): its promise of a response."""
    import js
    from pyodide.ffi import to_js

    init: dict = {"headers": to_js(dict(headers), dict_converter=js.Object.fromEntries), "signal": signal}
    if credentials:
        init["credentials"] = credentials
    return (fetch or stacked_fetch())(url, to_js(init, dict_converter=js.Object.fromEntries))


# Under Node, fetch() is undici, which Node 20 loads on the first call: ~29 ms of compiling
# (Pyodide 314, this machine) before that call returns, longer than all of micropkg's work
# before it. Node's own http/https modules send the same request in ~7 ms; the answer is
# made a fetch() Response (undici loads then, while the next imports run), with the body
# decoded as fetch would. A redirect is left to fetch() (it follows them), and so is
# everything when the context has no Response global (pytest-pyodide's Node vm context).
# ``Answer``: the class the answer is made of (_NODE_ANSWERING's: not undici's Response).
_NODE_REQUEST = """(url, init, Answer) => {
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
      try {
        resolve(new Answer(body, { status, statusText: response.statusMessage, headers: headerPairs }));
      } catch {  // an answer fetch() would read but Response() refuses (an odd status text): fetch() asks again
        response.destroy();
        resolve(fetchIt());
      }
    });
    request.end();
  });
}"""


# What _NODE_REQUEST answers with: what micropkg reads of a fetch() Response (status, url,
# headers, body, arrayBuffer(), text(), json(), clone(), its constructor over a stream, as
# runtime.fetch reads a body) without undici's Response, whose first use compiles undici:
# 25 ms (Node 20, this machine, 2026-12-05) right as the first answer arrived, while the chain
# waited to follow it. Headers as fetch() gives them: lower-case names, a repeated one's
# values joined by ", ".
_NODE_ANSWERING = """(() => {
  const request = __REQUEST__;
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
  return (url, init) => request(url, init, Answer);
})()""".replace("__REQUEST__", _NODE_REQUEST, 1)


def first_fetch() -> Any:
    """``fetch`` for the requests sent before the transports exist (the root pages, the chain's,
    a lock's files): under Node, Node's http modules answering without undici (``_NODE_REQUEST``,
    ``_NODE_ANSWERING``), so they leave and are read before undici has loaded; elsewhere the
    runtime's."""
    info = getattr(sys, "_emscripten_info", None)
    if info is not None and str(info.runtime).startswith("Node"):
        return js_function(_NODE_ANSWERING)
    return stacked_fetch()


# fetch() for a root page whose answer the chain will follow: its first reaction copies the
# answer (before anyone reads the body), for the chain to adopt once it has started.
_RECORDING = """(send, answers) => (url, init) => {
  const promise = send(url, init);
  const entry = { url, copy: promise.then((response) => response.clone()) };
  entry.copy.then(() => {  // the first answer is here: the request was long written, the chain starts
    const start = answers.start;
    answers.start = null;
    if (start) start();
  }).catch(() => {});
  if (answers.adopt) answers.adopt(entry); else answers.entries.push(entry);
  return promise;
}"""


class Answers:
    """The root pages' answers, copied as they arrive, for the chain (:mod:`micropkg.runtime.chain`),
    which ``start`` makes when the first of them arrives: nothing of it comes before the requests."""

    def __init__(self, start: Callable[[], None]) -> None:
        import js
        from pyodide.ffi import create_proxy

        self._start = create_proxy(start)
        self.js = js.Object.new()  # {entries: [...] until adopt(entry) is set by the chain, start}
        self.js.entries = js.Array.new()
        self.js.adopt = None
        self.js.start = self._start

    def close(self) -> None:
        self.js.start = None
        self._start.destroy()

    def fetch_page(self, url: str, init: Any) -> Any:
        return js_function(_RECORDING)(first_fetch(), self.js)(url, init)


class EarlyRequest:
    """One request asked for before the session: ``on_its_way`` is done once it was sent, or
    needed no request (the cache holds it, fresh), or failed before it could be sent."""

    def __init__(self, url: str, headers: Mapping[str, str]) -> None:
        self.url = url
        self.headers = dict(headers)  # as the index client sends them, without If-None-Match
        self.sent_headers: dict[str, str] | None = None  # with it, once sent
        self.promise: Any = None  # fetch()'s promise of the response, once sent
        self.controller: Any = None  # its AbortController
        self._taken = False
        self.failed: Exception | None = None  # why it could not be sent (then the index sends it)
        self.on_its_way: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @classmethod
    def sent(cls, url: str, headers: Mapping[str, str], promise: Any, controller: Any) -> EarlyRequest:
        """A request already on its way (the chain's, :mod:`micropkg.runtime.chain`)."""
        request = cls(url, headers)
        request.controller, request.promise, request.sent_headers = controller, promise, dict(headers)
        request.on_its_way.set_result(None)
        return request

    async def _send(self, cache: Cache | None, credentials: str | None, answers: Answers | None) -> None:
        headers = self.headers
        if cache is not None:
            asking = await cache.page_headers(self.url, self.headers)  # no turn of the loop on a miss
            if asking is None:
                return  # kept and fresh: the index reads it from the cache, no request
            headers = asking
        if self._taken:
            return  # dropped while the cache was read
        import js

        try:
            controller = js.AbortController.new()
            # Kept for the chain, which sends the likely next requests as the answer arrives.
            fetch = answers.fetch_page if answers is not None else first_fetch()
            promise = start_fetch(self.url, headers, credentials, controller.signal, fetch)
            _handled()(promise)  # rejected after an abort nobody awaits: not an unhandled rejection
        except Exception as exc:  # noqa: BLE001 - the index sends this request again, and reports its failure
            self.failed = exc
            return
        self.controller, self.promise, self.sent_headers = controller, promise, headers

    def take(self, url: str, headers: Mapping[str, str]) -> tuple[Any, Any] | None:
        """The started request's ``(promise, AbortController)`` if it is this one (same URL and
        headers) and nobody took it yet; else None, and it is stopped: the caller sends its own."""
        if self._taken:
            return None
        self._taken = True
        if self.promise is None or url != self.url or dict(headers) != self.sent_headers:
            self._stop()
            return None
        return self.promise, self.controller

    def abort(self) -> None:
        """Nobody will read the answer: stop the request (and its body) unless it was taken."""
        if not self._taken:
            self._taken = True
            self._stop()

    def _stop(self) -> None:
        if not self.on_its_way.done():
            self.on_its_way.cancel()
        if self.controller is not None:
            self.controller.abort()
        self.controller = self.promise = None


def _handled():
    return js_function("(promise) => { promise.catch(() => {}); }")


def send_page(
    url: str, headers: Mapping[str, str], cache: Cache | None, credentials: str | None = None,
    answers: Answers | None = None,
) -> EarlyRequest:
    """Start asking for the page at ``url`` now (see the module docstring); with ``answers``,
    its answer is kept for the chain to follow (:mod:`micropkg.runtime.chain`)."""
    request = EarlyRequest(url, headers)
    request.on_its_way = asyncio.ensure_future(request._send(cache, credentials, answers))
    return request


class EarlyRequests:
    """Every request an install sent before its session: the root pages, by URL, and what the
    chain sent from their answers. The first index takes each over when it asks for it."""

    def __init__(self) -> None:
        self.pages: dict[str, EarlyRequest] = {}
        self.answers: Answers | None = None
        self.chain: Chain | None = None
        self._claimed: set[str] = set()  # URLs an index asked for itself: the chain must not send them
        self._handed: set[str] = set()  # URLs whose early request an index took over
        self._start: Callable[[], None] | None = None  # makes the chain (follow), once

    def __bool__(self) -> bool:
        return bool(self.pages)

    def on_their_way(self) -> list[asyncio.Future[None]]:
        return [request.on_its_way for request in self.pages.values()]

    def follow(self, start_chain: Callable[[Answers], Chain]) -> Answers:
        """The root pages' answers, for ``start_chain`` to follow: made by :meth:`start_chain`
        once the requests are written (it is ~4 ms of work: after them, not before), or when
        the first answer arrives, if that is sooner."""

        def start() -> None:
            if self.answers is not None and self.chain is None:
                self.chain = start_chain(self.answers)
                for url in self._claimed:
                    self.chain.claim(url)

        self._start = start
        self.answers = Answers(start)
        return self.answers

    def start_chain(self) -> None:
        """Make the chain now, before the imports: then JavaScript follows each answer as it
        arrives, between two imports, rather than once Python is free to make the chain."""
        if self._start is not None:
            self._start()

    def pop(self, url: str) -> EarlyRequest | None:
        """The request sent for ``url``, handed over once; None if there is none, and then the
        caller sends its own, and the chain will not send one too."""
        request = self.pages.pop(url, None)
        if request is None and self.chain is not None:
            request = self.chain.pop(url)
        if request is None:
            self._claimed.add(url)
            if self.chain is not None:
                self.chain.claim(url)
        else:
            self._handed.add(url)
        return request

    def sent(self, url: str) -> bool:
        """Whether a request for ``url`` was sent early (the chain's, a root page's), taken over or not."""
        return url in self._handed or url in self.pages or (self.chain is not None and self.chain.holds(url))

    def abort(self) -> None:
        """Stop every request nobody took (a refused requirement, a failed call, a guess the
        resolver did not confirm), and send no more."""
        for request in self.pages.values():
            request.abort()
        self.pages.clear()
        if self.answers is not None:
            self.answers.close()
            self.answers = None
        if self.chain is not None:
            self.chain.close()
