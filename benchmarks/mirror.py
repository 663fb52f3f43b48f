"""A loopback PyPI mirror with injected latency, for side-by-side benchmarks.

It serves a :class:`~benchmarks.snapshot.Snapshot` on two loopback origins,
the way PyPI splits its traffic:

* the *index* origin (like pypi.org): ``/simple/<project>/`` as PEP 691 JSON
  (PEP 503 HTML when JSON is not accepted), with ``core-metadata`` hashes,
  ``Cache-Control: max-age=600, public``, an ``ETag`` (``If-None-Match`` is
  answered 304) and ``Vary: Accept, Accept-Encoding``, gzip-compressed when
  the client accepts it;
* the *files* origin (like files.pythonhosted.org): ``/files/<filename>`` and
  ``/files/<filename>.metadata``, immutable (``max-age=365000000,
  immutable``), with an ``ETag``.

Every answer (CORS preflights included) waits ``latency`` seconds first: one
round trip to a real index. An optional ``bandwidth`` (bytes per second) is
shared by all connections, like one access link. Both origins send CORS
headers, so Chromium pages on another loopback origin can fetch.

:class:`Traffic` counts requests and bytes per kind and keeps each request's
arrival and completion times, from which :meth:`Traffic.critical_path`
computes how many round trips were strictly sequential.

:class:`LivePyPI` stands in for the mirror with ``benchmarks/run --network pypi``:
no injected latency and no traffic log, and a measured round trip to pypi.org as the
floor's latency.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import statistics
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from packaging.utils import canonicalize_name

from tests.harness.index_server import LoopbackHTTPServer

from .snapshot import Snapshot

__all__ = ["Exchange", "LivePyPI", "Mirror", "Traffic"]

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
PAGE_CACHE_CONTROL = "max-age=600, public"
FILE_CACHE_CONTROL = "max-age=365000000, immutable, public"
_LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"
_CHUNK = 16 * 1024
PYPI = "https://pypi.org/simple/"


@dataclass(frozen=True)
class Exchange:
    """One request the mirror answered."""

    kind: str  # page, metadata, file, preflight, other
    path: str
    status: int
    sent: int  # body bytes on the wire (compressed if it was)
    arrived: float  # monotonic seconds
    done: float


@dataclass
class Traffic:
    """What the mirror answered since the last :meth:`reset`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    exchanges: list[Exchange] = field(default_factory=list)

    def record(self, exchange: Exchange) -> None:
        with self.lock:
            self.exchanges.append(exchange)

    def reset(self) -> None:
        with self.lock:
            self.exchanges.clear()

    def snapshot(self) -> list[Exchange]:
        with self.lock:
            return list(self.exchanges)

    def summary(self) -> dict:
        exchanges = self.snapshot()
        requests: dict[str, int] = {}
        sent: dict[str, int] = {}
        for e in exchanges:
            requests[e.kind] = requests.get(e.kind, 0) + 1
            sent[e.kind] = sent.get(e.kind, 0) + e.sent
        return {
            "requests": sum(requests.values()),
            "bytes": sum(sent.values()),
            "by_kind": {k: {"requests": requests[k], "bytes": sent[k]} for k in sorted(requests)},
            "not_modified": sum(1 for e in exchanges if e.status == 304),
            "critical_path": self.critical_path(exchanges),
        }

    @staticmethod
    def critical_path(exchanges: list[Exchange]) -> int:
        """The longest chain of requests each sent after the previous one was answered.

        A request's depth is one more than the deepest exchange completed
        before it arrived: an upper bound on the sequential round trips it
        waited for (a client may also have waited on its own CPU).
        """
        ordered = sorted(exchanges, key=lambda e: e.arrived)
        depths: list[tuple[float, int]] = []
        deepest = 0
        for e in ordered:
            before = max((d for done, d in depths if done <= e.arrived), default=0)
            depths.append((e.done, before + 1))
            deepest = max(deepest, before + 1)
        return deepest


class _Link:
    """A shared access link of ``bandwidth`` bytes per second (None: unlimited)."""

    def __init__(self, bandwidth: float | None) -> None:
        self.bandwidth = bandwidth
        self._lock = threading.Lock()
        self._free_at = 0.0

    def wait_for(self, size: int) -> None:
        if not self.bandwidth:
            return
        with self._lock:
            start = max(time.monotonic(), self._free_at)
            self._free_at = start + size / self.bandwidth
            until = self._free_at
        delay = until - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class Mirror:
    """Two loopback origins serving a snapshot. Use as a context manager."""

    def __init__(self, snapshot: Snapshot, *, latency: float = 0.05, bandwidth: float | None = None) -> None:
        self.snapshot = snapshot
        self.latency = latency
        self.link = _Link(bandwidth)
        self.traffic = Traffic()
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._rendered: dict[tuple[str, bool], tuple[int, bytes, bytes]] = {}
        self._render_lock = threading.Lock()
        self.documents: dict[str, bytes] = {}  # served at /documents/<name> by the files origin

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self) -> Mirror:
        for role in ("index", "files"):
            handler = type(f"{role.title()}Handler", (_Handler,), {"mirror": self, "role": role})
            server = LoopbackHTTPServer(("127.0.0.1", 0), handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, name=f"mirror-{role}", daemon=True).start()
            self._servers[role] = server
        return self

    def __exit__(self, *exc_info: object) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def origin(self, role: str) -> str:
        return f"http://127.0.0.1:{self._servers[role].server_address[1]}"

    @property
    def simple_url(self) -> str:
        return self.origin("index") + "/simple/"

    def file_url(self, filename: str) -> str:
        return f"{self.origin('files')}/files/{urllib.parse.quote(filename)}"

    def serve_document(self, name: str, body: bytes) -> str:
        """Serve ``body`` (a lock, say) at the URL returned, from the files origin."""
        self.documents[name] = body
        return f"{self.origin('files')}/documents/{urllib.parse.quote(name)}"

    # -- pages -------------------------------------------------------------------

    def render_page(self, project: str, as_json: bool) -> tuple[bytes, bytes] | None:
        """The project's page (plain, gzipped) with file URLs on the files origin and metadata hashes."""
        document = self.snapshot.page(project)
        if document is None:
            return None
        key = (canonicalize_name(project), as_json)
        generation = self.snapshot.upstream_fetches
        with self._render_lock:
            cached = self._rendered.get(key)
            if cached is not None and cached[0] == generation:
                return cached[1], cached[2]
        files = []
        for entry in document["files"]:
            entry = dict(entry)
            entry["url"] = self.file_url(entry["filename"])
            if entry["filename"].endswith(".whl"):
                # PyPI has core metadata for every wheel; its hash is stated
                # once the snapshot holds the file (here PyPI drops the key).
                digest = self.snapshot.metadata_sha256(entry["filename"])
                meta = {"sha256": digest} if digest else True
                entry["core-metadata"] = entry["data-dist-info-metadata"] = meta
            files.append(entry)
        if as_json:
            body = json.dumps({**document, "files": files}).encode()
        else:
            anchors = []
            for f in files:
                sha = f.get("hashes", {}).get("sha256")
                href = html.escape(f["url"] + (f"#sha256={sha}" if sha else ""))
                attrs = [f'href="{href}"']
                if f.get("requires-python"):
                    attrs.append(f'data-requires-python="{html.escape(f["requires-python"])}"')
                meta = f.get("core-metadata")
                if isinstance(meta, dict):
                    attrs.append(f'data-core-metadata="sha256={meta["sha256"]}"')
                elif meta:
                    attrs.append('data-core-metadata="true"')
                anchors.append(f'<a {" ".join(attrs)}>{html.escape(f["filename"])}</a><br/>')
            body = ("<!DOCTYPE html><html><body>\n" + "\n".join(anchors) + "\n</body></html>\n").encode()
        compressed = gzip.compress(body, compresslevel=6, mtime=0)
        with self._render_lock:
            self._rendered[key] = (generation, body, compressed)
        return body, compressed


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _wants_json(accept: str) -> bool:
    best, best_q = None, 0.0
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        q = 1.0
        for param in params:
            k, _, v = param.partition("=")
            if k.strip() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if media in (SIMPLE_JSON, "application/vnd.pypi.simple.v1+html", "text/html", "*/*") and q > best_q:
            best, best_q = media, q
    return best == SIMPLE_JSON


class _Handler(BaseHTTPRequestHandler):
    mirror: Mirror
    role: str
    protocol_version = "HTTP/1.1"  # keep-alive, as browsers and Node use it
    server_version = "micropkg-bench-mirror/1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: :class:`Traffic` records every exchange."""

    def do_OPTIONS(self) -> None:
        arrived = time.monotonic()
        time.sleep(self.mirror.latency)
        headers = {
            "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
            "Access-Control-Allow-Headers": self.headers.get("Access-Control-Request-Headers", "*"),
            "Access-Control-Max-Age": "600",
        }
        self._send(HTTPStatus.NO_CONTENT, b"", "text/plain", headers, "preflight", arrived)

    def do_GET(self) -> None:
        arrived = time.monotonic()
        time.sleep(self.mirror.latency)
        path = urllib.parse.urlsplit(self.path).path
        try:
            self._route(path, arrived)
        except (BrokenPipeError, ConnectionResetError):
            return

    def _route(self, path: str, arrived: float) -> None:
        mirror = self.mirror
        if self.role == "index" and path.startswith("/simple/"):
            name = urllib.parse.unquote(path[len("/simple/") :]).strip("/")
            normalized = canonicalize_name(name)
            if name != normalized or not path.endswith("/"):
                return self._send(301, b"", "text/plain", {"Location": f"/simple/{normalized}/"}, "page", arrived)
            as_json = _wants_json(self.headers.get("Accept", ""))
            rendered = mirror.render_page(normalized, as_json)
            if rendered is None:
                return self._send(404, b"Not Found", "text/plain", {}, "page", arrived)
            body, compressed = rendered
            etag = _etag(body)
            headers = {"Cache-Control": PAGE_CACHE_CONTROL, "ETag": etag, "Vary": "Accept, Accept-Encoding"}
            if etag in {t.strip() for t in self.headers.get("If-None-Match", "").split(",")}:
                return self._send(304, b"", None, headers, "page", arrived)
            content_type = SIMPLE_JSON if as_json else "text/html"
            if "gzip" in self.headers.get("Accept-Encoding", ""):
                body, headers = compressed, {**headers, "Content-Encoding": "gzip"}
            return self._send(200, body, content_type, headers, "page", arrived)
        if self.role == "files" and path.startswith("/files/"):
            filename = urllib.parse.unquote(path[len("/files/") :])
            if filename.endswith(".metadata"):
                body, kind = mirror.snapshot.metadata(filename[: -len(".metadata")]), "metadata"
            else:
                body, kind = mirror.snapshot.file(filename), "file"
            if body is None:
                return self._send(404, b"Not Found", "text/plain", {}, kind, arrived)
            etag = _etag(body)
            headers = {"Cache-Control": FILE_CACHE_CONTROL, "ETag": etag, "Last-Modified": _LAST_MODIFIED}
            if etag in {t.strip() for t in self.headers.get("If-None-Match", "").split(",")}:
                return self._send(304, b"", None, headers, kind, arrived)
            return self._send(200, body, "application/octet-stream", headers, kind, arrived)
        if self.role == "files" and path.startswith("/documents/"):
            body = mirror.documents.get(urllib.parse.unquote(path[len("/documents/") :]))
            if body is None:
                return self._send(404, b"Not Found", "text/plain", {}, "document", arrived)
            return self._send(200, body, "text/plain", {"Cache-Control": "no-cache"}, "document", arrived)
        return self._send(404, b"Not Found", "text/plain", {}, "other", arrived)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: dict[str, str],
        kind: str,
        arrived: float,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", "ETag, Cache-Control, Content-Length")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        for start in range(0, len(body), _CHUNK):
            chunk = body[start : start + _CHUNK]
            self.mirror.link.wait_for(len(chunk))
            self.wfile.write(chunk)
        self.wfile.flush()
        self.mirror.traffic.record(
            Exchange(kind, self.path, int(status), len(body), arrived, time.monotonic())
        )


class LivePyPI:
    """Live PyPI (Node only): no injected latency; the floor's latency is a measured round trip."""

    simple_url = PYPI

    def __init__(self) -> None:
        self.latency = self.round_trip()
        self.traffic = None

    @staticmethod
    def round_trip() -> float:
        """Median time to first byte of small requests to PyPI's index and file host."""
        times = []
        for url in ("https://pypi.org/simple/six/", "https://files.pythonhosted.org/") * 3:
            request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "micropkg-benchmark"})
            begun = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=20):
                    pass
            except OSError:
                continue
            times.append(time.perf_counter() - begun)
        return statistics.median(times[1:] or times or [0.0])  # the first pays the TLS handshake

    def __enter__(self) -> LivePyPI:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass
