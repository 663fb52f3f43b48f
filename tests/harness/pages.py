"""Simple-repository pages as PyPI writes them: one writer for every test index.

The loopback server (:mod:`.index_server`) and the in-memory indexes of the
host tests (``tests/host/memory_index.py``, ``tests/host/test_sources.py``)
list their files through these functions, so what micropkg reads in a host
test is the page it reads from the loopback index in Pyodide:

* :func:`project_json` -- PEP 691 JSON (api-version 1.1): PEP 700
  ``versions``, ``size`` and ``upload-time``; PEP 592 ``yanked``; PEP 658/714
  ``core-metadata``, sent under PEP 658's old name ``data-dist-info-metadata``
  too, as PyPI does.
* :func:`project_html` -- the same files as PEP 503 HTML.
* :func:`index_json`, :func:`index_html` -- the ``/simple/`` project list.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

__all__ = [
    "API_VERSION",
    "SIMPLE_HTML",
    "SIMPLE_JSON",
    "PageFile",
    "index_html",
    "index_json",
    "project_html",
    "project_json",
    "version_key",
]

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
SIMPLE_HTML = "application/vnd.pypi.simple.v1+html"
API_VERSION = "1.1"


@dataclass(frozen=True)
class PageFile:
    """One file as a project page lists it."""

    filename: str
    url: str
    sha256: str
    version: str
    metadata_sha256: str | None = None  # None: the index has no .metadata file for it
    requires_python: str | None = None
    yanked: bool | str = False  # a string is the reason
    size: int | None = None  # None: not listed
    upload_time: str | None = None  # None: not listed


def version_key(version: str) -> tuple:
    """Sorts versions as PyPI does; a string that is no version sorts first."""
    try:
        return (1, Version(version), "")
    except InvalidVersion:
        return (0, Version("0"), version)


def project_json(project: str, files: Iterable[PageFile], *, core_metadata: bool = True) -> bytes:
    """The PEP 691 JSON page of ``project``; ``core_metadata=False`` leaves the
    PEP 658/714 keys out (an index that does not advertise them)."""
    files = list(files)
    entries = []
    for f in files:
        entry: dict = {
            "filename": f.filename,
            "url": f.url,
            "hashes": {"sha256": f.sha256},
            "requires-python": f.requires_python,
            "yanked": f.yanked,
        }
        if f.size is not None:
            entry["size"] = f.size
        if f.upload_time is not None:
            entry["upload-time"] = f.upload_time
        if core_metadata:
            meta = {"sha256": f.metadata_sha256} if f.metadata_sha256 is not None else False
            entry["core-metadata"] = meta
            entry["data-dist-info-metadata"] = meta  # PEP 658's name, still sent by PyPI
        entries.append(entry)
    versions = sorted({f.version for f in files}, key=version_key)
    document = {"meta": {"api-version": API_VERSION}, "name": project, "versions": versions, "files": entries}
    return json.dumps(document).encode()


def project_html(project: str, files: Iterable[PageFile], *, core_metadata: bool = True) -> bytes:
    """The PEP 503 HTML page of ``project`` (hashes in the URL fragment)."""
    anchors = []
    for f in files:
        attributes = [f'href="{html.escape(f.url)}#sha256={f.sha256}"']
        if f.requires_python is not None:
            attributes.append(f'data-requires-python="{html.escape(f.requires_python)}"')
        if f.yanked is not False:
            reason = "" if f.yanked is True else f.yanked
            attributes.append(f'data-yanked="{html.escape(reason)}"')
        if core_metadata and f.metadata_sha256 is not None:
            attributes.append(f'data-core-metadata="sha256={f.metadata_sha256}"')
            attributes.append(f'data-dist-info-metadata="sha256={f.metadata_sha256}"')
        anchors.append(f'    <a {" ".join(attributes)}>{html.escape(f.filename)}</a><br />')
    return _html_document(f"Links for {project}", "\n".join(anchors))


def index_json(projects: Iterable[str]) -> bytes:
    """The PEP 691 JSON ``/simple/`` page listing ``projects``."""
    document = {"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in projects]}
    return json.dumps(document).encode()


def index_html(projects: Iterable[str]) -> bytes:
    """The PEP 503 HTML ``/simple/`` page listing ``projects``."""
    links = "\n".join(f'    <a href="{html.escape(n)}/">{html.escape(n)}</a><br />' for n in projects)
    return _html_document("Simple index", links)


def _html_document(title: str, body: str) -> bytes:
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{html.escape(title)}</h1>\n{body}\n  </body>\n</html>\n"
    ).encode()
