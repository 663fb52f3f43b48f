"""A package index on 127.0.0.1 that answers the way PyPI does.

Browser tests cannot use the real PyPI from this network (the
``Access-Control-Allow-Origin`` header is stripped on the way), and no test
should depend on what PyPI happens to list today. This server speaks the
same protocols, on a random loopback port, from an in-memory catalogue:

``/simple/``, ``/simple/<project>/``
    PEP 503 HTML or PEP 691 JSON (api-version 1.1, PEP 700 ``versions``),
    chosen by the ``Accept`` header (or ``?format=``) like PyPI.
``/files/<filename>``, ``/files/<filename>.metadata``
    the files (single HTTP ranges answered with 206) and their PEP 658
    core metadata.
``/pypi/<project>/json``
    the legacy JSON API's shape (``info``, ``releases``, ``urls``).

Like PyPI it redirects (301) a non-normalized project name or a missing
trailing slash, answers 404 for unknown projects, and sends
``Access-Control-Allow-Origin: *`` with every response, answering CORS
preflights too. Switches reproduce what differs between indexes:
``core_metadata`` (this network's PyPI drops the key from its answers but
still serves the ``.metadata`` files), ``relative_urls`` (this network's
legacy JSON API hands out relative file URLs for some projects),
``version_json`` (the per-version legacy JSON API, which answers 404 here)
and ``ranges`` (off: a file host that ignores ``Range`` and sends the whole file).

Tests inject faults per path (:meth:`IndexServer.inject`) and assert on the
request log (:attr:`IndexServer.log`). :meth:`IndexServer.mount` serves a
directory, e.g. a Pyodide distribution, for browser tests that want one origin.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import email.parser
import hashlib
import json
import mimetypes
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import EllipsisType
from typing import Protocol

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from .pages import SIMPLE_HTML, SIMPLE_JSON, PageFile, index_html, index_json, project_html, project_json, version_key

__all__ = ["IndexFile", "IndexServer", "LoggedRequest", "RequestLog", "SIMPLE_JSON", "SIMPLE_HTML"]

DEFAULT_UPLOAD_TIME = "2025-01-01T00:00:00.000000Z"

_CONTENT_TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript"}


class Distribution(Protocol):
    """What :meth:`IndexServer.add` accepts: a BuiltWheel, a CachedWheel..."""

    filename: str

    @property
    def data(self) -> bytes: ...

    @property
    def metadata(self) -> bytes: ...


@dataclass(frozen=True)
class IndexFile:
    """One file of one project, as the index lists it."""

    project: str  # normalized
    version: str
    filename: str
    data: bytes
    sha256: str
    metadata: bytes | None  # None: no .metadata file at all
    requires_python: str | None
    yanked: bool | str  # a string is the reason
    upload_time: str

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def metadata_sha256(self) -> str | None:
        return None if self.metadata is None else hashlib.sha256(self.metadata).hexdigest()


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # without query
    kind: str  # see IndexServer.kind
    status: int
    headers: dict[str, str]  # request headers, lower-case names
    size: int = 0  # bytes of the response body sent


class RequestLog:
    """The requests a server answered, for tests that count fetches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def count(self, kind: str | None = None, *, path: str | None = None, method: str | None = None) -> int:
        """How many requests match every criterion given."""
        return sum(
            1
            for e in self.entries
            if (kind is None or e.kind == kind)
            and (path is None or e.path == path)
            and (method is None or e.method == method)
        )

    def counts(self) -> collections.Counter[str]:
        """Requests per kind."""
        return collections.Counter(e.kind for e in self.entries)

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(self.entries)


@dataclass
class _Fault:
    status: int
    body: bytes | None
    content_type: str
    headers: dict[str, str]
    remaining: int | None  # None: forever
    delay: float = 0.0  # seconds to wait before answering


@dataclass
class _State:
    """Everything a test may change; copied whole by snapshot/restore."""

    projects: dict[str, dict[str, IndexFile]] = field(default_factory=dict)  # name -> filename -> file
    display_names: dict[str, str] = field(default_factory=dict)
    faults: dict[str, _Fault] = field(default_factory=dict)
    mounts: dict[str, Path] = field(default_factory=dict)
    core_metadata: bool = True
    relative_urls: bool = False
    version_json: bool = False
    ranges: bool = True
    page_max_age: int | None = None


def _parse_filename(filename: str) -> tuple[str, str]:
    """(normalized project, version) of a wheel or sdist file name."""
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename) as error:
        raise ValueError(f"pass project= and version= for {filename!r}: {error}") from None
    return name, str(version)


def _metadata_fields(metadata: bytes | None) -> email.message.Message:
    return email.parser.BytesHeaderParser().parsebytes(metadata or b"")


def _accepts_json(accept: str) -> bool:
    """PEP 691 negotiation: the best-ranked type we serve wins; HTML by default."""
    offered = {SIMPLE_JSON: 3, SIMPLE_HTML: 2, "text/html": 1}  # tie-break: our preference
    best: tuple[float, int, str] | None = None
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                quality = float(value)
        if media in offered and quality > 0:
            candidate = (quality, offered[media], media)
            if best is None or candidate > best:
                best = candidate
    return best is not None and best[2] == SIMPLE_JSON


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server whose listen backlog fits a browser's burst of requests.

    http.server's default backlog is 5: an installer opening 20+ connections at
    once (a lock's downloads) overflows it, and the kernel drops the extra SYNs,
    which the client resends only after a second -- a stall no real index has.
    """

    request_queue_size = 128
    daemon_threads = True


class IndexServer:
    """A threaded loopback index. Use as a context manager, or start()/stop()."""

    def __init__(self, *, core_metadata: bool = True, relative_urls: bool = False, version_json: bool = False) -> None:
        self._lock = threading.RLock()
        self._state = _State(core_metadata=core_metadata, relative_urls=relative_urls, version_json=version_json)
        self.log = RequestLog()
        self.errors: list[BaseException] = []  # exceptions raised while answering
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> IndexServer:
        handler = type("Handler", (_Handler,), {"index": self})
        self._httpd = LoopbackHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="index-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>/``, with the trailing slash."""
        if self._httpd is None:
            raise RuntimeError("the index server is not running")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/"

    @property
    def simple_url(self) -> str:
        return self.url + "simple/"

    def project_url(self, project: str) -> str:
        return f"{self.simple_url}{canonicalize_name(project)}/"

    def json_url(self, project: str) -> str:
        return f"{self.url}pypi/{canonicalize_name(project)}/json"

    def file_url(self, filename: str) -> str:
        return f"{self.url}files/{urllib.parse.quote(filename)}"

    # -- switches -------------------------------------------------------------------

    core_metadata = property(
        lambda self: self._state.core_metadata,
        lambda self, value: setattr(self._state, "core_metadata", value),
        doc="Advertise PEP 658/714 core metadata in pages (the files are served either way).",
    )
    relative_urls = property(
        lambda self: self._state.relative_urls,
        lambda self, value: setattr(self._state, "relative_urls", value),
        doc="Give file URLs relative to the page that lists them.",
    )
    version_json = property(
        lambda self: self._state.version_json,
        lambda self, value: setattr(self._state, "version_json", value),
        doc="Serve /pypi/<project>/<version>/json (404 otherwise, as PyPI does here).",
    )
    page_max_age = property(
        lambda self: self._state.page_max_age,
        lambda self, value: setattr(self._state, "page_max_age", value),
        doc="Send project pages with ``Cache-Control: max-age=N`` (PyPI's is 600; None: no Cache-Control).",
    )
    ranges = property(
        lambda self: self._state.ranges,
        lambda self, value: setattr(self._state, "ranges", value),
        doc="Answer a single Range with 206 (off: ignore it and send the whole file with 200).",
    )

    # -- catalogue -------------------------------------------------------------------

    def add(
        self,
        distribution: Distribution,
        *,
        project: str | None = None,
        version: str | None = None,
        requires_python: str | None | EllipsisType = ...,
        yanked: bool | str = False,
        upload_time: str = DEFAULT_UPLOAD_TIME,
        metadata: bytes | None | EllipsisType = ...,
    ) -> IndexFile:
        """List ``distribution`` (anything with filename, data, metadata).

        ``requires_python`` defaults to the metadata's Requires-Python, as on
        PyPI; pass ``metadata=None`` for a file without a ``.metadata``.
        """
        return self.add_file(
            distribution.filename,
            distribution.data,
            project=project,
            version=version,
            requires_python=requires_python,
            yanked=yanked,
            upload_time=upload_time,
            metadata=distribution.metadata if metadata is ... else metadata,
        )

    def add_file(
        self,
        filename: str,
        data: bytes,
        *,
        project: str | None = None,
        version: str | None = None,
        requires_python: str | None | EllipsisType = ...,
        yanked: bool | str = False,
        upload_time: str = DEFAULT_UPLOAD_TIME,
        metadata: bytes | None = None,
    ) -> IndexFile:
        """List raw bytes under ``filename`` (hostile files, sdists...)."""
        if project is None or version is None:
            parsed_project, parsed_version = _parse_filename(filename)
            project = project or parsed_project
            version = version or parsed_version
        if requires_python is ...:
            requires_python = _metadata_fields(metadata).get("Requires-Python")
        entry = IndexFile(
            project=canonicalize_name(project),
            version=version,
            filename=filename,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            metadata=metadata,
            requires_python=requires_python,
            yanked=yanked,
            upload_time=upload_time,
        )
        with self._lock:
            self.add_project(project)
            self._state.projects[entry.project][filename] = entry
        return entry

    def add_project(self, name: str) -> None:
        """Make ``name`` known (an empty project lists no files but is not a 404)."""
        with self._lock:
            normalized = canonicalize_name(name)
            self._state.projects.setdefault(normalized, {})
            self._state.display_names.setdefault(normalized, name)

    def remove(self, filename: str) -> None:
        with self._lock:
            for files in self._state.projects.values():
                if files.pop(filename, None) is not None:
                    return
        raise KeyError(filename)

    def files(self, project: str) -> list[IndexFile]:
        with self._lock:
            files = self._state.projects.get(canonicalize_name(project), {})
            return sorted(files.values(), key=lambda f: (version_key(f.version), f.filename))

    def projects(self) -> list[str]:
        with self._lock:
            return sorted(self._state.projects)

    # -- faults, mounts, snapshots ----------------------------------------------------

    def inject(
        self,
        path: str,
        *,
        status: int = 200,
        body: bytes | None = None,
        content_type: str = "application/octet-stream",
        headers: dict[str, str] | None = None,
        times: int | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer requests for ``path`` (exact, no query) with this instead.

        ``body=None`` sends the status phrase. ``times`` limits how many
        requests get the fault (then the path answers normally again).
        ``delay`` waits that many seconds (at most 30) before answering: a
        slow or hung server, for timeouts.
        """
        if not 0 <= delay <= 30:
            raise ValueError(f"delay must be within [0, 30] seconds, got {delay!r}")
        with self._lock:
            self._state.faults[path] = _Fault(status, body, content_type, dict(headers or {}), times, delay)

    def clear_faults(self) -> None:
        with self._lock:
            self._state.faults.clear()

    def mount(self, prefix: str, directory: Path) -> str:
        """Serve ``directory`` under ``/<prefix>/``; return that URL."""
        prefix = prefix.strip("/")
        with self._lock:
            self._state.mounts[prefix] = Path(directory).resolve()
        return f"{self.url}{prefix}/"

    def snapshot(self) -> _State:
        """Everything a test may change, to :meth:`restore` afterwards."""
        with self._lock:
            return copy.deepcopy(self._state)

    def restore(self, state: _State) -> None:
        with self._lock:
            self._state = copy.deepcopy(state)
        self.log.reset()
        self.errors.clear()

    # -- answering -------------------------------------------------------------------------

    @staticmethod
    def kind(path: str) -> str:
        """What a request path asks for; the request log counts by this."""
        parts = path.split("/") + ["", ""]
        if path in ("/simple", "/simple/"):
            return "simple-index"
        if parts[1] == "simple":
            return "simple-project"
        if parts[1] == "files":
            return "metadata" if path.endswith(".metadata") else "file"
        if parts[1] == "pypi":
            return "legacy-json"
        return "other"

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            fault = self._state.faults.get(path)
            if fault is None:
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._state.faults[path]
            return dataclasses.replace(fault)

    def _file_url(self, filename: str, page_depth: int) -> str:
        if self._state.relative_urls:
            return "../" * page_depth + "files/" + urllib.parse.quote(filename)
        return self.file_url(filename)

    def simple_index(self, as_json: bool) -> tuple[str, bytes]:
        with self._lock:
            names = sorted(self._state.projects)
        if as_json:
            return SIMPLE_JSON, index_json(names)
        return "text/html", index_html(names)

    def project_page(self, project: str, as_json: bool) -> tuple[str, bytes]:
        files = self.files(project)
        with self._lock:
            advertise = self._state.core_metadata
            listed = [
                PageFile(
                    filename=f.filename,
                    url=self._file_url(f.filename, page_depth=2),
                    sha256=f.sha256,
                    version=f.version,
                    metadata_sha256=f.metadata_sha256,
                    requires_python=f.requires_python,
                    yanked=f.yanked,
                    size=f.size,
                    upload_time=f.upload_time,
                )
                for f in files
            ]
        if as_json:
            return SIMPLE_JSON, project_json(project, listed, core_metadata=advertise)
        return "text/html", project_html(project, listed, core_metadata=advertise)

    def legacy_json(self, project: str, version: str | None) -> bytes | None:
        """PyPI's ``/pypi/<project>/json`` document (None: no such version)."""
        files = self.files(project)
        with self._lock:
            display_name = self._state.display_names.get(project, project)
            depth = 3 if version is None else 4
            urls = {f.filename: self._file_url(f.filename, page_depth=depth) for f in files}
        releases: dict[str, list[dict]] = {}
        for f in files:
            releases.setdefault(f.version, []).append(self._legacy_file(f, urls[f.filename]))
        if version is None:
            version = _latest(files)
        elif version not in releases:
            return None
        chosen = [f for f in files if f.version == version]
        fields = _metadata_fields(next((f.metadata for f in chosen if f.metadata), None))
        info = {
            "name": fields.get("Name", display_name),
            "version": version,
            "summary": fields.get("Summary"),
            "requires_python": fields.get("Requires-Python"),
            "requires_dist": fields.get_all("Requires-Dist") or None,
            "yanked": bool(chosen) and all(f.yanked is not False for f in chosen),
            "yanked_reason": None,
            "project_url": f"{self.url}project/{project}/",
            "release_url": f"{self.url}project/{project}/{version}/",
        }
        document = {
            "info": info,
            "last_serial": 1,
            "releases": releases if depth == 3 else {},
            "urls": [self._legacy_file(f, urls[f.filename]) for f in chosen],
            "vulnerabilities": [],
        }
        return json.dumps(document).encode()

    def _legacy_file(self, f: IndexFile, url: str) -> dict:
        if f.filename.endswith(".whl"):
            packagetype, python_version = "bdist_wheel", f.filename.split("-")[-3]
        else:
            packagetype, python_version = "sdist", "source"
        return {
            "filename": f.filename,
            "url": url,
            "digests": {
                "sha256": f.sha256,
                "md5": hashlib.md5(f.data).hexdigest(),
                "blake2b_256": hashlib.blake2b(f.data, digest_size=32).hexdigest(),
            },
            "requires_python": f.requires_python,
            "yanked": f.yanked is not False,
            "yanked_reason": f.yanked if isinstance(f.yanked, str) else None,
            "size": f.size,
            "packagetype": packagetype,
            "python_version": python_version,
            "upload_time": f.upload_time[:19],
            "upload_time_iso_8601": f.upload_time,
            "core-metadata": {"sha256": f.metadata_sha256} if f.metadata is not None else False,
        }

    def file(self, filename: str) -> IndexFile | None:
        with self._lock:
            for files in self._state.projects.values():
                if filename in files:
                    return files[filename]
        return None

    def mounted(self, path: str) -> Path | None:
        """The file a mounted directory holds for ``path``, if any; for a
        directory (``.../``), its ``index.html``, as static hosts serve it."""
        with self._lock:
            mounts = dict(self._state.mounts)
        for prefix, root in mounts.items():
            if path.startswith(f"/{prefix}/"):
                target = (root / urllib.parse.unquote(path[len(prefix) + 2 :])).resolve()
                if path.endswith("/") and target.is_dir():
                    target = target / "index.html"
                if target.is_relative_to(root) and target.is_file():
                    return target
        return None


def _latest(files: list[IndexFile]) -> str:
    """The version PyPI's JSON API calls current: newest final release not yanked."""
    candidates = [f.version for f in files if f.yanked is False] or [f.version for f in files]
    finals = [v for v in candidates if version_key(v)[0] and not Version(v).is_prerelease]
    return max(finals or candidates, key=version_key) if candidates else ""


_PROJECT_PATH = re.compile(r"^/simple/([^/]+)(/?)$")
_JSON_PATH = re.compile(r"^/pypi/([^/]+)/(?:([^/]+)/)?json/?$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    index: IndexServer  # set on the subclass IndexServer.start() makes
    server_version = "micropkg-test-index/1"

    def log_message(self, format: str, *args: object) -> None:
        """Silent: :attr:`IndexServer.log` records every request instead."""

    def do_OPTIONS(self) -> None:
        headers = {
            "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
            "Access-Control-Allow-Headers": self.headers.get("Access-Control-Request-Headers", "*"),
            "Access-Control-Max-Age": "600",
        }
        if self.headers.get("Access-Control-Request-Private-Network") == "true":
            headers["Access-Control-Allow-Private-Network"] = "true"
        self._send(HTTPStatus.NO_CONTENT, b"", "text/plain", headers, kind="preflight")

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def _answer(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        kind = IndexServer.kind(path)
        try:
            fault = self.index._take_fault(path)
            if fault is not None:
                if fault.delay:
                    time.sleep(fault.delay)  # this request's own thread: others are answered meanwhile
                body = fault.body if fault.body is not None else HTTPStatus(fault.status).phrase.encode()
                self._send(fault.status, body, fault.content_type, fault.headers, kind=kind)
            else:
                self._route(path, url.query, kind)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client hung up; there is nobody to answer
        except Exception as error:
            self.index.errors.append(error)
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, repr(error).encode(), "text/plain", {}, kind=kind)

    def _route(self, path: str, query: str, kind: str) -> None:
        index = self.index
        if path == "/simple":
            return self._redirect("/simple/", kind)
        if path == "/simple/":
            content_type, body = index.simple_index(self._wants_json(query))
            return self._send(HTTPStatus.OK, body, content_type, {"Vary": "Accept"}, kind=kind)
        if match := _PROJECT_PATH.match(path):
            name, slash = match.groups()
            normalized = canonicalize_name(urllib.parse.unquote(name))
            if name != normalized or not slash:
                return self._redirect(f"/simple/{normalized}/" + (f"?{query}" if query else ""), kind)
            if normalized not in index.projects():
                return self._not_found(kind)
            content_type, body = index.project_page(normalized, self._wants_json(query))
            if content_type == "text/html" and SIMPLE_HTML in self.headers.get("Accept", ""):
                content_type = SIMPLE_HTML
            max_age = index.page_max_age
            page_headers = {"Vary": "Accept"} if max_age is None else {"Vary": "Accept", "Cache-Control": f"max-age={max_age}"}
            return self._send(HTTPStatus.OK, body, content_type, page_headers, kind=kind)
        if match := _JSON_PATH.match(path):
            name, version = match.groups()
            normalized = canonicalize_name(urllib.parse.unquote(name))
            if name != normalized:
                suffix = f"{version}/json" if version else "json"
                return self._redirect(f"/pypi/{normalized}/{suffix}", kind)
            if normalized not in index.projects() or (version is not None and not index.version_json):
                return self._not_found(kind)
            body = index.legacy_json(normalized, version)
            if body is None:
                return self._not_found(kind)
            return self._send(HTTPStatus.OK, body, "application/json", {}, kind=kind)
        if kind in ("file", "metadata"):
            filename = urllib.parse.unquote(path[len("/files/") :])
            if kind == "metadata":
                entry = index.file(filename.removesuffix(".metadata"))
                if entry is None or entry.metadata is None:
                    return self._not_found(kind)
                return self._send(HTTPStatus.OK, entry.metadata, "application/octet-stream", {}, kind=kind)
            entry = index.file(filename)
            if entry is None:
                return self._not_found(kind)
            return self._send_bytes(entry.data, "application/octet-stream", kind)
        if (target := index.mounted(path)) is not None:
            content_type = _CONTENT_TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
            return self._send_bytes(target.read_bytes(), content_type or "application/octet-stream", "static")
        return self._not_found(kind)

    def _wants_json(self, query: str) -> bool:
        forced = urllib.parse.parse_qs(query).get("format")
        if forced:
            return forced[0] == SIMPLE_JSON
        return _accepts_json(self.headers.get("Accept", ""))

    def _send_bytes(self, data: bytes, content_type: str, kind: str) -> None:
        """Send ``data``, or the one range the request asks for (206 / 416)."""
        headers = {"Accept-Ranges": "bytes"}
        requested = self.headers.get("Range")
        if requested is None or not self.index.ranges:
            return self._send(HTTPStatus.OK, data, content_type, headers, kind=kind)
        match = _RANGE.match(requested.strip())
        size = len(data)
        if match is None or match.groups() == ("", ""):
            return self._send(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b"", "text/plain", {"Content-Range": f"bytes */{size}"}, kind=kind)
        first, last = match.groups()
        if first == "":  # suffix: the last N bytes
            start, end = max(size - int(last), 0), size - 1
        else:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        if start >= size or start > end:
            return self._send(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b"", "text/plain", {"Content-Range": f"bytes */{size}"}, kind=kind)
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return self._send(HTTPStatus.PARTIAL_CONTENT, data[start : end + 1], content_type, headers, kind=kind)

    def _redirect(self, location: str, kind: str) -> None:
        self._send(HTTPStatus.MOVED_PERMANENTLY, b"", "text/plain", {"Location": location}, kind=kind)

    def _not_found(self, kind: str) -> None:
        self._send(HTTPStatus.NOT_FOUND, b"404 Not Found", "text/plain", {}, kind=kind)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str], *, kind: str) -> None:
        self.index.log.record(
            LoggedRequest(
                method=self.command,
                path=urllib.parse.urlsplit(self.path).path,
                kind=kind,
                status=int(status),
                headers={k.lower(): v for k, v in self.headers.items()},
                size=0 if self.command == "HEAD" else len(body),
            )
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", "*")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
