"""The public functions, with micropip's names and parameters.

``import micropkg as micropip`` keeps existing code working: ``install``,
``list``, ``uninstall``, ``set_index_urls`` take the same arguments. The
differences are documented in the README (the migration note).

Each function opens a :class:`~micropkg.session.Session` for its call and
works through it. Installs, lock installs and uninstalls in one runtime run
one at a time, in the order they were called: a second ``install`` made
while one runs waits for it, then resolves against what it left.
"""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .index.head_start import load_machinery, send_first_pages, send_root_pages
from .runtime.changes import after_this_change, in_turn

# Only what an install needs before its first request is imported with this module (see
# index.head_start): the session, the resolver, packaging's parsers and the installer load
# while the first pages are on their way, or on first use. Both numbers are net.retry's.
DEFAULT_TIMEOUT = 15.0
DEFAULT_BUDGET = 300.0

if TYPE_CHECKING:
    from .installation.installer import Installed
    from .model.plan import Plan
    from .packages import Package, freeze, list, uninstall
    from .reporter import Reporter
    from .resolution.explain import Explanation
    from .session import Options, Session

__all__ = [
    "install", "resolve", "explain", "list", "uninstall", "set_index_urls", "freeze", "clear_cache", "settled", "Package",
]

_PACKAGES = {"Package", "freeze", "list", "uninstall"}


def __getattr__(name: str):
    if name in _PACKAGES:  # micropkg.packages: list, uninstall, freeze
        from . import packages

        value = getattr(packages, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'micropkg.api' has no attribute {name!r}")


def set_index_urls(urls) -> None:
    """Set the default indexes for later calls (``None`` in a call means these).

    Entries as for ``index_urls``: URLs, ``(url, headers)`` pairs, or a
    mapping ``{url: headers}``.
    """
    from .session import set_default_indexes

    set_default_indexes(urls)


async def settled() -> None:
    """Wait until what the finished installs keep for the next page load is written: ``install()``
    returns once the packages import, and keeping their files and what it fetched goes on after
    (the next install, uninstall or ``clear_cache()`` waits for it). A page or script that ends
    right after an install (``process.exit()`` under Node) awaits this, or its next load is cold."""
    from .runtime.changes import settled as _settled

    await _settled()


async def clear_cache() -> None:
    """Delete everything micropkg keeps between page loads (pages, metadata, wheels)."""
    from .runtime import stores

    async with in_turn():  # after what an install keeps for later, or it would land after this
        await stores.cache_store().clear()


async def resolve(
    requirements: str | Iterable[str],
    *,
    keep_going: bool = False,
    deps: bool = True,
    credentials: str | None = None,
    pre: bool = False,
    index_urls: str | Sequence[str] | None = None,
    constraints: Iterable[str] | None = None,
    reinstall: bool = False,
    allow_insecure_http: bool = False,
    cache: str = "default",
    index_strategy: str = "first-index",
    pyodide_packages: bool | str = True,
    only_binary: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT, time_budget: float | None = DEFAULT_BUDGET,
    script: str | None = None,
) -> Plan:
    """Resolve without installing: the plan ``install`` would carry out (same parameters).
    An sdist in the plan is built for its metadata (once, then from the cache)."""
    from .reporter import Reporter, announce, call_started
    from .session import Options, Session

    clock = call_started.set(time.perf_counter())  # plan.stats.phases count from here
    try:
        session = Session.open(
            index_urls, credentials=credentials, allow_insecure_http=allow_insecure_http, cache=cache,
            index_strategy=index_strategy, pyodide_packages=pyodide_packages, timeout=timeout, time_budget=time_budget,
        )
        options = Options(deps=deps, pre=pre, reinstall=reinstall, keep_going=keep_going,
                          constraints=tuple(constraints or ()), only_binary=only_binary)
        if script is not None:
            from .request import with_script

            requirements = await with_script(session, script, requirements)
        plan, catalog = await session.resolve(requirements, options)
        await catalog.settle()
        if catalog.builds is not None:
            catalog.builds.close()
    finally:
        call_started.reset(clock)
    announce(Reporter(), plan.ignored, plan.walked_back, stacklevel=2)
    return plan


async def explain(
    requirement: str,
    *,
    credentials: str | None = None,
    pre: bool = False,
    index_urls: str | Sequence[str] | None = None,
    allow_insecure_http: bool = False,
    cache: str = "default",
    index_strategy: str = "first-index",
    pyodide_packages: bool | str = True,
    timeout: float | None = DEFAULT_TIMEOUT, time_budget: float | None = DEFAULT_BUDGET,
) -> Explanation:
    """Every file the sources offer for one project, and why each was taken or refused.

    ``requirement`` is a project name or a PEP 508 requirement
    (``"msgpack>=1.2"``); ``print()`` the result for a table. Nothing is installed.
    """
    from .errors import MicropkgError
    from .resolution.explain import explain_project
    from .session import Options, Session

    session = Session.open(
        index_urls, credentials=credentials, allow_insecure_http=allow_insecure_http, cache=cache,
        index_strategy=index_strategy, pyodide_packages=pyodide_packages, timeout=timeout, time_budget=time_budget,
    )
    catalog, _ = session.catalog(only_binary=False)  # sdists are judged as install judges them
    try:
        explanation = await explain_project(requirement, catalog, session.target, pre=pre)
    finally:
        await catalog.settle()
    if explanation.taken is None:
        return explanation
    # The newest file that fits is not always what an install takes: its dependencies decide.
    try:
        plan, catalog = await session.resolve(requirement, Options(pre=pre))
        await catalog.settle()
    except MicropkgError as error:
        return dataclasses.replace(explanation, resolution=(f"{type(error).__name__}: {error}",))
    return dataclasses.replace(explanation, resolution=tuple(str(w) for w in plan.walked_back))


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
    only_binary: bool = False,
    reporter: Reporter | None = None,
    timeout: float | None = DEFAULT_TIMEOUT, time_budget: float | None = DEFAULT_BUDGET,
    script: str | None = None,
) -> builtins.list[Installed]:
    """Install ``requirements`` (PEP 508 strings or wheel URLs) and their dependencies.

    Resolves against ``index_urls`` (PyPI by default), downloads and checks every
    wheel, writes them in one transaction and loads their native libraries, so
    ``import`` works as soon as this returns. Plain ``http:`` URLs are refused
    unless loopback or ``allow_insecure_http=True``.

    ``requirements_file``: pip-style files (paths or URLs) whose requirements,
    ``-c`` constraints and ``--index-url`` (without ``index_urls``) are added.

    ``script``: a Python script (its text, or a path or URL) whose PEP 723
    ``# /// script`` block's ``dependencies`` are added; its ``requires-python``
    must admit the runtime's Python, or nothing is installed.

    ``lock`` (the URL or path of a ``pylock.toml`` or ``pyodide-lock.json``,
    or its text) installs exactly what the lock lists for this runtime,
    without resolving and without asking any index: every wheel is
    downloaded in one concurrent batch and checked against the lock's hash.

    ``cache`` (``"default"``, ``"off"``, ``"offline"``): what is kept across page loads.

    ``index_urls`` entries are URLs, ``(url, headers)`` pairs or ``{url: headers}``
    (headers go to that index's origin only); ``index_strategy``: ``"first-index"``
    (a project's files from the first index that knows it) or ``"merge"``.

    ``pyodide_packages``: the Pyodide distribution's builds are candidates too: the
    runtime's lockfile (True), a ``pyodide-lock.json`` URL or path, or none (False).

    A release with no usable wheel is built from its pure-Python sdist, in this
    process (PEP 517), once: the wheel is cached. Wheels are preferred (pip's
    ``--prefer-binary``); ``only_binary=True`` never builds (pip's ``--only-binary :all:``).

    ``reporter`` (a :class:`Reporter`) hears of each step: resolving,
    resolved, downloading (bytes of the total), installing, loading native
    libraries, installed -- or failed. By default a notebook shows a progress
    bar, ``verbose=True`` prints pip-like lines, and otherwise nothing is shown.

    ``timeout`` (15 s, pip's): a request with no bytes of answer for that long is
    tried once more, so a server that never answers fails in about 30 s;
    ``time_budget`` (300 s, from the first request): nothing waits past it.
    ``None`` lifts either. A call made while another runs waits for its turn.
    """
    if lock is not None and (requirements or requirements_file is not None or script is not None):
        raise TypeError("install(lock=...) installs exactly what the lock lists: pass no requirements with it")
    # This call's turn is taken first, without yielding (see runtime.changes): calls change
    # site-packages in the order they were made.
    async with in_turn():
        return await _install_in_turn(
            requirements, keep_going=keep_going, deps=deps, credentials=credentials, pre=pre, index_urls=index_urls,
            constraints=constraints, reinstall=reinstall, verbose=verbose, allow_insecure_http=allow_insecure_http,
            lock=lock, requirements_file=requirements_file, cache=cache, index_strategy=index_strategy,
            pyodide_packages=pyodide_packages, reporter=reporter, timeout=timeout, time_budget=time_budget,
            only_binary=only_binary, script=script,
        )


async def _install_in_turn(
    requirements, *, keep_going, deps, credentials, pre, index_urls, constraints, reinstall, verbose,
    allow_insecure_http, lock, requirements_file, cache, index_strategy, pyodide_packages, reporter, timeout,
    time_budget, only_binary, script,
) -> builtins.list[Installed]:
    started = time.perf_counter()
    # The requested pages leave first, before this call imports anything else.
    early = send_first_pages(
        requirements, index_urls, cache=cache, credentials=credentials, follow=not (pre or constraints),
    ) if lock is None and requirements_file is None else None
    sent_at = None
    if early:
        on_their_way = early.on_their_way()
        await asyncio.wait(on_their_way, return_when=asyncio.FIRST_COMPLETED)
        sent_at = early.first_sent_at() or time.perf_counter()  # as it left, not a task later
        # One module at a time (see load_machinery); the session's only: the resolver loads in _install once
        # the installed-tree cache missed, or every warm page load would import packaging and resolvelib.
        await load_machinery(on_their_way, resolver=False, first=early.start_chain)
    from .runtime import detect
    from .session import Options, Session

    if reporter is None:
        from .ui.default import default_reporter

        reporter = default_reporter(verbose)
    from .reporter import call_started, mark

    clock = call_started.set(started)  # the phases' ``at`` counts from here
    if sent_at is not None:
        mark(reporter, "request", at=sent_at)
    try:
        session = Session.open(
            index_urls, credentials=credentials, allow_insecure_http=allow_insecure_http, cache=cache,
            index_strategy=index_strategy, pyodide_packages=pyodide_packages,
            timeout=timeout, time_budget=time_budget, on_retry=reporter.retrying, early=early,
        )
        options = Options(deps=deps, pre=pre, reinstall=reinstall, keep_going=keep_going,
                          constraints=tuple(constraints or ()), only_binary=only_binary)
        if lock is not None:
            from .lock_install import install_from_lock

            installed = await install_from_lock(session, lock, reporter, credentials)
        else:
            if script is not None:
                from .request import with_script

                requirements = await with_script(session, script, requirements)
            installed = await _install(
                session, options, requirements, requirements_file, reporter,
                indexes_given=index_urls is not None, credentials=credentials, sent_early=bool(early),
            )
        detect.invalidate_import_caches()
        if installed:
            from .runtime import native

            native.mark_loaded({i.name: i.source for i in installed})
        mark(reporter, "done")
    except BaseException as exc:
        reporter.failed(exc)
        raise
    finally:
        call_started.reset(clock)
        if early is not None:
            early.abort()  # those no index took (a refused requirement, a failed call, a guess not confirmed)
    reporter.installed([(i.name, i.version) for i in installed], time.perf_counter() - started)
    return installed


async def _install(
    session: Session, options: Options, requirements, requirements_file, reporter: Reporter, *, indexes_given: bool,
    credentials: str | None = None, sent_early: bool = False,
) -> builtins.list[Installed]:
    from .reporter import announce, mark
    from .shared_libraries import shared_libraries_first

    if requirements_file is not None:
        from .request import with_files

        requirements, session, options = await with_files(
            session, options, requirements_file, requirements, indexes_given=indexes_given,
        )
    reporter.resolving([requirements] if isinstance(requirements, str) else builtins.list(requirements))
    resolving = time.perf_counter()
    if not options.reinstall and not options.constraints:
        # "Requirement already satisfied": answered from site-packages, before any request
        # and without the resolver's imports.
        from .installation.satisfied import already_satisfied

        satisfied = already_satisfied(requirements, session.site_packages, lambda: session.target, deps=options.deps)
        if satisfied is not None:
            announce(reporter, satisfied.ignored, (), stacklevel=4)  # _install, _install_in_turn, install, the caller
            reporter.resolved([], time.perf_counter() - resolving)
            return []
    on_their_way = send_root_pages(session.indexes, requirements)
    from .warm import WarmStart

    warm = WarmStart.open(session, requirements, options, credentials=credentials) if requirements_file is None else None
    try:
        if on_their_way and not sent_early:  # else the first request was marked as it left
            await asyncio.wait(on_their_way, return_when=asyncio.FIRST_COMPLETED)
            mark(reporter, "request")
        # A warm page load: what the same request wrote last time, restored without resolving
        # (the root pages just sent for are the first it checks).
        if warm is not None and (restored := await warm.restore(reporter)) is not None:
            return restored
        mark(reporter, "imports")
        await load_machinery(on_their_way)
        plan, catalog = await session.resolve(requirements, options, speculative=True, reporter=reporter)
    finally:
        session.drop_early()
    for name, at in plan.stats.phases if plan.stats else ():  # the resolver has no reporter: its marks, told now
        reporter.phase(name, at)
    announce(reporter, plan.ignored, plan.walked_back, stacklevel=4)
    reporter.resolved([(pin.name, str(pin.version)) for pin in plan.to_install], time.perf_counter() - resolving)
    from packaging.utils import canonicalize_name

    from .installation.installer import install_plan
    from .model.requirements import parse_requirements
    from .runtime import native

    requested = {canonicalize_name(r.name) for r in parse_requirements(requirements)}
    load = shared_libraries_first(plan, catalog, native.load_dynlibs)

    async def keep(installed: builtins.list[Installed] | None) -> None:  # what the next page load reads
        try:
            if warm is not None and installed is not None:
                await warm.keep(plan, installed)
        finally:
            await catalog.settle()
            if catalog.builds is not None:
                catalog.builds.close()

    try:
        installed = await install_plan(
            plan, catalog.downloads, session.site_packages,
            requested=requested,
            load_dynlibs=load,
            dynlibs_to_load=native.dynlibs_to_load,
            target=session.target,
            reporter=reporter,
            # The distribution's shared libraries load through loadPackage: not kept.
            on_committed=warm.committed if warm is not None and load is native.load_dynlibs else None,
        )
    except BaseException:
        await keep(None)  # what was fetched is kept before the failure is told
        raise
    # The packages import from here on: the keeping (40-80 ms: reading the tree back, hashing,
    # the store's write) runs after install() returns, in its turn (runtime.changes).
    if not after_this_change(lambda: keep(installed)):
        await keep(installed)
    return installed
