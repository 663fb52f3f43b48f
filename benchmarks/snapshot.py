"""A frozen snapshot of real PyPI projects on disk, filled from PyPI once.

The benchmark must compare installers on identical data, run after run, with
no dependence on what PyPI lists today or how fast this network is. So every
byte the mirror serves comes from ``.cache/bench-mirror/``:

``pages/<project>.json``
    the project's PEP 691 JSON page exactly as PyPI answered it the first
    time (``pages/<project>.404`` when PyPI had no such project);
``metadata/<filename>.metadata``
    PEP 658 core metadata files: PyPI's when its file host serves them, else
    the wheel's own ``.dist-info/METADATA`` -- the same bytes PyPI extracts
    (the file host reachable from here answers 404 for ``.metadata``);
``files/<filename>``
    the distribution files, checked against the sha256 the page states.

A file is fetched from PyPI the first time anyone asks for it and never
again: the snapshot is frozen from then on. :attr:`Snapshot.upstream_fetches`
counts those first fetches, so a measured run that had to go upstream is
reported as such instead of silently timing PyPI.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from packaging.utils import canonicalize_name

__all__ = ["Snapshot", "SnapshotError"]

PYPI_SIMPLE = os.environ.get("MICROPKG_BENCH_PYPI", "https://pypi.org/simple")
_PAGE_ACCEPT = "application/vnd.pypi.simple.v1+json"
_ATTEMPTS = 3
_TIMEOUT = 120


class SnapshotError(Exception):
    """PyPI could not provide something the snapshot needs."""


def _get(url: str, accept: str | None = None) -> bytes | None:
    """GET ``url`` from PyPI; None on 404. Retries transient failures."""
    headers = {"User-Agent": "micropkg-benchmark-snapshot"}
    if accept:
        headers["Accept"] = accept
    request = urllib.request.Request(url, headers=headers)
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise SnapshotError(f"{url}: PyPI answered HTTP {error.code}") from error
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            if attempt == _ATTEMPTS:
                raise SnapshotError(f"{url}: {error}") from error
            time.sleep(2 * attempt)
    raise AssertionError("unreachable")


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    os.replace(temporary, path)


class Snapshot:
    """Pages, metadata and files of the projects the benchmark touches."""

    def __init__(self, root: Path, *, upstream: str = PYPI_SIMPLE) -> None:
        self.root = root
        self.upstream = upstream.rstrip("/")
        self.upstream_fetches = 0
        self._lock = threading.Lock()
        # One lock per key: two concurrent first requests fetch once.
        self._key_locks: dict[str, threading.Lock] = {}
        self._pages: dict[str, dict | None] = {}

    def _key_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def _count_upstream(self) -> None:
        with self._lock:
            self.upstream_fetches += 1

    # -- pages ---------------------------------------------------------------

    def page(self, project: str) -> dict | None:
        """The project's PEP 691 document, or None if PyPI does not know it."""
        name = canonicalize_name(project)
        if name in self._pages:
            return self._pages[name]
        with self._key_lock("page:" + name):
            if name in self._pages:
                return self._pages[name]
            found = self.root / "pages" / f"{name}.json"
            missing = self.root / "pages" / f"{name}.404"
            if found.is_file():
                document = json.loads(found.read_bytes())
            elif missing.is_file():
                document = None
            else:
                self._count_upstream()
                body = _get(f"{self.upstream}/{name}/", accept=_PAGE_ACCEPT)
                if body is None:
                    _write_atomically(missing, b"")
                    document = None
                else:
                    document = json.loads(body)
                    _write_atomically(found, body)
            self._pages[name] = document
            return document

    def file_entry(self, filename: str) -> dict | None:
        """The page entry of ``filename`` (its project is read off the file name)."""
        project = _project_of(filename)
        document = self.page(project) if project else None
        if document is None:
            return None
        return next((f for f in document["files"] if f["filename"] == filename), None)

    # -- files and metadata -------------------------------------------------------

    def metadata(self, filename: str) -> bytes | None:
        """The PEP 658 metadata of ``filename`` (None: the file or its metadata is unknown)."""
        path = self.root / "metadata" / f"{filename}.metadata"
        if path.is_file():
            return path.read_bytes()
        entry = self.file_entry(filename)
        if entry is None:
            return None
        with self._key_lock("metadata:" + filename):
            if path.is_file():
                return path.read_bytes()
            self._count_upstream()
            body = _get(entry["url"] + ".metadata")
            if body is None and filename.endswith(".whl"):
                wheel = self.file(filename)
                body = _wheel_metadata(filename, wheel) if wheel is not None else None
            if body is None:
                return None
            _write_atomically(path, body)
            return body

    def metadata_sha256(self, filename: str) -> str | None:
        """sha256 of the stored metadata, if it is stored already (never fetches)."""
        path = self.root / "metadata" / f"{filename}.metadata"
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None

    def file(self, filename: str) -> bytes | None:
        path = self.root / "files" / filename
        if path.is_file():
            return path.read_bytes()
        entry = self.file_entry(filename)
        if entry is None:
            return None
        with self._key_lock("file:" + filename):
            if path.is_file():
                return path.read_bytes()
            self._count_upstream()
            body = _get(entry["url"])
            if body is None:
                return None
            expected = entry.get("hashes", {}).get("sha256")
            actual = hashlib.sha256(body).hexdigest()
            if expected and actual != expected:
                raise SnapshotError(f"{entry['url']}: sha256 {actual}, PyPI's page states {expected}")
            _write_atomically(path, body)
            return body


def _wheel_metadata(filename: str, data: bytes) -> bytes:
    """The ``<name>.dist-info/METADATA`` member of a wheel: what PyPI serves as ``.metadata``."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if len(names) != 1:
            raise SnapshotError(f"{filename}: expected one .dist-info/METADATA, found {names}")
        return archive.read(names[0])


def _project_of(filename: str) -> str | None:
    """The normalized project name at the start of a wheel or sdist file name."""
    stem = filename
    for suffix in (".whl", ".tar.gz", ".zip", ".tar.bz2"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    else:
        return None
    if filename.endswith(".whl"):
        return canonicalize_name(stem.split("-")[0])
    # sdist: name-version, the name may hold dashes; the version starts with a digit.
    parts = stem.split("-")
    for i in range(len(parts) - 1, 0, -1):
        if parts[i][:1].isdigit():
            return canonicalize_name("-".join(parts[:i]))
    return None
