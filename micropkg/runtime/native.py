"""Native code: loading a wheel's WebAssembly libraries, and Pyodide's package manager."""

from __future__ import annotations

import importlib.machinery
import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from ..errors import InstallError
from ..model.simple import normalized_name
from .js import JsException

__all__ = ["dynlibs_to_load", "forget_loaded", "is_loaded", "load_dynlibs", "load_runtime_packages", "mark_loaded"]


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

    Compiling ahead (``WebAssembly.compile`` while other wheels download) is
    not done: Pyodide 314's ``loadDynlib`` reads the file and hands its bytes
    to Emscripten's ``loadWebAssemblyModule``, whose only cache,
    ``preloadedWasm``, holds instantiated exports, not modules; the one way in
    would be wrapping the global ``WebAssembly.instantiate``. Measured for
    luau-wasm's 1 MB library (2026-12-04), compiling is 5-28 ms of a 25-200 ms
    load in Chromium and 9-24 ms under Node: V8 compiles WebAssembly lazily,
    so instantiating and running constructors is the cost, not compiling.
    Pyodide's loader also takes a lock, so loads run one at a time anyway.
    """
    if not paths:
        return
    import pyodide_js
    from pyodide.ffi import to_js

    api = pyodide_js._api
    for rel in paths:
        path = root / rel
        search = [str(p) for p in path.parents if p.name.endswith(".libs")] or [str(path.parent)]
        try:
            await api.loadDynlib(str(path), False, to_js(search))
        except JsException as exc:  # the dynamic linker
            raise InstallError(f"Could not load the native library {path}: {exc}") from exc

def mark_loaded(names_to_sources: dict[str, str]) -> None:
    """Tell Pyodide's package manager about what was installed, so loadPackage skips it
    (a version loadPackage or micropip put there before is forgotten, in any spelling)."""
    import pyodide_js

    forget_loaded(names_to_sources)
    for name, source in names_to_sources.items():
        setattr(pyodide_js.loadedPackages, name, source)

def forget_loaded(names: Iterable[str]) -> None:
    """Tell Pyodide's package manager that ``names`` are gone (uninstalled), so a later
    ``loadPackage`` of one of them loads it again instead of saying "already loaded".

    Names match in any spelling: the lockfile's (``PyYAML``), micropip's or micropkg's
    (PEP 503 normalized) record of one project are all forgotten."""
    import pyodide_js

    wanted = {normalized_name(name) for name in names}
    if not wanted:
        return
    loaded = pyodide_js.loadedPackages
    for key in loaded.object_keys():
        if normalized_name(key) in wanted:
            delattr(loaded, key)


def is_loaded(name: str) -> bool:
    """Whether Pyodide's package manager has loaded ``name`` (a lockfile entry's name)."""
    import pyodide_js

    return getattr(pyodide_js.loadedPackages, name, None) is not None

async def load_runtime_packages(names: Sequence[str]) -> None:
    """Load entries of the runtime's own lockfile by name with Pyodide's ``loadPackage``
    (for shared libraries: it installs them into its library directory and loads them
    globally, checking the lockfile's sha256). Raises :class:`InstallError` naming what
    did not load: older Pyodides report a failure through a callback, not an exception."""
    import pyodide_js
    from pyodide.ffi import create_proxy, to_js

    errors: list[str] = []
    on_error = create_proxy(errors.append)
    on_message = create_proxy(lambda message: None)  # keep "Loading ..." lines off the page's console
    try:
        await pyodide_js.loadPackage(to_js(list(names)), messageCallback=on_message, errorCallback=on_error)
    except JsException as exc:  # the loader
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
