"""Warm page loads: the files an install wrote, kept as one entry and restored in one pass.

A page that runs ``install("x")`` on every load resolves, downloads (from the
cache), verifies, inflates and writes the same wheels each time. After a
successful install this module keeps what it wrote; the next page load that
makes the same request in the same environment writes those files back
without importing the resolver or ``packaging``, without opening a wheel and
without hashing a file one by one.

**The key** (:func:`tree_key`) is a sha256 over everything an install's plan
depends on that is known before resolving: the request (requirements as given,
in order, and the options: deps, pre, reinstall, keep_going, constraints), the
indexes (URLs, and the hash of their headers and credentials), the index
strategy, ``pyodide_packages``, and the runtime (Python's full version, the
extension suffix, the PyEmscripten ABI, Pyodide's version, site-packages).

**The entry** (store key ``tree/<key>``) is one blob, checked by one sha256::

    micropkg-tree-1\\n
    <sha256 hex of everything after this line>\\n
    <manifest: one line of JSON>\\n
    <the bytes of every file written, concatenated in the manifest's order>

The manifest holds what the answer depends on beyond the key, and the plan:
``environment`` (the ``.dist-info`` directories of site-packages before the
install), ``pages`` (every index page the resolution read: index, URL, HTTP
status and the sha256 of the body), ``pins`` (name, version, file, its sha256,
source), ``files`` (path, size, project) and ``dynlibs`` (each wheel's native
libraries, in the order the install loaded them).

**A hit** needs all of: the entry intact (else it is deleted), the same
``.dist-info`` directories, and every page answering as before under the
cache's usual rules -- a fresh page costs nothing, a stale one is revalidated
or fetched (``cache="offline"``: used however old), and one that answers
differently (a new release, a yanked file) makes it a miss. Then nothing of the
entry's paths may exist yet. Anything else is a miss, and the install takes
the normal path, which reports whatever is wrong.

**Restoring** is transactional like an install: every file is new (a taken
path is a miss), so all are created in one call
(:func:`~micropkg.runtime.file_tree.write_new_files`: in Pyodide, straight into
Emscripten's file system from JavaScript, under an install's rules for new
files), the native libraries load in the recorded order after it, and a failure
removes every file written. RECORD, INSTALLER, REQUESTED and micropkg's own
dist-info files are the bytes the normal install wrote. The one sha256 over the
entry is the host's (Node's ``crypto``, ``crypto.subtle``) where there is one.

**Not kept**: installs with requirements files, direct references (a URL's
bytes may change), a ``pyodide_packages`` lockfile URL, shared libraries of the
Pyodide distribution, or a plan that replaced an installed version; and
nothing with ``cache="off"``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any, Protocol

from ..errors import InstallError, MicropkgError
from ..model import digests  # not hashlib: a fresh Pyodide compiles it
from ..net.cache import Store
from ..reporter import Reporter
from ..runtime import file_reader, file_tree, stores
from ..value import Value

__all__ = ["Entry", "Installed", "environment", "keep", "read_entry", "restore", "tree_key"]

_MAGIC = b"micropkg-tree-1\n"
# Bigger installs are not kept: one entry is held in memory whole, twice while packed.
MAX_ENTRY_BYTES = 128 << 20


class Installed(Value):
    """One distribution an install wrote (what ``install()`` returns). Immutable by convention."""

    __slots__ = ("name", "version", "filename", "source")

    def __init__(self, name: str, version: str, filename: str, source: str) -> None:
        self.name = name
        self.version = version
        self.filename = filename
        self.source = source


class PageSource(Protocol):
    """What the tree cache needs of an index: its URL and its pages, read under the cache's rules."""

    url: str

    async def page_response(self, url: str) -> Any: ...


def tree_key(
    requirements: Sequence[str],
    options: Mapping[str, object],
    indexes: Iterable[tuple[str, Mapping[str, str]]],
    *,
    index_strategy: str,
    pyodide_packages: object,
    credentials: str | None,
    runtime: Mapping[str, object],
) -> str:
    """The store key of an install's entry (see the module docstring)."""
    def secret(text: str) -> str:  # headers and credentials are hashed before they are hashed in
        return digests.sha256(text.encode()).hexdigest()

    described = {
        "format": _MAGIC.decode().strip(),
        "requirements": list(requirements),
        "options": dict(options),
        "indexes": [[url, secret(json.dumps(dict(headers), sort_keys=True))] for url, headers in indexes],
        "index_strategy": index_strategy,
        "pyodide_packages": pyodide_packages,
        "credentials": secret(credentials) if credentials else None,
        "runtime": dict(runtime),
        "python": sys.version,
    }
    text = json.dumps(described, sort_keys=True, default=str)
    return "tree/" + digests.sha256(text.encode()).hexdigest()


def environment(root: Path) -> list[str]:
    """What is installed in ``root``, as its ``.dist-info`` directory names (one listing, no parsing)."""
    try:
        return sorted(name for name in os.listdir(root) if name.endswith(".dist-info"))
    except OSError:
        return []


# -- keeping --------------------------------------------------------------------------------


def pack(manifest: dict, files: Sequence[bytes]) -> bytes:
    """An entry of ``manifest`` and the files' bytes (as :func:`keep` makes it)."""
    return file_reader.frame(_MAGIC, json.dumps(manifest, sort_keys=True).encode(), b"".join(files))


async def keep(
    store: Store,
    key: str,
    root: Path,
    *,
    environment_before: list[str],
    indexes: Sequence[Any],
    pins: Sequence[Mapping[str, str]],
    written: Sequence[tuple[str, Sequence[str]]],
    dynlibs: Sequence[Sequence[str]],
) -> bool:
    """Keep what an install wrote under ``key``; False when it is too big or the store fails.

    ``written``: per project, the paths written (relative to ``root``);
    ``dynlibs``: the native libraries, per wheel, in the order they loaded;
    ``indexes``: the session's indexes, whose ``pages_read`` are the pages the resolution read.
    """
    paths = [path for _, project_paths in written for path in project_paths]
    try:
        # Read back in one call (in Pyodide from JavaScript: ~1,800 files of Python I/O took ~70 ms).
        read = file_reader.read_files(str(root), paths, MAX_ENTRY_BYTES)
    except OSError as exc:
        warnings.warn(f"micropkg's cache could not keep the installed files ({key!r}): {exc}", stacklevel=2)
        return False
    if read is None:
        return False
    data, sizes = read
    numbers = [number for number, (_, project_paths) in enumerate(written) for _ in project_paths]
    pages: list[tuple[str, str, int, str]] = []
    for index in indexes:
        for url, response in index.pages_read.items():
            pages.append((index.url, url, response.status, await file_tree.sha256_hex(response.body)))
    pages.sort()
    manifest = {
        "key": key,
        "environment": environment_before,
        "pages": pages,
        "pins": [dict(pin) for pin in pins],
        "projects": [name for name, _ in written],
        "files": [[path, size, number] for path, size, number in zip(paths, sizes, numbers, strict=True)],
        "dynlibs": [list(libs) for libs in dynlibs],
    }
    entry = await file_reader.pack_entry(_MAGIC, json.dumps(manifest, sort_keys=True).encode(), data)
    try:
        # In Pyodide a JavaScript Uint8Array, which the Node and Cache API stores take as it is.
        await store.put(key, entry.data)
    except OSError as exc:
        warnings.warn(f"micropkg's cache could not keep the installed files ({key!r}): {exc}", stacklevel=2)
        return False
    return True


# -- reading and restoring ---------------------------------------------------------------------


class Entry(Value):
    """An intact entry: its manifest, and where each file's bytes are. Immutable by convention."""

    __slots__ = ("manifest", "blob", "start")

    def __init__(self, manifest: dict, blob: file_tree.Held, start: int) -> None:
        self.manifest = manifest
        self.blob = blob  # the entry's bytes, where the store read them
        self.start = start  # offset of the first file's bytes in ``blob``

    def files(self) -> Iterable[tuple[str, bytes, int]]:
        offset = self.start
        for path, size, project in self.manifest["files"]:
            yield path, self.blob.slice(offset, offset + size), project
            offset += size


_DIGEST_END = len(_MAGIC) + 64  # where the sha256's line ends


def _framed(blob: file_tree.Held) -> bool:
    head = blob.slice(0, _DIGEST_END + 1)
    return head.startswith(_MAGIC) and head[_DIGEST_END:] == b"\n"


def unpack(blob: bytes | file_tree.Held, key: str, digest: str | None = None) -> Entry | None:
    """The entry in ``blob``, or None unless it is intact, complete and kept under ``key``.

    ``digest``: the sha256 of everything after the digest's line, when the caller took it.
    """
    held = blob if isinstance(blob, file_tree.Held) else file_tree.Held(blob)
    if not _framed(held):
        return None
    digest_end = _DIGEST_END
    # One sha256 over the rest: it covers the manifest and every file, so nothing after it is checked again.
    if digest is None:  # read_entry takes it with the host's hashing
        digest = digests.sha256(held.slice(digest_end + 1, len(held))).hexdigest()
    if digest.encode() != held.slice(len(_MAGIC), digest_end):
        return None
    line_end = held.find(ord("\n"), digest_end + 1)
    try:
        manifest = json.loads(held.slice(digest_end + 1, line_end)) if line_end > 0 else None
    except ValueError:  # cannot happen to an intact entry of this format; a format bug is a miss
        return None
    start = line_end + 1
    if not isinstance(manifest, dict) or manifest.get("key") != key:
        return None
    if start + sum(size for _, size, _ in manifest["files"]) != len(held):
        return None
    return Entry(manifest, held, start)


async def read_entry(store: Store, key: str) -> Entry | None:
    """The intact entry under ``key``, or None; a damaged one is deleted."""
    try:
        # In Pyodide, where the store read it (JavaScript's memory): checked and written from there.
        blob = await stores.get_held(store, key)
    except OSError as exc:
        warnings.warn(f"micropkg's cache could not read {key!r} ({exc}); installing the usual way", stacklevel=2)
        return None
    if blob is None:
        return None
    held = file_tree.Held(blob)
    # The host's sha256 where there is one: hashlib in WebAssembly takes ~3 ms a megabyte.
    entry = unpack(held, key, await file_tree.sha256_hex(held, _DIGEST_END + 1) if _framed(held) else None)
    if entry is None:
        # Whatever changed it, these are not the bytes that were installed: never write them.
        try:
            await store.delete(key)
        except OSError as exc:
            warnings.warn(f"micropkg's cache could not delete the damaged entry {key!r}: {exc}", stacklevel=2)
    return entry


async def pages_unchanged(entry: Entry, indexes: Sequence[PageSource]) -> bool:
    """Whether every page the entry's resolution read answers as it did then (cache rules apply)."""
    by_url = {index.url: index for index in indexes}

    async def same(index_url: str, url: str, status: int, sha256: str) -> bool:
        index = by_url.get(index_url)
        if index is None:
            return False
        try:
            response = await index.page_response(url)
        except MicropkgError:  # offline and not kept, the network down: the normal path says so
            return False
        return response.status == status and digests.sha256(response.body).hexdigest() == sha256

    checks = await asyncio.gather(*(same(*page) for page in entry.manifest["pages"]))
    return all(checks)


async def restore(
    entry: Entry,
    root: Path,
    *,
    load_dynlibs: Callable[[Path, Sequence[str]], Awaitable[None]],
    reporter: Reporter,
) -> list[Installed] | None:
    """Write the entry's files and load its native libraries in one transaction.

    Returns None, having written nothing, when one of its paths is taken (the
    normal path explains); raises :class:`InstallError` after rolling back when
    a write or a native library fails.

    The files are all new (a taken path is a miss), so they are written in one
    call (:func:`~micropkg.runtime.file_tree.write_new_files`, the same rules as
    an install's writes) and a rollback only removes what that call made.
    """
    manifest = entry.manifest
    pins = manifest["pins"]
    resolved = Path(root).resolve(strict=True)
    try:
        batch = file_tree.write_new_files(
            str(resolved), entry.blob, [(path, size) for path, size, _ in manifest["files"]], entry.start,
        )
    except OSError as exc:
        outcome = (
            f"{str(resolved)!r} may be left half-restored." if isinstance(exc, file_tree.HalfWritten)
            else _rolled_back(resolved, [])
        )
        raise InstallError(f"Could not restore the installed files micropkg kept: {exc}. {outcome}") from exc
    if batch is None:
        return None
    try:
        reporter.installing([(pin["name"], pin["version"]) for pin in pins])
        count = sum(len(libs) for libs in manifest["dynlibs"])
        loaded = 0
        for libs in manifest["dynlibs"]:
            for lib in libs:
                loaded += 1
                reporter.loading(lib, loaded, count)
        # As the installer does: each wheel's libraries in order, the wheels side by side.
        await asyncio.gather(*(load_dynlibs(root, libs) for libs in manifest["dynlibs"]))
    except Exception as exc:
        outcome = _roll_back(batch, resolved)
        raise InstallError(f"Could not restore the installed files micropkg kept: {exc}. {outcome}") from exc
    except BaseException:
        _roll_back(batch, resolved)
        raise
    batch.forget()
    return [Installed(pin["name"], pin["version"], pin["filename"], pin["source"]) for pin in pins]


def _roll_back(batch: file_tree.Batch, root: Path) -> str:
    # Nothing is imported while restoring (loading a library runs no Python), so only files go back.
    try:
        kept = batch.undo()
    except OSError as exc:
        return f"Rolling back failed too ({exc}): {str(root)!r} may be left half-restored."
    return _rolled_back(root, kept)


def _rolled_back(root: PurePath, kept: Sequence[str]) -> str:
    from .destination import rolled_back  # the failure's sentence, as an install's: loaded only then

    return rolled_back(root, kept)
