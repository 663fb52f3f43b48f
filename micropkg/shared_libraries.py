"""The Pyodide distribution's shared libraries, loaded before an install's first extension module."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .errors import InstallError
from .runtime import native

if TYPE_CHECKING:
    from .model.plan import Plan
    from .resolution.catalog import Catalog

__all__ = ["shared_libraries_first"]


def shared_libraries_first(plan: Plan, catalog: Catalog, load_dynlibs):
    """``load_dynlibs``, loading first the distribution's shared libraries the plan needs.

    Shared libraries are zip archives of ``.so`` files (``install_dir: dynlib``),
    not wheels: Pyodide's own ``loadPackage`` installs them into its library
    directory and loads them globally, so it does. They load inside the
    install's transaction, after every wheel is verified and before the
    first extension module: a failure rolls the written files back.
    """
    distribution = catalog.distribution
    if distribution is None:
        return load_dynlibs
    names = [pin.name for pin in plan.to_install if catalog.from_distribution(pin.candidate)]
    libraries = [e["name"] for e in distribution.shared_libraries(names) if not native.is_loaded(e["name"])]
    if not libraries:
        return load_dynlibs
    if not distribution.runtime:
        needing = [name for name in names if distribution.shared_libraries([name])]
        raise InstallError(
            f"{', '.join(needing)} from {distribution.url} need the shared libraries {', '.join(libraries)},"
            " which micropkg loads only from the running Pyodide's own distribution (through"
            " loadPackage). Nothing was installed; boot Pyodide with this lockFileURL instead."
        )
    shared: asyncio.Future | None = None  # one load of the shared libraries, awaited by every wheel

    async def load(root, paths) -> None:
        nonlocal shared
        if shared is None:
            shared = asyncio.ensure_future(native.load_runtime_packages(libraries))
        await shared
        await load_dynlibs(root, paths)

    return load
