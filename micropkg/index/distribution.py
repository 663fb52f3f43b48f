"""The Pyodide distribution's own packages, as one more source of candidates.

Pyodide builds packages that have no PyEmscripten wheels on PyPI (numpy,
pyyaml, markupsafe...) and lists them in its ``pyodide-lock.json``: name,
version, ``file_name`` (relative to the lockfile's base URL), ``sha256``,
``depends`` and ``package_type``. A :class:`Distribution` reads that list
and answers like an index (:meth:`project`, :meth:`metadata`,
:meth:`wheel`), so the catalog can offer its builds beside the indexes'.

How it ranks (the catalog merges it into every project page): the newest
version that satisfies the request wins, whichever source has it; on a tie
the index's file wins. So the distribution supplies what the indexes cannot
(and newer builds), while a project the indexes serve never comes to depend
on the distribution's file host -- Pyodide's CDN, which a page or a network
may not reach (this test machine cannot). Its wheels are judged like any
other file (tags, ABI, Python), so a lockfile for another Pyodide ABI offers
nothing installable.

Dependencies come from the lockfile's ``depends`` (no metadata request is
needed): they are what Pyodide itself loads with the package. Shared
libraries (``package_type: shared_library``, zip archives of ``.so`` files
that other packages link against) are not Python projects: they never
become candidates; :meth:`shared_libraries` lists the ones a set of chosen
packages needs, dependencies first, for the installer to load before the
extensions that need them.

Files are read from the lockfile's base URL and checked against its
``sha256`` before anything uses them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping

from packaging.utils import NormalizedName, canonicalize_name

from ..errors import IndexFormatError
from ..model.hashes import check_hashes
from ..model.location import filename_of, join_location
from ..model.simple import DistFile, ProjectPage
from ..model.sources import DistributionSource
from .source import PackageSource

__all__ = ["Distribution", "SHARED_LIBRARY"]

SHARED_LIBRARY = "shared_library"

Read = Callable[[str], Awaitable[bytes]]


class Distribution(PackageSource):
    """A Pyodide distribution's packages, from its ``pyodide-lock.json``.

    ``url`` names the lockfile (in messages, plans and ``explain``);
    ``base_url`` is what relative ``file_name`` values are joined to;
    ``read`` fetches a URL (``file:``/``emfs:`` paths included) as bytes.
    ``packages`` is the lockfile's ``packages`` object, or None to fetch the
    lockfile from ``url`` on first use. ``runtime`` says the lockfile is the
    running Pyodide's own (its shared libraries can then be loaded by name).
    """

    def __init__(
        self,
        url: str,
        read: Read,
        *,
        packages: Mapping[str, object] | None = None,
        base_url: str | None = None,
        runtime: bool = False,
    ) -> None:
        self.url = url
        self.base_url = base_url if base_url is not None else url
        self.runtime = runtime
        self._read = read
        self._entries: dict[NormalizedName, dict] | None = None
        self._loading: asyncio.Future | None = None
        if packages is not None:
            self._entries = _entries(packages, url)

    def __repr__(self) -> str:
        return f"Distribution({self.url!r})"

    @property
    def source(self) -> DistributionSource:
        return DistributionSource(self.url)

    def reading_with(self, read: Read) -> Distribution:
        """The same distribution (its entries shared, not copied) read through ``read``."""
        other = Distribution(self.url, read, base_url=self.base_url, runtime=self.runtime)
        other._entries = self._entries
        return other

    async def _packages(self) -> dict[NormalizedName, dict]:
        if self._entries is None:
            # One fetch of the lockfile, however many pages ask at once.
            if self._loading is None:
                self._loading = asyncio.ensure_future(self._read(self.url))
            # Shielded: a page lookup that is cancelled must not cancel the shared fetch.
            data = await asyncio.shield(self._loading)
            if self._entries is None:
                self._entries = _entries(_document(data, self.url).get("packages"), self.url)
        return self._entries

    def entry(self, name: str) -> dict | None:
        """The lockfile entry of ``name`` (after the lockfile has been read)."""
        return (self._entries or {}).get(canonicalize_name(name))

    async def project(self, name: str) -> ProjectPage | None:
        """The distribution's build of ``name`` as a one-file page; None if it has none."""
        key = canonicalize_name(name)
        entry = (await self._packages()).get(key)
        if entry is None or entry.get("package_type") == SHARED_LIBRARY:
            return None
        file_name = entry["file_name"]
        sha256 = entry.get("sha256")
        file = DistFile(
            filename=filename_of(file_name),
            url=join_location(self.base_url, file_name),
            hashes={"sha256": sha256.lower()} if isinstance(sha256, str) and sha256 else {},
            # Dependencies come from the lockfile (see metadata()): nothing to fetch.
            core_metadata={},
        )
        return ProjectPage(name=key, url=self.url, files=(file,), versions=(entry["version"],))

    async def metadata(self, file: DistFile) -> bytes:
        """Core metadata built from the lockfile: name, version, and ``depends``
        (shared libraries left out: :meth:`shared_libraries` handles those)."""
        packages = await self._packages()
        entry = next((e for e in packages.values() if e["file_name"] and self._url(e) == file.url), None)
        if entry is None:
            raise IndexFormatError(f"{self.url} does not list {file.filename}", url=self.url)
        lines = ["Metadata-Version: 2.1", f"Name: {entry['name']}", f"Version: {entry['version']}"]
        for dep in entry["depends"]:
            target = packages.get(canonicalize_name(dep))
            if target is None or target.get("package_type") != SHARED_LIBRARY:
                lines.append(f"Requires-Dist: {dep}")
        return ("\n".join(lines) + "\n").encode()

    def _url(self, entry: dict) -> str:
        return join_location(self.base_url, entry["file_name"])

    async def wheel(self, file: DistFile) -> bytes:
        """The file's bytes from the distribution, checked against the lockfile's sha256."""
        if not file.hashes:
            raise IndexFormatError(
                f"{self.url} lists {file.filename} without a sha256; micropkg installs only files"
                " whose hash the lockfile pins.",
                url=file.url,
            )
        data = await self._read(file.url)
        check_hashes(data, file.hashes, file.url)
        return data

    def shared_libraries(self, names: Iterable[str]) -> list[dict]:
        """The shared-library entries ``names`` need (through ``depends``), dependencies first."""
        packages = self._entries or {}
        order: list[dict] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            key = canonicalize_name(name)
            entry = packages.get(key)
            if key in seen or entry is None:
                return
            seen.add(key)
            for dep in entry["depends"]:
                visit(dep)
            if entry.get("package_type") == SHARED_LIBRARY:
                order.append(entry)

        for name in names:
            visit(name)
        return order


def _document(data: bytes, url: str) -> dict:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexFormatError(f"{url} is not a pyodide-lock.json: invalid JSON ({exc})", url=url) from exc
    if not isinstance(document, dict):
        raise IndexFormatError(f"{url} is not a pyodide-lock.json: expected an object", url=url)
    return document


def _entries(packages: object, url: str) -> dict[NormalizedName, dict]:
    """The lockfile's packages by canonical name, each checked for the fields micropkg uses."""
    if not isinstance(packages, Mapping):
        raise IndexFormatError(f"{url} is not a pyodide-lock.json: it has no 'packages' object", url=url)
    entries: dict[NormalizedName, dict] = {}
    for key, raw in packages.items():
        if not isinstance(raw, Mapping):
            raise IndexFormatError(f"{url}: packages[{key!r}] must be an object, got {raw!r}", url=url)
        missing = [k for k in ("version", "file_name") if not isinstance(raw.get(k), str)]
        if missing:
            raise IndexFormatError(f"{url}: packages[{key!r}] lacks {', '.join(missing)}", url=url)
        depends = raw.get("depends", [])
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise IndexFormatError(f"{url}: packages[{key!r}] has 'depends' {depends!r}, expected names", url=url)
        given = raw.get("name")
        name = given if isinstance(given, str) else key
        entries[canonicalize_name(name)] = {**raw, "name": name, "depends": list(depends)}
    return entries
