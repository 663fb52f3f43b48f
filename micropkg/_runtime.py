"""The Pyodide runtime adapter: the only module that touches ``pyodide`` and ``js``.

Everything Pyodide-specific is here -- HTTP through ``pyfetch``, where
site-packages is, loading native libraries through Pyodide's JavaScript API,
telling Pyodide's package manager what was installed -- so the rest of
micropkg imports and runs on plain CPython, where tests drive it with a
:class:`~micropkg._transport.MockTransport`.

The imports are inside functions: importing this module on CPython is fine,
calling into it is not.
"""

from __future__ import annotations

import importlib.machinery
import re
import site
import sys
import sysconfig
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath

from ._cache import DirectoryStore, MemoryStore, Store
from ._errors import InstallError, NetworkError
from ._transport import Request, Response, Transport, redact_url, split_credentials

__all__ = [
    "PyfetchTransport",
    "stacked_fetch",
    "timeout_signal",
    "fetch_failure",
    "in_pyodide",
    "in_browser",
    "site_packages",
    "abi_version",
    "page_url",
    "read_local_url",
    "load_dynlibs",
    "dynlibs_to_load",
    "mark_loaded",
    "event_sender",
    "invalidate_import_caches",
    "runtime_lockfile",
    "runtime_distribution",
    "is_loaded",
    "load_runtime_packages",
    "CacheApiStore",
    "FallbackStore",
    "NodeFsStore",
    "cache_store",
]


def in_pyodide() -> bool:
    return sys.platform == "emscripten"


def in_browser() -> bool:
    info = getattr(sys, "_emscripten_info", None)
    return in_pyodide() and not (info is not None and str(info.runtime).startswith("Node"))


def page_url() -> str | None:
    """The URL of the page (or worker script) running Pyodide; None under Node."""
    if not in_browser():
        return None
    import js  # type: ignore[import-not-found]

    return str(js.location.href)


# sysconfig's paths and variables are read from a generated module of ~20 KB
# that a fresh Pyodide compiles on first use (~18 ms of an install, Pyodide 314
# under Node): what this adapter needs comes from cheaper sources.

def site_packages() -> Path:
    # The folder Pyodide's own loader installs into (pyodide._package_loader.SITE_PACKAGES).
    return Path(site.getsitepackages()[0])


def abi_version() -> str | None:
    """The runtime's PyEmscripten platform version (``2026_0``), None outside Pyodide."""
    if not in_pyodide():
        return None
    import pyodide_js  # type: ignore[import-not-found]

    # Pyodide 0.28 and later state it in their JS API; 0.27 only in sysconfig,
    # under its pre-PEP 783 name.
    version = getattr(pyodide_js._api, "abiVersion", None)
    if version:
        return str(version)
    return sysconfig.get_config_var("PYEMSCRIPTEN_PLATFORM_VERSION") or sysconfig.get_config_var("PYODIDE_ABI_VERSION")


class PyfetchTransport(Transport):
    """HTTP through ``pyodide.http.pyfetch`` (the browser's or Node's ``fetch``).

    ``credentials`` is fetch()'s credentials mode ("omit", "same-origin",
    "include"), as in micropip.
    """

    applies_timeout = True  # through an AbortSignal, which fetch applies to the body too

    def __init__(self, credentials: str | None = None) -> None:
        self._credentials = credentials

    async def fetch(self, request: Request) -> Response:
        from pyodide.http import pyfetch

        kwargs: dict = {"headers": dict(request.headers)}
        if self._credentials:
            kwargs["credentials"] = self._credentials
        signal = None
        if request.timeout is not None:
            signal = kwargs["signal"] = timeout_signal(request.timeout)
        fetcher = stacked_fetch()
        if fetcher is not None:
            kwargs["fetcher"] = fetcher
        try:
            response = await pyfetch(request.url, **kwargs)
            body = await response.bytes()
        except Exception as exc:  # pyfetch raises JsException/OSError: no response arrived
            if signal is not None and signal.aborted:  # our deadline, not the network
                url = redact_url(request.url)
                raise NetworkError(
                    f"Could not fetch {url}: no complete answer within {request.timeout:g} s", url=url
                ) from exc
            raise fetch_failure(request.url, exc) from exc
        headers = {k.lower(): v for k, v in response.headers.items()}
        return Response(response.url or request.url, response.status, headers, body)


_stacked_fetch: object = None


def stacked_fetch():
    """``fetch`` for ``pyfetch(fetcher=...)``, rejecting only with errors that have a stack;
    None where ``pyfetch`` takes no fetcher (Pyodide 0.27).

    WebKit's ``fetch()`` rejects with a ``TypeError`` that has no ``stack``, and
    awaiting a JS error without one in Pyodide 314 never ends (in every engine).
    So such an error is thrown again as a fresh one of the same name and message.
    """
    global _stacked_fetch
    if _stacked_fetch is None:
        import inspect

        from pyodide.code import run_js
        from pyodide.http import pyfetch

        if "fetcher" not in inspect.signature(pyfetch).parameters:
            _stacked_fetch = False
        else:
            _stacked_fetch = run_js(
                "(request, init) => fetch(request, init).catch((error) => {"
                " if (error instanceof Error && !error.stack) {"
                " const copy = new Error(error.message); copy.name = error.name; throw copy; }"
                " throw error; })"
            )
    return _stacked_fetch or None


def timeout_signal(seconds: float):
    """An AbortSignal that aborts after ``seconds``: ``AbortSignal.timeout`` where the
    engine has it (Chromium 103, Firefox 100, Safari 16, Node 17.3 on), else a controller
    aborted by a timer. Node does not wait for ``AbortSignal.timeout``'s timer to exit
    (it is unreferenced); Node always has it, so the fallback's timer runs in browsers only."""
    import js  # type: ignore[import-not-found]

    milliseconds = max(1, round(seconds * 1000))
    if getattr(js.AbortSignal, "timeout", None) is not None:
        return js.AbortSignal.timeout(milliseconds)
    from pyodide.ffi import create_once_callable

    controller = js.AbortController.new()
    js.setTimeout(create_once_callable(lambda: controller.abort()), milliseconds)
    return controller.signal


def fetch_failure(url: str, exc: BaseException) -> NetworkError:
    """The error for a fetch() that got no answer at all, in every engine's words.

    Engines name no cause, by design (a page must not probe the network):
    Chromium says "Failed to fetch", Firefox "NetworkError when attempting to
    fetch resource.", WebKit "Load failed", and a refused connection, a name
    that does not resolve and a response without CORS headers all look the same.
    """
    shown = redact_url(url)
    # fetch() quotes the URL in some errors: keep any user:password out of the message.
    detail = str(exc).replace(url, shown).strip().rstrip(".")
    hint = ""
    if in_browser():
        hint = (
            " The browser does not say why: the server may be unreachable or, most often, it does not send "
            "'Access-Control-Allow-Origin' for this page's origin (CORS)."
        )
    return NetworkError(f"Could not fetch {shown}: {detail}.{hint}", url=shown)


async def read_local_url(url: str, transport: Transport | None = None) -> bytes:
    """Bytes of an ``emfs:`` (Pyodide's file system) or ``file:`` (the host's, Node only) URL;
    any other URL is fetched through ``transport`` (a plain :class:`PyfetchTransport` by default)."""
    if url.startswith("emfs:"):
        path = url[len("emfs:") :]
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise NetworkError(f"Cannot read {path} in Pyodide's file system: {exc}", url=url) from exc
    if url.startswith("file:"):
        if in_browser():
            raise NetworkError(f"{url}: file: URLs work only under Node, not in a browser", url=url)
        from pyodide_js._api import loadBinaryFile  # type: ignore[import-not-found]

        path = url[len("file://") :] if url.startswith("file://") else url[len("file:") :]
        try:
            return (await loadBinaryFile(path)).to_bytes()
        except Exception as exc:  # a JsException from Node's fs
            raise NetworkError(f"Cannot read {path}: {exc}", url=url) from exc
    plain_url, headers = split_credentials(url)
    response = await (transport or PyfetchTransport()).fetch(Request(plain_url, headers))
    return response.raise_for_status(f"Download of {plain_url}").body


_SHAREDLIB = re.compile(r"\.so(\.\d+)*$")


def dynlibs_to_load(paths: Iterable[str]) -> list[str]:
    """The ``.so`` files of a wheel that Pyodide must load, shared libraries first.

    Libraries in ``<name>.libs/`` (vendored by auditwheel-style repair tools)
    are what the extension modules link against, so they load first.
    Extension modules for another interpreter (a stray ``cpython-312`` file in
    a ``cp314`` wheel) are skipped, as Pyodide itself does.
    """
    ext_suffix = importlib.machinery.EXTENSION_SUFFIXES[0]  # sysconfig's EXT_SUFFIX, without sysconfig
    libs, extensions = [], []
    for path in paths:
        name = PurePosixPath(path).name
        if not _SHAREDLIB.search(name):
            continue
        if any(part.endswith(".libs") for part in PurePosixPath(path).parts[:-1]):
            libs.append(path)
        elif name.endswith(ext_suffix) or ".cpython-" not in name:
            extensions.append(path)
    return libs + extensions


async def load_dynlibs(root: Path, paths: Sequence[str]) -> None:
    """Load native libraries through Pyodide's JS API, before anything imports them.

    A browser refuses to compile large WebAssembly modules synchronously on
    the main thread, so loading at import time (dlopen) is not enough there;
    Pyodide's ``_api.loadDynlib`` compiles asynchronously. Its signature
    differs: 0.27 takes ``(path, global, searchDirs)``, 0.28+ takes
    ``(path)`` and ignores the rest, so one call shape serves both.
    """
    if not paths:
        return
    import pyodide_js  # type: ignore[import-not-found]
    from pyodide.ffi import to_js

    api = pyodide_js._api
    for rel in paths:
        path = root / rel
        search = [str(p) for p in path.parents if p.name.endswith(".libs")] or [str(path.parent)]
        try:
            await api.loadDynlib(str(path), False, to_js(search))
        except Exception as exc:  # a JsException from the dynamic linker
            raise InstallError(f"Could not load the native library {path}: {exc}") from exc


def event_sender(callback: Callable[[dict], object]) -> Callable[[dict], None]:
    """``callback`` as a function of an event dict; a JavaScript function gets a plain object.

    A JS callback handed a Python dict would receive a proxy that leaks unless
    destroyed; a converted object is the JS caller's to keep.
    """
    try:
        from pyodide.ffi import JsProxy, to_js  # type: ignore[import-not-found]
    except ImportError:  # CPython: a Python callable
        return callback  # type: ignore[return-value]
    if not isinstance(callback, JsProxy):
        return callback  # type: ignore[return-value]
    import js  # type: ignore[import-not-found]

    def send(event: dict) -> None:
        callback(to_js(event, dict_converter=js.Object.fromEntries))

    return send


def mark_loaded(names_to_sources: dict[str, str]) -> None:
    """Tell Pyodide's package manager about what was installed, so loadPackage skips it."""
    import pyodide_js  # type: ignore[import-not-found]

    for name, source in names_to_sources.items():
        setattr(pyodide_js.loadedPackages, name, source)


def runtime_lockfile() -> tuple[dict, dict, str | None]:
    """The runtime's own ``pyodide-lock.json``: its ``info``, its ``packages``, and the
    base that relative ``file_name`` values resolve against (``packageBaseUrl``)."""
    import pyodide_js  # type: ignore[import-not-found]

    api = pyodide_js._api
    base = getattr(api.config, "packageBaseUrl", None) or getattr(api.config, "indexURL", None)
    return api.lockfile_info.to_py(), api.lockfile_packages.to_py(), (str(base) if base else None)


def runtime_distribution() -> tuple[str, object, str, str | None]:
    """The running Pyodide's distribution: its lockfile's URL (the ``lockFileURL``
    the app gave, else ``pyodide-lock.json`` under the base), its ``packages``,
    the base URL its relative ``file_name`` values resolve against (a host path
    under Node becomes a ``file:`` URL), and, under Node, the CDN URL that
    ``loadPackage`` reads a file from when the local folder lacks it (else None)."""
    import pyodide_js  # type: ignore[import-not-found]

    api = pyodide_js._api
    config = api.config
    base = str(getattr(pyodide_js, "lockfileBaseUrl", None) or getattr(config, "packageBaseUrl", None)
               or getattr(config, "indexURL", None) or "")
    if base.startswith("/") and not in_browser():
        base = "file://" + base
    url = str(getattr(config, "lockFileURL", None) or "") or base + "pyodide-lock.json"
    if url.startswith("/") and not in_browser():
        url = "file://" + url
    cdn = getattr(config, "cdnUrl", None) if base.startswith("file:") else None
    return url, api.lockfile_packages.to_py(), base, (str(cdn) if cdn else None)


def is_loaded(name: str) -> bool:
    """Whether Pyodide's package manager has loaded ``name`` (a lockfile entry's name)."""
    import pyodide_js  # type: ignore[import-not-found]

    return getattr(pyodide_js.loadedPackages, name, None) is not None


async def load_runtime_packages(names: Sequence[str]) -> None:
    """Load entries of the runtime's own lockfile by name with Pyodide's ``loadPackage``
    (for shared libraries: it installs them into its library directory and loads them
    globally, checking the lockfile's sha256). Raises :class:`InstallError` naming what
    did not load: older Pyodides report a failure through a callback, not an exception."""
    import pyodide_js  # type: ignore[import-not-found]
    from pyodide.ffi import create_proxy, to_js

    errors: list[str] = []
    on_error = create_proxy(errors.append)
    on_message = create_proxy(lambda message: None)  # keep "Loading ..." lines off the page's console
    try:
        await pyodide_js.loadPackage(to_js(list(names)), messageCallback=on_message, errorCallback=on_error)
    except Exception as exc:  # a JsException from the loader
        errors.append(str(exc))
    finally:
        on_error.destroy()
        on_message.destroy()
    missing = [name for name in names if not is_loaded(name)]
    if missing or errors:
        raise InstallError(
            f"Pyodide's loadPackage could not load the shared libraries {', '.join(missing or names)}:"
            f" {'; '.join(errors) or 'no error reported'}"
        )


def invalidate_import_caches() -> None:
    import importlib

    importlib.invalidate_caches()


# -- the persistent cache's storage -----------------------------------------------------

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


def _make_store() -> Store:
    if not in_pyodide():
        import os

        root = os.environ.get("MICROPKG_CACHE_DIR") or Path.home() / ".cache" / "micropkg"
        return DirectoryStore(root)
    import js  # type: ignore[import-not-found]

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
    import js  # type: ignore[import-not-found]
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
        self._fs = _node_fs().promises
        # readFile resolves to a Node Buffer, a typed array Pyodide refuses to proxy;
        # a Uint8Array view on the same memory crosses over (without a copy).
        self._read = run_js(
            "(fs) => async (path) => { const b = await fs.readFile(path);"
            " return new Uint8Array(b.buffer, b.byteOffset, b.byteLength); }"
        )(self._fs)

    def _path(self, key: str) -> tuple[str, str]:
        kind, _, name = key.partition("/")
        folder = f"{self.root}/{kind}/{name[:2]}"
        return folder, f"{folder}/{name}"

    async def get(self, key: str) -> bytes | None:
        _, path = self._path(key)
        try:
            data = await self._read(path)
        except Exception as exc:  # a JsException carrying Node's error code
            if "ENOENT" in str(exc):
                return None
            raise OSError(f"reading {path} failed: {exc}") from exc
        return data.to_bytes()

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
        except Exception as exc:  # a JsException: full disk, permissions...
            raise OSError(f"writing {path} failed: {exc}") from exc

    async def delete(self, key: str) -> None:
        _, path = self._path(key)
        try:
            await self._fs.rm(path, _js_options(force=True))
        except Exception as exc:  # a JsException
            raise OSError(f"deleting {path} failed: {exc}") from exc

    async def clear(self) -> None:
        for kind in ("blob", "meta", "page"):
            try:
                await self._fs.rm(f"{self.root}/{kind}", _js_options(recursive=True, force=True))
            except Exception as exc:  # a JsException
                raise OSError(f"deleting {self.root}/{kind} failed: {exc}") from exc


def _js_options(**options):
    import js  # type: ignore[import-not-found]
    from pyodide.ffi import to_js

    return to_js(options, dict_converter=js.Object.fromEntries)


class CacheApiStore(Store):
    """The browser's Cache API (``caches``): one cache named ``micropkg-v1``, entries by key.

    Keys become URLs under ``https://micropkg.invalid/``, a host that cannot
    exist (RFC 2606), so no entry is ever confused with a real response.
    """

    def __init__(self, name: str = "micropkg-v1") -> None:
        self.name = name

    async def _open(self):
        import js  # type: ignore[import-not-found]

        # Opened each time, not kept: after caches.delete() (clear_cache, another
        # tab) a kept handle would still serve the deleted entries.
        return await js.caches.open(self.name)

    @staticmethod
    def _url(key: str) -> str:
        return "https://micropkg.invalid/" + key

    async def get(self, key: str) -> bytes | None:
        try:
            response = await (await self._open()).match(self._url(key))
            if response is None:
                return None
            return (await response.arrayBuffer()).to_bytes()
        except Exception as exc:  # a JsException (storage disabled, evicted mid-read)
            raise OSError(f"Cache API read of {key!r} failed: {exc}") from exc

    async def put(self, key: str, data: bytes) -> None:
        import js  # type: ignore[import-not-found]
        from pyodide.ffi import to_js

        try:
            await (await self._open()).put(self._url(key), js.Response.new(to_js(data)))
        except Exception as exc:  # a JsException, e.g. QuotaExceededError
            raise OSError(f"Cache API write of {key!r} failed: {exc}") from exc

    async def delete(self, key: str) -> None:
        try:
            await (await self._open()).delete(self._url(key))
        except Exception as exc:  # a JsException
            raise OSError(f"Cache API delete of {key!r} failed: {exc}") from exc

    async def clear(self) -> None:
        import js  # type: ignore[import-not-found]

        try:
            await js.caches.delete(self.name)
        except Exception as exc:  # a JsException
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

    async def get(self, key: str) -> bytes | None:
        found = await self._memory.get(key)
        if found is not None or self._read_from is None:
            return found
        try:
            return await self._read_from.get(key)
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
        await self._memory.put(key, data)

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
