"""A warm page load's install: the installed-tree cache between a session and the installer.

:mod:`micropkg.installation.tree_cache` keeps and restores the files an
install wrote; this module decides, for one ``install()`` call, whether it may
be served that way (:meth:`WarmStart.open`), tries it before anything is
resolved (:meth:`WarmStart.restore`), and keeps what a normal install wrote
(:meth:`WarmStart.committed`, then :meth:`WarmStart.keep`). Nothing here
imports ``packaging`` or the resolver: a hit never loads them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .installation import tree_cache
from .reporter import Reporter
from .runtime import stores
from .value import MutableValue

if TYPE_CHECKING:
    from .installation.tree_cache import Installed
    from .installation.writer import InstalledFiles
    from .model.plan import Plan
    from .session import Options, Session

__all__ = ["WarmStart"]


def _direct(text: str) -> bool:
    """Whether a requirement may name a direct reference (a URL or a path): its bytes may change."""
    return "@" in text or "/" in text or "\\" in text or text.strip().lower().endswith(".whl")


class WarmStart(MutableValue):
    """One install's entry in the installed-tree cache: its key, and what the install wrote."""

    __slots__ = ("session", "key", "environment", "_written")

    def __init__(self, session: Session, key: str, environment: list[str], _written: list | None = None) -> None:
        self.session = session
        self.key = key
        self.environment = environment  # the .dist-info directories before the install
        self._written: list = [] if _written is None else _written

    @classmethod
    def open(
        cls, session: Session, requirements: str | Iterable[object], options: Options, *, credentials: str | None,
    ) -> WarmStart | None:
        """The warm start of this install, or None when the tree cache does not serve it
        (``cache="off"``, a direct reference, a lockfile URL as ``pyodide_packages``)."""
        given = [requirements] if isinstance(requirements, str) else list(requirements)
        texts = [*given, *options.constraints]
        if session.cache is None or not given or isinstance(session.pyodide_packages, str):
            return None
        if not all(isinstance(text, str) and not _direct(text) for text in texts):
            return None
        key = tree_cache.tree_key(
            given,  # type: ignore[arg-type]  # all str, checked above
            options.as_dict(),
            [(index.url, index.headers) for index in session.indexes],
            index_strategy=session.index_strategy,
            pyodide_packages=session.pyodide_packages,
            credentials=credentials,
            runtime=stores.runtime_identity(distribution=session.pyodide_packages is True),
        )
        return cls(session, key, tree_cache.environment(session.site_packages))

    async def restore(self, reporter: Reporter) -> list[Installed] | None:
        """What a previous page load installed for this same request, written back; None: a miss."""
        started = time.perf_counter()
        cache = self.session.cache
        assert cache is not None  # open() serves only sessions with a cache
        entry = await tree_cache.read_entry(cache.store, self.key)
        if entry is None or entry.manifest["environment"] != self.environment:
            return None
        try:
            fresh = await tree_cache.pages_unchanged(entry, self.session.indexes)
        finally:
            await cache.settle()  # a page fetched again is kept, as on the normal path
        if not fresh:
            return None
        from .runtime import native

        pins = entry.manifest["pins"]
        reporter.resolved([(pin["name"], pin["version"]) for pin in pins], time.perf_counter() - started)
        return await tree_cache.restore(
            entry, self.session.site_packages, load_dynlibs=native.load_dynlibs, reporter=reporter,
        )

    def committed(self, written: Sequence[InstalledFiles], dynlibs: list[list[str]], replaced: bool) -> None:
        """``install_plan``'s ``on_committed``: remember what was written, unless it replaced something."""
        if not replaced:
            self._written.append((written, dynlibs))

    async def keep(self, plan: Plan, installed: Sequence[Installed]) -> bool:
        """Keep what the install wrote, for the next page load; False when it is not kept."""
        if not self._written or not installed:
            return False
        written, dynlibs = self._written[0]
        from .model.sources import DirectSource

        pins = plan.to_install
        if any(isinstance(pin.source, DirectSource) for pin in pins):
            return False  # a URL's bytes may change; its page is no index page to check
        cache = self.session.cache
        assert cache is not None
        described = [
            {"name": done.name, "version": done.version, "filename": done.filename, "source": done.source,
             "sha256": pin.file.hashes.get("sha256", "")}
            for pin, done in zip(pins, installed)
        ]
        return await tree_cache.keep(
            cache.store, self.key, self.session.site_packages,
            environment_before=self.environment,
            indexes=self.session.indexes,
            pins=described,
            written=[(str(files.name), files.paths) for files in written],
            dynlibs=dynlibs,
        )
