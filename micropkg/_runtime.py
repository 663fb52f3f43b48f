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

import re
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from ._errors import InstallError, NetworkError
from ._transport import Request, Response, Transport

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
            raise NetworkError(f"Could not fetch {request.url}: {exc}.{hint}", url=request.url) from exc
        headers = {k.lower(): v for k, v in response.headers.items()}
        return Response(response.url or request.url, response.status, headers, body)


async def read_local_url(url: str) -> bytes:
    """Bytes of an ``emfs:`` (Pyodide's file system) or ``file:`` (the host's, Node only) URL."""
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
    response = await PyfetchTransport().fetch(Request(url))
    return response.raise_for_status(f"Download of {url}").body


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


def invalidate_import_caches() -> None:
    import importlib

    importlib.invalidate_caches()
