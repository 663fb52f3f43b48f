"""A lock's files, sent for before the installer loads (``micropkg.lock_install``).

An install from a lock knows every file it will download once the lock is read:
:func:`send_files` starts their requests then, and the transport takes each over
when the installer reads that file (:meth:`~.early.EarlyRequest.take`), as it takes
over an install's early page requests (:mod:`.early`, whose machinery this shares).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

from .early import _NODE_REQUEST, EarlyRequest, _handled, stacked_fetch, start_fetch
from .js import js_function

__all__ = ["send_files"]


# What _NODE_REQUEST answers with for a file read whole (send_files): a fetch() Response's
# status, url, headers, body, arrayBuffer() and constructor (over a stream, as runtime.fetch
# reads a body), without loading undici for Response (~20-30 ms of compiling: see the comment
# above runtime.early._NODE_REQUEST).
# Headers as fetch() gives them: lower-case names, a repeated one's values joined by ", ".
_NODE_FILE_REQUEST = """(() => {
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
  }
  return (url, init) => request(url, init, Answer);
})()""".replace("__REQUEST__", _NODE_REQUEST, 1)


def _file_fetch() -> Any:
    """``fetch`` for files read whole: under Node, Node's http modules answering without undici
    (``_NODE_FILE_REQUEST``); elsewhere the runtime's."""
    info = getattr(sys, "_emscripten_info", None)
    if info is not None and str(info.runtime).startswith("Node"):
        return js_function(_NODE_FILE_REQUEST)
    return stacked_fetch()



def send_files(requests: Iterable[tuple[str, Mapping[str, str]]], credentials: str | None = None) -> dict[str, EarlyRequest]:
    """Start downloading each ``(url, headers)`` now, by URL: the files of an install that knows
    them before its machinery has loaded (a lock's), so that the machinery loads while they
    are on their way. Under Node through Node's http modules, as fetch() would first load
    undici (see ``_NODE_REQUEST``), and answered without it. The transport takes each over when the
    file is read (:meth:`EarlyRequest.take`); the caller aborts those it never read.

    A request that cannot be started is left out: the transport sends it, and reports its failure.
    """
    import js

    fetch = _file_fetch()
    handled = _handled()
    sent: dict[str, EarlyRequest] = {}
    for url, headers in requests:
        if url in sent:
            continue  # asked twice: the first is taken over, the second read sends its own
        try:
            controller = js.AbortController.new()
            promise = start_fetch(url, headers, credentials, controller.signal, fetch)
            handled(promise)  # rejected after an abort nobody awaits: not an unhandled rejection
        except Exception:  # noqa: BLE001, S112 - sent again when read, and its failure reported then
            continue
        sent[url] = EarlyRequest.sent(url, headers, promise, controller)
    return sent
