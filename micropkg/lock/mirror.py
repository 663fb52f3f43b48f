"""A static package index made from a lock, for any static host or CDN.

``python -m micropkg mirror pylock.toml -o DIR`` downloads every wheel the
lock lists, checks it against the lock's hashes, and writes::

    DIR/files/<wheel>                   the wheels
    DIR/files/<wheel>.metadata          their METADATA (PEP 658), taken out of the wheel
    DIR/simple/index.json, index.html   the project list (PEP 691 JSON, PEP 503 HTML)
    DIR/simple/<project>/index.json     PEP 691 pages: hashes, size, upload-time,
    DIR/simple/<project>/index.html       requires-python, core-metadata (and PEP 503)
    DIR/pylock.toml                     the lock, each wheel with ``path = "files/<wheel>"``
    DIR/pyodide-lock.json               the same for Pyodide's loader (when the lock names its runtime)

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
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import FetchError
from ..model.hashes import check_hashes
from ..model.lock import Lock, LockedPackage, LockedWheel, wheel_location
from ..model.metadata import parse_metadata
from ..resolution.catalog import read_wheel_metadata
from .pylock import dumps as dumps_pylock
from .pyodide_lock import dumps as dumps_pyodide_lock

__all__ = ["Mirror", "build_mirror"]

_API_VERSION = "1.1"


@dataclass(frozen=True)
class Mirror:
    """What :func:`build_mirror` wrote."""

    root: Path
    projects: tuple[str, ...]
    wheels: tuple[str, ...]
    bytes: int


@dataclass(frozen=True)
class _File:
    package: LockedPackage
    wheel: LockedWheel
    sha256: str
    size: int
    requires_python: str | None
    metadata_sha256: str


async def _fetch(lock: Lock, package: LockedPackage, wheel: LockedWheel,
                 read: Callable[[str], Awaitable[bytes]]) -> bytes:
    location = wheel_location(lock, package, wheel)
    data = await read(location)
    check_hashes(data, wheel.hashes, location, size=wheel.size)
    if wheel.size is not None and len(data) != wheel.size:
        raise FetchError(f"{location} sent {len(data)} bytes; the lock says {wheel.size}", url=location)
    return data


def _store(out: Path, package: LockedPackage, wheel: LockedWheel, data: bytes) -> _File:
    files = out / "files"
    metadata = read_wheel_metadata(wheel.filename, data)
    meta = parse_metadata(metadata, source=wheel.filename)
    (files / wheel.filename).write_bytes(data)
    (files / f"{wheel.filename}.metadata").write_bytes(metadata)
    return _File(
        package=package,
        wheel=wheel,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        requires_python=str(meta.requires_python) if meta.requires_python else None,
        metadata_sha256=hashlib.sha256(metadata).hexdigest(),
    )


def _json_page(name: str, files: list[_File]) -> bytes:
    entries = []
    for f in sorted(files, key=lambda f: f.wheel.filename):
        entry: dict[str, object] = {
            "filename": f.wheel.filename,
            "url": "../../files/" + urllib.parse.quote(f.wheel.filename),
            "hashes": {**f.wheel.hashes, "sha256": f.sha256},
            "requires-python": f.requires_python,
            "size": f.size,
            "yanked": False,
            "core-metadata": {"sha256": f.metadata_sha256},
            "data-dist-info-metadata": {"sha256": f.metadata_sha256},  # PEP 658's name, for older clients
        }
        if f.wheel.upload_time:
            entry["upload-time"] = f.wheel.upload_time
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
    for f in sorted(files, key=lambda f: f.wheel.filename):
        href = "../../files/" + urllib.parse.quote(f.wheel.filename) + f"#sha256={f.sha256}"
        attributes = [f'href="{html.escape(href)}"']
        if f.requires_python:
            attributes.append(f'data-requires-python="{html.escape(f.requires_python)}"')
        attributes.append(f'data-core-metadata="sha256={f.metadata_sha256}"')
        attributes.append(f'data-dist-info-metadata="sha256={f.metadata_sha256}"')
        anchors.append(f"<a {' '.join(attributes)}>{html.escape(f.wheel.filename)}</a>")
    return _html(f"Links for {name}", anchors)


def _mirrored_lock(lock: Lock, *, keep_url: bool) -> Lock:
    def local(wheel: LockedWheel) -> LockedWheel:
        return dataclasses.replace(wheel, url=wheel.url if keep_url else None, path="files/" + wheel.filename)

    packages = tuple(dataclasses.replace(p, wheels=tuple(local(w) for w in p.wheels)) for p in lock.packages)
    return dataclasses.replace(lock, packages=packages, source="<mirror>", base_url=None)


async def build_mirror(lock: Lock, out: Path, read: Callable[[str], Awaitable[bytes]]) -> Mirror:
    """Write the static index for every wheel ``lock`` lists into ``out``; ``read`` fetches a location."""
    (out / "files").mkdir(parents=True, exist_ok=True)
    pairs = [(p, w) for p in lock.packages for w in p.wheels]
    blobs = await asyncio.gather(*(_fetch(lock, p, w, read) for p, w in pairs))
    stored = [_store(out, p, w, data) for (p, w), data in zip(pairs, blobs)]
    by_project: dict[str, list[_File]] = {}
    for f in stored:
        by_project.setdefault(f.package.name, []).append(f)
    simple = out / "simple"
    for name, files in by_project.items():
        (simple / name).mkdir(parents=True, exist_ok=True)
        (simple / name / "index.json").write_bytes(_json_page(name, files))
        (simple / name / "index.html").write_bytes(_html_page(name, files))
    names = sorted(by_project)
    project_list = {"meta": {"api-version": _API_VERSION}, "projects": [{"name": n} for n in names]}
    (simple / "index.json").write_bytes(json.dumps(project_list, indent=1).encode())
    (simple / "index.html").write_bytes(
        _html("Simple index", [f'<a href="{html.escape(n)}/">{html.escape(n)}</a>' for n in names])
    )
    (out / "pylock.toml").write_text(dumps_pylock(_mirrored_lock(lock, keep_url=True)))
    if lock.target is not None:
        (out / "pyodide-lock.json").write_text(dumps_pyodide_lock(_mirrored_lock(lock, keep_url=False)))
    return Mirror(
        root=out,
        projects=tuple(names),
        wheels=tuple(sorted(f.wheel.filename for f in stored)),
        bytes=sum(f.size for f in stored),
    )
