"""Requests sent before the session exists: an install's root pages, straight through ``fetch``.

A fresh Pyodide compiles what it imports. The session, the index client, the
transports and their dataclasses are dozens of modules: ~100 ms before a
request could leave through them. The page of a plainly named project needs
none of that: its URL, its ``Accept`` header, the cache entry it may already
have. :func:`send_page` looks the page up in the persistent cache and, unless
it is kept and fresh, starts the runtime's ``fetch`` for it at once, with the
headers the index client would send (``If-None-Match`` included). In a browser,
whose HTTP cache revalidates and where the headers do not depend on micropkg's
cache, the request leaves first and the lookup stops it if the page is kept
fresh (:meth:`EarlyRequest.unless_kept`): opening the store costs a synchronous
read of localStorage. Under Node,
through Node's own http modules, as fetch() there loads for longer than the
rest of the way to the request takes (see ``runtime.early_fetch``). Nothing
here reads the answer: the transport takes the started request over when
the index asks for that page (:meth:`EarlyRequest.take`), and from there
it is an ordinary request (timeouts, retries, the redirect check, the cache).

It imports nothing of micropkg but its ``fetch`` (:mod:`.early_fetch`): the cache it is
handed is the only other module on the way (see ``tests/host/test_head_start.py`` for the
whole list).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .early_fetch import first_fetch, stacked_fetch
from .js import js_function

if TYPE_CHECKING:
    from ..net.cache import Cache


class Chain(Protocol):
    """What follows the root pages' answers (:class:`micropkg.runtime.chain.Chain`, which imports this module)."""

    def pop(self, url: str) -> EarlyRequest | None: ...

    def holds(self, url: str) -> bool: ...

    def claim(self, url: str) -> None: ...

    def close(self) -> None: ...


def start_fetch(url: str, headers: Mapping[str, str], credentials: str | None, signal: Any, fetch: Any = None) -> Any:
    """The runtime's ``fetch(url, init)`` (or ``fetch``'s): its promise of a response."""
    import js
    from pyodide.ffi import to_js

    init: dict = {"headers": to_js(dict(headers), dict_converter=js.Object.fromEntries), "signal": signal}
    if credentials:
        init["credentials"] = credentials
    return (fetch or stacked_fetch())(url, to_js(init, dict_converter=js.Object.fromEntries))


# fetch() for a root page whose answer the chain will follow: its first reaction copies the
# answer (before anyone reads the body), for the chain to adopt once it has started.
_RECORDING = """(send, answers) => (url, init) => {
  const promise = send(url, init);
  const entry = { url, promise, copy: promise.then((response) => response.clone()) };
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
        self.sent_at: float | None = None  # time.perf_counter() as it was handed to fetch()
        self._looking: asyncio.Future[None] | None = None  # unless_kept's lookup
        # The length of the body the transport read (runtime.fetch) and the page as the chain
        # narrowed it (runtime.json_pages; None: not worth it), for the index client to parse.
        self.narrowed: tuple[int, bytes | None] | None = None
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
        self.sent_at = time.perf_counter()

    def unless_kept(self, cache: Cache) -> None:
        """Stop this request, sent before its page was looked up in ``cache``, once the cache
        says it holds that page fresh: the index then reads it there and never takes this one."""

        async def look() -> None:
            if await cache.page_headers(self.url, self.headers) is None:
                self.abort()

        self._looking = asyncio.ensure_future(look())  # kept: a task nobody holds may be collected

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
    sending = request._send(cache, credentials, answers)
    loop = asyncio.get_running_loop()
    # Started at once (eagerly, Python 3.12+: every Pyodide micropkg runs in), not as a task a
    # turn of the event loop later: _send reaches fetch() without waiting on a sure cache miss,
    # and in Chromium a turn can take several ms.
    if sys.version_info >= (3, 12):
        request.on_its_way = asyncio.Task(sending, loop=loop, eager_start=True)  # type: ignore[call-arg]
    else:
        request.on_its_way = loop.create_task(sending)
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

    def first_sent_at(self) -> float | None:
        """When the first of the root pages' requests was handed to fetch() (perf_counter), if one was."""
        return min((r.sent_at for r in self.pages.values() if r.sent_at is not None), default=None)

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
