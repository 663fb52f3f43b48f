"""The runtime's installed packages: ``list``, ``uninstall`` and ``freeze``.

Public through :mod:`micropkg.api` (micropip's names). None of these resolve
or ask an index: they read and change site-packages only.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import UninstallError
from .runtime import detect
from .session import one_change_at_a_time

if TYPE_CHECKING:
    from .installation.environment import InstalledDistribution

__all__ = ["Package", "PackageDict", "list", "uninstall", "freeze"]


@dataclass(frozen=True)
class Package:
    """One installed distribution, as :func:`list` reports it."""

    name: str
    version: str
    source: str  # the installer that put it there: micropkg, pyodide, micropip, pip...

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.source})"


class PackageDict(dict):
    """Name -> :class:`Package`, printed as a table."""

    def __str__(self) -> str:
        rows = [("Name", "Version", "Source")] + [(p.name, p.version, p.source) for p in self.values()]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def list() -> PackageDict:  # noqa: A001 - micropip's name
    """Every distribution installed in the runtime's site-packages."""
    from .installation.environment import distributions

    result = PackageDict()
    for dist in sorted(distributions([detect.site_packages()]), key=lambda d: d.name):
        result[dist.name] = Package(dist.name, str(dist.version), dist.installer or "unknown")
    return result


async def uninstall(names: str | Iterable[str]) -> builtins.list[str]:
    """Remove distributions whatever installed them: their RECORD's files, their whole
    ``.dist-info``, their modules in ``sys.modules``, their ``pyodide.loadedPackages`` entry."""
    from .installation.environment import get
    from .installation.environment import uninstall as _uninstall_files
    from .installation.installer import forget_modules
    from .installation.site_packages import SitePackages
    from .runtime import native

    if isinstance(names, str):
        names = [names]
    async with one_change_at_a_time():
        root = detect.site_packages()
        dists: builtins.list[InstalledDistribution] = []
        for name in names:
            dist = get([root], name)
            if dist is None:
                raise UninstallError(f"Cannot uninstall {name!r}: it is not installed in {root}")
            dists.append(dist)
        removed: builtins.list[str] = []
        for dist in dists:
            _uninstall_files(dist, SitePackages(root))
            forget_modules(root, dist.files)
            removed.append(dist.name)
        native.forget_loaded(removed)  # else loadPackage would say "already loaded" and load nothing
        detect.invalidate_import_caches()
    return removed


def freeze(lockfile_base_url: str | None = None, *, format: str = "pyodide-lock") -> str:  # noqa: A002
    """The runtime's installed set as a lock: ``pyodide-lock.json`` text (Pyodide's
    ``loadPyodide({lockFileURL})`` loads it) or, with ``format="pylock"``, PEP 751
    ``pylock.toml`` text (``install(lock=...)`` installs it).

    ``lockfile_base_url`` (as in micropip) is the base for the runtime's own
    packages, whose lockfile names their files relative to the Pyodide
    distribution; by default it is where this runtime loaded them from.
    """
    if format not in ("pyodide-lock", "pylock"):
        raise ValueError(f"format must be 'pyodide-lock' or 'pylock', got {format!r}")
    from .lock.freeze import installed_lock, wheels_only
    from .lock.pylock import dumps as _dumps_pylock
    from .lock.pyodide_lock import dumps as _dumps_pyodide_lock
    from .runtime import lockfile

    info, packages, base = lockfile.runtime_lockfile()
    target = detect.current_target()
    lock = installed_lock(
        detect.site_packages(), target, runtime_packages=packages, base_url=lockfile_base_url or base
    )
    if format == "pylock":
        return _dumps_pylock(wheels_only(lock))
    return _dumps_pyodide_lock(lock, target, info=info)
