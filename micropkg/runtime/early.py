"""Requests sent before the session exists: an install's root pages, straight through ``fetch``.

A fresh Pyodide compiles what it imports. The session, the index client, the
transports and their dataclasses are dozens of modules: ~100 ms before a
request could leave through them. The page of a plainly named project needs
none of that: its URL, its ``Accept`` header, the cache entry it may already
have. :func:`send_page` looks the page up in the persistent cache and, unless
it is kept and fresh, starts the runtime's ``fetch`` for it at once, with the
headers the index client would send (``If-None-Match`` included). Nothing
here reads the answer: the transport takes the started request over when
the index asks for that page (:meth:`EarlyRequest.take`), and from there
it is an ordinary request (timeouts, retries, the redirect check, the cache).

It imports nothing of micropkg: the cache it is handed is the only other
module on the way (see ``tests/host/test_head_start.py`` for the whole list).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .js import js_function

if TYPE_CHECKING:
    from ..net.cache import Cache


class Chain(Protocol):
    """What follows a cold page's answer (:class:`micropkg.runtime.chain.Chain`, which imports this module)."""

    def fetch_page(self, url: str, init: Any) -> Any: ...

    def pop(self, url: str) -> EarlyRequest | None: ...

    def close(self) -> None: ...

__all__ = ["EarlyRequest", "EarlyRequests", "send_page", "stacked_fetch"]

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

    async def _send(self, cache: Cache | None, credentials: str | None, chain: Chain | None) -> None:
        headers = self.headers
        if cache is not None:
            asking = await cache.page_headers(self.url, self.headers)
            if asking is None:
                return  # kept and fresh: the index reads it from the cache, no request
            headers = asking
        if self._taken:
            return  # dropped while the cache was read
        import js

        try:
            controller = js.AbortController.new()
            # With a chain, its likely next requests are sent as the answer arrives (a 304 has nothing to follow).
            fetch = chain.fetch_page if chain is not None else None
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
    url: str, headers: Mapping[str, str], cache: Cache | None, credentials: str | None = None, chain: Chain | None = None,
) -> EarlyRequest:
    """Start asking for the page at ``url`` now (see the module docstring); with ``chain``,
    its answer is followed (:mod:`micropkg.runtime.chain`) if nothing of it was kept."""
    request = EarlyRequest(url, headers)
    request.on_its_way = asyncio.ensure_future(request._send(cache, credentials, chain))
    return request


class EarlyRequests:
    """Every request an install sent before its session: the root pages, by URL, and what the
    chain sent from their answers. The first index takes each over when it asks for it."""

    def __init__(self, pages: Mapping[str, EarlyRequest], chain: Chain | None = None) -> None:
        self.pages = dict(pages)
        self.chain = chain

    def __bool__(self) -> bool:
        return bool(self.pages)

    def on_their_way(self) -> list[asyncio.Future[None]]:
        return [request.on_its_way for request in self.pages.values()]

    def pop(self, url: str) -> EarlyRequest | None:
        """The request sent for ``url``, handed over once; None if there is none."""
        request = self.pages.pop(url, None)
        if request is None and self.chain is not None:
            request = self.chain.pop(url)
        return request

    def abort(self) -> None:
        """Stop every request nobody took (a refused requirement, a failed call, a guess the
        resolver did not confirm), and send no more."""
        for request in self.pages.values():
            request.abort()
        self.pages.clear()
        if self.chain is not None:
            self.chain.close()
