"""HTTP behind one small base class.

Everything that reaches the network goes through a :class:`Transport`: the
index client, metadata and wheel downloads. Inside Pyodide the transport is
the runtime's ``fetch`` (``micropkg.runtime.fetch``); on the host it is urllib; in
tests it is a :class:`MockTransport` built from a plain function, so a fake
network is a few lines and needs no monkeypatching::

    def handler(request):
        return Response(request.url, 200, {"content-type": "text/html"}, b"...")

    transport = MockTransport(handler)
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from ..errors import HTTPStatusError, InsecureURL, NetworkError
from ..value import Value
from .urls import plain_parts

if TYPE_CHECKING:
    import urllib.parse

# urllib.parse is imported where a URL is not plain (see .urls): compiling it and ipaddress
# costs a fresh Pyodide ~150 ms, which an install's first request must not wait for.

__all__ = [
    "Request",
    "Response",
    "Transport",
    "MockTransport",
    "UrllibTransport",
    "SecureTransport",
    "is_loopback",
    "require_secure_url",
    "redact_url",
    "split_credentials",
]


def _netloc_without_userinfo(parts: urllib.parse.SplitResult) -> str:
    return parts.netloc.rpartition("@")[2]


def redact_url(url: str) -> str:
    """``url`` without the ``user:password@`` part, for messages and records."""
    if "@" not in url:  # no user information, whatever else the text holds (a lock's "lock <path>" too)
        return url
    import urllib.parse

    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host: show nothing that may hold a secret
        return "<unparseable URL>"
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=_netloc_without_userinfo(parts)))


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its ``user:password@`` part, and the Authorization header it meant.

    A browser's fetch() refuses URLs that carry credentials, and a URL is
    easily logged, so credentials travel as an HTTP Basic header instead.
    """
    if "@" not in url:  # no user information, whatever else the URL holds
        return url, {}
    import urllib.parse

    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # left for the caller's own URL checks to name
        return url, {}
    if "@" not in parts.netloc:
        return url, {}
    userinfo = parts.netloc.rpartition("@")[0]
    user, _, password = userinfo.partition(":")
    token = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}".encode()
    headers = {"Authorization": "Basic " + base64.b64encode(token).decode("ascii")}
    return redact_url(url), headers


_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is this machine: ``localhost``, 127.0.0.0/8 or ::1."""
    if not host:
        return False
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    # The common literals without ipaddress, whose import costs ~70 ms in Pyodide.
    if _IPV4.fullmatch(host):
        return int(host.split(".", 1)[0]) == 127 and all(int(part) <= 255 for part in host.split("."))
    if host == "::1":
        return True
    try:
        import ipaddress  # rarely reached (only for IP-literal hosts): kept off import time

        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name, not an address
        return False


class Request(Value):
    """What a transport is asked to fetch. Immutable by convention."""

    __slots__ = ("url", "headers", "timeout", "budget", "early")
    _fields = ("url", "headers", "timeout", "budget")  # not early: a handle on a request already sent

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        budget: float | None = None,
        early: object = None,
    ) -> None:
        self.url = url
        self.headers: Mapping[str, str] = {} if headers is None else headers
        # Honoured by transports whose ``applies_timeout`` is true (others are timed by the
        # caller, the whole answer within the smaller of the two): ``timeout`` is the seconds
        # to wait for the next bytes of the answer (its headers, then each piece of its body),
        # as pip's and uv's read timeouts; ``budget`` the seconds left for the whole answer.
        self.timeout = timeout
        self.budget = budget
        # A request already sent for this URL before the transports existed (inside Pyodide, a
        # runtime.early.EarlyRequest): the runtime's transport takes it over, once, if its
        # headers are these; any other transport ignores it and sends its own. Not compared.
        self.early = early

    def with_headers(self, headers: Mapping[str, str]) -> Request:
        """This request asked with ``headers`` instead."""
        return Request(self.url, headers, self.timeout, self.budget, self.early)

    def timed(self, timeout: float | None, budget: float | None) -> Request:
        """This request with ``timeout`` and ``budget`` for the transport to apply."""
        return Request(self.url, self.headers, timeout, budget, self.early)


class Response(Value):
    """A transport's answer. Immutable by convention."""

    __slots__ = ("url", "status", "headers", "body")

    def __init__(self, url: str, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.url = url  # after redirects
        self.status = status
        self.headers = headers  # keys lower-case
        self.body = body

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-case (``""`` if absent)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def text(self) -> str:
        charset = "utf-8"
        for param in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                charset = value.strip().strip('"')
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:  # an unknown charset name: fall back rather than crash
            return self.body.decode("utf-8", errors="replace")

    def raise_for_status(self, what: str) -> Response:
        """Raise :class:`HTTPStatusError` unless 2xx; ``what`` names the thing fetched."""
        if not 200 <= self.status < 300:
            url = redact_url(self.url)
            raise HTTPStatusError(
                f"{what}: {url} answered HTTP {self.status}"
                f" ({self.content_type or 'no content type'})",
                url=url,
                status=self.status,
            )
        return self


class Transport:
    """Fetches one URL. Subclasses implement :meth:`fetch`.

    A transport returns every HTTP response, whatever its status, and raises
    :class:`NetworkError` only when no response arrived at all.
    """

    applies_timeout = False  # True: fetch() itself gives up as request.timeout and request.budget say

    async def fetch(self, request: Request) -> Response:
        raise NotImplementedError


Handler = Callable[[Request], "Response | Awaitable[Response]"]


class MockTransport(Transport):
    """A transport that answers from a function (sync or async): for tests."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.requests: list[Request] = []

    async def fetch(self, request: Request) -> Response:
        self.requests.append(request)
        result = self._handler(request)
        if inspect.isawaitable(result):
            result = await result
        return result


def require_secure_url(url: str, *, allow_insecure_http: bool = False, what: str = "URL") -> None:
    """Raise :class:`InsecureURL` unless ``url`` is https, or http to this machine (or allowed).

    Security: over plain http anyone on the network path can read the
    request (credentials included) and change the answer -- an index page
    can name any file and hash. Loopback never leaves the machine.
    """
    shown = redact_url(url)
    plain = plain_parts(url)
    host: str | None
    if plain is not None:
        scheme, host, _ = plain
    else:
        import urllib.parse

        try:
            parts = urllib.parse.urlsplit(url)
            host = parts.hostname
        except ValueError as exc:
            raise InsecureURL(f"{what} {shown!r} is not a valid URL: {exc}", url=shown) from exc
        scheme = parts.scheme.lower()
    if scheme == "https":
        return
    if scheme != "http":
        raise InsecureURL(
            f"{what} {shown!r} uses the scheme {scheme!r}; micropkg fetches only https:"
            " (and http: from this machine)",
            url=shown,
        )
    if is_loopback(host) or allow_insecure_http:
        return
    raise InsecureURL(
        f"Refusing to fetch {what} {shown} over plain http: {host!r} is not this machine,"
        " so anyone on the way could read the request or change what gets installed."
        " Use an https URL, or pass allow_insecure_http=True if you trust the network.",
        url=shown,
    )


class SecureTransport(Transport):
    """Refuses insecure requests before they leave, and insecure redirects after.

    fetch() follows redirects by itself, so the final URL (``Response.url``)
    is checked too: a redirect that leaves https, or that reaches plain http
    on another machine, makes the answer unusable.
    """

    def __init__(self, transport: Transport, *, allow_insecure_http: bool = False) -> None:
        self.transport = transport
        self.allow_insecure_http = allow_insecure_http

    async def fetch(self, request: Request) -> Response:
        allow = self.allow_insecure_http
        require_secure_url(request.url, allow_insecure_http=allow)
        response = await self.transport.fetch(request)
        if response.url == request.url:
            return response
        import urllib.parse  # a redirect: rare, and the answer has arrived

        downgraded = (
            urllib.parse.urlsplit(request.url).scheme.lower() == "https"
            and urllib.parse.urlsplit(response.url).scheme.lower() != "https"
        )
        if downgraded and not allow:
            shown = redact_url(response.url)
            raise InsecureURL(
                f"{redact_url(request.url)} redirected to {shown}, which is not https;"
                " the answer is not used. Ask the server's owner to keep redirects on https.",
                url=shown,
            )
        require_secure_url(response.url, allow_insecure_http=allow, what="the redirect target")
        return response


class UrllibTransport(Transport):
    """The host's transport (CPython, no browser): urllib in a worker thread."""

    def __init__(self, timeout: float = 60.0) -> None:
        self._timeout = timeout

    async def fetch(self, request: Request) -> Response:
        return await asyncio.to_thread(self._fetch_sync, request)

    def _fetch_sync(self, request: Request) -> Response:
        # Imported here: inside Pyodide this class is never used, and compiling
        # urllib.request and http.client costs about 0.2 s of every first install there.
        import urllib.error
        import urllib.request

        req = urllib.request.Request(request.url, headers=dict(request.headers))
        try:
            with urllib.request.urlopen(req, timeout=self._timeout) as resp:
                headers = {k.lower(): v for k, v in resp.headers.items()}
                return Response(resp.geturl(), resp.status, headers, resp.read())
        except urllib.error.HTTPError as exc:
            headers = {k.lower(): v for k, v in exc.headers.items()}
            return Response(request.url, exc.code, headers, exc.read())
        except (urllib.error.URLError, OSError) as exc:
            url = redact_url(request.url)
            raise NetworkError(f"Could not reach {url}: {exc}", url=url) from exc
