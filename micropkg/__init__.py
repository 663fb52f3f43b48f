"""micropkg: install Python packages into a running Pyodide.

::

    import micropkg
    await micropkg.install("luau-wasm")
    import luau_wasm

The public surface is ``__all__``. Submodules load on first use, so
``import micropkg`` stays cheap in a page that may never install anything.
"""

from __future__ import annotations

import builtins
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
    "settled",
    "Package",
    # progress (micropkg.ui.progress)
    "Reporter",
    "ConsoleReporter",
    "EventReporter",
    # errors (the tree is drawn in micropkg.errors)
    "MicropkgError",
    "InvalidRequirement",
    "ScriptError",
    "FetchError",
    "NetworkError",
    "HTTPStatusError",
    "IndexFormatError",
    "InsecureURL",
    "ResolutionError",
    "ProjectNotFound",
    "NoCompatibleFile",
    "ConflictError",
    "UnavailableDependency",
    "ResolutionTooLong",
    "IntegrityError",
    "LockError",
    "InvalidWheel",
    "BuildError",
    "InvalidSdist",
    "CannotBuild",
    "BuildRuntimeError",
    "InstallError",
    "UninstallError",
]

_API = {
    "install", "resolve", "explain", "list", "uninstall", "set_index_urls", "freeze", "clear_cache", "settled", "Package",
}
_PROGRESS = {"Reporter", "ConsoleReporter", "EventReporter"}

if TYPE_CHECKING:
    from .api import (
        Package,
        clear_cache,
        explain,
        freeze,
        install,
        list,
        resolve,
        set_index_urls,
        settled,
        uninstall,
    )
    from .errors import *  # noqa: F403
    from .reporter import Reporter
    from .ui.progress import ConsoleReporter, EventReporter


def __getattr__(name: str):
    # Lazy: the resolver, packaging's parsers and resolvelib load on first use.
    if name in _API:
        from . import api as _api

        value = getattr(_api, name)
    elif name == "Reporter":
        from .reporter import Reporter as value
    elif name in _PROGRESS:
        from .ui import progress as _progress

        value = getattr(_progress, name)
    elif name in __all__:
        from . import errors as _errors

        value = getattr(_errors, name)
    else:
        raise AttributeError(f"module 'micropkg' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> builtins.list[str]:
    return sorted(set(globals()) | set(__all__))


# -- the %micropkg IPython magic (micropkg.commands.magic) ---------------------------------


def load_ipython_extension(ipython) -> None:
    """``%load_ext micropkg``: registers the ``%micropkg`` magic with ``ipython``."""
    from .commands.magic import load_ipython_extension as load

    load(ipython)


def _register_magic() -> None:
    # In a notebook kernel, ``import micropkg`` is enough for %micropkg. IPython
    # is only looked up, never imported: without it there is no shell to join.
    import sys

    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if get_ipython is not None else None
    if shell is None:
        return
    try:
        load_ipython_extension(shell)
    except Exception as error:  # an IPython too old or too different: install() still works
        import warnings

        warnings.warn(
            f"micropkg could not register the %micropkg magic ({type(error).__name__}: {error});"
            " use `await micropkg.install(...)` instead",
            RuntimeWarning,
            stacklevel=2,
        )


_register_magic()
del _register_magic
