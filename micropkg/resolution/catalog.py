"""The resolver's memo: what the sources have said so far, and fetching the rest.

resolvelib asks its provider synchronously, but inside Pyodide every fetch is
a JavaScript promise and JSPI (stack switching) is not available everywhere.
So the :class:`Catalog` is split in two:

* a synchronous side the provider reads (:meth:`Catalog.page`,
  :meth:`Catalog.metadata`) which raises :class:`Missing` when it lacks
  something, and
* an asynchronous side (:meth:`Catalog.fetch_page`,
  :meth:`Catalog.fetch_metadata`) that the resolution driver calls between
  attempts, fetching everything missing at once.

Which source a project comes from is the :class:`~micropkg.index.policy.SourcePolicy`'s
business; wheel bytes are the :class:`~micropkg.index.downloads.Downloads`'.
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from packaging.utils import NormalizedName, canonicalize_name, parse_wheel_filename

from ..errors import CannotBuild, IndexFormatError
from ..index.client import Index
from ..index.distribution import Distribution
from ..index.downloads import Downloads
from ..index.fetches import Failure, Fetches, result_if_done
from ..index.policy import INDEX_STRATEGIES, SourcePolicy
from ..index.source import PackageSource
from ..model.builds import SdistBuilds
from ..model.candidates import Candidate, Verdict
from ..model.metadata import CoreMetadata, parse_metadata
from ..model.simple import DistFile, ProjectPage
from ..model.sources import Source
from ..model.zip_directory import TAIL_SIZE

__all__ = ["INDEX_STRATEGIES", "Catalog", "Missing", "read_wheel_metadata"]

T = TypeVar("T")


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


class Catalog:
    """Project pages and metadata of one resolution, over a source policy and the downloads."""

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
        builds: SdistBuilds | None = None,
    ) -> None:
        self.policy = SourcePolicy(indexes, strategy=strategy, distribution=distribution)
        self.fetches = Fetches(max_concurrency)
        # Builds sdists (None: only_binary, and sdists are never candidates).
        self.builds = builds
        self.downloads = Downloads(
            self.policy, read_url=read_url, fetches=self.fetches, speculative=speculative, builds=builds,
        )
        self._installed = dict(installed_metadata or {})
        self._pages: dict[NormalizedName, asyncio.Task] = {}
        self._metadata: dict[str, asyncio.Task] = {}

    # What the provider, explain and the lock writer read of the policy and downloads.
    @property
    def indexes(self) -> tuple[Index, ...]:
        return self.policy.indexes

    @property
    def distribution(self) -> Distribution | None:
        return self.policy.distribution

    @property
    def sources(self) -> Mapping[str, Source]:
        return self.policy.origin

    @property
    def requests(self) -> int:
        """Requests the indexes sent (a range read of METADATA takes one to three)."""
        return sum(index.requests for index in self.indexes)

    @property
    def received(self) -> int:
        """Bytes of the indexes' answers to :attr:`requests`."""
        return sum(index.received for index in self.indexes)

    def ranked(self, verdicts: list[Verdict]) -> list[Verdict]:
        return self.policy.ranked(verdicts)

    def from_distribution(self, candidate: Candidate) -> bool:
        return self.policy.from_distribution(candidate)

    # -- the synchronous side, for the provider -------------------------------------------

    def page(self, name: str) -> tuple[ProjectPage, PackageSource]:
        """The page of ``name`` and the source it came from; raises ProjectNotFound or Missing."""
        key = canonicalize_name(name)
        task = self._pages.get(key)
        if task is None or not task.done():
            raise Missing(pages=[key])
        found = result_if_done(task)
        if found is None:
            raise self.policy.not_found(name, key)
        return found

    def has_page(self, name: str) -> bool:
        task = self._pages.get(canonicalize_name(name))
        return task is not None and task.done()

    def metadata(self, candidate: Candidate) -> CoreMetadata:
        if candidate.file is None:
            return self._installed[candidate.name]
        task = self._metadata.get(candidate.file.url)
        if task is None or not task.done():
            raise Missing(files=[candidate])
        return result_if_done(task)

    def unbuildable(self, candidate: Candidate) -> CannotBuild | None:
        """Why ``candidate``'s sdist cannot be built here, once its build was refused (extension
        modules, a compiler): such a release has no usable file, as if it published none."""
        if candidate.file is None or candidate.file.is_wheel:
            return None
        task = self._metadata.get(candidate.file.url)
        if task is None or not task.done():
            return None
        value = task.result()
        return value.error if isinstance(value, Failure) and isinstance(value.error, CannotBuild) else None

    def has_metadata(self, candidate: Candidate) -> bool:
        if candidate.file is None:
            return True
        task = self._metadata.get(candidate.file.url)
        return task is not None and task.done()

    # -- the asynchronous side, for the driver -------------------------------------------

    async def settle(self) -> None:
        """Start the cache writes this resolution's fetches queued, and wait for them all."""
        await self.policy.settle()

    def fetch_page(self, name: str) -> asyncio.Task:
        key = canonicalize_name(name)
        return self.fetches.task(self._pages, key, lambda: self.policy.find_page(key, self.fetches.limited))

    def speculate(self, candidate: Candidate) -> None:
        self.downloads.speculate(candidate)

    async def wheel(self, candidate: Candidate) -> bytes:
        return await self.downloads.wheel(candidate)

    async def _read_by_index(
        self, index: PackageSource, file: DistFile, *, ranges: bool,
    ) -> tuple[bytes, str, bytes | None] | None:
        """``file``'s METADATA by the index's own ways: its PEP 658 file, else (with ``ranges``)
        range requests into the wheel's zip directory (two small requests, not a 4-20 MB
        download per version). ``(metadata, its source, the whole wheel if it came)``."""
        data = await self.fetches.limited(lambda: index.metadata(file))
        if data is not None:
            return data, file.metadata_url, None
        if ranges and isinstance(index, Index) and file.is_wheel:
            ranged = await self.fetches.limited(lambda: index.metadata_from_ranges(file))
            if ranged is not None:
                return ranged[0], f"{file.url} (its METADATA, read by range requests)", ranged[1]
        return None

    def fetch_metadata(self, candidate: Candidate) -> asyncio.Task:
        file = candidate.file
        if file is None:
            raise TypeError(f"{candidate} is installed: its metadata is the installed METADATA")
        index = self.policy.source_of(candidate)

        async def load() -> CoreMetadata:
            if not file.is_wheel and self.builds is not None:
                # An sdist's metadata is what its build backend says (PEP 517), not a file
                # beside it: the download (hash-checked) goes to the builder.
                built = await self.builds.metadata(candidate, await self.downloads.wheel(candidate))
                return _matching(parse_metadata(built, source=f"{file.url} (built)"), candidate, file.url)
            # A whole wheel on its way already is where METADATA no index page advertises is
            # read: not a guess at a .metadata file (a 404 from PyPI's file host took 265 ms
            # here), nor range requests. The chain's (sent while Python imported, at most 8 MB)
            # is mostly here by now, and so is one the range read would fetch whole anyway.
            # A bigger download under way races the index's own ways: the first answer counts.
            advertised = file.core_metadata is not None
            downloading = self.downloads.started(file)
            coming = isinstance(index, Index) and (
                index.sent_ahead(file.url) or (downloading and file.size is not None and file.size <= TAIL_SIZE)
            )
            read: tuple[bytes, str, bytes | None] | None = None
            if index is not None and (advertised or not coming):
                own = self._read_by_index(index, file, ranges=not coming)
                if not advertised and downloading:
                    read = await _first_of(own, self.downloads.fetch(candidate))
                else:
                    read = await own
            if read is not None:
                data, source, whole = read
                if whole is not None:
                    self.downloads.prime(file, whole)
            else:
                # No PEP 658 file, and no ranges (or the whole wheel came first): the whole wheel
                # it is. It is kept, so if this version is chosen the install does not download it
                # again. The download's own error, if any, not a zip error about it.
                data = read_wheel_metadata(file.filename, await self.downloads.wheel(candidate))
                source = file.url
                if isinstance(index, Index):
                    await index.keep_metadata(file, data)
            return _matching(parse_metadata(data, source=source), candidate, source)

        return self.fetches.task(self._metadata, file.url, load)


async def _first_of(own: Awaitable[T], download: asyncio.Future) -> T | None:
    """``own``'s answer, unless the ``download`` under way ends first with the wheel (then None,
    and ``own`` is stopped: its requests are aborted). A failed download leaves it to ``own``."""
    reading = asyncio.ensure_future(own)
    done, _ = await asyncio.wait({reading, download}, return_when=asyncio.FIRST_COMPLETED)
    if reading in done or isinstance(download.result(), Failure):
        return await reading
    reading.cancel()
    return None


def _matching(meta: CoreMetadata, candidate: Candidate, source: str) -> CoreMetadata:
    """``meta``, once it is checked to describe ``candidate``'s name and version."""
    if meta.name != candidate.name or meta.version != candidate.version:
        filename = candidate.file.filename if candidate.file is not None else str(candidate)
        raise IndexFormatError(
            f"Metadata at {source} describes {meta.name} {meta.version}, "
            f"but the file {filename} is {candidate.name} {candidate.version}",
            url=source,
        )
    return meta
