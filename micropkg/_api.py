"""The public functions, with micropip's names and parameters.

``import micropkg as micropip`` keeps existing code working: ``install``,
``list``, ``uninstall``, ``set_index_urls`` take the same arguments. The
differences are documented in the README (the migration note).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from . import _runtime
from ._catalog import Catalog
from ._environment import InstalledDistribution, distributions, get
from ._environment import uninstall as _uninstall_files
from ._destination import SitePackages
from ._errors import UninstallError
from ._index import Index, index_list
from ._installer import Installed, forget_modules, install_plan
from ._metadata import CoreMetadata, parse_metadata
from ._requirements import parse_requirements
from ._resolver import Plan, resolve as _resolve
from ._target import Target

__all__ = ["install", "resolve", "list", "uninstall", "set_index_urls", "Package"]

_index_urls: tuple[str, ...] | None = None


def set_index_urls(urls: str | Sequence[str]) -> None:
    """Set the default indexes for later calls (``None`` in a call means these)."""
    global _index_urls
    _index_urls = index_list(urls)


def _catalog(index_urls, credentials, root: Path) -> tuple[Catalog, dict]:
    transport = _runtime.PyfetchTransport(credentials)
    indexes = [Index(url, transport) for url in index_list(index_urls or _index_urls)]
    installed: dict = {}
    installed_meta: dict[str, CoreMetadata] = {}
    for dist in distributions([root]):
        installed[dist.name] = dist.version
        metadata_file = dist.dist_info_path / "METADATA"
        installed_meta[dist.name] = parse_metadata(metadata_file.read_bytes(), source=str(metadata_file))
    return Catalog(indexes, read_url=_runtime.read_local_url, installed_metadata=installed_meta), installed


async def resolve(
    requirements: str | Iterable[str],
    deps: bool = True,
    pre: bool = False,
    index_urls: str | Sequence[str] | None = None,
    credentials: str | None = None,
    *,
    constraints: Iterable[str] | None = None,
    reinstall: bool = False,
    keep_going: bool = False,
) -> Plan:
    """Resolve without installing: the plan ``install`` would carry out."""
    plan, _ = await _plan(requirements, deps, pre, index_urls, credentials, constraints, reinstall, keep_going)
    return plan


async def _plan(requirements, deps, pre, index_urls, credentials, constraints, reinstall, keep_going):
    reqs = parse_requirements(requirements)
    cons = parse_requirements(constraints or [])
    root = _runtime.site_packages()
    catalog, installed = _catalog(index_urls, credentials, root)
    plan = await _resolve(
        reqs, catalog, Target.current(),
        constraints=cons, installed=installed, pre=pre, reinstall=reinstall, deps=deps,
        keep_going=keep_going,
    )
    return plan, catalog


async def install(
    requirements: str | Iterable[str],
    keep_going: bool = False,
    deps: bool = True,
    credentials: str | None = None,
    pre: bool = False,
    index_urls: str | Sequence[str] | None = None,
    *,
    constraints: Iterable[str] | None = None,
    reinstall: bool = False,
    verbose: bool | int | None = None,
) -> builtins.list[Installed]:
    """Install ``requirements`` (PEP 508 strings or wheel URLs) and their dependencies.

    Resolves against ``index_urls`` (PyPI's Simple API by default), downloads
    the chosen wheels concurrently with ``pyfetch``, checks every hash, writes
    them into site-packages in one transaction and loads their native
    libraries, so ``import`` works as soon as this returns.
    """
    plan, catalog = await _plan(
        requirements, deps, pre, index_urls, credentials, constraints, reinstall, keep_going
    )
    requested = {canonicalize_name(r.name) for r in parse_requirements(requirements)}
    installed = await install_plan(
        plan, catalog, _runtime.site_packages(),
        requested=requested,
        load_dynlibs=_runtime.load_dynlibs,
        dynlibs_to_load=_runtime.dynlibs_to_load,
    )
    _runtime.invalidate_import_caches()
    if installed:
        _runtime.mark_loaded({i.name: i.source for i in installed})
    if verbose:
        for item in installed:
            print(f"Installed {item.name} {item.version} ({item.filename})")
    return installed


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
    result = PackageDict()
    for dist in sorted(distributions([_runtime.site_packages()]), key=lambda d: d.name):
        result[dist.name] = Package(dist.name, str(dist.version), dist.installer or "unknown")
    return result


async def uninstall(names: str | Iterable[str]) -> builtins.list[str]:
    """Remove distributions: exactly the files their RECORD lists, and their imported modules."""
    if isinstance(names, str):
        names = [names]
    root = _runtime.site_packages()
    dists: builtins.list[InstalledDistribution] = []
    for name in names:
        dist = get([root], name)
        if dist is None:
            raise UninstallError(f"Cannot uninstall {name!r}: it is not installed in {root}")
        dists.append(dist)
    removed = []
    for dist in dists:
        _uninstall_files(dist, SitePackages(root))
        forget_modules(root, dist.files)
        removed.append(dist.name)
    _runtime.invalidate_import_caches()
    return removed

