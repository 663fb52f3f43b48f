"""Asking package indexes for project pages and PEP 658 metadata.

An index URL is either a base (``https://pypi.org/simple``, the project name
is appended) or a template containing ``{package_name}`` (for example PyPI's
legacy ``https://pypi.org/pypi/{package_name}/json``). The answer's content
type picks the parser, so one index may answer JSON and another HTML.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Mapping, Sequence

from packaging.utils import canonicalize_name

from ._errors import FetchError, HTTPStatusError, IndexFormatError, IntegrityError
from ._simple import (
    HTML_CONTENT_TYPES,
    JSON_CONTENT_TYPE,
    DistFile,
    ProjectPage,
    parse_html_page,
    parse_json_page,
    parse_legacy_json,
)
from ._transport import Request, Response, Transport

__all__ = [
    "DEFAULT_INDEX_URLS",
    "Index",
    "check_hashes",
    "fetch_verified",
    "index_list",
    "parse_page",
]

DEFAULT_INDEX_URLS = ("https://pypi.org/simple",)

# PEP 691 content negotiation: JSON preferred, HTML accepted.
ACCEPT = f"{JSON_CONTENT_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

# Hosts known to serve PEP 658 ``.metadata`` files even when the index page
# does not advertise them (PyPI's file host does; the page here sometimes omits the key).
_METADATA_HOSTS = frozenset({"files.pythonhosted.org"})


def check_hashes(data: bytes, hashes: Mapping[str, str], url: str, *, size: int | None = None) -> None:
    """Raise :class:`IntegrityError` unless ``data`` matches every known hash in ``hashes``."""
    for algorithm in ("sha256", "sha384", "sha512"):
        expected = hashes.get(algorithm)
        if expected is None:
            continue
        actual = hashlib.new(algorithm, data).hexdigest()
        if actual != expected.lower():
            note = ""
            if size is not None and size != len(data):
                note = f"received {len(data)} bytes, the index said {size}: the transfer may have been cut short"
            raise IntegrityError(url=url, algorithm=algorithm, expected=expected, actual=actual, note=note)


async def fetch_verified(
    transport: Transport,
    request: Request,
    hashes: Mapping[str, str],
    *,
    what: str,
    size: int | None = None,
) -> bytes:
    """Fetch ``request`` and check its bytes against ``hashes`` (and ``size`` when known)."""
    url = request.url
    response = (await transport.fetch(request)).raise_for_status(what)
    check_hashes(response.body, hashes, url, size=size)
    if size is not None and len(response.body) != size:
        # Only reachable without a hash to compare: the size is then the one check left.
        raise FetchError(
            f"{what}: {url} sent {len(response.body)} bytes, the index said {size}; "
            "the transfer was cut short or the file changed. Try again.",
            url=url,
        )
    return response.body


class Index:
    """One index, reached through a transport."""

    def __init__(self, url: str, transport: Transport, *, headers: Mapping[str, str] | None = None) -> None:
        self.url = url
        self._transport = transport
        # Headers (e.g. Authorization) meant for this index only: they are sent
        # to the index's own origin, never to file hosts elsewhere.
        self._headers = dict(headers or {})
        self._origin = _origin(self._page_url("x"))

    def __repr__(self) -> str:
        return f"Index({self.url!r})"

    def _page_url(self, project: str) -> str:
        name = canonicalize_name(project)
        if "{package_name}" in self.url:
            return self.url.replace("{package_name}", name)
        return self.url.rstrip("/") + "/" + name + "/"

    def _headers_for(self, url: str) -> dict[str, str]:
        return dict(self._headers) if _origin(url) == self._origin else {}

    async def project(self, name: str) -> ProjectPage | None:
        """The project's page, or None when this index does not know the project."""
        url = self._page_url(name)
        headers = {"Accept": ACCEPT, **self._headers_for(url)}
        response = await self._transport.fetch(Request(url, headers))
        if response.status == 404:
            return None
        response.raise_for_status(f"Index page for {name!r}")
        return parse_page(response, name)

    async def metadata(self, file: DistFile) -> bytes | None:
        """PEP 658 metadata of ``file``, or None when the index has none for it."""
        advertised = file.core_metadata is not None
        served_anyway = urllib.parse.urlsplit(file.url).hostname in _METADATA_HOSTS
        if not (advertised or served_anyway):
            return None
        url = file.metadata_url
        response = await self._transport.fetch(Request(url, self._headers_for(url)))
        if response.status == 404 and not advertised:
            return None
        response.raise_for_status(f"Metadata of {file.filename}")
        check_hashes(response.body, file.core_metadata or {}, url)
        return response.body

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
        request = Request(file.url, self._headers_for(file.url))
        return await fetch_verified(
            self._transport, request, file.hashes, what=f"Download of {file.filename}", size=file.size
        )


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urllib.parse.urlsplit(url)
    return (parts.scheme, parts.hostname, parts.port)


def parse_page(response: Response, project: str) -> ProjectPage:
    """Pick the parser by content type (and shape, for plain ``application/json``)."""
    content_type = response.content_type
    if content_type == JSON_CONTENT_TYPE:
        return parse_json_page(response.url, response.body, project)
    if content_type in HTML_CONTENT_TYPES:
        return parse_html_page(response.url, response.body, project)
    if content_type == "application/json":
        if b'"releases"' in response.body and b'"info"' in response.body:
            return parse_legacy_json(response.url, response.body, project)
        return parse_json_page(response.url, response.body, project)
    raise IndexFormatError(
        f"{response.url} answered HTTP {response.status} with content type "
        f"{content_type or 'none'!r}, which is not an index page "
        f"(expected {JSON_CONTENT_TYPE} or text/html)",
        url=response.url,
    )


def index_list(urls: str | Sequence[str] | None) -> tuple[str, ...]:
    if urls is None:
        return DEFAULT_INDEX_URLS
    if isinstance(urls, str):
        return (urls,)
    return tuple(urls)
