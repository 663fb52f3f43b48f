"""HTTP behind one small base class.

Everything that reaches the network goes through a :class:`Transport`: the
index client, metadata and wheel downloads. Inside Pyodide the transport is
``pyodide.http.pyfetch`` (see ``_runtime``); on the host it is urllib; in
tests it is a :class:`MockTransport` built from a plain function, so a fake
network is a few lines and needs no monkeypatching::

    def handler(request):
        return Response(request.url, 200, {"content-type": "text/html"}, b"...")

    transport = MockTransport(handler)
"""

from __future__ import annotations

import asyncio
import inspect
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from ._errors import HTTPStatusError, NetworkError

__all__ = ["Request", "Response", "Transport", "MockTransport", "UrllibTransport"]


@dataclass(frozen=True)
class Request:
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    headers: Mapping[str, str]  # keys lower-case
    body: bytes

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
            raise HTTPStatusError(
                f"{what}: {self.url} answered HTTP {self.status}"
                f" ({self.content_type or 'no content type'})",
                url=self.url,
                status=self.status,
            )
        return self


class Transport:
    """Fetches one URL. Subclasses implement :meth:`fetch`.

    A transport returns every HTTP response, whatever its status, and raises
    :class:`NetworkError` only when no response arrived at all.
    """

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


class UrllibTransport(Transport):
    """The host's transport (CPython, no browser): urllib in a worker thread."""

    def __init__(self, timeout: float = 60.0) -> None:
        self._timeout = timeout

    async def fetch(self, request: Request) -> Response:
        return await asyncio.to_thread(self._fetch_sync, request)

    def _fetch_sync(self, request: Request) -> Response:
        req = urllib.request.Request(request.url, headers=dict(request.headers))
        try:
            with urllib.request.urlopen(req, timeout=self._timeout) as resp:
                headers = {k.lower(): v for k, v in resp.headers.items()}
                return Response(resp.geturl(), resp.status, headers, resp.read())
        except urllib.error.HTTPError as exc:
            headers = {k.lower(): v for k, v in exc.headers.items()}
            return Response(request.url, exc.code, headers, exc.read())
        except (urllib.error.URLError, OSError) as exc:
            raise NetworkError(f"Could not reach {request.url}: {exc}", url=request.url) from exc
