"""Tiny sdists per build backend, and the real backends' wheels from PyPI, for the build tests.

:func:`make_sdist` writes a PEP 625 sdist (``{name}-{version}.tar.gz`` holding
``{name}-{version}/``) for one of :data:`BACKENDS`: a one-module project whose
module says which backend built it. The backends themselves are the real
wheels from PyPI, pinned in :data:`BACKEND_WHEELS`, fetched once into
``.cache/pypi-wheels/`` and checked against the sha256 PyPI states (as
:mod:`.pypi_cache` does for the PyEmscripten wheels).
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from . import pypi
from .pyodide_dist import CACHE

__all__ = ["BACKENDS", "BACKEND_WHEELS", "Sdist", "backend_wheels", "make_sdist", "tar_gz"]

DIRECTORY = CACHE / "pypi-wheels"
_MANIFEST = "build-backends.json"

# (project, version) of every wheel a backend here needs, pinned.
BACKEND_WHEELS = (
    ("setuptools", "84.2.1"),
    ("flit-core", "4.2.0"),
    ("hatchling", "1.33.0"),
    ("packaging", "26.4"),
    ("pathspec", "1.1.1"),
    ("pluggy", "1.7.0"),
    ("trove-classifiers", "2026.9.21.13"),
    ("tomlkit", "0.15.3"),
    ("poetry-core", "2.5.0"),
    ("pdm-backend", "2.5.0"),
)


@dataclass(frozen=True)
class CachedFile:
    filename: str
    path: Path
    metadata: bytes

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()


def backend_wheels(directory: Path = DIRECTORY) -> list[CachedFile]:
    """The wheels of :data:`BACKEND_WHEELS`, downloading the ones not cached yet."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / _MANIFEST
    manifest: dict[str, str] = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    found = []
    for project, version in BACKEND_WHEELS:
        def wanted(filename: str) -> bool:
            if not filename.endswith("-none-any.whl"):
                return False
            name, wheel_version, _, _ = parse_wheel_filename(filename)
            return name == canonicalize_name(project) and str(wheel_version) == version

        filename = next((name for name in manifest if wanted(name)), None)
        if filename is None or not (directory / filename).is_file():
            file = next(f for f in pypi.release_files(project) if wanted(f.filename))
            pypi.download(file, directory)
            filename = file.filename
            manifest[filename] = file.sha256
            manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        path = directory / filename
        if hashlib.sha256(path.read_bytes()).hexdigest() != manifest[filename]:
            raise RuntimeError(f"{path}: not the file PyPI stated; delete it to fetch it again")
        with zipfile.ZipFile(path) as archive:
            meta = next(n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
            found.append(CachedFile(filename, path, archive.read(meta)))
    return found


def tar_gz(members: dict[str, bytes | None], *, links: dict[str, tuple[bytes, str]] | None = None) -> bytes:
    """A .tar.gz of ``members`` (path -> bytes; None: a directory); ``links``: path -> (type, target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        for name, (kind, target) in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            archive.addfile(info)
    return buffer.getvalue()


@dataclass(frozen=True)
class Sdist:
    """Anything the index server can list: file name, bytes, no metadata file."""

    filename: str
    data: bytes
    metadata: bytes | None = None


def _pyproject(backend: str, name: str, version: str, module: str, dependencies: list[str]) -> str:
    deps = json.dumps(dependencies)
    project = f'[project]\nname = "{name}"\nversion = "{version}"\ndescription = "built by {backend}"\n' \
              f'requires-python = ">=3.8"\ndependencies = {deps}\n'
    if backend == "setuptools":
        return '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n' + project \
            + f'\n[tool.setuptools]\npy-modules = ["{module}"]\n'
    if backend == "flit":
        return '[build-system]\nrequires = ["flit_core>=3.4,<5"]\nbuild-backend = "flit_core.buildapi"\n\n' + project
    if backend == "hatchling":
        return '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n' + project \
            + f'\n[tool.hatch.build.targets.wheel]\ninclude = ["{module}.py"]\n'
    if backend == "poetry":
        return '[build-system]\nrequires = ["poetry-core>=2"]\nbuild-backend = "poetry.core.masonry.api"\n\n' + project \
            + f'\n[tool.poetry]\npackages = [{{ include = "{module}.py" }}]\n'
    if backend == "pdm":
        return '[build-system]\nrequires = ["pdm-backend"]\nbuild-backend = "pdm.backend"\n\n' + project
    raise ValueError(backend)


BACKENDS = ("setup.py", "setuptools", "flit", "hatchling", "poetry", "pdm")


def make_sdist(
    name: str, version: str = "1.0", *, backend: str = "setuptools", dependencies: list[str] | None = None,
    extra: dict[str, bytes] | None = None, setup_py: str | None = None,
) -> Sdist:
    """A pure-Python sdist of ``name`` built with ``backend`` (one of :data:`BACKENDS`)."""
    module = canonicalize_name(name).replace("-", "_")
    base = f"{module}-{version}"
    source = f'"""{name}, built by {backend}."""\n__version__ = "{version}"\nBACKEND = "{backend}"\n'.encode()
    members: dict[str, bytes | None] = {f"{base}/": None, f"{base}/{module}.py": source}
    if backend == "setup.py":
        members[f"{base}/setup.py"] = (setup_py or (
            "from setuptools import setup\n"
            f"setup(name={name!r}, version={version!r}, py_modules=[{module!r}],"
            f" install_requires={dependencies or []!r})\n"
        )).encode()
    else:
        members[f"{base}/pyproject.toml"] = _pyproject(backend, name, version, module, dependencies or []).encode()
        if backend == "pdm":  # pdm-backend finds a module at the root by itself only in src/ layouts
            members[f"{base}/pyproject.toml"] += f'\n[tool.pdm.build]\nincludes = ["{module}.py"]\n'.encode()
    members[f"{base}/PKG-INFO"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    for path, data in (extra or {}).items():
        members[f"{base}/{path}"] = data
    return Sdist(f"{base}.tar.gz", tar_gz(members))
