"""Wheel downloads: started early, fetched once, verified as they land.

The installer reads wheels through :class:`Downloads` and nothing else, so a
lock install (which resolves nothing) and a resolving install share one
download path. A resolving install lets the resolution start a download
before it has confirmed the pick (:meth:`Downloads.speculate`): the greedy
walk's pick is nearly always the final pin, so its download overlaps the rest
of the resolution. When it is not, only bytes are lost: a wheel is read only
if the plan names it, and a download's errors are kept for that moment.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..errors import FetchError
from ..model.builds import SdistBuilds
from ..model.candidates import Candidate
from ..model.hashes import check_hashes
from ..model.simple import DistFile
from ..model.wheel import Wheel
from .fetches import Failure, Fetches, unwrapped

if TYPE_CHECKING:  # a lock install reads through read_url only: no index policy to load
    from .policy import SourcePolicy

__all__ = ["Downloads"]

ReadURL = Callable[[str], Awaitable[bytes]]


class Downloads:
    """The wheels of one install, by URL.

    ``policy`` says which source reads a candidate's file (None: every file
    is a direct one); ``read_url`` reads direct references (``name @ URL``,
    ``emfs:``/``file:`` paths, a lock's locations).
    """

    def __init__(
        self,
        policy: SourcePolicy | None = None,
        *,
        read_url: ReadURL | None = None,
        fetches: Fetches | None = None,
        speculative: bool = False,
        builds: SdistBuilds | None = None,
    ) -> None:
        self.policy = policy
        self.builds = builds  # turns an sdist candidate's download into its built wheel
        self._read_url = read_url
        self.fetches = fetches if fetches is not None else Fetches()
        self._wheels: dict[str, asyncio.Future] = {}  # tasks, or bytes already here (prime)
        self._opened: dict[str, asyncio.Task] = {}  # wheel URL -> its verified Wheel
        # Download the greedy walk's picks before resolution confirms them; for
        # installs only: a dry run must not download wheels.
        self.speculative = speculative
        self.speculated: set[str] = set()  # wheel URLs downloaded that way, for reporting
        self.first_wheel_at: float | None = None  # perf_counter() of the first wheel download, for progress

    def from_distribution(self, candidate: Candidate) -> bool:
        return self.policy is not None and self.policy.from_distribution(candidate)

    def fetch(self, candidate: Candidate) -> asyncio.Future:
        """The task downloading ``candidate``'s file (started now if not yet), hash-checked."""
        file = _file(candidate)
        source = self.policy.source_of(candidate) if self.policy is not None else None
        if source is not None:
            fetch = lambda: source.wheel(file)  # noqa: E731
        else:
            if self._read_url is None:
                raise FetchError(f"No way to read {file.url} in this runtime", url=file.url)
            fetch = lambda: self._read_direct(file)  # noqa: E731
        if self.first_wheel_at is None:
            self.first_wheel_at = time.perf_counter()
        return self.fetches.task(self._wheels, file.url, lambda: self.fetches.limited(fetch))

    async def _read_direct(self, file: DistFile) -> bytes:
        # A direct reference (name @ URL, a bare wheel URL, emfs:/file: paths): its
        # "#sha256=..." fragment, if any, is the only hash there is, and is checked.
        url, _, _ = file.url.partition("#")
        assert self._read_url is not None  # checked by fetch()
        data = await self._read_url(url)
        check_hashes(data, file.hashes, url)
        return data

    def prime(self, file: DistFile, data: bytes) -> None:
        """``file``'s bytes, already here and hash-checked (they came while reading its metadata)."""
        if file.url not in self._wheels:
            done = asyncio.get_running_loop().create_future()
            done.set_result(data)
            self._wheels[file.url] = done

    def speculate(self, candidate: Candidate) -> None:
        """Start downloading and verifying ``candidate``'s wheel before resolution has confirmed it."""
        file = candidate.file
        if not self.speculative or file is None or not file.is_wheel or file.url in self._wheels:
            return
        if self.policy is None or self.policy.source_of(candidate) is None:
            return
        self.speculated.add(file.url)
        self.opened(candidate)

    def cancel_speculative(self) -> int:
        """Stop the speculative downloads still under way (the resolution failed: nothing will be
        installed, and a refused install must not go on fetching, e.g. 19 MB of wheels); returns
        how many were stopped. Inside Pyodide a cancelled fetch is aborted (runtime.fetch)."""
        stopped = 0
        for url in self.speculated:
            for table in (self._opened, self._wheels):
                task = table.get(url)
                if task is not None and not task.done():
                    task.cancel()
                    stopped += 1
                    del table[url]
        return stopped

    def opened(self, candidate: Candidate) -> asyncio.Task:
        """The candidate's wheel, opened and verified (:meth:`Wheel.open`) as its bytes land.

        A download started by :meth:`speculate` lands while the resolver waits
        on the network, so its checks (every member inflated and hashed) cost
        no time on the critical path.
        """
        file = _file(candidate)
        download = self.fetch(candidate)  # started now, not when the opening task first runs

        async def open_wheel() -> Wheel:
            data = await unwrapped(download)
            if not file.is_wheel and self.builds is not None:
                # An sdist: the wheel it builds into (built once, or from the cache) is what
                # installs, verified like any other.
                filename, data = await self.builds.wheel(candidate, data)
                return await Wheel.open(filename, data)
            return await Wheel.open(file.filename, data)

        return self.fetches.task(self._opened, file.url, open_wheel, request=False)

    async def wheel(self, candidate: Candidate) -> bytes:
        """The candidate's wheel, hash-checked; downloaded once however often asked."""
        return await unwrapped(self.fetch(candidate))

    async def verified_wheel(self, candidate: Candidate) -> Wheel:
        """The candidate's wheel, hash-checked and verified; opened once however often asked."""
        return await unwrapped(self.opened(candidate))

    def started(self, file: DistFile) -> bool:
        """Whether ``file``'s download has begun (or its bytes are here)."""
        return file.url in self._wheels

    def downloaded(self, file: DistFile) -> bytes | None:
        """Bytes of a wheel already downloaded (to read its metadata), if any."""
        task = self._wheels.get(file.url)
        if task is None or not task.done():
            return None
        value = task.result()
        return None if isinstance(value, Failure) else value


def _file(candidate: Candidate) -> DistFile:
    if candidate.file is None:
        raise TypeError(f"{candidate} is installed: it has no file to download")
    return candidate.file
