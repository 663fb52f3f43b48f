"""micropkg: install Python packages into a running Pyodide.

::

    import micropkg
    await micropkg.install("luau-wasm")
    import luau_wasm

The public surface is ``__all__``. Submodules load on first use, so
``import micropkg`` stays cheap in a page that may never install anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = [
    # functions, with micropip's names and parameters
    "install",
    "resolve",
    "explain",
    "list",
    "uninstall",
    "set_index_urls",
    "freeze",
    "clear_cache",
    "Package",
    # progress (micropkg._progress)
    "Reporter",
    "ConsoleReporter",
    "EventReporter",
    # errors (the tree is drawn in micropkg._errors)
    "MicropkgError",
    "InvalidRequirement",
    "FetchError",
    "NetworkError",
    "HTTPStatusError",
    "IndexFormatError",
    "InsecureURL",
    "ResolutionError",
    "ProjectNotFound",
    "NoCompatibleFile",
    "ConflictError",
    "IntegrityError",
    "LockError",
    "InvalidWheel",
    "InstallError",
    "UninstallError",
]

_API = {"install", "resolve", "explain", "list", "uninstall", "set_index_urls", "freeze", "clear_cache", "Package"}
_PROGRESS = {"Reporter", "ConsoleReporter", "EventReporter"}

if TYPE_CHECKING:
    from ._api import Package, clear_cache, explain, freeze, install, list, resolve, set_index_urls, uninstall
    from ._errors import *  # noqa: F403
    from ._progress import ConsoleReporter, EventReporter, Reporter


def __getattr__(name: str):
    # Lazy: the resolver, packaging's parsers and resolvelib load on first use.
    if name in _API:
        from . import _api

        value = getattr(_api, name)
    elif name in _PROGRESS:
        from . import _progress

        value = getattr(_progress, name)
    elif name in __all__:
        from . import _errors

        value = getattr(_errors, name)
    else:
        raise AttributeError(f"module 'micropkg' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
