"""A persistent cache of what the indexes answered, shared by every page load.

Two kinds of entries, with different rules:

* **immutable files** -- wheels and PEP 658 ``.metadata`` files -- are kept
  under the sha256 the index states for them, and checked against it each
  time they are read: a corrupt or tampered entry is deleted and fetched
  again, never installed. A ``.metadata`` file whose hash the index does not
  state is kept under its wheel's sha256 (it is derived from that wheel, so
  it never changes) together with its own hash, checked on read the same way;
* **index pages** change, so they are kept with the time they were fetched,
  their ``Cache-Control: max-age``, their ``ETag`` and a CRC-32 that finds a
  damaged entry. A fresh page is used without asking; a stale one is
  revalidated with ``If-None-Match`` where the runtime allows (a browser would
  add a CORS preflight for that header, so there the browser's own HTTP cache
  revalidates instead).

``mode`` says how much network is allowed: ``"default"`` (the rules above),
``"off"`` (no cache at all), ``"offline"`` (no network: pages are used however
old, and a miss raises :class:`~micropkg.NetworkError` naming what is missing).

Where entries live is a :class:`Store`: a directory (the host's under Node,
see ``_runtime``), the browser's Cache API (``_runtime``), or memory (tests).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import warnings
import zlib
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..model import digests

if TYPE_CHECKING:
    from ..errors import NetworkError
    from .transport import Request, Response, Transport

__all__ = ["CACHE_MODES", "KINDS", "Cache", "DirectoryStore", "MemoryStore", "Store", "max_age"]

CACHE_MODES = ("default", "off", "offline")
# The kinds of entries, the first part of a key: wheels, derived metadata, pages, and
# the files of whole installs (micropkg.installation.tree_cache).
KINDS = ("blob", "meta", "page", "tree")

T = TypeVar("T")

# Bumped when the entry layout changes: old entries are then simply not found.
_MAGIC = b"micropkg-cache-1\n"
# Response headers worth keeping with a page (the parser reads the content type).
_KEPT_HEADERS = ("content-type", "etag", "cache-control")


class Store:
    """Bytes by key (``"blob/<sha256>"``...). Subclasses implement all four methods."""

    async def get(self, key: str) -> bytes | None:
        raise NotImplementedError

    async def put(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    async def delete(self, key: str) -> None:
        raise NotImplementedError

    async def clear(self) -> None:
        raise NotImplementedError

    def kept_probe(self) -> object:  # JS (key) => Promise<boolean>, for runtime.chain; None: no such
        return None

    def surely_missing(self, key: str) -> bool:  # without waiting (False: only get() can tell)
        return False


class MemoryStore(Store):
    """A dict: for tests, and for runtimes with no persistent storage."""

    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}

    async def get(self, key: str) -> bytes | None:
        return self.entries.get(key)

    async def put(self, key: str, data: bytes) -> None:
        self.entries[key] = bytes(data)

    async def delete(self, key: str) -> None:
        self.entries.pop(key, None)

    async def clear(self) -> None:
        self.entries.clear()

    def surely_missing(self, key: str) -> bool:
        return key not in self.entries


class DirectoryStore(Store):
    """One file per entry under ``root``; written atomically, so readers never see half a file."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        kind, _, name = key.partition("/")
        # Two levels, like git's objects/: no directory grows to hundreds of thousands of entries.
        return self.root / kind / name[:2] / name

    async def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    async def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def clear(self) -> None:
        for kind in KINDS:
            directory = self.root / kind
            if not directory.is_dir():
                continue
            for path in sorted(directory.rglob("*"), reverse=True):  # files before their folders
                if path.is_dir():
                    path.rmdir()
                else:
                    path.unlink()
            directory.rmdir()


def max_age(cache_control: str | None) -> float:
    """Seconds a response may be used without asking again (0: always revalidate)."""
    if not cache_control:
        return 0.0
    directives = {}
    for part in cache_control.lower().split(","):
        key, _, value = part.strip().partition("=")
        directives[key] = value.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    try:
        return max(0.0, float(directives.get("max-age", "0")))
    except ValueError:  # a malformed max-age: treat the page as stale, never as fresh forever
        return 0.0


def _pack(header: dict, body: bytes, sha256: str | None = None, *, crc32: bool = False) -> bytes:
    if crc32:
        header = {**header, "crc32": zlib.crc32(body)}
    else:
        header = {**header, "sha256": sha256 or digests.sha256(body).hexdigest()}
    import json  # not before an install's first request, where only a miss may be read (see _unpack)

    return _MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + body


def _unpack(entry: bytes) -> tuple[dict, bytes] | None:
    """Header and body of an entry, or None when it is damaged in any way."""
    if not entry.startswith(_MAGIC):
        return None
    head, newline, body = entry[len(_MAGIC) :].partition(b"\n")
    if not newline:
        return None
    import json  # Pyodide 0.27 does not load it at start: a fresh cache needs it only here

    try:
        header = json.loads(head)
    except ValueError:  # json's decode errors: a damaged header
        return None
    if not isinstance(header, dict):
        return None
    if "sha256" in header:
        intact = header["sha256"] == digests.sha256(body).hexdigest()
    else:
        intact = "crc32" in header and header["crc32"] == zlib.crc32(body)
    return (header, body) if intact else None


class Cache:
    """The cache rules over a :class:`Store`; counts what it did, for tests and benchmarks."""

    def __init__(
        self,
        store: Store,
        *,
        mode: str = "default",
        conditional: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if mode not in CACHE_MODES:
            raise ValueError(f"cache must be one of {', '.join(map(repr, CACHE_MODES))}, got {mode!r}")
        self.store = store
        self.mode = mode
        self.conditional = conditional  # may a stale page be revalidated with If-None-Match?
        self._clock = clock
        self.hits = 0
        self.misses = 0
        self.revalidated = 0
        self.dropped: list[str] = []  # keys of corrupt entries deleted
        # Writes run behind the install: packing and storing pydantic-core's 6.5 MB page took
        # 10-15 ms of the one thread under Node, ~50 ms in Chromium. A write waits for the next
        # request sent (see fetching), to run while that answer is on its way; with hold_writes
        # (an install's, which settles after it returned) every write waits for settle().
        self._queued: list[Callable[[], Awaitable[None]]] = []
        self._writes: set[asyncio.Task] = set()
        self.hold_writes = False

    # -- storage, where a failure costs speed, never the install ------------------------

    async def _get(self, key: str) -> bytes | None:
        try:
            return None if self.store.surely_missing(key) else await self.store.get(key)
        except OSError as exc:
            warnings.warn(f"micropkg's cache could not read {key!r} ({exc}); fetching it instead", stacklevel=2)
            return None

    def _put(self, key: str, header: dict, body: bytes, sha256: str | None = None, *, crc32: bool = False) -> None:
        async def write() -> None:
            await asyncio.sleep(0)  # behind the requests sent alongside the one that started it
            try:
                await self.store.put(key, _pack(header, body, sha256, crc32=crc32))
            except OSError as exc:
                warnings.warn(f"micropkg's cache could not keep {key!r}: {exc}", stacklevel=2)

        self._queued.append(write)

    def _start_queued(self) -> None:
        for write in self._queued:
            task = asyncio.ensure_future(write())
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)
        self._queued.clear()

    async def fetching(self, request: Awaitable[T]) -> T:
        """Await ``request``, a network fetch, running the queued writes while it is out."""
        # The fetch is scheduled first, so it is sent before the writes take the thread.
        sent = asyncio.ensure_future(request)
        if not self.hold_writes:
            self._start_queued()
        return await sent

    async def settle(self) -> None:
        """Start the queued writes and wait for them all: after it, the next page load finds them."""
        self._start_queued()
        while self._writes:
            # Take the set, then wait: since Python 3.12, gather() over finished tasks
            # returns without yielding, so waiting on a set that only the tasks' done
            # callbacks shrink would spin forever (as it did in Pyodide 314).
            writes, self._writes = self._writes, set()
            await asyncio.gather(*writes)

    async def _drop(self, key: str) -> None:
        self.dropped.append(key)
        try:
            await self.store.delete(key)
        except OSError as exc:
            # Still safe: the entry fails its check again on every read.
            warnings.warn(f"micropkg's cache could not delete the damaged entry {key!r}: {exc}", stacklevel=2)

    async def _read(self, key: str) -> tuple[dict, bytes] | None:
        entry = await self._get(key)
        if entry is None:
            return None
        unpacked = _unpack(entry)
        if unpacked is None:
            # Security: whatever changed the entry, its bytes are not what was
            # verified when it was stored; drop it and go to the network.
            await self._drop(key)
        return unpacked

    # -- immutable files ---------------------------------------------------------------

    async def file(self, sha256: str) -> bytes | None:
        """The bytes whose sha256 is ``sha256``, if kept (and still intact)."""
        key = f"blob/{sha256.lower()}"
        found = await self._read(key)
        if found is not None and found[0].get("sha256") != sha256.lower():
            await self._drop(key)
            found = None
        self._count(found)
        return None if found is None else found[1]

    async def keep_file(self, sha256: str, data: bytes) -> None:
        """Keep ``data``, which the caller has checked against ``sha256``."""
        # Checked by the caller: its sha256 is the body's, no need to hash it again.
        self._put(f"blob/{sha256.lower()}", {"kind": "file"}, data, sha256.lower())

    async def derived(self, source_sha256: str) -> bytes | None:
        """Bytes derived from the file with ``source_sha256`` (its unhashed ``.metadata``)."""
        found = await self._read(f"meta/{source_sha256.lower()}")
        self._count(found)
        return None if found is None else found[1]

    async def keep_derived(self, source_sha256: str, data: bytes) -> None:
        self._put(f"meta/{source_sha256.lower()}", {"kind": "metadata"}, data)

    def offline_miss(self, url: str, what: str) -> NetworkError:
        from ..errors import NetworkError  # the one use: not loaded before an install's first request

        return NetworkError(
            f"{what} ({url}) is not in micropkg's cache, and cache='offline' allows no network. "
            "Install once with the network (cache='default') to fill the cache.",
            url=url,
        )

    def _count(self, found) -> None:
        self.hits += found is not None
        self.misses += found is None

    # -- index pages -------------------------------------------------------------------------

    @staticmethod
    def _page_key(url: str, headers: Mapping[str, str]) -> str:
        return "page/" + digests.sha256(f"{url}\n{headers.get('Accept', '')}".encode()).hexdigest()

    async def page_headers(self, url: str, headers: Mapping[str, str]) -> dict[str, str] | None:
        """The headers :meth:`fetch_page` will send for this page (``If-None-Match`` added when a kept page may be
        revalidated), or None: kept and fresh. Before the first request (runtime.early): no import, no wait on a sure miss."""
        key = self._page_key(url, headers)
        kept = None if self.store.surely_missing(key) else await self._read(key)
        return None if kept is not None and self._fresh(kept) else self._asking(headers, kept)

    def _fresh(self, kept: tuple[dict, bytes]) -> bool:
        return self._clock() - kept[0]["stored"] < kept[0]["max_age"] or self.mode == "offline"

    def _asking(self, headers: Mapping[str, str], kept: tuple[dict, bytes] | None) -> dict[str, str]:
        asking = dict(headers)
        etag = kept[0]["headers"].get("etag") if kept is not None else None
        if etag and self.conditional:
            asking["If-None-Match"] = etag
        return asking

    async def fetch_page(self, transport: Transport, request: Request) -> Response:
        """The page for ``request``: kept and fresh, revalidated, or fetched and kept."""
        from .transport import Response

        key = self._page_key(request.url, request.headers)
        kept = await self._read(key)
        if kept is not None and self._fresh(kept):
            self.hits += 1
            header, body = kept
            return Response(header["url"], 200, header["headers"], body)
        self.misses += 1
        if kept is None and self.mode == "offline":
            raise self.offline_miss(request.url, "The index page")
        asking = request.with_headers(self._asking(request.headers, kept))
        response = await self.fetching(transport.fetch(asking))
        if response.status == 304 and kept is not None:
            self.revalidated += 1
            header, body = kept
            merged = {**header["headers"], **{k: v for k, v in response.headers.items() if k in _KEPT_HEADERS}}
            await self._keep_page(key, header["url"], merged, body)
            return Response(header["url"], 200, merged, body)
        if response.status == 200:
            await self._keep_page(key, response.url, response.headers, response.body)
        return response

    async def _keep_page(self, key: str, url: str, headers, body: bytes) -> None:
        kept_headers = {k: v for k, v in headers.items() if k in _KEPT_HEADERS}
        if "no-store" in kept_headers.get("cache-control", "").lower():
            return
        header = {
            "url": url,
            "stored": self._clock(),
            "max_age": max_age(kept_headers.get("cache-control")),
            "headers": kept_headers,
        }
        # A CRC, not a sha256, finds a damaged page: hashing pydantic-core's 6.5 MB
        # page took 28 ms in Pyodide, CRC-32 4 ms, on every write and every read. The
        # check is no defence against tampering either way: whoever can rewrite the
        # entry can rewrite its checksum. What a page lists is verified where it
        # matters: each file against the sha256 the page states.
        self._put(key, header, body, crc32=True)
