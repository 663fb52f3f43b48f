"""HTTP inside Pyodide: ``pyfetch``, and reading ``emfs:`` and ``file:`` locations."""

from __future__ import annotations

from pathlib import Path

from ..errors import NetworkError
from ..net.transport import Request, Response, Transport, redact_url, split_credentials
from .detect import in_browser
from .js import JsException

__all__ = ["PyfetchTransport", "fetch_failure", "read_local_url", "stacked_fetch", "timeout_signal"]


class PyfetchTransport(Transport):
    """HTTP through ``pyodide.http.pyfetch`` (the browser's or Node's ``fetch``).

    ``credentials`` is fetch()'s credentials mode ("omit", "same-origin",
    "include"), as in micropip.
    """

    applies_timeout = True  # through an AbortSignal, which fetch applies to the body too

    def __init__(self, credentials: str | None = None) -> None:
        self._credentials = credentials

    async def fetch(self, request: Request) -> Response:
        from pyodide.http import pyfetch

        kwargs: dict = {"headers": dict(request.headers)}
        if self._credentials:
            kwargs["credentials"] = self._credentials
        signal = None
        if request.timeout is not None:
            signal = kwargs["signal"] = timeout_signal(request.timeout)
        fetcher = stacked_fetch()
        if fetcher is not None:
            kwargs["fetcher"] = fetcher
        response = None
        try:
            response = await pyfetch(request.url, **kwargs)
            body = await response.bytes()
        except Exception as exc:  # noqa: BLE001 - see fetch_failure
            if signal is not None and signal.aborted:  # our deadline, not the network
                url = redact_url(request.url)
                raise NetworkError(
                    f"Could not fetch {url}: no complete answer within {request.timeout:g} s", url=url
                ) from exc
            raise fetch_failure(request.url, exc, None if response is None else response.status) from exc
        headers = {k.lower(): v for k, v in response.headers.items()}
        return Response(response.url or request.url, response.status, headers, body)

_stacked_fetch: object = None


def stacked_fetch():
    """``fetch`` for ``pyfetch(fetcher=...)``, rejecting only with errors that have a stack;
    None where ``pyfetch`` takes no fetcher (Pyodide 0.27).

    WebKit's ``fetch()`` rejects with a ``TypeError`` that has no ``stack``, and
    awaiting a JS error without one in Pyodide 314 never ends (in every engine).
    So such an error is thrown again as a fresh one of the same name and message.
    """
    global _stacked_fetch
    if _stacked_fetch is None:
        from pyodide.code import run_js
        from pyodide.http import pyfetch

        # Read off the code object: inspect costs a fresh runtime tens of milliseconds of
        # compiling, on the first request's critical path.
        code = getattr(pyfetch, "__code__", None)
        if code is None or "fetcher" not in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]:
            _stacked_fetch = False
        else:
            _stacked_fetch = run_js(
                "(request, init) => fetch(request, init).catch((error) => {"
                " if (error instanceof Error && !error.stack) {"
                " const copy = new Error(error.message); copy.name = error.name; throw copy; }"
                " throw error; })"
            )
    return _stacked_fetch or None


def timeout_signal(seconds: float):
    """An AbortSignal that aborts after ``seconds``: ``AbortSignal.timeout`` where the
    engine has it (Chromium 103, Firefox 100, Safari 16, Node 17.3 on), else a controller
    aborted by a timer. Node does not wait for ``AbortSignal.timeout``'s timer to exit
    (it is unreferenced); Node always has it, so the fallback's timer runs in browsers only."""
    import js

    milliseconds = max(1, round(seconds * 1000))
    if getattr(js.AbortSignal, "timeout", None) is not None:
        return js.AbortSignal.timeout(milliseconds)
    from pyodide.ffi import create_once_callable

    controller = js.AbortController.new()
    js.setTimeout(create_once_callable(lambda: controller.abort()), milliseconds)
    return controller.signal


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

    pyfetch re-raises fetch()'s JavaScript error as an OSError carrying only its
    message ("fetch failed"), ``from None``; the error itself stays the context,
    and its ``cause`` says what happened ("connect ECONNREFUSED 127.0.0.1:8000",
    "getaddrinfo ENOTFOUND host", "other side closed"). "" when neither is there.
    """
    error: BaseException | None = exc
    for _ in range(4):  # pyfetch's wrapping is one or two levels deep
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


async def read_local_url(url: str, transport: Transport | None = None) -> bytes:
    """Bytes of an ``emfs:`` (Pyodide's file system) or ``file:`` (the host's, Node only) URL;
    any other URL is fetched through ``transport`` (a plain :class:`PyfetchTransport` by default)."""
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
    response = await (transport or PyfetchTransport()).fetch(Request(plain_url, headers))
    return response.raise_for_status(f"Download of {plain_url}").body
