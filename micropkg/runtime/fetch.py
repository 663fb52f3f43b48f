"""HTTP inside Pyodide: ``pyfetch``, and reading ``emfs:`` and ``file:`` locations."""

from __future__ import annotations

from pathlib import Path

from ..errors import NetworkError
from ..net.transport import Request, Response, Transport, redact_url, split_credentials
from .detect import in_browser
from .js import JsException

__all__ = ["PyfetchTransport", "read_local_url"]


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
            import js  # type: ignore[import-not-found]

            # Node does not wait for this timer before exiting (it is unreferenced).
            signal = kwargs["signal"] = js.AbortSignal.timeout(max(1, round(request.timeout * 1000)))
        response = None
        try:
            response = await pyfetch(request.url, **kwargs)
            body = await response.bytes()
        except Exception as exc:  # noqa: BLE001 - see below
            # No complete answer. pyfetch raises a JsException or OSError, and when the body
            # breaks off an AttributeError of its own error handling ("'NoneType' object has
            # no attribute 'message'"), which must not reach the user as such: the message
            # says what failed in the runtime's own words (_failure), never Python's.
            url = redact_url(request.url)
            if signal is not None and signal.aborted:  # our deadline, not the network
                raise NetworkError(
                    f"Could not fetch {url}: no complete answer within {request.timeout:g} s", url=url
                ) from exc
            hint = ""
            if in_browser():
                hint = (
                    " In a browser this is usually CORS: the server must send "
                    "'Access-Control-Allow-Origin' for this page's origin."
                )
            what = "no answer arrived" if response is None else (
                f"the answer (HTTP {response.status}) broke off before its body was complete"
            )
            # fetch() quotes the URL in some errors: keep any user:password out of the message.
            detail = _failure(exc).replace(request.url, url)
            raise NetworkError(f"Could not fetch {url}: {what}{f' ({detail})' if detail else ''}.{hint}", url=url) from exc
        headers = {k.lower(): v for k, v in response.headers.items()}
        return Response(response.url or request.url, response.status, headers, body)


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
        from pyodide_js._api import loadBinaryFile  # type: ignore[import-not-found]

        path = url[len("file://") :] if url.startswith("file://") else url[len("file:") :]
        try:
            return (await loadBinaryFile(path)).to_bytes()
        except JsException as exc:  # Node's fs
            raise NetworkError(f"Cannot read {path}: {exc}", url=url) from exc
    plain_url, headers = split_credentials(url)
    response = await (transport or PyfetchTransport()).fetch(Request(plain_url, headers))
    return response.raise_for_status(f"Download of {plain_url}").body
