"""A :class:`Session`: everything one call of the public API works through.

httpx's functions open a ``Client``; micropkg's open a :class:`Session`. It
holds what used to travel beside every call as a dozen parameters: the
transport (with its https/loopback policy and retries), the indexes, the
persistent cache, the source policy between the indexes, and the Pyodide
distribution offered beside them. It is immutable (by convention) and made
anew for each call, so concurrent installs never share mutable state through it.

The choices a resolution makes (deps, pre-releases, reinstall, keep_going,
constraints, only_binary) are an :class:`~micropkg.options.Options` object
beside it. Unless ``only_binary``, the session wires a
:class:`~micropkg.build.builder.Builder` into each resolution's catalog, so
sdists of releases without a usable wheel are built (see
:mod:`micropkg.model.candidates` for when).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import LockError, NetworkError
from .index import head_start
from .index.client import Index
from .index.entries import index_entries
from .model.location import scheme_of
from .net.cache import CACHE_MODES, Cache
from .net.retry import (
    DEFAULT_BUDGET,
    DEFAULT_TIMEOUT,
    RetryHook,
    RetryingTransport,
    RetryPolicy,
)
from .net.transport import SecureTransport, require_secure_url
from .options import Options
from .runtime import detect, fetch, stores
from .runtime.changes import one_change_at_a_time
from .value import Value

if TYPE_CHECKING:

    from .build.builder import Builder
    from .index.distribution import Distribution
    from .model.candidates import Candidate
    from .model.lock import Lock
    from .model.plan import Plan
    from .model.target import Target
    from .reporter import Reporter
    from .resolution.catalog import Catalog
    from .runtime.early import EarlyRequest, EarlyRequests

__all__ = ["Options", "Session", "lock_is_text", "one_change_at_a_time", "set_default_indexes"]

IndexEntries = tuple[tuple[str, dict[str, str]], ...]
_default_indexes: IndexEntries | None = None

def set_default_indexes(urls: object) -> None:
    """The indexes a session uses when a call names none (``set_index_urls``)."""
    global _default_indexes
    _default_indexes = index_entries(urls)  # type: ignore[arg-type]
    # No index at all: an empty URL, which the head start never asks.
    head_start.default_first = _default_indexes[0] if _default_indexes else ("", {})


class Session(Value):
    """The sources and policies of one call (see the module docstring). Immutable by
    convention, but for what it builds once, on first use (its target, its distribution)."""

    __slots__ = (
        "transport", "indexes", "cache", "index_strategy", "allow_insecure_http", "pyodide_packages", "_distribution", "_target",
    )
    # Not what it builds once, on first use: two sessions of the same sources are equal.
    _fields = ("transport", "indexes", "cache", "index_strategy", "allow_insecure_http", "pyodide_packages")

    def __init__(
        self,
        transport: SecureTransport,
        indexes: tuple[Index, ...],
        cache: Cache | None = None,
        index_strategy: str = "first-index",
        allow_insecure_http: bool = False,
        pyodide_packages: bool | str = True,
        _distribution: list | None = None,
    ) -> None:
        self.transport = transport
        self.indexes = indexes
        self.cache = cache
        self.index_strategy = index_strategy
        self.allow_insecure_http = allow_insecure_http
        self.pyodide_packages = pyodide_packages
        self._distribution: list = [] if _distribution is None else _distribution  # built once, on first use
        self._target: Target | None = None

    @classmethod
    def open(
        cls,
        index_urls: object = None,
        *,
        credentials: str | None = None,
        allow_insecure_http: bool = False,
        cache: str = "default",
        index_strategy: str = "first-index",
        pyodide_packages: bool | str = True,
        timeout: float | None = DEFAULT_TIMEOUT,
        time_budget: float | None = DEFAULT_BUDGET,
        on_retry: RetryHook | None = None,
        early: EarlyRequests | None = None,
    ) -> Session:
        """A session for one call; nothing is fetched yet. Checks every option first.

        ``timeout``: seconds without any bytes of an answer before a request is tried
        again (twice at most) or given up; ``time_budget``: seconds for all of this
        call's requests, counted from its first (``micropkg.net.retry`` says why these numbers).
        ``early``: requests already sent (``index.head_start.send_first_pages``); the first
        index takes over those it asks for.
        """
        for name, value in (("timeout", timeout), ("time_budget", time_budget)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
                raise ValueError(f"{name} must be a positive number of seconds or None, got {value!r}")
        entries = index_entries(index_urls or _default_indexes)  # type: ignore[arg-type]
        for url, _ in entries:
            require_secure_url(url, allow_insecure_http=allow_insecure_http, what="index URL")
        if pyodide_packages is not True and pyodide_packages is not False and pyodide_packages is not None \
                and not isinstance(pyodide_packages, str):
            raise TypeError(f"pyodide_packages must be True, False or a lockfile URL, got {pyodide_packages!r}")
        # Outermost, the scheme checks run once per request and see where redirects ended;
        # inside them, a flaky network is retried.
        retrying = RetryingTransport(
            fetch.PyfetchTransport(credentials), RetryPolicy(timeout=timeout), budget=time_budget, on_retry=on_retry,
        )
        transport = SecureTransport(retrying, allow_insecure_http=allow_insecure_http)
        kept = _cache(cache)
        indexes = tuple(
            Index(url, transport, headers=headers, cache=kept, early=early if i == 0 else None)
            for i, (url, headers) in enumerate(entries)
        )
        return cls(transport, indexes, kept, index_strategy, allow_insecure_http, pyodide_packages or False)

    @property
    def target(self) -> Target:
        """The running interpreter's wheel tags and markers."""
        if self._target is None:
            self._target = detect.current_target()
        return self._target

    @property
    def site_packages(self) -> Path:
        return detect.site_packages()

    # -- reading locations ---------------------------------------------------------------

    def location(self, text: str) -> str:
        """A URL as given; a path in Pyodide's file system as an ``emfs:`` URL; in a
        page, anything else is relative to the page's URL (as fetch() would read it)."""
        # urlsplit's scheme without urllib.parse: a fresh Pyodide 314 compiles it (~60 ms under
        # Node) before a lock or requirements file at a URL could be asked for.
        if scheme_of(text):
            return text
        if text.startswith("/") or os.path.exists(text):
            return "emfs:" + os.path.abspath(text)
        page = detect.page_url()
        if not page:
            return text
        import urllib.parse  # a location relative to the page

        # Made absolute here, not by fetch(): the https check and a lock's relative
        # file paths both need to know where it really is.
        return urllib.parse.urljoin(page, text)

    async def read(self, location: str, *, early: EarlyRequest | None = None) -> bytes:
        """The bytes at ``location`` (a URL, an ``emfs:`` or ``file:`` location); ``early``: the
        request already sent for it (a lock's files: ``api._install_lock``)."""
        if location.split(":", 1)[0].lower() in ("http", "https"):
            require_secure_url(location, allow_insecure_http=self.allow_insecure_http, what="URL")
        if location.startswith("/") and not detect.in_browser():
            # Under Node an absolute path in a lock is the host's, as in Pyodide's own lockfiles.
            location = "file:" + location
        return await fetch.read_local_url(location, transport=self.transport, early=early)

    # -- the Pyodide distribution ----------------------------------------------------------

    def distribution(self) -> Distribution | None:
        """The Pyodide distribution offered beside the indexes: the runtime's own
        lockfile (True), the ``pyodide-lock.json`` at a URL or path, or none (False)."""
        if not self._distribution:
            self._distribution.append(self._make_distribution())
        return self._distribution[0]

    def _make_distribution(self) -> Distribution | None:
        chosen = self.pyodide_packages
        if chosen is False:
            return None
        if chosen is True:
            if not detect.in_pyodide():
                return None
            shared, cdn = _runtime_distribution()
            base = shared.base_url

            async def read_runtime(location: str) -> bytes:
                try:
                    return await self.read(location)
                except NetworkError:
                    # Under Node the npm package holds no wheels: loadPackage reads a file the
                    # local folder lacks from the CDN, and so does this (sha256-checked all the same).
                    if cdn is None or not location.startswith(base):
                        raise
                    return await self.read(cdn + location[len(base):])

            return shared.reading_with(read_runtime)
        from .index.distribution import Distribution

        return Distribution(self.location(chosen), self.read)

    # -- resolution ----------------------------------------------------------------------

    def catalog(
        self, *, speculative: bool = False, only_binary: bool = True, reporter: Reporter | None = None,
    ) -> tuple[Catalog, dict]:
        """A resolver's memo over this session's sources, and the installed versions; without
        ``only_binary``, with a builder for sdists (``reporter`` hears of its builds)."""
        from .installation.environment import distributions
        from .model.metadata import parse_metadata
        from .resolution.catalog import Catalog

        installed: dict = {}
        installed_meta: dict = {}
        for dist in distributions([self.site_packages]):
            installed[dist.name] = dist.version
            metadata_file = Path(dist.dist_info_path) / "METADATA"
            installed_meta[dist.name] = parse_metadata(metadata_file.read_bytes(), source=str(metadata_file))
        read_url = functools.partial(fetch.read_local_url, transport=self.transport)
        catalog = Catalog(
            self.indexes, read_url=read_url, installed_metadata=installed_meta, speculative=speculative,
            strategy=self.index_strategy, distribution=self.distribution(),
            builds=None if only_binary else _BuildsOnDemand(functools.partial(self.builder, reporter)),
        )
        return catalog, installed

    def builder(self, reporter: Reporter | None) -> Builder:
        """What builds sdists for this session's installs (resolutions and lock installs)."""
        from .build.builder import Builder

        async def resolve_wheels(requirements):
            # The build requirements: wheels only, whatever is installed (build isolation).
            return await self.resolve(requirements, Options(reinstall=True, only_binary=True))

        return Builder(
            target=self.target, cache=self.cache, resolve_wheels=resolve_wheels,
            site_packages=self.site_packages, reporter=reporter,
        )

    async def resolve(
        self, requirements: str | Iterable[str], options: Options, *, speculative: bool = False,
        reporter: Reporter | None = None,
    ) -> tuple[Plan, Catalog]:
        """The plan for ``requirements``, and the catalog whose downloads it may use."""
        from .model.requirements import parse_requirements
        from .resolution.resolver import resolve

        reqs = parse_requirements(requirements)
        cons = parse_requirements(options.constraints)
        for req in (*reqs, *cons):
            if req.url and req.url.split(":", 1)[0].lower() in ("http", "https"):
                require_secure_url(req.url, allow_insecure_http=self.allow_insecure_http, what="wheel URL")
        catalog, installed = self.catalog(
            speculative=speculative, only_binary=options.only_binary, reporter=reporter,
        )
        if speculative and self.cache is not None:
            # An install's: what it fetches is written once it has returned (api._install's
            # keeping, runtime.changes), not on the thread the chain's answers arrive on.
            self.cache.hold_writes = True
        try:
            plan = await resolve(
                reqs, catalog, self.target,
                constraints=cons, installed=installed, pre=options.pre, reinstall=options.reinstall,
                deps=options.deps, keep_going=options.keep_going,
            )
        except BaseException as exc:
            # Nothing will be installed: the wheels downloaded on a guess stop now. What was
            # fetched is kept all the same: the next attempt need not fetch it again.
            catalog.downloads.cancel_speculative()
            if isinstance(exc, Exception):
                await catalog.settle()
            raise
        return plan, catalog

    def with_indexes(self, index_urls: object) -> Session:
        """This session reading from ``index_urls`` instead (a requirements file's ``--index-url``)."""
        entries = index_entries(index_urls)  # type: ignore[arg-type]
        for url, _ in entries:
            require_secure_url(url, allow_insecure_http=self.allow_insecure_http, what="index URL")
        indexes = tuple(Index(url, self.transport, headers=headers, cache=self.cache) for url, headers in entries)
        return Session(
            self.transport, indexes, self.cache, self.index_strategy, self.allow_insecure_http, self.pyodide_packages,
        )

    async def load_lock(self, lock: str, *, early: EarlyRequest | None = None) -> Lock:
        """The lock named by ``lock``: a URL or path of a ``pylock.toml`` / ``pyodide-lock.json``, or its text;
        ``early``: the request already sent for it (``lock_install.send_lock``)."""
        from .lock.pyodide_lock import parse_lock

        if lock_is_text(lock):
            return parse_lock(lock, source="<text>")
        # Where send_lock sent it: a location relative to the page resolved as the page's links are,
        # without compiling urllib.parse for it.
        location = early.url if early is not None else self.location(lock)
        data = await self.read(location, early=early)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LockError(f"{location} is not a text file (UTF-8): {exc}", lock=location) from exc
        return parse_lock(text, source=location, base_url=location)

    def drop_early(self) -> None:
        for index in self.indexes:
            index.drop_early()


def lock_is_text(lock: str) -> bool:
    """Whether ``install(lock=...)`` was handed a lock's text (several lines, or JSON), not its location."""
    return "\n" in lock or lock.lstrip().startswith("{")


def _cache(mode: str) -> Cache | None:
    if mode not in CACHE_MODES:
        raise ValueError(f"cache must be one of {', '.join(map(repr, CACHE_MODES))}, got {mode!r}")
    return stores.page_cache(mode)


@functools.lru_cache(maxsize=1)  # checked and indexed once per runtime, not once per call
def _runtime_distribution() -> tuple[Distribution, str | None]:
    from .index.distribution import Distribution
    from .runtime import lockfile

    url, packages, base, cdn = lockfile.runtime_distribution()
    return Distribution(url, None, packages=packages, base_url=base, runtime=True), cdn  # type: ignore[arg-type]


class _BuildsOnDemand:
    """The session's sdist builds (:class:`~micropkg.model.builds.SdistBuilds`), its
    :class:`~micropkg.build.builder.Builder` made at the first build: most installs build
    nothing, and importing the builder (tempfile, shutil, the backends' hooks) held the
    browser's thread for ~30 ms, right while the chain's answers came in (2026-12-05)."""

    def __init__(self, make: Callable[[], Builder]) -> None:
        self._make = make
        self._builder: Builder | None = None

    def _get(self) -> Builder:
        if self._builder is None:
            self._builder = self._make()
        return self._builder

    async def metadata(self, candidate: Candidate, sdist: bytes) -> bytes:
        return await self._get().metadata(candidate, sdist)

    async def wheel(self, candidate: Candidate, sdist: bytes) -> tuple[str, bytes]:
        return await self._get().wheel(candidate, sdist)

    def close(self) -> None:
        if self._builder is not None:
            self._builder.close()
