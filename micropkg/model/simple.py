"""Project pages of a package index, parsed into one model.

Three formats say the same thing -- which files a project has:

* PEP 691 JSON (``application/vnd.pypi.simple.v1+json``), preferred;
* PEP 503 HTML (``text/html`` or ``application/vnd.pypi.simple.v1+html``),
  with PEP 592 ``data-yanked``, PEP 658/714 ``data-(dist-info-|core-)metadata``;
* PyPI's legacy JSON API (``/pypi/<name>/json``).

All three become a :class:`ProjectPage`; the HTML and legacy parsers are in
:mod:`micropkg.model.simple_html`. All of :class:`DistFile` objects. Parsers
are pure functions of (URL, bytes): the network is somebody else's job. They
raise :class:`IndexFormatError`, naming the URL, for anything malformed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence

from ..errors import IndexFormatError
from ..value import Value

__all__ = [
    "DistFile",
    "ProjectPage",
    "JSON_CONTENT_TYPE",
    "HTML_CONTENT_TYPES",
    "parse_json_page",
    "may_be_webassembly",
    "normalized_name",
]

JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_CONTENT_TYPES = ("text/html", "application/vnd.pypi.simple.v1+html")
# Only these schemes may appear in a file URL: anything else (javascript:,
# data:, file:) on a remote index is an attack or a mistake.
_ALLOWED_SCHEMES = ("https", "http")
# What the files of a project page are called, wheels and sdists of every era.
DIST_SUFFIXES = (
    ".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip", ".egg", ".exe", ".msi", ".rpm", ".dmg",
)


class DistFile(Value):
    """One file of a project, as an index describes it. Immutable by convention."""

    __slots__ = ("filename", "url", "hashes", "requires_python", "yanked", "core_metadata", "size", "upload_time")

    def __init__(
        self,
        filename: str,
        url: str,
        hashes: Mapping[str, str] | None = None,
        requires_python: str | None = None,
        yanked: str | None = None,
        core_metadata: Mapping[str, str] | None = None,
        size: int | None = None,
        upload_time: str | None = None,
    ) -> None:
        self.filename = filename
        self.url = url  # absolute
        self.hashes: Mapping[str, str] = {} if hashes is None else hashes
        self.requires_python = requires_python
        self.yanked = yanked  # the reason ("" if none given); None if not yanked
        # PEP 658 metadata: None when not advertised, else the hashes of the
        # .metadata file (possibly empty when advertised as plain "true").
        self.core_metadata = core_metadata
        self.size = size
        self.upload_time = upload_time

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def metadata_url(self) -> str:
        # PEP 658: the metadata lives beside the file, at the same URL plus ".metadata"
        base, _, _ = self.url.partition("#")
        return base + ".metadata"


class ProjectPage:
    """All files one index offers for one project.

    A JSON page keeps its raw entries and builds (and checks) a :class:`DistFile`
    for an entry when it is first wanted: pydantic-core lists ~15,000 files, of
    which a resolver can use about ten, and building them all costs ~100 ms in
    Pyodide. :attr:`files` builds every one; :meth:`wheels_for` only the wheels
    whose platform tag may fit. A page the runtime narrowed
    (:func:`parse_json_page`'s ``narrowed``) holds only the entries
    :func:`may_be_webassembly` keeps, and parses its whole JSON when more is
    asked of it.
    """

    __slots__ = ("name", "url", "versions", "_files", "_entries", "_parts", "_whole")

    def __init__(
        self, name: str, url: str, files: Iterable[DistFile] = (), versions: tuple[str, ...] | None = None
    ) -> None:
        self.name = name  # canonical (PEP 503)
        self.url = url
        self.versions = versions  # PEP 700, unsorted, when the index gives it
        self._files: tuple[DistFile, ...] | None = tuple(files)
        self._entries: list | None = None  # a JSON page's raw entries, until all are built
        self._parts: tuple[ProjectPage, ...] = ()  # the pages a merged page lists, in order
        self._whole: bytes | None = None  # a narrowed page's whole JSON, until it is parsed

    @classmethod
    def _from_entries(cls, name: str, url: str, entries: list, versions: tuple[str, ...] | None) -> ProjectPage:
        page = cls(name, url, (), versions)
        page._files, page._entries = None, entries
        return page

    @classmethod
    def merged(cls, pages: Sequence[ProjectPage]) -> ProjectPage:
        """One page with the files of ``pages`` in order, named after the first; as lazy as they are."""
        page = cls(pages[0].name, pages[0].url)
        page._files, page._parts = None, tuple(pages)
        return page

    @property
    def files(self) -> tuple[DistFile, ...]:
        if self._files is None:
            if self._parts:
                self._files = tuple(f for part in self._parts for f in part.files)
            else:
                self._unnarrow()
                self._files = tuple(_json_file(raw, self.url) for raw in self._entries or ())
        return self._files

    def _unnarrow(self) -> None:
        """Every entry, from the whole JSON of a narrowed page (which the runtime parsed once)."""
        if self._whole is None:
            return
        raw_files = load_json(self._whole, self.url).get("files")
        if not isinstance(raw_files, list):  # the runtime read a list there: it cannot be otherwise
            raise IndexFormatError(f"Index page {self.url} has no 'files' list", url=self.url)
        self._entries, self._whole = raw_files, None

    def wheels_for(self, platforms: frozenset[str]) -> list[DistFile]:
        """The wheels whose platform tag may be one of ``platforms`` (lower case).

        "May": an odd spelling (upper case) is kept for the full check to
        judge. The other files of a JSON page are never built.
        """
        if self._parts:
            return [f for part in self._parts for f in part.wheels_for(platforms)]
        if not all(may_be_webassembly(p) for p in platforms):
            self._unnarrow()
        if self._files is not None:
            return [f for f in self._files if _platform_may_fit(f.filename, platforms)]
        try:
            picked = [raw for raw in self._entries or () if _platform_may_fit(raw["filename"], platforms)]
        except (TypeError, KeyError, AttributeError):
            # A malformed entry somewhere: building every file names it in an IndexFormatError.
            return [f for f in self.files if _platform_may_fit(f.filename, platforms)]
        return [_json_file(raw, self.url) for raw in picked]

    def files_ending(self, suffixes: tuple[str, ...]) -> list[DistFile]:
        """The files whose names end with one of ``suffixes`` (lower case): the sdists, say,
        without building every other file of a JSON page (see :meth:`wheels_for`)."""
        if self._parts:
            return [f for part in self._parts for f in part.files_ending(suffixes)]
        if any(suffix.endswith("whl") for suffix in suffixes):
            self._unnarrow()  # only the WebAssembly runtime's wheels are there
        if self._files is not None:
            return [f for f in self._files if f.filename.lower().endswith(suffixes)]
        try:
            picked = [raw for raw in self._entries or () if raw["filename"].lower().endswith(suffixes)]
        except (TypeError, KeyError, AttributeError):
            return [f for f in self.files if f.filename.lower().endswith(suffixes)]
        return [_json_file(raw, self.url) for raw in picked]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProjectPage):
            return NotImplemented
        return (self.name, self.url, self.versions, self.files) == (other.name, other.url, other.versions, other.files)

    __hash__ = None  # type: ignore[assignment]  # mutable cache inside: not a dict key

    def __repr__(self) -> str:
        return f"ProjectPage(name={self.name!r}, url={self.url!r})"


_WEBASSEMBLY = re.compile(r"emscripten|pyodide|wasm")


def may_be_webassembly(platform: str) -> bool:
    """Whether wheels of platform tag ``platform`` may be for a WebAssembly runtime (Pyodide's
    ``pyemscripten_2026_0_wasm32``...), or for any platform: what a narrowed page keeps.

    The runtime's narrowing (``runtime.json_pages``) keeps every wheel whose tag set has such
    a tag, and every name too odd to tell (upper case, no letters), so a narrowed page answers
    :meth:`ProjectPage.wheels_for` exactly for such platforms.
    """
    return platform == "any" or _WEBASSEMBLY.search(platform) is not None


def _platform_may_fit(filename: str, platforms: frozenset[str]) -> bool:
    # Runs over every file of a page (~15,000 for pydantic-core): string slicing only.
    if not filename.endswith(".whl"):
        return False
    platform = filename[filename.rfind("-") + 1 : -4]
    return platform in platforms or not platform.islower() or (
        "." in platform and not platforms.isdisjoint(platform.split("."))  # a compressed tag set
    )


# An absolute http(s) URL with nothing urljoin would rewrite (no query, fragment,
# params, whitespace or IPv6 brackets) is already what urljoin returns: PyPI's
# pages list ~15,000 such URLs for one project, and urljoin costs 40 µs each here.
_PLAIN_ABSOLUTE = re.compile(r"https?://[^\s\x00-\x1f\[\]?#;/]+/[^\s\x00-\x1f\[\]?#;]*")


def check_url(url: str, page_url: str) -> str:
    if _PLAIN_ABSOLUTE.fullmatch(url):
        return url
    import urllib.parse  # compiled by a fresh Pyodide: not before an install's first request

    try:
        absolute = urllib.parse.urljoin(page_url, url)
        scheme = urllib.parse.urlsplit(absolute).scheme.lower()
    except ValueError as exc:  # e.g. "http://[::1": an unclosed IPv6 host
        raise IndexFormatError(
            f"Index page {page_url} links a file with an invalid URL {url!r}: {exc}", url=page_url
        ) from exc
    page_scheme = urllib.parse.urlsplit(page_url).scheme.lower()
    # emfs:/file: indexes (a mirror in Pyodide's file system) may link their own scheme.
    if scheme not in _ALLOWED_SCHEMES and scheme != page_scheme:
        raise IndexFormatError(
            f"Index page {page_url} links a file with the disallowed URL scheme {scheme!r}: {url!r}",
            url=page_url,
        )
    return absolute


def split_fragment_hash(url: str) -> tuple[str, dict[str, str]]:
    base, _, fragment = url.partition("#")
    algo, sep, digest = fragment.partition("=")
    if sep and algo and digest:
        return base, {algo.lower(): digest.lower()}
    return base, {}


def file_hashes(value: object, page_url: str, filename: str) -> dict[str, str]:
    if value is None:
        return {}
    try:
        # Called once per file of a page (~15,000 for pydantic-core): the
        # comprehension is the type check, as .items()/.lower() exist only on
        # a dict of strings.
        return {k.lower(): v.lower() for k, v in value.items()}  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        raise IndexFormatError(
            f"Index page {page_url}: hashes of {filename!r} must map names to hex strings, "
            f"got {value!r}",
            url=page_url,
        ) from None


_SEPARATORS = re.compile(r"[-_.]+")


def normalized_name(name: str) -> str:
    """PEP 503's normalized name, as packaging's ``canonicalize_name`` computes it.

    Here without packaging: an install builds its first page URLs before
    packaging has loaded (see _head_start).
    """
    return _SEPARATORS.sub("-", name).lower()


def check_name(name: object, expected: str | None, page_url: str) -> str:
    if not isinstance(name, str):
        raise IndexFormatError(f"Index page {page_url} has no project name", url=page_url)
    canonical = normalized_name(name)
    if expected is not None and canonical != normalized_name(expected):
        raise IndexFormatError(
            f"Index page {page_url} is for project {name!r}, but {expected!r} was asked for",
            url=page_url,
        )
    return canonical


def load_json(body: bytes, page_url: str) -> dict:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexFormatError(f"Index page {page_url} is not valid JSON: {exc}", url=page_url) from exc
    if not isinstance(data, dict):
        raise IndexFormatError(
            f"Index page {page_url}: expected a JSON object, got {type(data).__name__}",
            url=page_url,
        )
    return data


def parse_json_page(
    page_url: str, body: bytes, project: str | None = None, *, narrowed: bytes | None = None,
) -> ProjectPage:
    """Parse a PEP 691 project page; ``project`` (if given) must be what it describes.

    ``narrowed``: the same page without the wheels :func:`may_be_webassembly` turns down
    (``runtime.json_pages``), read instead of ``body`` until more is asked of the page.
    """
    data = load_json(body if narrowed is None else narrowed, page_url)
    meta = data.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise IndexFormatError(f"Index page {page_url}: 'meta' must be an object, got {meta!r}", url=page_url)
    stated = (meta or {}).get("api-version")
    api_version = "1.0" if stated is None else stated
    if not isinstance(api_version, str) or not api_version.startswith("1."):
        # PEP 691: a client must refuse a major version it does not know.
        raise IndexFormatError(
            f"Index page {page_url} uses API version {api_version!r}; micropkg understands 1.x",
            url=page_url,
        )
    name = check_name(data.get("name"), project, page_url)
    raw_files = data.get("files")
    if not isinstance(raw_files, list):
        raise IndexFormatError(f"Index page {page_url} has no 'files' list", url=page_url)
    if not raw_files and stated is None and narrowed is None:  # (a narrowed page left some out)
        # PEP 691 requires meta.api-version; an index page that lists nothing must at
        # least say it is one, or any JSON with a name in it would read as an empty project.
        raise IndexFormatError(
            f"Index page {page_url} lists no files and has no 'meta': {{'api-version': ...}}, so it"
            " is not a PEP 691 project page (an empty project's page states its API version).",
            url=page_url,
        )
    versions = data.get("versions")
    page = ProjectPage._from_entries(
        name, page_url, raw_files, tuple(str(v) for v in versions) if isinstance(versions, list) else None
    )
    if narrowed is not None:
        page._whole = body
    return page


def _json_file(raw: object, page_url: str) -> DistFile:
    """One entry of a PEP 691 page's ``files`` list."""
    if not isinstance(raw, dict) or not isinstance(raw.get("filename"), str) or not isinstance(raw.get("url"), str):
        raise IndexFormatError(
            f"Index page {page_url}: a file entry lacks 'filename' or 'url': {raw!r}",
            url=page_url,
        )
    filename = raw["filename"]
    yanked = raw.get("yanked", False)
    metadata = raw.get("core-metadata", raw.get("dist-info-metadata"))
    size = raw.get("size")
    requires_python = raw.get("requires-python")
    return DistFile(
        filename=filename,
        url=check_url(raw["url"], page_url),
        hashes=file_hashes(raw.get("hashes", {}), page_url, filename),
        requires_python=requires_python if isinstance(requires_python, str) else None,
        yanked=(yanked if isinstance(yanked, str) else "") if yanked else None,
        core_metadata=(
            file_hashes(metadata, page_url, filename)
            if isinstance(metadata, dict)
            else ({} if metadata is True else None)
        ),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        upload_time=raw.get("upload-time") if isinstance(raw.get("upload-time"), str) else None,
    )

