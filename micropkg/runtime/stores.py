"""Where the persistent cache lives in this runtime: the Cache API, a Node directory, memory."""

from __future__ import annotations

import warnings
from pathlib import Path

from ..net.cache import KINDS, Cache, DirectoryStore, MemoryStore, Store
from .detect import in_browser, in_pyodide
from .js import JsException

__all__ = ["CacheApiStore", "FallbackStore", "NodeFsStore", "cache_store", "get_held", "page_cache", "runtime_identity"]

_store: Store | None = None

def cache_store() -> Store:
    """Where this runtime keeps micropkg's cache (see ``_cache``), chosen once per runtime.

    In a browser, the Cache API (kept per origin across page loads). Under
    Node, a host directory: ``MICROPKG_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/micropkg``, else ``~/.cache/micropkg``. Where neither is
    available (a page without the Cache API), memory: the cache then lasts as
    long as the page; so does a page whose Cache API fails (denied, over quota), see
    :class:`FallbackStore`.
    """
    global _store
    if _store is None:
        _store = _make_store()
    return _store

def page_cache(mode: str) -> Cache | None:
    """The cache of one call in ``mode`` (one of ``CACHE_MODES``; "off": None)."""
    if mode == "off":
        return None
    # A browser would send a CORS preflight for If-None-Match; its HTTP cache revalidates instead.
    return Cache(cache_store(), mode=mode, conditional=not in_browser())


def runtime_identity(*, distribution: bool) -> dict[str, str | None]:
    """What files installed here depend on, besides Python's version: for the installed-tree
    cache's key (cheap: no ``sysconfig``, no ``packaging``). With ``distribution``, the
    runtime's own lockfile too (its packages are candidates): a digest of its entries."""
    import importlib.machinery
    import sys

    from ..model.digests import sha256  # not hashlib: a fresh Pyodide would compile it
    from .detect import abi_version, site_packages

    pyodide = lockfile = None
    if in_pyodide():
        import js
        import pyodide_js

        pyodide = str(pyodide_js.version)
        if distribution:  # ~1 ms for Pyodide 314's 300 entries (JSON.stringify, then sha256)
            lockfile = sha256(str(js.JSON.stringify(pyodide_js._api.lockfile_packages)).encode()).hexdigest()
    return {
        "pyodide": pyodide, "abi": abi_version(), "platform": sys.platform, "lockfile": lockfile,
        "extension_suffix": importlib.machinery.EXTENSION_SUFFIXES[0], "site_packages": str(site_packages()),
    }

async def get_held(store: Store, key: str) -> object | None:
    """The entry under ``key`` as the store holds it: from the Node directory or the Cache API,
    a JavaScript ``Uint8Array`` (not copied into Python's memory: a warm restore's 12 MB took
    ~10 ms to copy), else the bytes; None when there is none. Raises ``OSError`` as ``get``."""
    if store.surely_missing(key):
        return None  # a cold install's lookup: no wait on the store
    if isinstance(store, (NodeFsStore, CacheApiStore, FallbackStore)):
        return await store.get_js(key)
    return await store.get(key)

def _make_store() -> Store:
    if not in_pyodide():
        import os

        root = os.environ.get("MICROPKG_CACHE_DIR") or Path.home() / ".cache" / "micropkg"
        return DirectoryStore(root)
    import js

    if in_browser():
        if getattr(js, "caches", None) is None:
            return FallbackStore(None, "this page has no Cache API (browsers offer it to secure contexts only: https: or localhost)")
        return FallbackStore(CacheApiStore())
    directory = _node_cache_dir(js.process.env)
    return NodeFsStore(directory) if directory is not None else MemoryStore()

def _node_cache_dir(env) -> str | None:
    directory = getattr(env, "MICROPKG_CACHE_DIR", None)
    if directory:
        return str(directory)
    base = getattr(env, "XDG_CACHE_HOME", None)
    if not base and getattr(env, "HOME", None):
        base = f"{env.HOME}/.cache"
    return f"{base}/micropkg" if base else None

def _node_fs():
    import js
    from pyodide.code import run_js

    # process.getBuiltinModule (Node 20.16+) where there is one; Pyodide's own require otherwise.
    get_builtin = getattr(js.process, "getBuiltinModule", None)
    return get_builtin("node:fs") if get_builtin is not None else run_js("require('node:fs')")

class NodeFsStore(Store):
    """A host directory through Node's ``fs`` module, under Node only.

    Not through a mount into Pyodide's file system: Emscripten keeps its own
    view of a mounted directory's entries, which goes stale when another
    process (a second runtime, ``clear_cache`` elsewhere) changes them. Node's
    ``fs`` always sees the directory as it is. Layout as :class:`DirectoryStore`.
    """

    def __init__(self, root: str) -> None:
        from pyodide.code import run_js

        self.root = root.rstrip("/")
        fs = _node_fs()
        self._fs = fs.promises
        self._exists = fs.existsSync
        # readFile resolves to a Node Buffer, a typed array Pyodide refuses to proxy;
        # a Uint8Array view on the same memory crosses over (without a copy).
        # A missing entry is undefined (None), not a rejection: turning a JS error into a Python one costs
        # milliseconds, and a fresh cache misses on every install's first page.
        self._read = run_js(
            "(fs) => async (path) => { let b; try { b = await fs.readFile(path); }"
            " catch (error) { if (error && error.code === 'ENOENT') return undefined; throw error; }"
            " return new Uint8Array(b.buffer, b.byteOffset, b.byteLength); }"
        )(self._fs)

    def kept_probe(self) -> object:
        from .js import js_function

        # existsSync, not fs.access: a stat (~20 µs) answers now, where a promise from Node's
        # thread pool waits for the next turn of an event loop that Python's imports share.
        return js_function(
            "(exists, root) => (key) => { const at = key.indexOf('/'), name = key.slice(at + 1);"
            " try { return Promise.resolve(exists(root + '/' + key.slice(0, at) + '/' + name.slice(0, 2) + '/' + name)); }"
            " catch { return Promise.resolve(false); } }"
        )(self._exists, self.root)

    def _path(self, key: str) -> tuple[str, str]:
        kind, _, name = key.partition("/")
        folder = f"{self.root}/{kind}/{name[:2]}"
        return folder, f"{folder}/{name}"

    async def get(self, key: str) -> bytes | None:
        data = await self.get_js(key)
        return None if data is None else data.to_bytes()

    async def get_js(self, key: str):
        """The entry as a JavaScript ``Uint8Array`` (see :func:`get_held`), or None."""
        _, path = self._path(key)
        try:
            return await self._read(path)
        except JsException as exc:  # Node's error code
            raise OSError(f"reading {path} failed: {exc}") from exc

    def surely_missing(self, key: str) -> bool:
        # existsSync: a stat, ~20 µs, where get() waits for Node's thread pool and a turn of
        # the event loop. It answers false for an entry it cannot stat either (no permission):
        # the request then goes without If-None-Match, as it would after get() failed.
        _, path = self._path(key)
        try:
            return not self._exists(path)
        except JsException:
            return False

    async def put(self, key: str, data: bytes) -> None:
        import os

        from pyodide.ffi import to_js

        folder, path = self._path(key)
        temporary = f"{folder}/.tmp-{os.urandom(8).hex()}"
        try:
            await self._fs.mkdir(folder, _js_options(recursive=True))
            # Written aside, then renamed: a reader never sees half a file.
            await self._fs.writeFile(temporary, to_js(data))
            await self._fs.rename(temporary, path)
        except JsException as exc:  # full disk, permissions...
            raise OSError(f"writing {path} failed: {exc}") from exc

    async def delete(self, key: str) -> None:
        _, path = self._path(key)
        try:
            await self._fs.rm(path, _js_options(force=True))
        except JsException as exc:
            raise OSError(f"deleting {path} failed: {exc}") from exc

    async def clear(self) -> None:
        for kind in KINDS:
            try:
                await self._fs.rm(f"{self.root}/{kind}", _js_options(recursive=True, force=True))
            except JsException as exc:
                raise OSError(f"deleting {self.root}/{kind} failed: {exc}") from exc

def _js_options(**options):
    import js
    from pyodide.ffi import to_js

    return to_js(options, dict_converter=js.Object.fromEntries)

class CacheApiStore(Store):
    """The browser's Cache API (``caches``): one cache named ``micropkg-v1``, entries by key.

    Keys become URLs under ``https://micropkg.invalid/``, a host that cannot
    exist (RFC 2606), so no entry is ever confused with a real response.
    """

    def __init__(self, name: str = "micropkg-v1") -> None:
        from .js import js_function

        self.name = name
        # The keys held, listed once in the background when the store is made, then kept up
        # to date by this store's own writes. Until the listing is here, a mark in localStorage
        # (synchronous) that this origin's store was ever written to: without it, every key is
        # missing. It saved the first request a lookup (~14 ms in Chromium, 2026-12-05). A mark
        # lost while entries stay costs a request more; a worker has no localStorage: get() tells.
        self._listing = js_function(
            "(name) => { const listing = { urls: null, pending: [] }; const mark = name + ':written';"
            " const storage = () => { try { return globalThis.localStorage ?? null; } catch { return null; } };"
            " listing.empty = (() => { try { return storage() !== null && storage().getItem(mark) === null; }"
            " catch { return false; } })();"
            " listing.change = (op, url) => { try { if (op === 'add' && listing.empty !== false) storage()?.setItem(mark, '1');"
            " if (op === 'clear') storage()?.removeItem(mark); } catch {} listing.empty = op === 'clear';"
            " if (listing.urls === null) listing.pending.push([op, url]); else listing.urls[op](url); };"
            " listing.missing = (url) => listing.urls !== null ? !listing.urls.has(url) : listing.empty;"
            " listing.ready = (async () => new Set((await (await caches.open(name)).keys()).map((r) => r.url)))()"
            ".then((urls) => { for (const [op, url] of listing.pending) urls[op](url); listing.urls = urls; return urls; }, () => null);"
            " return listing; }"
        )(name)

    async def _open(self):
        import js

        # Opened each time, not kept: after caches.delete() (clear_cache, another
        # tab) a kept handle would still serve the deleted entries.
        return await js.caches.open(self.name)

    @staticmethod
    def _url(key: str) -> str:
        return "https://micropkg.invalid/" + key

    def kept_probe(self) -> object:
        from .js import js_function

        # The listing (made with the store, before the first page answers), not a lookup per
        # guess: each is a trip to the browser's storage process on the chain's way to its next
        # request. Another tab's writes are not in it: a request more, never another install.
        # A first visit's store holds nothing (the localStorage mark): then no guess waits for
        # the listing, nor hashes a page's key to ask (``nothing``, read by the chain).
        return js_function(
            "(listing, name) => { const probe = (key) => listing.urls === null && listing.empty ? Promise.resolve(false)"
            " : listing.ready.then((urls) => urls !== null ? urls.has('https://micropkg.invalid/' + key)"
            " : caches.open(name).then((c) => c.match('https://micropkg.invalid/' + key)).then((found) => !!found, () => false));"
            " probe.nothing = () => listing.urls !== null ? listing.urls.size === 0 : listing.empty; return probe; }"
        )(self._listing, self.name)

    def surely_missing(self, key: str) -> bool:
        # Not in the listing: a Cache API lookup (a trip to the storage process) would say
        # None. Another tab's writes are not in it: a fetch more.
        return bool(self._listing.missing(self._url(key)))

    async def get(self, key: str) -> bytes | None:
        data = await self.get_js(key)
        return None if data is None else data.to_bytes()

    async def get_js(self, key: str):
        """The entry as a JavaScript ``Uint8Array`` (see :func:`get_held`), or None."""
        import js

        try:
            response = await (await self._open()).match(self._url(key))
            if response is None:
                return None
            return js.Uint8Array.new(await response.arrayBuffer())
        except JsException as exc:  # (storage disabled, evicted mid-read)
            raise OSError(f"Cache API read of {key!r} failed: {exc}") from exc

    async def put(self, key: str, data: bytes) -> None:
        import js
        from pyodide.ffi import to_js

        self._listing.change("add", self._url(key))  # before: a reader meanwhile asks the Cache API
        try:
            await (await self._open()).put(self._url(key), js.Response.new(to_js(data)))
        except JsException as exc:  # e.g. QuotaExceededError
            raise OSError(f"Cache API write of {key!r} failed: {exc}") from exc

    async def delete(self, key: str) -> None:
        try:
            await (await self._open()).delete(self._url(key))
            self._listing.change("delete", self._url(key))
        except JsException as exc:
            raise OSError(f"Cache API delete of {key!r} failed: {exc}") from exc

    async def clear(self) -> None:
        import js

        try:
            await js.caches.delete(self.name)
            self._listing.change("clear", "")
        except JsException as exc:
            raise OSError(f"Cache API: deleting the cache {self.name!r} failed: {exc}") from exc


class FallbackStore(Store):
    """The browser's store (:class:`CacheApiStore`) until it fails, then memory; said once.

    The Cache API can be missing (an insecure context), refused (private
    browsing in some engines) or full (``QuotaExceededError``). No install
    depends on the cache, but a warning for each entry would bury a page's
    output, so the first failure says so once and the rest of the page's life
    keeps entries in memory. A failed write leaves reading on (a full cache
    still serves what it holds); a failed read turns the Cache API off.
    """

    def __init__(self, primary: Store | None, unavailable: str | None = None) -> None:
        self._memory = MemoryStore()
        self._read_from: Store | None = primary
        self._write_to: Store | None = primary
        self._said = False
        if primary is None:
            self._fall_back(unavailable or "no persistent store")

    def _fall_back(self, reason: str, *, reading: bool = False) -> None:
        self._write_to = None
        if reading:
            self._read_from = None
        if not self._said:
            self._said = True
            warnings.warn(
                f"micropkg's cache: {reason}; until this page is closed, what it downloads is kept in memory only",
                stacklevel=3,
            )

    def kept_probe(self) -> object:
        # What memory holds (written since the Cache API failed) is kept too.
        from pyodide.ffi import to_js

        from .js import js_function

        primary = self._read_from.kept_probe() if self._read_from is not None else None
        return js_function(
            "(kept, primary) => { const here = new Set(kept);"
            " return (key) => here.has(key) ? Promise.resolve(true) : primary ? primary(key) : Promise.resolve(false); }"
        )(to_js(list(self._memory.entries)), primary)

    def surely_missing(self, key: str) -> bool:
        if not self._memory.surely_missing(key):
            return False
        return self._read_from is None or self._read_from.surely_missing(key)

    async def get(self, key: str) -> bytes | None:
        found = await self._memory.get(key)
        if found is not None or self._read_from is None:
            return found
        try:
            return await self._read_from.get(key)
        except OSError as exc:
            self._fall_back(str(exc), reading=True)
            return None

    async def get_js(self, key: str) -> object | None:
        """As :meth:`get`; from the Cache API, a JavaScript ``Uint8Array`` (see :func:`get_held`)."""
        found = await self._memory.get(key)
        if found is not None or self._read_from is None:
            return found
        try:
            return await get_held(self._read_from, key)
        except OSError as exc:
            self._fall_back(str(exc), reading=True)
            return None

    async def put(self, key: str, data: bytes) -> None:
        if self._write_to is not None:
            try:
                await self._write_to.put(key, data)
                return
            except OSError as exc:
                self._fall_back(str(exc))
        # A tree-cache entry may be a JavaScript Uint8Array (the Node directory and the Cache API
        # take it as it is: file_reader.pack_entry); memory keeps bytes.
        await self._memory.put(key, data if isinstance(data, bytes) else data.to_bytes())

    async def delete(self, key: str) -> None:
        await self._memory.delete(key)
        if self._read_from is not None:
            try:
                await self._read_from.delete(key)
            except OSError as exc:
                self._fall_back(str(exc), reading=True)

    async def clear(self) -> None:
        await self._memory.clear()
        if self._read_from is not None:
            try:
                await self._read_from.clear()
            except OSError as exc:
                self._fall_back(str(exc), reading=True)
