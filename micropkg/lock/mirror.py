"""A static package index made from a lock, for any static host or CDN.

``python -m micropkg mirror pylock.toml -o DIR`` downloads every file the lock
lists -- wheels and ``[packages.sdist]`` sdists -- checks each against the
lock's hashes, and writes::

    DIR/files/<wheel>                   the wheels
    DIR/files/<wheel>.metadata          their METADATA (PEP 658), taken out of the wheel
    DIR/files/<sdist>                   the sdists (listed too: an index install can still build them)
    DIR/simple/index.json, index.html   the project list (PEP 691 JSON, PEP 503 HTML)
    DIR/simple/<project>/index.json     PEP 691 pages: hashes, size, upload-time,
    DIR/simple/<project>/index.html       requires-python, core-metadata (and PEP 503)
    DIR/pylock.toml                     the lock, each file with ``path = "files/<file>"``
    DIR/pyodide-lock.json               the same for Pyodide's loader (when the lock names its runtime)

With a ``build`` function (``mirror --build``: :mod:`micropkg.commands.node_build`
builds in Pyodide under Node), each sdist is also built into a wheel, which
joins the sdist in ``files/``, on the project's pages and in the mirrored lock
(as the entry's wheel, with its sha256), so an install from the mirror builds
nothing. Everything is written into a temporary folder beside ``DIR`` first and
moved into ``DIR`` only when every download and build succeeded: a failure
leaves ``DIR`` as it was.

Links are relative, so the folder works wherever it is served. Then either
``install(lock="https://host/DIR/pylock.toml")`` (PEP 751 prefers ``path``,
relative to the lock: the mirror's copies) or
``install(..., index_urls=["https://host/DIR/simple/"])`` (a static host serves
``index.html`` for a directory; ``.../simple/{package_name}/index.json``
reads the JSON pages) works with no other index.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import html
import json
import os
import shutil
import tempfile
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from ..errors import BuildError, FetchError, MicropkgError
from ..model.hashes import check_hashes
from ..model.lock import Lock, LockedPackage, LockedWheel, wheel_location
from ..model.metadata import parse_metadata
from ..resolution.catalog import read_wheel_metadata
from .pylock import dumps as dumps_pylock
from .pyodide_lock import dumps as dumps_pyodide_lock

__all__ = ["BuildSdists", "LockedSdist", "Mirror", "build_mirror"]

_API_VERSION = "1.1"


@dataclass(frozen=True)
class LockedSdist:
    """An sdist of the lock, downloaded and checked: what a :data:`BuildSdists` is given."""

    project: str
    version: str
    filename: str
    data: bytes


# Builds each sdist into a wheel: (wheel file name, wheel bytes) per sdist, in order.
BuildSdists = Callable[[Sequence[LockedSdist]], Awaitable[Sequence[tuple[str, bytes]]]]


@dataclass(frozen=True)
class Mirror:
    """What :func:`build_mirror` wrote."""

    root: Path
    projects: tuple[str, ...]
    wheels: tuple[str, ...]  # every wheel, the built ones included
    bytes: int
    sdists: tuple[str, ...] = ()
    built: tuple[str, ...] = ()  # the wheels built from the sdists


@dataclass(frozen=True)
class _File:
    package: LockedPackage
    file: LockedWheel  # a wheel or an sdist, as the lock describes it
    sha256: str
    size: int
    requires_python: str | None
    metadata_sha256: str | None  # None: an sdist, whose metadata is not served (PEP 658 is for wheels)

    @property
    def filename(self) -> str:
        return self.file.filename


async def _fetch(lock: Lock, package: LockedPackage, file: LockedWheel,
                 read: Callable[[str], Awaitable[bytes]]) -> bytes:
    location = wheel_location(lock, package, file)
    data = await read(location)
    check_hashes(data, file.hashes, location, size=file.size)
    if file.size is not None and len(data) != file.size:
        raise FetchError(f"{location} sent {len(data)} bytes; the lock says {file.size}", url=location)
    return data


def _store(out: Path, package: LockedPackage, file: LockedWheel, data: bytes) -> _File:
    files = out / "files"
    (files / file.filename).write_bytes(data)
    requires_python = str(package.requires_python) if package.requires_python else None
    metadata_sha256 = None
    if file.filename.endswith(".whl"):
        metadata = read_wheel_metadata(file.filename, data)
        meta = parse_metadata(metadata, source=file.filename)
        requires_python = str(meta.requires_python) if meta.requires_python else None
        (files / f"{file.filename}.metadata").write_bytes(metadata)
        metadata_sha256 = hashlib.sha256(metadata).hexdigest()
    return _File(
        package=package,
        file=file,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        requires_python=requires_python,
        metadata_sha256=metadata_sha256,
    )


def _json_page(name: str, files: list[_File]) -> bytes:
    entries = []
    for f in sorted(files, key=lambda f: f.filename):
        entry: dict[str, object] = {
            "filename": f.filename,
            "url": "../../files/" + urllib.parse.quote(f.filename),
            "hashes": {**f.file.hashes, "sha256": f.sha256},
            "requires-python": f.requires_python,
            "size": f.size,
            "yanked": False,
        }
        if f.metadata_sha256 is not None:
            entry["core-metadata"] = {"sha256": f.metadata_sha256}
            entry["data-dist-info-metadata"] = {"sha256": f.metadata_sha256}  # PEP 658's name, for older clients
        if f.file.upload_time:
            entry["upload-time"] = f.file.upload_time
        entries.append(entry)
    versions = sorted({str(f.package.version) for f in files})
    document = {"meta": {"api-version": _API_VERSION}, "name": name, "versions": versions, "files": entries}
    return json.dumps(document, indent=1, sort_keys=True).encode()


def _html(title: str, body: list[str]) -> bytes:
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{_API_VERSION}">\n'
        f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n"
        + "".join(f"    {line}<br />\n" for line in body)
        + "  </body>\n</html>\n"
    ).encode()


def _html_page(name: str, files: list[_File]) -> bytes:
    anchors = []
    for f in sorted(files, key=lambda f: f.filename):
        href = "../../files/" + urllib.parse.quote(f.filename) + f"#sha256={f.sha256}"
        attributes = [f'href="{html.escape(href)}"']
        if f.requires_python:
            attributes.append(f'data-requires-python="{html.escape(f.requires_python)}"')
        if f.metadata_sha256 is not None:
            attributes.append(f'data-core-metadata="sha256={f.metadata_sha256}"')
            attributes.append(f'data-dist-info-metadata="sha256={f.metadata_sha256}"')
        anchors.append(f"<a {' '.join(attributes)}>{html.escape(f.filename)}</a>")
    return _html(f"Links for {name}", anchors)


def _mirrored_lock(lock: Lock, built: dict[str, LockedWheel], *, keep_url: bool) -> Lock:
    def local(file: LockedWheel) -> LockedWheel:
        return dataclasses.replace(file, url=file.url if keep_url else None, path="files/" + file.filename)

    packages = []
    for p in lock.packages:
        wheels = tuple(local(w) for w in p.wheels)
        sdist = local(p.sdist) if p.sdist is not None else None
        if p.sdist is not None and p.sdist.filename in built:
            wheels += (built[p.sdist.filename],)
        packages.append(dataclasses.replace(p, wheels=wheels, sdist=sdist))
    return dataclasses.replace(lock, packages=tuple(packages), source="<mirror>", base_url=None)


def _built_wheel(sdist: LockedSdist, filename: str, data: bytes) -> LockedWheel:
    """The lock's description of the wheel built from ``sdist`` (checked to be its project's)."""
    # The build ran the sdist's code: its file name and its METADATA must both say what the lock does.
    try:
        name, version, _, _ = parse_wheel_filename(filename)
        meta = parse_metadata(read_wheel_metadata(filename, data), source=filename)
        said = f"says {meta.name} {meta.version}"
        fits = {name, meta.name} == {canonicalize_name(sdist.project)} and {str(version), str(meta.version)} == {sdist.version}
    except (InvalidWheelFilename, MicropkgError) as exc:
        said, fits = f"cannot be read ({exc})", False
    if not fits:
        raise BuildError(
            f"Building {sdist.project} {sdist.version} from {sdist.filename} gave {filename!r}, whose METADATA"
            f" {said}: not a wheel of {sdist.project} {sdist.version}. Nothing was written.",
            project=sdist.project, version=sdist.version, filename=sdist.filename,
        )
    sha256 = hashlib.sha256(data).hexdigest()
    return LockedWheel(filename=filename, url=None, path="files/" + filename, hashes={"sha256": sha256},
                       size=len(data))


def _write_index(out: Path, stored: list[_File]) -> list[str]:
    by_project: dict[str, list[_File]] = {}
    for f in stored:
        by_project.setdefault(f.package.name, []).append(f)
    simple = out / "simple"
    for name, files in by_project.items():
        (simple / name).mkdir(parents=True, exist_ok=True)
        (simple / name / "index.json").write_bytes(_json_page(name, files))
        (simple / name / "index.html").write_bytes(_html_page(name, files))
    names = sorted(by_project)
    simple.mkdir(parents=True, exist_ok=True)
    project_list = {"meta": {"api-version": _API_VERSION}, "projects": [{"name": n} for n in names]}
    (simple / "index.json").write_bytes(json.dumps(project_list, indent=1).encode())
    (simple / "index.html").write_bytes(
        _html("Simple index", [f'<a href="{html.escape(n)}/">{html.escape(n)}</a>' for n in names])
    )
    return names


def _move_into(staging: Path, out: Path) -> None:
    """Every file of ``staging`` into the same place in ``out`` (a rename each: same file system)."""
    for directory, _, filenames in os.walk(staging):
        target = out / Path(directory).relative_to(staging)
        target.mkdir(parents=True, exist_ok=True)
        for filename in filenames:
            os.replace(Path(directory) / filename, target / filename)


async def build_mirror(
    lock: Lock, out: Path, read: Callable[[str], Awaitable[bytes]], *, build: BuildSdists | None = None,
) -> Mirror:
    """Write the static index for every file ``lock`` lists into ``out``; ``read`` fetches a location;
    ``build``, if given, builds the sdists into wheels (see the module docstring)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        mirror = await _build_into(lock, staging, read, build)
        _move_into(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dataclasses.replace(mirror, root=out)


async def _build_into(lock: Lock, out: Path, read: Callable[[str], Awaitable[bytes]],
                      build: BuildSdists | None) -> Mirror:
    (out / "files").mkdir(parents=True, exist_ok=True)
    pairs = [(p, w) for p in lock.packages for w in p.wheels]
    pairs += [(p, p.sdist) for p in lock.packages if p.sdist is not None]
    blobs = await asyncio.gather(*(_fetch(lock, p, w, read) for p, w in pairs))
    stored = [_store(out, p, w, data) for (p, w), data in zip(pairs, blobs)]
    built: dict[str, LockedWheel] = {}
    sdists = [LockedSdist(p.name, str(p.version), w.filename, data)
              for (p, w), data in zip(pairs, blobs) if p.sdist is w]
    # Built: the sdists an install would build -- entries locked to no wheel (model.lock.select).
    # An entry with wheels as well (other tools lock both) installs a wheel; its sdist is only copied.
    unbuilt = {locked.filename for p in lock.packages if (locked := p.sdist_to_build) is not None}
    to_build = [s for s in sdists if s.filename in unbuilt]
    if build is not None and to_build:
        wheels = await build(to_build)
        for sdist, (filename, data) in zip(to_build, wheels, strict=True):
            package = next(p for p in lock.packages if p.sdist is not None and p.sdist.filename == sdist.filename)
            built[sdist.filename] = _built_wheel(sdist, filename, data)
            stored.append(_store(out, package, built[sdist.filename], data))
    names = _write_index(out, stored)
    (out / "pylock.toml").write_text(dumps_pylock(_mirrored_lock(lock, built, keep_url=True)))
    if lock.target is not None:
        (out / "pyodide-lock.json").write_text(dumps_pyodide_lock(_mirrored_lock(lock, built, keep_url=False)))
    wheel_files = [f for f in stored if f.filename.endswith(".whl")]
    return Mirror(
        root=out,
        projects=tuple(names),
        wheels=tuple(sorted(f.filename for f in wheel_files)),
        bytes=sum(f.size for f in stored),
        sdists=tuple(sorted(s.filename for s in sdists)),
        built=tuple(sorted(w.filename for w in built.values())),
    )
