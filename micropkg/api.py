"""The public functions, with micropip's names and parameters.

``import micropkg as micropip`` keeps existing code working: ``install``,
``list``, ``uninstall``, ``set_index_urls`` take the same arguments. The
differences are documented in the README (the migration note).
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import os
import time
import urllib.parse
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .runtime import detect, fetch, lockfile, native, stores
from .net.cache import CACHE_MODES, Cache
from .errors import InstallError, LockError, NetworkError, UninstallError
from .index.head_start import load_machinery, send_root_pages
from .index.client import Index, index_entries
from .reporter import Reporter
from .net.retry import RetryingTransport
from .net.transport import SecureTransport, require_secure_url

# Only what an install needs before its first request is imported with this module: the
# resolver, packaging's parsers and the installer load while the first pages are on their
# way (see _head_start), or on first use.
if TYPE_CHECKING:
    from .resolution.catalog import Catalog
    from .index.distribution import Distribution
    from .installation.environment import InstalledDistribution
    from .resolution.explain import Explanation
    from .installation.installer import Installed
    from .model.lock import Lock
    from .model.plan import Plan

__all__ = [
    "install", "resolve", "explain", "list", "uninstall", "set_index_urls", "freeze", "clear_cache", "Package",
]

_index_urls: tuple[tuple[str, dict[str, str]], ...] | None = None


def set_index_urls(urls) -> None:
    """Set the default indexes for later calls (``None`` in a call means these).

    Entries as for ``index_urls``: URLs, ``(url, headers)`` pairs, or a
    mapping ``{url: headers}``.
    """
    global _index_urls
    _index_urls = index_entries(urls)


def _transport(credentials, allow_insecure_http: bool) -> SecureTransport:
    # Outermost, the scheme checks run once per request and see where redirects ended;
    # inside them, a flaky network is retried.
    return SecureTransport(
        RetryingTransport(fetch.PyfetchTransport(credentials)),
        allow_insecure_http=allow_insecure_http,
    )


def _cache(mode: str) -> Cache | None:
    if mode not in CACHE_MODES:
        raise ValueError(f"cache must be one of {', '.join(map(repr, CACHE_MODES))}, got {mode!r}")
    if mode == "off":
        return None
    # A browser would send a CORS preflight for If-None-Match; its HTTP cache revalidates instead.
    return Cache(stores.cache_store(), mode=mode, conditional=not detect.in_browser())


async def clear_cache() -> None:
    """Delete everything micropkg keeps between page loads (pages, metadata, wheels)."""
    await stores.cache_store().clear()


@dataclass(frozen=True)
class _Sources:
    """Where an install reads from: the indexes, and the transport for everything else."""

    transport: SecureTransport
    indexes: tuple[Index, ...]


def _sources(index_urls, credentials, allow_insecure_http: bool = False, cache: str = "default") -> _Sources:
    entries = index_entries(index_urls or _index_urls)
    for url, _ in entries:
        require_secure_url(url, allow_insecure_http=allow_insecure_http, what="index URL")
    transport = _transport(credentials, allow_insecure_http)
    kept = _cache(cache)
    return _Sources(transport, tuple(Index(url, transport, headers=headers, cache=kept) for url, headers in entries))


def _catalog(
    sources: _Sources, root: Path, allow_insecure_http: bool = False,
    speculative: bool = False, index_strategy: str = "first-index", pyodide_packages: bool | str = True,
) -> tuple[Catalog, dict]:
    from .resolution.catalog import Catalog
    from .installation.environment import distributions
    from .model.metadata import parse_metadata

    transport = sources.transport
    indexes = builtins.list(sources.indexes)
    installed: dict = {}
    installed_meta: dict = {}
    for dist in distributions([root]):
        installed[dist.name] = dist.version
        metadata_file = dist.dist_info_path / "METADATA"
        installed_meta[dist.name] = parse_metadata(metadata_file.read_bytes(), source=str(metadata_file))
    read_url = functools.partial(fetch.read_local_url, transport=transport)
    catalog = Catalog(
        indexes, read_url=read_url, installed_metadata=installed_meta, speculative=speculative,
        strategy=index_strategy,
        distribution=_distribution(pyodide_packages, transport, allow_insecure_http),
    )
    return catalog, installed


def _distribution(pyodide_packages: bool | str, transport, allow_insecure_http: bool) -> Distribution | None:
    """The Pyodide distribution offered beside the indexes: the runtime's own
    lockfile (True), the ``pyodide-lock.json`` at a URL or path, or none (False)."""
    if pyodide_packages is False or pyodide_packages is None:
        return None

    async def read(location: str) -> bytes:
        return await _read(location, transport, allow_insecure_http)

    if pyodide_packages is True:
        if not detect.in_pyodide():
            return None
        shared, cdn = _runtime_distribution()
        base = shared.base_url

        async def read_runtime(location: str) -> bytes:
            try:
                return await read(location)
            except NetworkError:
                # Under Node the npm package holds no wheels: loadPackage reads a file the
                # local folder lacks from the CDN, and so does this (sha256-checked all the same).
                if cdn is None or not location.startswith(base):
                    raise
                return await read(cdn + location[len(base):])

        return shared.reading_with(read_runtime)
    if not isinstance(pyodide_packages, str):
        raise TypeError(f"pyodide_packages must be True, False or a lockfile URL, got {pyodide_packages!r}")
    from .index.distribution import Distribution

    return Distribution(_location(pyodide_packages), read)


@functools.lru_cache(maxsize=1)  # checked and indexed once per runtime, not once per call
def _runtime_distribution() -> tuple[Distribution, str | None]:
    from .index.distribution import Distribution

    url, packages, base, cdn = lockfile.runtime_distribution()
    return Distribution(url, None, packages=packages, base_url=base, runtime=True), cdn  # type: ignore[arg-type]


def _shared_libraries_first(plan: Plan, catalog: Catalog, load_dynlibs):
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

    async def load(root: Path, paths) -> None:
        nonlocal shared
        if shared is None:
            shared = asyncio.ensure_future(native.load_runtime_packages(libraries))
        await shared
        await load_dynlibs(root, paths)

    return load


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
    allow_insecure_http: bool = False,
    cache: str = "default",
    index_strategy: str = "first-index",
    pyodide_packages: bool | str = True,
) -> Plan:
    """Resolve without installing: the plan ``install`` would carry out."""
    plan, catalog = await _plan(
        requirements, deps, pre, constraints, reinstall, keep_going,
        _sources(index_urls, credentials, allow_insecure_http, cache), allow_insecure_http=allow_insecure_http,
        index_strategy=index_strategy, pyodide_packages=pyodide_packages,
    )
    await catalog.settle()
    return plan


async def explain(
    requirement: str,
    index_urls=None,
    *,
    pre: bool = False,
    credentials: str | None = None,
    allow_insecure_http: bool = False,
    cache: str = "default",
    index_strategy: str = "first-index",
    pyodide_packages: bool | str = True,
) -> Explanation:
    """Every file the sources offer for one project, and why each was taken or refused.

    ``requirement`` is a project name or a PEP 508 requirement
    (``"msgpack>=1.2"``); ``print()`` the result for a table. Nothing is installed.
    """
    from .resolution.explain import explain_project
    from .model.target import Target

    catalog, _ = _catalog(
        _sources(index_urls, credentials, allow_insecure_http, cache), detect.site_packages(), allow_insecure_http,
        index_strategy=index_strategy, pyodide_packages=pyodide_packages,
    )
    try:
        return await explain_project(requirement, catalog, detect.current_target(), pre=pre)
    finally:
        await catalog.settle()


async def _plan(
    requirements, deps, pre, constraints, reinstall, keep_going, sources: _Sources,
    *, allow_insecure_http: bool = False, speculative: bool = False,
    index_strategy: str = "first-index", pyodide_packages: bool | str = True,
):
    from .model.requirements import parse_requirements
    from .resolution.resolver import resolve as _resolve
    from .model.target import Target

    reqs = parse_requirements(requirements)
    cons = parse_requirements(constraints or [])
    for req in (*reqs, *cons):
        if req.url and req.url.split(":", 1)[0].lower() in ("http", "https"):
            require_secure_url(req.url, allow_insecure_http=allow_insecure_http, what="wheel URL")
    root = detect.site_packages()
    catalog, installed = _catalog(
        sources, root, allow_insecure_http, speculative,
        index_strategy=index_strategy, pyodide_packages=pyodide_packages,
    )
    try:
        plan = await _resolve(
            reqs, catalog, detect.current_target(),
            constraints=cons, installed=installed, pre=pre, reinstall=reinstall, deps=deps,
            keep_going=keep_going,
        )
    except Exception:
        # What was fetched is kept all the same: the next attempt need not fetch it again.
        await catalog.settle()
        raise
    return plan, catalog


async def install(
    requirements: str | Iterable[str] = (),
    keep_going: bool = False,
    deps: bool = True,
    credentials: str | None = None,
    pre: bool = False,
    index_urls: str | Sequence[str] | None = None,
    *,
    constraints: Iterable[str] | None = None,
    reinstall: bool = False,
    verbose: bool | int | None = None,
    allow_insecure_http: bool = False,
    lock: str | None = None,
    requirements_file: str | Sequence[str] | None = None,
    cache: str = "default",
    index_strategy: str = "first-index",
    pyodide_packages: bool | str = True,
    reporter: Reporter | None = None,
) -> builtins.list[Installed]:
    """Install ``requirements`` (PEP 508 strings or wheel URLs) and their dependencies.

    Resolves against ``index_urls`` (PyPI's Simple API by default), downloads
    the chosen wheels concurrently with ``pyfetch``, checks every hash, writes
    them into site-packages in one transaction and loads their native
    libraries, so ``import`` works as soon as this returns.

    Plain ``http:`` URLs are refused unless they point at this machine
    (localhost, 127.0.0.0/8, ::1) or ``allow_insecure_http=True``.

    ``requirements_file`` names pip-style requirements files (a path in
    Pyodide's file system or a URL) whose requirements, ``-c`` constraints
    and ``--index-url`` (when ``index_urls`` is not given) are added.

    ``lock`` (the URL or path of a ``pylock.toml`` or ``pyodide-lock.json``,
    or its text) installs exactly what the lock lists for this runtime,
    without resolving and without asking any index: every wheel is
    downloaded in one concurrent batch and checked against the lock's hash.

    ``cache`` (``"default"``, ``"off"``, ``"offline"``): index pages,
    metadata and wheels are kept across page loads (the Cache API in a
    browser, a directory under Node) and checked against their sha256 when
    read; ``"offline"`` uses only what is kept and fails on anything missing.

    ``index_urls`` entries are URLs, ``(url, headers)`` pairs or a mapping
    ``{url: headers}``; an index's headers (``{"Authorization": ...}``) are
    sent to that index's origin only. ``index_strategy="first-index"`` (the
    default) takes all of a project's files from the first index that knows
    it; ``"merge"`` lets every index's files compete.

    ``pyodide_packages``: the Pyodide distribution's own builds (numpy,
    pyyaml...) are candidates beside the indexes' files -- the runtime's
    lockfile (True), the ``pyodide-lock.json`` at a URL or path, or none
    (False). The newest version that fits wins; on a tie, the index's file
    (a project the indexes serve never depends on Pyodide's CDN).

    ``reporter`` (a :class:`Reporter`) hears of each step: resolving,
    resolved, downloading (bytes of the total), installing, loading native
    libraries, installed -- or failed. By default a notebook shows a progress
    bar, ``verbose=True`` prints pip-like lines, and otherwise nothing is shown.
    """
    if lock is not None and (requirements or requirements_file is not None):
        raise TypeError("install(lock=...) installs exactly what the lock lists: pass no requirements with it")
    if reporter is None:
        from .ui.notebook import default_reporter

        reporter = default_reporter(verbose)
    started = time.perf_counter()
    try:
        installed = await _install(
            requirements, keep_going, deps, credentials, pre, index_urls, constraints, reinstall,
            allow_insecure_http, lock, requirements_file, cache, index_strategy, pyodide_packages, reporter,
        )
    except BaseException as exc:
        reporter.failed(exc)
        raise
    reporter.installed([(i.name, i.version) for i in installed], time.perf_counter() - started)
    return installed


async def _install(
    requirements, keep_going, deps, credentials, pre, index_urls, constraints, reinstall,
    allow_insecure_http, lock, requirements_file, cache, index_strategy, pyodide_packages, reporter: Reporter,
) -> builtins.list[Installed]:
    if lock is not None:
        installed = await _install_lock(lock, credentials, allow_insecure_http, reporter)
    else:
        if requirements_file is not None:
            requirements, constraints, index_urls, pre = await _with_files(
                requirements_file, requirements, constraints, index_urls, pre, credentials, allow_insecure_http
            )
        reporter.resolving([requirements] if isinstance(requirements, str) else builtins.list(requirements))
        resolving = time.perf_counter()
        sources = _sources(index_urls, credentials, allow_insecure_http, cache)
        on_their_way = send_root_pages(sources.indexes, requirements)
        try:
            await load_machinery(on_their_way)
            plan, catalog = await _plan(
                requirements, deps, pre, constraints, reinstall, keep_going, sources,
                allow_insecure_http=allow_insecure_http, speculative=True,
                index_strategy=index_strategy, pyodide_packages=pyodide_packages,
            )
        finally:
            for index in sources.indexes:
                index.drop_early()
        reporter.resolved([(pin.name, str(pin.version)) for pin in plan.to_install], time.perf_counter() - resolving)
        from packaging.utils import canonicalize_name

        from .installation.installer import install_plan
        from .model.requirements import parse_requirements
        from .model.target import Target

        requested = {canonicalize_name(r.name) for r in parse_requirements(requirements)}
        try:
            installed = await install_plan(
                plan, catalog.downloads, detect.site_packages(),
                requested=requested,
                load_dynlibs=_shared_libraries_first(plan, catalog, native.load_dynlibs),
                dynlibs_to_load=native.dynlibs_to_load,
                target=detect.current_target(),
                reporter=reporter,
            )
        finally:
            # What was fetched is kept for the next page load before install() returns (or fails).
            await catalog.settle()
    detect.invalidate_import_caches()
    if installed:
        native.mark_loaded({i.name: i.source for i in installed})
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
    from .installation.environment import distributions

    result = PackageDict()
    for dist in sorted(distributions([detect.site_packages()]), key=lambda d: d.name):
        result[dist.name] = Package(dist.name, str(dist.version), dist.installer or "unknown")
    return result


async def uninstall(names: str | Iterable[str]) -> builtins.list[str]:
    """Remove distributions: exactly the files their RECORD lists, and their imported modules."""
    from .installation.site_packages import SitePackages
    from .installation.environment import get
    from .installation.environment import uninstall as _uninstall_files
    from .installation.installer import forget_modules

    if isinstance(names, str):
        names = [names]
    root = detect.site_packages()
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
    detect.invalidate_import_caches()
    return removed



# -- locks and requirements files --------------------------------------------------------


def _location(text: str) -> str:
    """A URL as given; a path in Pyodide's file system as an ``emfs:`` URL; in a
    page, anything else is relative to the page's URL (as fetch() would read it)."""
    if urllib.parse.urlsplit(text).scheme:
        return text
    if text.startswith("/") or os.path.exists(text):
        return "emfs:" + os.path.abspath(text)
    page = detect.page_url()
    # Made absolute here, not by fetch(): the https check and a lock's relative
    # file paths both need to know where it really is.
    return urllib.parse.urljoin(page, text) if page else text


async def _read(location: str, transport, allow_insecure_http: bool) -> bytes:
    if location.split(":", 1)[0].lower() in ("http", "https"):
        require_secure_url(location, allow_insecure_http=allow_insecure_http, what="URL")
    if location.startswith("/") and not detect.in_browser():
        # Under Node an absolute path in a lock is the host's, as in Pyodide's own lockfiles.
        location = "file:" + location
    return await fetch.read_local_url(location, transport=transport)


async def _with_files(files, requirements, constraints, index_urls, pre, credentials, allow_insecure_http):
    from .model.requirements_file import RequirementsFile, load_requirements_file

    transport = _transport(credentials, allow_insecure_http)

    async def read_text(location: str) -> str:
        return (await _read(location, transport, allow_insecure_http)).decode("utf-8")

    loaded = RequirementsFile()
    for location in [files] if isinstance(files, str) else files:
        await load_requirements_file(_location(location), read_text, into=loaded)
    for note in loaded.notes:
        warnings.warn(note, stacklevel=3)
    given = [requirements] if isinstance(requirements, str) else builtins.list(requirements)
    return (
        [*given, *loaded.requirements],
        [*(constraints or ()), *loaded.constraints],
        index_urls if index_urls is not None else (loaded.index_urls or None),
        pre or loaded.pre,
    )


async def _load_lock(lock: str, transport, allow_insecure_http: bool) -> Lock:
    from .lock.pyodide_lock import parse_lock

    if "\n" in lock or lock.lstrip().startswith("{"):
        return parse_lock(lock, source="<text>")
    location = _location(lock)
    data = await _read(location, transport, allow_insecure_http)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LockError(f"{location} is not a text file (UTF-8): {exc}", lock=location) from exc
    return parse_lock(text, source=location, base_url=location)


async def _install_lock(lock: str, credentials, allow_insecure_http: bool, reporter: Reporter) -> builtins.list[Installed]:
    from .installation.installer import install_lock
    from .model.target import Target

    transport = _transport(credentials, allow_insecure_http)
    parsed = await _load_lock(lock, transport, allow_insecure_http)
    return await install_lock(
        parsed, detect.current_target(), detect.site_packages(),
        lambda url: _read(url, transport, allow_insecure_http),
        load_dynlibs=native.load_dynlibs,
        dynlibs_to_load=native.dynlibs_to_load,
        reporter=reporter,
    )


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
    from .lock.pyodide_lock import dumps as _dumps_pyodide_lock
    from .lock.pylock import dumps as _dumps_pylock
    from .model.target import Target

    info, packages, base = lockfile.runtime_lockfile()
    target = detect.current_target()
    lock = installed_lock(
        detect.site_packages(), target, runtime_packages=packages, base_url=lockfile_base_url or base
    )
    if format == "pylock":
        return _dumps_pylock(wheels_only(lock))
    return _dumps_pyodide_lock(lock, target, info=info)
