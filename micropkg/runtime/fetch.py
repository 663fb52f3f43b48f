"""HTTP inside Pyodide: the runtime's ``fetch``, and reading ``emfs:`` and ``file:`` locations."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..errors import NetworkError
from ..net.retry import timed_out
from ..net.transport import Request, Response, Transport, redact_url, split_credentials
from .detect import in_browser
from .early import EarlyRequest, start_fetch
from .early_fetch import stacked_fetch
from .js import JsException, give_way, js_function
from .json_pages import NARROW_FROM

__all__ = ["PyfetchTransport", "fetch_failure", "read_local_url", "stacked_fetch"]


class PyfetchTransport(Transport):
    """HTTP through the browser's or Node's ``fetch``, called directly.

    Not through ``pyodide.http.pyfetch``: a fresh Pyodide 314 compiles
    ``pyodide.http`` (~65 ms under Node) before its first call, and an
    install's first request must not wait for that. What pyfetch added -- an
    error for a failed fetch, the headers as a dict -- is a few lines here.

    ``credentials`` is fetch()'s credentials mode ("omit", "same-origin",
    "include"), as in micropip.

    A request's ``timeout`` is a read timeout, as pip's and uv's: the request is
    aborted when no bytes of the answer arrived for that long (its headers, then
    each piece of its body, read as a stream). Its ``budget`` bounds the whole answer.
    """

    applies_timeout = True  # through an AbortController, which fetch applies to the body too

    def __init__(self, credentials: str | None = None) -> None:
        self._credentials = credentials

    async def fetch(self, request: Request) -> Response:
        import js

        early = request.early if isinstance(request.early, EarlyRequest) else None
        taken = early.take(request.url, request.headers) if early is not None else None
        controller = js.AbortController.new() if taken is None else taken[1]
        watchdog = None
        if request.timeout is not None or request.budget is not None:
            # For a request sent early, the idle time counts from here: it has been on
            # its way while the machinery loaded, and is at most that much late.
            watchdog = _Watchdog(request.timeout, request.budget, controller)
        status = None
        done = False
        try:
            if taken is None:
                promise = start_fetch(request.url, request.headers, self._credentials, controller.signal)
            else:
                promise = taken[0]
            js_response = await promise
            status = js_response.status
            if watchdog is None:
                body = (await js_response.arrayBuffer()).to_bytes()
            else:
                watchdog.progress()
                body = await _read_body(js_response, watchdog)
            done = True
        except Exception as exc:  # noqa: BLE001 - see fetch_failure
            if watchdog is not None and watchdog.fired is not None:  # our deadline, not the network
                raise timed_out(request.url, watchdog.fired) from exc
            raise fetch_failure(request.url, exc, status) from exc
        finally:
            if watchdog is not None:
                watchdog.stop(abort=not done)  # cancelled midway: the request must not go on
            elif not done:
                controller.abort()
        narrowed = getattr(taken[0], "narrowed", None) if taken is not None and status == 200 else None
        if early is not None and narrowed is not None and len(body) >= NARROW_FROM:
            # The chain parsed this very answer in JavaScript: the page narrowed from there saves
            # Python its own parse (runtime.json_pages). Awaiting it gives way, as below.
            text = await narrowed  # null (jsnull, not None, in Pyodide 0.28+): not worth it, no need to try again
            early.narrowed = (len(body), text.encode() if isinstance(text, str) else None)
        else:
            # What Python does with the body next (parse a page, hash a wheel) runs on the thread the
            # chain's own answers arrive on: they go first, so its next requests are not held up.
            await give_way()
        return Response(str(js_response.url or "") or request.url, status, _headers(js_response.headers), body)


def _headers(js_headers: Any) -> dict[str, str]:
    """A response's headers, names lower-case. Crossed as one string, ``name\nvalue`` lines:
    converting the pairs with ``to_py`` took about a millisecond per response in a fresh
    Pyodide. Neither a name nor a value can hold a line break (fetch()'s Headers refuse them)."""
    text = str(js_function(_HEADER_LINES)(js_headers))
    lines = text.split("\n") if text else []
    return {lines[i].lower(): lines[i + 1] for i in range(0, len(lines) - 1, 2)}


_HEADER_LINES = "(headers) => Array.from(headers, ([name, value]) => `${name}\\n${value}`).join('\\n')"


def fetch_failure(url: str, exc: BaseException, status: int | None = None) -> NetworkError:
    """The error for a fetch() that got no complete answer, in the runtime's own words.

    Browsers name no cause, by design (a page must not probe the network):
    Chromium says "Failed to fetch", Firefox "NetworkError when attempting to
    fetch resource.", WebKit "Load failed", and a refused connection, a name
    that does not resolve and a response without CORS headers all look the
    same. Node says more, in the error's ``cause`` (:func:`_failure`).
    ``status`` is the answer's, when one had begun and its body broke off.
    """
    shown = redact_url(url)
    # fetch() quotes the URL in some errors: keep any user:password out of the message.
    detail = _failure(exc).replace(url, shown).strip().rstrip(".")
    what = "no answer arrived" if status is None else f"the answer (HTTP {status}) broke off before its body was complete"
    hint = ""
    if in_browser() and status is None:
        hint = (
            " The browser does not say why: the server may be unreachable or, most often, it does not send "
            "'Access-Control-Allow-Origin' for this page's origin (CORS)."
        )
    return NetworkError(f"Could not fetch {shown}: {what}{f' ({detail})' if detail else ''}.{hint}", url=shown)


def _failure(exc: BaseException) -> str:
    """What the runtime said went wrong: fetch()'s error and, under Node, its cause.

    Awaiting fetch()'s promise raises its JavaScript error as a ``JsException``
    (a wrapper such as pyfetch's OSError keeps it as the cause or context), and
    its ``cause`` says what happened ("connect ECONNREFUSED 127.0.0.1:8000",
    "getaddrinfo ENOTFOUND host", "other side closed"). "" when neither is there.
    """
    error: BaseException | None = exc
    for _ in range(4):  # a wrapping is one or two levels deep
        if error is None or isinstance(error, JsException):
            break
        error = error.__cause__ or error.__context__
    if not isinstance(error, JsException):
        # An OSError's text is the runtime's; anything else is Python's own bookkeeping.
        return str(exc) if isinstance(exc, OSError) else ""
    js_error = getattr(error, "js_error", error)
    message = _text(getattr(js_error, "message", None)) or str(error)
    cause = getattr(js_error, "cause", None)
    because = _text(getattr(cause, "message", None)) if cause is not None else None
    return f"{message}: {because}" if because and because not in message else message


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None



class _Watchdog:
    """Aborts one fetch when no bytes arrived for ``idle`` seconds, or at ``budget`` seconds.

    One JS timer at a time, re-armed when it fires and bytes came meanwhile, so
    a download's many pieces cost a clock read each, not a timer each. The timer
    is unreferenced under Node: a finished install must not keep Node running.
    """

    def __init__(self, idle: float | None, budget: float | None, controller: Any) -> None:
        import js
        from pyodide.ffi import create_proxy

        self._js = js
        self._controller = controller
        self._idle = idle
        now = time.monotonic()
        self._last = now
        self._deadline = None if budget is None else now + budget
        self._budget = budget
        self.fired: str | None = None  # why the request was aborted, once it was
        self._callback = create_proxy(self._check)
        self._handle: Any = None
        self._arm()

    def _arm(self) -> None:
        due = [t for t in (self._deadline, None if self._idle is None else self._last + self._idle) if t is not None]
        delay = max(0.0, min(due) - time.monotonic())
        handle = self._js.setTimeout(self._callback, max(1, round(delay * 1000)))
        unref = getattr(handle, "unref", None)  # Node's Timeout; a browser's timer id is a number
        if unref is not None:
            unref()
        self._handle = handle

    def _check(self, *_: object) -> None:
        self._handle = None
        now = time.monotonic()
        if self._deadline is not None and now >= self._deadline:
            self.fired = f"no complete answer within the {self._budget:g} s left of the install's time budget"
        elif self._idle is not None and now - self._last >= self._idle:
            self.fired = f"no answer for {self._idle:g} s"
        else:
            self._arm()  # bytes came since it was armed
            return
        self._controller.abort()

    def progress(self) -> None:
        """Bytes arrived: the idle time counts from now."""
        self._last = time.monotonic()

    def stop(self, *, abort: bool) -> None:
        if self._handle is not None:
            self._js.clearTimeout(self._handle)
            self._handle = None
        if abort and self.fired is None:
            self._controller.abort()
        self._callback.destroy()


async def _read_body(js_response: Any, watchdog: _Watchdog) -> bytes:
    """The body, each piece telling the watchdog that bytes are coming.

    The pieces pass through a ``TransformStream`` whose transform is a Python
    call: synchronous, a few microseconds a piece, where awaiting each read of
    the stream from Python costs a task step per piece (43 ms more than
    ``arrayBuffer()`` for a 6.5 MB page under Node; this way 5 ms in Chromium).
    JavaScript joins them, and the body crosses into WebAssembly memory once.
    """
    import js
    from pyodide.ffi import create_proxy, to_js

    try:
        from pyodide.ffi import jsnull
    except ImportError:  # Pyodide before 0.28, where JavaScript's null is None
        jsnull = None
    stream = js_response.body
    if stream is None or stream is jsnull:  # a HEAD request, a 204, a 304 (Pyodide 0.28+: jsnull)
        return b""
    transform_stream = getattr(js, "TransformStream", None)
    if transform_stream is None:  # a Node vm context without the web stream globals
        return await _read_pieces(stream, watchdog)

    def transform(piece: Any, controller: Any) -> None:
        watchdog.progress()
        controller.enqueue(piece)

    proxy = create_proxy(transform)
    try:
        passing = transform_stream.new(to_js({"transform": proxy}, dict_converter=js.Object.fromEntries))
        # The response's own constructor: Response is not a global everywhere fetch is.
        buffer = await js_response.constructor.new(stream.pipeThrough(passing)).arrayBuffer()
    finally:
        proxy.destroy()
    return buffer.to_bytes()


async def _read_pieces(stream: Any, watchdog: _Watchdog) -> bytes:
    """The body read a piece at a time from Python; joined in JavaScript, copied once."""
    reader = stream.getReader()
    pieces = []
    size = 0
    while not (result := await reader.read()).done:
        watchdog.progress()
        pieces.append(result.value)
        size += result.value.length
    if not pieces:  # an empty body (PyPI's 404 for a missing .metadata file)
        return b""
    if len(pieces) == 1:
        return pieces[0].to_bytes()
    joined = pieces[0].constructor.new(size)  # a Uint8Array
    at = 0
    for piece in pieces:
        joined.set(piece, at)
        at += piece.length
    return joined.to_bytes()


async def read_local_url(url: str, transport: Transport | None = None, early: EarlyRequest | None = None) -> bytes:
    """Bytes of an ``emfs:`` (Pyodide's file system) or ``file:`` (the host's, Node only) URL;
    any other URL is fetched through ``transport`` (a plain :class:`PyfetchTransport` by default),
    which takes over ``early``, the request already sent for it (``runtime.early_files.send_files``)."""
    if url.startswith("emfs:"):
        path = url[len("emfs:") :]
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise NetworkError(f"Cannot read {path} in Pyodide's file system: {exc}", url=url) from exc
    if url.startswith("file:"):
        if in_browser():
            raise NetworkError(f"{url}: file: URLs work only under Node, not in a browser", url=url)
        from pyodide_js._api import loadBinaryFile

        path = url[len("file://") :] if url.startswith("file://") else url[len("file:") :]
        try:
            return (await loadBinaryFile(path)).to_bytes()
        except JsException as exc:  # Node's fs
            raise NetworkError(f"Cannot read {path}: {exc}", url=url) from exc
    plain_url, headers = split_credentials(url)
    response = await (transport or PyfetchTransport()).fetch(Request(plain_url, headers, early=early))
    return response.raise_for_status(f"Download of {plain_url}").body
