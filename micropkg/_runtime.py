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

import functools
import re
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from ._cache import DirectoryStore, MemoryStore, Store
from ._errors import InstallError, NetworkError
from ._transport import Request, Response, Transport, redact_url, split_credentials

__all__ = [
    "PyfetchTransport",
    "in_pyodide",
    "in_browser",
    "site_packages",
    "read_local_url",
    "load_dynlibs",
    "dynlibs_to_load",
    "mark_loaded",
    "invalidate_import_caches",
    "runtime_lockfile",
    "runtime_distribution",
    "is_loaded",
    "load_runtime_packages",
    "CacheApiStore",
    "cache_store",
]


def in_pyodide() -> bool:
    return sys.platform == "emscripten"


def in_browser() -> bool:
    info = getattr(sys, "_emscripten_info", None)
    return in_pyodide() and not (info is not None and str(info.runtime).startswith("Node"))


def site_packages() -> Path:
    return Path(sysconfig.get_path("purelib"))


class PyfetchTransport(Transport):
    """HTTP through ``pyodide.http.pyfetch`` (the browser's or Node's ``fetch``).

    ``credentials`` is fetch()'s credentials mode ("omit", "same-origin",
    "include"), as in micropip.
    """

    def __init__(self, credentials: str | None = None) -> None:
        self._credentials = credentials

    async def fetch(self, request: Request) -> Response:
        from pyodide.http import pyfetch

        kwargs: dict = {"headers": dict(request.headers)}
        if self._credentials:
            kwargs["credentials"] = self._credentials
        try:
            response = await pyfetch(request.url, **kwargs)
            body = await response.bytes()
        except Exception as exc:  # pyfetch raises JsException/OSError: no response arrived
            hint = ""
            if in_browser():
                hint = (
                    " In a browser this is usually CORS: the server must send "
                    "'Access-Control-Allow-Origin' for this page's origin."
                )
            url = redact_url(request.url)
            # fetch() quotes the URL in some errors: keep any user:password out of the message.
            detail = str(exc).replace(request.url, url)
            raise NetworkError(f"Could not fetch {url}: {detail}.{hint}", url=url) from exc
        headers = {k.lower(): v for k, v in response.headers.items()}
        return Response(response.url or request.url, response.status, headers, body)


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
    ext_suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
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


@functools.lru_cache(maxsize=1)  # the runtime's lockfile does not change while it runs
def runtime_distribution() -> tuple[str, object, str]:
    """The running Pyodide's distribution: its lockfile's URL (the ``lockFileURL``
    the app gave, else ``pyodide-lock.json`` under the base), its ``packages``
    (converted lazily, by :class:`~._distribution.Distribution`), and the base URL
    its relative ``file_name`` values resolve against (a host path under Node
    becomes a ``file:`` URL)."""
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
    return url, api.lockfile_packages.to_py(), base


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
    ``$XDG_CACHE_HOME/micropkg``, else ``~/.cache/micropkg``, mounted into
    Pyodide's file system. Where neither is available (a page without the
    Cache API, an old Node), memory: the cache then lasts as long as the page.
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
        return CacheApiStore() if getattr(js, "caches", None) is not None else MemoryStore()
    mounted = _mount_node_cache(js)
    return DirectoryStore(mounted) if mounted is not None else MemoryStore()


# Where the host's cache directory appears inside Pyodide's file system under Node.
_NODE_MOUNT = "/micropkg-cache"


def _mount_node_cache(js) -> str | None:
    """Mount the host's cache directory into Pyodide's file system (Node only)."""
    import pyodide_js  # type: ignore[import-not-found]
    from pyodide.ffi import to_js

    env = js.process.env
    directory = getattr(env, "MICROPKG_CACHE_DIR", None)
    if not directory:
        base = getattr(env, "XDG_CACHE_HOME", None) or (
            f"{env.HOME}/.cache" if getattr(env, "HOME", None) else None
        )
        if base is None:
            return None
        directory = f"{base}/micropkg"
    get_builtin = getattr(js.process, "getBuiltinModule", None)
    if get_builtin is None:  # Node < 20.16 cannot create the directory from here
        return None
    options = to_js({"recursive": True}, dict_converter=js.Object.fromEntries)
    get_builtin("node:fs").mkdirSync(str(directory), options)
    fs = pyodide_js.FS
    fs.mkdirTree(_NODE_MOUNT)
    fs.mount(fs.filesystems.NODEFS, to_js({"root": str(directory)}, dict_converter=js.Object.fromEntries), _NODE_MOUNT)
    return _NODE_MOUNT


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
