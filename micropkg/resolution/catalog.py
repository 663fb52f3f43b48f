"""What the indexes have said so far, and fetching the rest concurrently.

resolvelib asks its provider synchronously, but inside Pyodide every fetch is
a JavaScript promise and JSPI (stack switching) is not available everywhere.
So the :class:`Catalog` is split in two:

* a synchronous side the provider reads (:meth:`Catalog.page`,
  :meth:`Catalog.metadata`) which raises :class:`Missing` when it lacks
  something, and
* an asynchronous side (:meth:`Catalog.fetch`) that the resolution driver
  calls between attempts, fetching everything missing at once.

Every fetch is memoised as a task, so concurrent walkers asking for the same
page share one request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import time
import zipfile
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from packaging.utils import NormalizedName, canonicalize_name, parse_wheel_filename

from ..model.candidates import Candidate, Verdict
from ..index.distribution import Distribution
from ..errors import FetchError, IndexFormatError, MicropkgError, ProjectNotFound
from ..index.client import Index
from ..model.hashes import check_hashes
from ..model.metadata import CoreMetadata, parse_metadata
from ..model.simple import DistFile, ProjectPage
from ..installation.wheel import Wheel

__all__ = ["INDEX_STRATEGIES", "Catalog", "Missing", "read_wheel_metadata"]

# "first-index": the first index that knows a project provides all its files.
# "merge": every index's files of the project are candidates together.
INDEX_STRATEGIES = ("first-index", "merge")
# Added to a distribution build's tag rank: worse than any index file's rank.
_BELOW_EVERY_TAG = 1_000_000


class Missing(Exception):
    """Raised by the synchronous side: the resolver needs data not fetched yet.

    Internal control flow between the provider and the driver; it never
    reaches users (the driver catches it, fetches, and retries).
    """

    def __init__(self, pages: Iterable[str] = (), files: Iterable[Candidate] = ()) -> None:
        self.pages = set(pages)
        self.files = list(files)
        super().__init__(f"missing pages {sorted(self.pages)} and {len(self.files)} metadata files")


def read_wheel_metadata(filename: str, data: bytes) -> bytes:
    """The METADATA file out of a wheel's bytes (before full verification)."""
    name, version, _, _ = parse_wheel_filename(filename)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            candidates = [
                n for n in zf.namelist()
                if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
                and canonicalize_name(n.split("-", 1)[0]) == name
            ]
            if len(candidates) != 1:
                raise IndexFormatError(
                    f"Wheel {filename} has {len(candidates)} matching .dist-info/METADATA files; "
                    "expected exactly one",
                    url=filename,
                )
            return zf.read(candidates[0])
    except zipfile.BadZipFile as exc:
        raise IndexFormatError(f"Wheel {filename} is not a valid zip file: {exc}", url=filename) from exc


@dataclass(frozen=True)
class _Failure:
    error: MicropkgError


async def _unwrapped(task: asyncio.Task):
    """What ``task`` (one of Catalog._task's) made, or the error it kept, raised now."""
    value = await task
    if isinstance(value, _Failure):
        raise value.error
    return value


class Catalog:
    """Project pages, metadata and downloaded wheels of one resolution."""

    def __init__(
        self,
        indexes: Sequence[Index],
        *,
        read_url: Callable[[str], Awaitable[bytes]] | None = None,
        installed_metadata: Mapping[NormalizedName, CoreMetadata] | None = None,
        max_concurrency: int = 24,
        speculative: bool = False,
        strategy: str = "first-index",
        distribution: Distribution | None = None,
    ) -> None:
        if strategy not in INDEX_STRATEGIES:
            raise ValueError(f"index_strategy must be one of {', '.join(map(repr, INDEX_STRATEGIES))}, got {strategy!r}")
        self.indexes = tuple(indexes)
        self.strategy = strategy
        # The Pyodide distribution's packages (see _distribution): merged into every page.
        self.distribution = distribution
        # File URL -> URL of the source that listed it, for pages merged from several.
        self.sources: dict[str, str] = {}
        # Fetches direct (non-index) URLs: emfs:, file:, or an http(s) wheel URL.
        self._read_url = read_url
        self._installed = dict(installed_metadata or {})
        self._pages: dict[NormalizedName, asyncio.Task] = {}
        self._metadata: dict[str, asyncio.Task] = {}
        self._wheels: dict[str, asyncio.Task] = {}
        self._opened: dict[str, asyncio.Task] = {}  # wheel URL -> its verified Wheel (see opened_wheel)
        self.requests = 0  # round trips started, for reporting
        # Browsers queue past ~6 connections per origin over HTTP/1.1 and Node's
        # fetch fails outright under hundreds at once; a walk-back asks for hundreds.
        self._slots = asyncio.Semaphore(max_concurrency)
        # Download the greedy walk's picks before resolution confirms them (see speculate());
        # for installs only: a dry run must not download wheels.
        self.speculative = speculative
        self.speculated: set[str] = set()  # wheel URLs downloaded that way, for reporting
        self.first_wheel_at: float | None = None  # perf_counter() of the first wheel download, for progress

    # -- the synchronous side, for the provider -------------------------------------------

    def _result(self, task: asyncio.Task | None):
        if task is None or not task.done():
            return None
        value = task.result()
        if isinstance(value, _Failure):
            raise value.error
        return value

    def page(self, name: str) -> tuple[ProjectPage, Index]:
        """The page of ``name`` and the index it came from; raises ProjectNotFound or Missing."""
        key = canonicalize_name(name)
        task = self._pages.get(key)
        if task is None or not task.done():
            raise Missing(pages=[key])
        found = self._result(task)
        if found is None:
            indexes = tuple(i.url for i in self.indexes)
            if self.distribution is not None:
                indexes += (self.distribution.url,)
            raise ProjectNotFound(
                f"Project {name!r} was not found on {', '.join(indexes)}. Check the spelling, "
                "or pass index_urls= naming an index that has it.",
                project=key,
                indexes=indexes,
            )
        return found

    def has_page(self, name: str) -> bool:
        task = self._pages.get(canonicalize_name(name))
        return task is not None and task.done()

    def metadata(self, candidate: Candidate) -> CoreMetadata:
        if candidate.installed:
            return self._installed[candidate.name]
        assert candidate.file is not None
        task = self._metadata.get(candidate.file.url)
        if task is None or not task.done():
            raise Missing(files=[candidate])
        return self._result(task)

    def has_metadata(self, candidate: Candidate) -> bool:
        if candidate.installed:
            return True
        task = self._metadata.get(candidate.file.url)  # type: ignore[union-attr]
        return task is not None and task.done()

    def wheel_bytes(self, file: DistFile) -> bytes | None:
        """Bytes of a wheel already downloaded (to read its metadata), if any."""
        task = self._wheels.get(file.url)
        if task is None or not task.done():
            return None
        value = task.result()
        return None if isinstance(value, _Failure) else value

    # -- the asynchronous side, for the driver -------------------------------------------

    async def settle(self) -> None:
        """Start the cache writes this catalog's fetches queued, and wait for them all."""
        for cache in {id(i.cache): i.cache for i in self.indexes if i.cache is not None}.values():
            await cache.settle()

    async def _limited(self, fetch: Callable[[], Awaitable]):
        # Slots are taken around single requests only, never around work that
        # awaits another request, so holders cannot wait on each other.
        async with self._slots:
            return await fetch()

    def _task(self, table: dict, key, make: Callable[[], Awaitable], *, request: bool = True) -> asyncio.Task:
        task = table.get(key)
        if task is None:
            self.requests += request

            async def guarded():
                try:
                    return await make()
                except MicropkgError as exc:
                    # Kept, not swallowed: re-raised when the resolver reads this entry.
                    return _Failure(exc)

            task = table[key] = asyncio.ensure_future(guarded())
        return task

    async def _find_page(self, name: NormalizedName) -> tuple[ProjectPage, Index] | None:
        distribution = self.distribution
        # Read alongside the indexes: a lockfile in memory costs nothing, one at a URL is fetched once.
        from_distribution = asyncio.ensure_future(distribution.project(name)) if distribution else None
        try:
            found = await self._index_pages(name)
        except BaseException:
            if from_distribution is not None:
                from_distribution.cancel()
            raise
        if from_distribution is not None and (page := await from_distribution) is not None:
            found.append((page, distribution))
        if not found:
            return None
        if len(found) > 1:
            # The first page's files are its index's (select() is told so); the others' are
            # listed, so the first page -- pydantic-core's lists ~15,000 -- is not built whole.
            for page, source in found[1:]:
                for file in page.files:
                    self.sources.setdefault(file.url, source.url)
            return ProjectPage.merged([page for page, _ in found]), found[0][1]
        return found[0]

    async def _index_pages(self, name: NormalizedName) -> list[tuple[ProjectPage, Index]]:
        if self.strategy == "merge":
            # Asked by the user: every index's files compete. An index that fails
            # fails the page (Index.project raises on anything but "not here").
            pages = await asyncio.gather(*(self._limited(lambda i=i: i.project(name)) for i in self.indexes))
            return [(page, index) for page, index in zip(pages, self.indexes) if page is not None]
        # The first index that knows a project provides all its files: taking
        # candidates from later indexes too would let anyone who registers the
        # name elsewhere shadow a private package (dependency confusion).
        for index in self.indexes:
            page = await self._limited(lambda: index.project(name))
            if page is not None:
                return [(page, index)]
        return []

    def ranked(self, verdicts: list[Verdict]) -> list[Verdict]:
        """``verdicts`` with the distribution's usable builds ranked below every index file
        of the same version: the newest version wins whichever source has it, and on a
        tie the index's file. The distribution then supplies what the indexes cannot
        (numpy, pyyaml...) without making a project the indexes serve depend on
        the distribution's file host (Pyodide's CDN), which not every page can reach.
        """
        if self.distribution is None:
            return verdicts
        url = self.distribution.url
        return [
            dataclasses.replace(v, rank=v.rank + _BELOW_EVERY_TAG)
            if v.refused is None and self.sources.get(v.file.url) == url else v
            for v in verdicts
        ]

    def fetch_page(self, name: str) -> asyncio.Task:
        key = canonicalize_name(name)
        return self._task(self._pages, key, lambda: self._find_page(key))

    def _download(self, candidate: Candidate, index: Index | None) -> asyncio.Task:
        file = candidate.file
        assert file is not None
        if index is not None:
            fetch = lambda: index.wheel(file)  # noqa: E731
        else:
            if self._read_url is None:
                raise FetchError(f"No way to read {file.url} in this runtime", url=file.url)
            fetch = lambda: self._read_direct(file)  # noqa: E731
        if self.first_wheel_at is None:
            self.first_wheel_at = time.perf_counter()
        return self._task(self._wheels, file.url, lambda: self._limited(fetch))

    async def _read_direct(self, file: DistFile) -> bytes:
        # A direct reference (name @ URL, a bare wheel URL, emfs:/file: paths): its
        # "#sha256=..." fragment, if any, is the only hash there is, and is checked.
        url, _, _ = file.url.partition("#")
        data = await self._read_url(url)  # type: ignore[misc]
        check_hashes(data, file.hashes, url)
        return data

    def fetch_wheel(self, candidate: Candidate) -> asyncio.Task:
        return self._download(candidate, self._index_of(candidate))

    def speculate(self, candidate: Candidate) -> None:
        """Start downloading ``candidate``'s wheel now, before resolution has confirmed it.

        The greedy walk's pick is nearly always the final pin, so its download
        overlaps the rest of the resolution. When it is not, only bytes are
        lost: a wheel is read only if the plan names it, and its download's
        errors are kept for that moment, like every other fetch's.
        """
        file = candidate.file
        index = self._index_of(candidate)
        if not self.speculative or file is None or not file.is_wheel or index is None or file.url in self._wheels:
            return
        self.speculated.add(file.url)
        self.opened_wheel(candidate)

    def opened_wheel(self, candidate: Candidate) -> asyncio.Task:
        """The candidate's wheel, opened and verified (:meth:`Wheel.open`) as its bytes land.

        A download started by :meth:`speculate` lands while the resolver waits
        on the network, so its checks (every member inflated and hashed) cost
        no time on the critical path. Their errors are kept for whoever reads it.
        """
        file = candidate.file
        assert file is not None
        download = self.fetch_wheel(candidate)  # started now, not when the opening task first runs

        async def open_wheel() -> Wheel:
            return await Wheel.open(file.filename, await _unwrapped(download))

        return self._task(self._opened, file.url, open_wheel, request=False)

    async def wheel(self, candidate: Candidate) -> bytes:
        """The candidate's wheel, hash-checked; downloaded once however often asked."""
        return await _unwrapped(self.fetch_wheel(candidate))

    async def verified_wheel(self, candidate: Candidate) -> Wheel:
        """The candidate's wheel, hash-checked and verified; opened once however often asked."""
        return await _unwrapped(self.opened_wheel(candidate))

    def from_distribution(self, candidate: Candidate) -> bool:
        """Whether ``candidate`` is the Pyodide distribution's own build."""
        return self.distribution is not None and candidate.source == self.distribution.url

    def _index_of(self, candidate: Candidate) -> Index | None:
        sources = (*self.indexes, self.distribution) if self.distribution is not None else self.indexes
        return next((i for i in sources if i.url == candidate.source), None)

    def fetch_metadata(self, candidate: Candidate) -> asyncio.Task:
        file = candidate.file
        assert file is not None
        index = self._index_of(candidate)

        async def load() -> CoreMetadata:
            data = await self._limited(lambda: index.metadata(file)) if index is not None else None
            source = file.metadata_url
            if data is None:
                # No PEP 658 file: the whole wheel is needed. It is kept, so if
                # this version is chosen the install does not download it again.
                # The download's own error, if any, not a zip error about it.
                data = read_wheel_metadata(file.filename, await _unwrapped(self._download(candidate, index)))
                source = file.url
            meta = parse_metadata(data, source=source)
            if meta.name != candidate.name or meta.version != candidate.version:
                raise IndexFormatError(
                    f"Metadata at {source} describes {meta.name} {meta.version}, "
                    f"but the file {file.filename} is {candidate.name} {candidate.version}",
                    url=source,
                )
            return meta

        return self._task(self._metadata, file.url, load)
