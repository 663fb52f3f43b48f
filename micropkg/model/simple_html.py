"""PEP 503 HTML project pages (and PyPI's legacy JSON API), parsed into the page model.

The model, and the PEP 691 JSON parser every modern index answers with, are
in :mod:`micropkg.model.simple`; these are the older formats an index may
still answer with.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping

from ..errors import IndexFormatError
from .simple import (
    DIST_SUFFIXES,
    DistFile,
    ProjectPage,
    check_name,
    check_url,
    file_hashes,
    load_json,
    normalized_name,
    split_fragment_hash,
)

__all__ = ["parse_html_page", "parse_legacy_json"]


def _anchors(text: str) -> tuple[list[tuple[dict[str, str | None], list[str]]], str | None]:
    """Every ``<a>`` of an HTML page (its attributes and its text), and the page's
    ``<meta name="pypi:repository-version">`` content (PEP 629), if it has one."""
    # html.parser is imported here, not at the top: most indexes answer JSON,
    # and every module costs a compile in a fresh Pyodide.
    import html.parser

    class AnchorCollector(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.anchors: list[tuple[dict[str, str | None], list[str]]] = []
            self.repository_version: str | None = None
            self._text: list[str] | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                self._text = []
                self.anchors.append((dict(attrs), self._text))
            elif tag == "meta":
                found = dict(attrs)
                if (found.get("name") or "").lower() == "pypi:repository-version":
                    self.repository_version = (found.get("content") or "").strip()

        def handle_data(self, data: str) -> None:
            if self._text is not None:
                self._text.append(data)

        def handle_endtag(self, tag: str) -> None:
            if tag == "a":
                self._text = None

    collector = AnchorCollector()
    collector.feed(text)
    collector.close()
    return collector.anchors, collector.repository_version


def _html_metadata(attrs: Mapping[str, str | None]) -> dict[str, str] | None:
    for key in ("data-core-metadata", "data-dist-info-metadata"):
        if key in attrs:
            value = attrs[key] or "true"
            if value.lower() == "true":
                return {}
            algo, sep, digest = value.partition("=")
            return {algo.lower(): digest.lower()} if sep else None
    return None


def parse_html_page(page_url: str, body: bytes, project: str) -> ProjectPage:
    """Parse a PEP 503 project page (HTML has no name field: ``project`` is trusted)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IndexFormatError(f"Index page {page_url} is not UTF-8 HTML: {exc}", url=page_url) from exc
    anchors, repository_version = _anchors(text)
    if repository_version is not None and repository_version.split(".")[0] != "1":
        # PEP 629: a client must refuse a major version it does not know.
        raise IndexFormatError(
            f"Index page {page_url} uses repository version {repository_version!r}; micropkg understands 1.x",
            url=page_url,
        )
    files = []
    for attrs, text_parts in anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, hashes = split_fragment_hash(check_url(href, page_url))
        filename = "".join(text_parts).strip() or urllib.parse.unquote(url.rsplit("/", 1)[-1])
        files.append(
            DistFile(
                filename=filename,
                url=url,
                hashes=hashes,
                requires_python=attrs.get("data-requires-python") or None,
                yanked=(attrs["data-yanked"] or "") if "data-yanked" in attrs else None,
                core_metadata=_html_metadata(attrs),
            )
        )
    if not files and repository_version is None:
        # An empty project's page is valid, and says what it is (PEP 629); a page with no
        # links that does not is something else: a portal's, a proxy's or an error page.
        raise IndexFormatError(
            f"Index page {page_url} is not a PEP 503 project page: it links no files and lacks the"
            ' <meta name="pypi:repository-version"> (PEP 629) that would make it an empty project\'s'
            f" page; it starts {text.strip()[:80]!r}. Check the index URL.",
            url=page_url,
        )
    if files and not any(f.filename.lower().endswith(DIST_SUFFIXES) for f in files):
        # An empty project page is valid, but links that are all something else mean
        # this is another page (a portal's or proxy's error page served with 200).
        raise IndexFormatError(
            f"Index page {page_url} is not a PEP 503 project page: none of its {len(files)} links"
            f" is a distribution file (the first is {files[0].filename!r}). Check the index URL.",
            url=page_url,
        )
    return ProjectPage(name=normalized_name(project), url=page_url, files=tuple(files))


def parse_legacy_json(page_url: str, body: bytes, project: str | None = None) -> ProjectPage:
    """Parse PyPI's ``/pypi/<name>/json`` answer (all releases)."""
    data = load_json(body, page_url)
    info = data.get("info")
    releases = data.get("releases")
    if not isinstance(info, dict) or not isinstance(releases, dict):
        raise IndexFormatError(
            f"{page_url} is not PyPI's JSON API: it lacks 'info' or 'releases'", url=page_url
        )
    name = check_name(info.get("name"), project, page_url)
    files = []
    for version_files in releases.values():
        if not isinstance(version_files, list):
            continue
        for raw in version_files:
            if not isinstance(raw, dict) or not isinstance(raw.get("filename"), str):
                raise IndexFormatError(f"{page_url}: malformed release file {raw!r}", url=page_url)
            filename = raw["filename"]
            yanked = bool(raw.get("yanked"))
            metadata = raw.get("core_metadata", raw.get("data-dist-info-metadata"))
            files.append(
                DistFile(
                    filename=filename,
                    url=check_url(str(raw.get("url", "")), page_url),
                    hashes=file_hashes(raw.get("digests", {}), page_url, filename),
                    requires_python=raw.get("requires_python") or None,
                    yanked=(raw.get("yanked_reason") or "") if yanked else None,
                    core_metadata=file_hashes(metadata, page_url, filename) if isinstance(metadata, dict) else None,
                    size=raw.get("size") if isinstance(raw.get("size"), int) else None,
                    upload_time=raw.get("upload_time_iso_8601") or raw.get("upload_time"),
                )
            )
    return ProjectPage(
        name=name, url=page_url, files=tuple(files), versions=tuple(str(v) for v in releases)
    )
