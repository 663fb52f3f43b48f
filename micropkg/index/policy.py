"""Which sources a project's files come from, and how they rank.

The source policy is where dependency confusion is decided: with
``"first-index"`` (the default) the first index that knows a project
provides all its files, so a name registered on a public index cannot shadow
a private package; ``"merge"`` lets every index's files compete. The Pyodide
distribution's builds are merged into every page, ranked below every index
file of the same version (see :meth:`SourcePolicy.ranked`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ..errors import ProjectNotFound
from ..model.candidates import Candidate, Verdict
from ..model.simple import ProjectPage
from ..model.sources import Source
from .client import Index
from .distribution import Distribution
from .source import PackageSource

__all__ = ["INDEX_STRATEGIES", "SourcePolicy"]

# "first-index": the first index that knows a project provides all its files.
# "merge": every index's files of the project are candidates together.
INDEX_STRATEGIES = ("first-index", "merge")
# Added to a distribution build's tag rank: worse than any index file's rank.
_BELOW_EVERY_TAG = 1_000_000

Limited = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


class SourcePolicy:
    """The indexes (in order), the Pyodide distribution, and the strategy between them."""

    def __init__(
        self, indexes: Sequence[Index], *, strategy: str = "first-index", distribution: Distribution | None = None,
    ) -> None:
        if strategy not in INDEX_STRATEGIES:
            raise ValueError(f"index_strategy must be one of {', '.join(map(repr, INDEX_STRATEGIES))}, got {strategy!r}")
        self.indexes = tuple(indexes)
        self.strategy = strategy
        self.distribution = distribution
        # File URL -> the source that listed it, for pages merged from several
        # (a file not listed here is its page's first source's).
        self.origin: dict[str, Source] = {}

    @property
    def sources(self) -> tuple[PackageSource, ...]:
        return (*self.indexes, self.distribution) if self.distribution is not None else self.indexes

    async def find_page(self, name: str, limited: Limited) -> tuple[ProjectPage, PackageSource] | None:
        """The page of ``name`` from the sources this policy allows; None when none knows it."""
        distribution = self.distribution
        # Read alongside the indexes: a lockfile in memory costs nothing, one at a URL is fetched once.
        from_distribution = asyncio.ensure_future(distribution.project(name)) if distribution else None
        try:
            found: list[tuple[ProjectPage, PackageSource]] = list(await self._index_pages(name, limited))
        except BaseException:
            if from_distribution is not None:
                from_distribution.cancel()
            raise
        if from_distribution is not None and distribution is not None and (page := await from_distribution) is not None:
            found.append((page, distribution))
        if not found:
            return None
        if len(found) > 1:
            # The first page's files are its source's (select() is told so); the others' are
            # listed, so the first page -- pydantic-core's lists ~15,000 -- is not built whole.
            for page, source in found[1:]:
                for file in page.files:
                    self.origin.setdefault(file.url, source.source)
            return ProjectPage.merged([page for page, _ in found]), found[0][1]
        return found[0]

    async def _index_pages(self, name: str, limited: Limited) -> list[tuple[ProjectPage, Index]]:
        if self.strategy == "merge":
            # Asked by the user: every index's files compete. An index that fails
            # fails the page (Index.project raises on anything but "not here").
            pages = await asyncio.gather(*(limited(functools.partial(i.project, name)) for i in self.indexes))
            return [(page, index) for page, index in zip(pages, self.indexes) if page is not None]
        # The first index that knows a project provides all its files: taking
        # candidates from later indexes too would let anyone who registers the
        # name elsewhere shadow a private package (dependency confusion).
        for index in self.indexes:
            page = await limited(functools.partial(index.project, name))
            if page is not None:
                return [(page, index)]
        return []

    def not_found(self, name: str, key: str) -> ProjectNotFound:
        where = tuple(source.url for source in self.sources)
        return ProjectNotFound(
            f"Project {name!r} was not found on {', '.join(where)}. Check the spelling, "
            "or pass index_urls= naming an index that has it.",
            project=key,
            indexes=where,
        )

    def ranked(self, verdicts: list[Verdict]) -> list[Verdict]:
        """``verdicts`` with the distribution's usable builds ranked below every index file
        of the same version: the newest version wins whichever source has it, and on a
        tie the index's file. The distribution then supplies what the indexes cannot
        (numpy, pyyaml...) without making a project the indexes serve depend on
        the distribution's file host (Pyodide's CDN), which not every page can reach.
        """
        if self.distribution is None:
            return verdicts
        mine = self.distribution.source
        return [
            Verdict(v.file, v.version, v.tags, v.rank + _BELOW_EVERY_TAG, v.refused)
            if v.refused is None and v.rank is not None and self.origin.get(v.file.url) == mine else v
            for v in verdicts
        ]

    def source_of(self, candidate: Candidate) -> PackageSource | None:
        """The source whose client reads ``candidate``'s files; None for direct references."""
        return next((s for s in self.sources if s.source == candidate.source), None)

    def from_distribution(self, candidate: Candidate) -> bool:
        """Whether ``candidate`` is the Pyodide distribution's own build."""
        return self.distribution is not None and candidate.source == self.distribution.source

    async def settle(self) -> None:
        """Start the cache writes the sources' fetches queued, and wait for them all."""
        for cache in {id(i.cache): i.cache for i in self.indexes if i.cache is not None}.values():
            await cache.settle()
