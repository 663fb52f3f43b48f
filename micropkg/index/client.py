"""Asking package indexes for project pages and PEP 658 metadata.

An index URL is either a base (``https://pypi.org/simple``, the project name
is appended) or a template containing ``{package_name}`` (for example PyPI's
legacy ``https://pypi.org/pypi/{package_name}/json``). The answer's content
type picks the parser, so one index may answer JSON and another HTML.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, TypeVar

from ..errors import FetchError, IndexFormatError
from ..model.simple import HTML_CONTENT_TYPES, JSON_CONTENT_TYPE, DistFile, ProjectPage, parse_json_page
from ..net.cache import Cache
from ..net.transport import Request, Response, Transport, split_credentials
from ..net.urls import plain_parts
from ..runtime.json_pages import narrow_json_page
from .head_start import ACCEPT, METADATA_HOSTS, page_url
from .source import PackageSource

if TYPE_CHECKING:
    from ..model.sources import IndexSource
    from ..runtime.early import EarlyRequest, EarlyRequests

T = TypeVar("T")

__all__ = ["Index", "fetch_verified", "parse_page"]

async def fetch_verified(
    transport: Transport, request: Request, hashes: Mapping[str, str], *, what: str, size: int | None = None,
) -> bytes:
    """Fetch ``request`` and check its bytes against ``hashes`` (and ``size`` when known)."""
    url = request.url
    response = (await transport.fetch(request)).raise_for_status(what)
    from ..model.hashes import check_hashes  # loaded after the first request

    check_hashes(response.body, hashes, url, size=size)
    if size is not None and len(response.body) != size:
        # Only reachable without a hash to compare: the size is then the one check left.
        raise FetchError(
            f"{what}: {url} sent {len(response.body)} bytes, the index said {size}; "
            "the transfer was cut short or the file changed. Try again.",
            url=url,
        )
    return response.body


class Index(PackageSource):
    """One index, reached through a transport."""

    def __init__(
        self,
        url: str,
        transport: Transport,
        *,
        headers: Mapping[str, str] | None = None,
        cache: Cache | None = None,
        early: EarlyRequests | None = None,
    ) -> None:
        # Security: credentials in the URL (https://user:pass@host/simple) become an
        # Authorization header, so the URL -- kept for messages and plans -- holds no secret.
        self.url, credentials = split_credentials(url)
        # Every request this index sends, and the bytes of the answers, for ResolutionStats.
        self._transport = self._counted = _Counted(transport)
        # Headers (e.g. Authorization) meant for this index only: they are sent
        # to the index's own origin, never to file hosts elsewhere.
        self._headers = {**credentials, **(headers or {})}
        self._origin = _origin(self._page_url("x"))
        # Pages, metadata and wheels kept across page loads (None: always ask the network).
        self._cache = cache
        # Pages asked for before anyone needed them (send_early), by URL: this
        # Index belongs to one install, so no other task shares them.
        self._early: dict[str, tuple[asyncio.Future[Response], asyncio.Future[None]]] = {}
        # Requests sent before this Index existed (head_start.send_first_pages: root pages and
        # the chain's): the transport takes each over when this index asks for its URL.
        self._sent_early = early
        self.range_requests = 0  # requests made to read METADATA out of wheels (see metadata_from_ranges)
        # Every page answer this index gave, by URL: what a plan depended on, for the installed-tree cache.
        self.pages_read: dict[str, Response] = {}
        # A page answer and its JSON as the chain narrowed it (runtime.json_pages; None: not
        # worth it), by URL.
        self._narrowed: dict[str, tuple[Response, bytes | None]] = {}

    @property
    def cache(self) -> Cache | None:
        return self._cache

    @property
    def headers(self) -> dict[str, str]:  # sent to this index's origin (credentials included)
        return dict(self._headers)

    @property
    def requests(self) -> int:
        """Requests sent so far (pages, metadata, ranges, wheels; not those the cache answered)."""
        return self._counted.requests

    @property
    def received(self) -> int:
        """Bytes of the answers to :attr:`requests` so far."""
        return self._counted.received

    @property
    def source(self) -> IndexSource:
        from ..model.sources import IndexSource  # loaded after the first request

        return IndexSource(self.url)

    def __repr__(self) -> str:
        return f"Index({self.url!r})"

    def _page_url(self, project: str) -> str:
        return page_url(self.url, project)

    def _headers_for(self, url: str) -> dict[str, str]:
        return dict(self._headers) if _origin(url) == self._origin else {}

    async def _sent(self, request: Awaitable[T]) -> T:
        # While a request is out, the cache's pending writes use the idle thread.
        return await (self._cache.fetching(request) if self._cache is not None else request)

    def send_early(self, name: str) -> asyncio.Future[None]:
        """Start fetching ``name``'s page now; :meth:`project` takes the answer when asked.

        The future returned is done once the request is on its way (handed to
        the transport) or answered without one (a fresh page in the cache).
        """
        url = self._page_url(name)
        if url not in self._early:
            on_its_way: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            answer = asyncio.ensure_future(self._page_response(url, _Announcing(self._transport, on_its_way)))
            answer.add_done_callback(lambda _: None if on_its_way.done() else on_its_way.set_result(None))
            self._early[url] = (answer, on_its_way)
        return self._early[url][1]

    def drop_early(self) -> None:
        """Forget the early pages nobody asked for (the answer, or the error, is nobody's)."""
        for answer, _ in self._early.values():
            if not answer.done():
                answer.cancel()
            elif not answer.cancelled():
                answer.exception()  # retrieved: no "exception was never retrieved" warning
        self._early.clear()
        if self._sent_early is not None:
            self._sent_early.abort()

    def sent_ahead(self, url: str) -> bool:
        """Whether a request for ``url`` was sent before anyone asked (the chain's), taken over or not."""
        return self._sent_early is not None and self._sent_early.sent(url)

    async def keep_metadata(self, file: DistFile, metadata: bytes) -> None:
        """Keep ``file``'s METADATA, read out of the whole wheel, as if the index had served it."""
        sha = file.hashes.get("sha256")
        if self._cache is not None and sha:
            await self._cache.keep_derived(sha, metadata)

    def _taken_early(self, url: str) -> EarlyRequest | None:
        return None if self._sent_early is None else self._sent_early.pop(url)

    async def _page_response(self, url: str, transport: Transport | None = None) -> Response:
        transport = transport or self._transport
        headers = {"Accept": ACCEPT, **self._headers_for(url)}
        early = self._taken_early(url)
        request = Request(url, headers, early=early)
        response = await (self._cache.fetch_page(transport, request) if self._cache else transport.fetch(request))
        self.pages_read[url] = response
        if early is not None and early.narrowed is not None and early.narrowed[0] == len(response.body):
            self._narrowed[url] = (response, early.narrowed[1])  # the chain's reading of this body
        return response

    async def page_response(self, url: str) -> Response:
        """The answer for this index's page at ``url``, as :meth:`project` reads it (an early one stays for it)."""
        early = self._early.get(url)
        return await (asyncio.shield(early[0]) if early is not None else self._page_response(url))

    async def project(self, name: str) -> ProjectPage | None:
        """The project's page, or None when this index does not know the project."""
        url = self._page_url(name)
        early, _ = self._early.pop(url, (None, None))
        response = await (early if early is not None else self._page_response(url))
        # Only "not here" (404, 410) lets the catalog ask the next index. Any other
        # failure -- a 5xx, a 401/403, an HTML error page, broken JSON -- is raised,
        # so a private index that is down never silently hands the name to the next
        # index (where anyone may have registered it: dependency confusion).
        if response.status in (404, 410):
            return None
        response.raise_for_status(f"Index page for {name!r}")
        chain_read = self._narrowed.pop(url, None)
        try:
            if chain_read is not None and chain_read[0] is response:
                return parse_page(response, name, narrowed=chain_read[1], narrow=False)
            return parse_page(response, name)
        except IndexFormatError as exc:
            raise IndexFormatError(
                f"{exc} [{self.url} answered HTTP {response.status}, content type "
                f"{response.content_type or 'none'!r}, {len(response.body)} bytes; micropkg does not"
                " fall back to another index after such an answer: fix the index URL or the index]",
                url=exc.url,
            ) from exc

    async def metadata(self, file: DistFile) -> bytes | None:
        """PEP 658 metadata of ``file``, or None when the index has none for it."""
        advertised = file.core_metadata is not None
        served_anyway = _origin(file.url)[1] in METADATA_HOSTS
        if not (advertised or served_anyway):
            return None
        url = file.metadata_url
        own_sha = (file.core_metadata or {}).get("sha256")
        wheel_sha = file.hashes.get("sha256")
        cache = self._cache
        if cache is not None and (own_sha or wheel_sha):
            kept = await (cache.file(own_sha) if own_sha else cache.derived(wheel_sha or ""))
            if kept is not None:
                return kept
            if cache.mode == "offline":
                if not advertised:
                    return None  # as if none were served: the metadata is read from the (kept) wheel
                raise cache.offline_miss(url, f"Metadata of {file.filename}")
        request = Request(url, self._headers_for(url), early=self._taken_early(url))
        response = await self._sent(self._transport.fetch(request))
        if response.status == 404 and not advertised:
            return None
        response.raise_for_status(f"Metadata of {file.filename}")
        from ..model.hashes import check_hashes

        check_hashes(response.body, file.core_metadata or {}, url)
        if cache is not None and (own_sha or wheel_sha):
            await (cache.keep_file(own_sha, response.body) if own_sha else cache.keep_derived(wheel_sha or "", response.body))
        return response.body

    async def metadata_from_ranges(self, file: DistFile) -> tuple[bytes, bytes | None] | None:
        """``file``'s METADATA read out of the wheel by HTTP range requests (no PEP 658 file).

        Returns ``(metadata, wheel)``, where ``wheel`` is the whole file when it
        arrived anyway (a server that ignores ranges, a wheel smaller than the
        zip's tail), checked against the index's hashes; None when ranges cannot
        be computed (the index states no size) and the caller downloads the wheel.
        """
        from .lazy_wheel import fetch_wheel_metadata

        sha = file.hashes.get("sha256")
        cache = self._cache
        if cache is not None and sha:
            kept = await cache.derived(sha)
            if kept is not None:
                return kept, None
            if cache.mode == "offline":
                return None  # the metadata is read from the kept wheel, or its absence reported there
        if file.size is None or not file.hashes:
            return None
        read = await self._sent(fetch_wheel_metadata(
            self._transport, file.url, file.filename, size=file.size,
            headers=self._headers_for(file.url), hashes=file.hashes,
        ))
        self.range_requests += read.requests
        if read.metadata is None:
            return None
        await self.keep_metadata(file, read.metadata)
        if cache is not None and sha and read.wheel is not None:
            await cache.keep_file(sha, read.wheel)
        return read.metadata, read.wheel

    async def wheel(self, file: DistFile) -> bytes:
        """The file's bytes, checked against the index's hashes and size."""
        if not file.hashes:
            # Nothing to verify against: refuse rather than install unverified code.
            raise IndexFormatError(
                f"{self.url} lists {file.filename} without a hash; micropkg installs only "
                "files whose sha256 the index states. Ask the index to publish hashes "
                "(PEP 503 '#sha256=' fragments or PEP 691 'hashes').",
                url=file.url,
            )
        sha = file.hashes.get("sha256")
        cache = self._cache
        if cache is not None and sha:
            kept = await cache.file(sha)  # checked against sha on read
            if kept is not None:
                return kept
            if cache.mode == "offline":
                raise cache.offline_miss(file.url, f"The wheel {file.filename}")
        request = Request(file.url, self._headers_for(file.url), early=self._taken_early(file.url))
        data = await self._sent(fetch_verified(
            self._transport, request, file.hashes, what=f"Download of {file.filename}", size=file.size
        ))
        if cache is not None and sha:
            await cache.keep_file(sha, data)
        return data


class _Counted(Transport):
    """``inner``, counting the requests sent through it and the bytes of their answers."""

    def __init__(self, inner: Transport) -> None:
        self._inner = inner
        self.requests = 0
        self.received = 0

    async def fetch(self, request: Request) -> Response:
        self.requests += 1
        response = await self._inner.fetch(request)
        self.received += len(response.body)
        return response


class _Announcing(Transport):
    """``inner``, marking ``on_its_way`` done when a request is handed to it."""

    def __init__(self, inner: Transport, on_its_way: asyncio.Future[None]) -> None:
        self._inner = inner
        self._on_its_way = on_its_way

    async def fetch(self, request: Request) -> Response:
        if not self._on_its_way.done():
            self._on_its_way.set_result(None)
        # Whoever waits on the future runs after this step, which sends the request.
        return await self._inner.fetch(request)


def _origin(url: str) -> tuple[str, str | None, int | None]:
    plain = plain_parts(url)
    if plain is not None:
        return plain
    import urllib.parse  # not on the first request's path (see net.urls)

    parts = urllib.parse.urlsplit(url)
    return (parts.scheme, parts.hostname, parts.port)


def parse_page(
    response: Response, project: str, *, narrowed: bytes | None = None, narrow: bool = True,
) -> ProjectPage:
    """Pick the parser by content type (and shape, for plain ``application/json``).

    ``narrowed``: a PEP 691 page's JSON as the runtime narrowed it while it arrived
    (``runtime.json_pages``); unless it was read so (``narrow`` false), a big page is
    narrowed here.
    """
    content_type = response.content_type
    if content_type == JSON_CONTENT_TYPE:
        if narrowed is None and narrow:
            narrowed = narrow_json_page(response.body)
        return parse_json_page(response.url, response.body, project, narrowed=narrowed)
    if content_type in HTML_CONTENT_TYPES:
        from ..model.simple_html import (
            parse_html_page,  # most indexes answer JSON: loaded when one does not
        )

        return parse_html_page(response.url, response.body, project)
    if content_type == "application/json":
        if b'"releases"' in response.body and b'"info"' in response.body:
            from ..model.simple_html import parse_legacy_json

            return parse_legacy_json(response.url, response.body, project)
        return parse_json_page(response.url, response.body, project)
    raise IndexFormatError(
        f"{response.url} answered HTTP {response.status} with content type "
        f"{content_type or 'none'!r}, which is not an index page "
        f"(expected {JSON_CONTENT_TYPE} or text/html)",
        url=response.url,
    )
