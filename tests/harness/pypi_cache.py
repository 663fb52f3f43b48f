"""Real PyEmscripten wheels from PyPI, fetched once into ``.cache/pypi-wheels/``.

Built wheels (:mod:`.wheels`) prove micropkg's logic; these prove it against
what projects really upload: a PEP 783 platform tag, a real extension module,
real METADATA. Each is downloaded once, checked against the sha256 PyPI
states, and recorded in ``manifest.json`` (file name -> that sha256), so later
runs need no network and still notice a damaged cache.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from . import pypi
from .pyodide_dist import CACHE

__all__ = ["REAL_WHEELS", "CachedWheel", "RealWheel", "real_wheels"]

DIRECTORY = CACHE / "pypi-wheels"
_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class RealWheel:
    """A wheel we want, by project, version, interpreter tag and platform tag."""

    project: str
    version: str
    interpreter: str  # "cp314"
    platform: str  # "pyemscripten_2026_0_wasm32"

    def matches(self, filename: str) -> bool:
        name, version, _, tags = parse_wheel_filename(filename)
        return (
            name == canonicalize_name(self.project)
            and str(version) == self.version
            and any(t.interpreter == self.interpreter and t.platform == self.platform for t in tags)
        )


REAL_WHEELS = (
    RealWheel("luau-wasm", "0.1a0", "cp314", "pyemscripten_2026_0_wasm32"),
    RealWheel("msgpack", "1.2.4", "cp313", "pyemscripten_2025_0_wasm32"),
    RealWheel("msgpack", "1.2.4", "cp314", "pyemscripten_2026_0_wasm32"),
    RealWheel("msgpack", "1.2.4", "cp315", "pyemscripten_2026_5_wasm32"),
)


@dataclass(frozen=True)
class CachedWheel:
    """A real wheel on disk. ``metadata`` is its ``.dist-info/METADATA``."""

    project: str
    version: str
    filename: str
    path: Path
    sha256: str
    metadata: bytes

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()


def _metadata(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        names = [
            n for n in archive.namelist()
            if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        ]
        if len(names) != 1:
            raise ValueError(f"{path.name}: expected one .dist-info/METADATA, found {names}")
        return archive.read(names[0])


def _fetch(wanted: RealWheel, directory: Path) -> pypi.PyPIFile:
    for file in pypi.release_files(wanted.project):
        if file.filename.endswith(".whl") and wanted.matches(file.filename):
            pypi.download(file, directory)
            return file
    raise LookupError(f"PyPI lists no wheel for {wanted}")


def real_wheels(directory: Path = DIRECTORY) -> list[CachedWheel]:
    """Every wheel of :data:`REAL_WHEELS`, downloading the ones not cached yet."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / _MANIFEST
    manifest: dict[str, str] = (
        json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    )
    wheels = []
    for wanted in REAL_WHEELS:
        filename = next((name for name in manifest if wanted.matches(name)), None)
        path = directory / filename if filename else None
        if path is None or not path.is_file():
            file = _fetch(wanted, directory)
            filename, path = file.filename, directory / file.filename
            manifest[filename] = file.sha256
            manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != manifest[filename]:
            raise RuntimeError(
                f"{path}: sha256 {digest} but PyPI stated {manifest[filename]}; "
                "delete the file to fetch it again"
            )
        wheels.append(
            CachedWheel(
                project=wanted.project,
                version=wanted.version,
                filename=filename,
                path=path,
                sha256=digest,
                metadata=_metadata(path),
            )
        )
    return wheels
