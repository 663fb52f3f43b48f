"""An sdist's archive, unpacked under the same rules as a wheel, and its ``[build-system]``.

An sdist is code from an index that is about to run in the page: its archive
is unpacked with the rules :mod:`micropkg.model.wheel` applies to wheels, each
for the reason given beside it, and only into a fresh temporary directory.
Then :func:`read_build_system` reads PEP 518's ``[build-system]`` table (PEP
517's fallback when there is none).
"""

from __future__ import annotations

import io
import re
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement

from ..errors import InvalidSdist

__all__ = [
    "LEGACY_BACKEND", "LEGACY_REQUIRES", "MAX_MEMBERS", "MAX_TOTAL_SIZE", "BuildSystem", "SdistName",
    "read_build_system", "unpack",
]

# Bounds on what one sdist may unpack to. Security: a small archive can inflate to
# gigabytes (a zip or gzip bomb) and WebAssembly memory never shrinks, so a page
# would be stuck with it; real sdists are far inside these (Django's: ~7,000 files, 40 MB).
MAX_MEMBERS = 50_000
MAX_TOTAL_SIZE = 256 * 1024 * 1024

# PEP 517: a source tree without a build backend is built as setup.py always was.
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
LEGACY_REQUIRES = ("setuptools>=40.8.0",)
_BACKEND = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?$")


@dataclass(frozen=True)
class SdistName:
    """Which sdist an error is about."""

    project: str
    version: str
    filename: str

    def refused(self, problem: str, member: str | None = None) -> InvalidSdist:
        where = f" (member {member!r})" if member else ""
        return InvalidSdist(
            f"Refusing the sdist {self.filename}{where} of {self.project} {self.version}: {problem}."
            " Nothing was installed; use a release with a wheel, or ask the project to fix its sdist.",
            project=self.project, version=self.version, filename=self.filename, member=member,
        )


def _checked_path(name: str, sdist: SdistName) -> PurePosixPath | None:
    """The member's path inside the destination, or None for the archive root itself."""
    # Security: an absolute path or a drive would write outside the build directory.
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise sdist.refused("the member has an absolute path", name)
    # Security: a backslash is a separator on Windows and a name character elsewhere;
    # refusing it keeps one reading of the path on every platform.
    if "\\" in name or "\x00" in name:
        raise sdist.refused("the member's path holds a backslash or a NUL character", name)
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    # Security: '..' would climb out of the build directory (path traversal).
    if ".." in parts:
        raise sdist.refused("the member's path climbs out of the archive with '..'", name)
    return PurePosixPath(*parts) if parts else None


class _Budget:
    """Members and bytes unpacked so far, against :data:`MAX_MEMBERS` and :data:`MAX_TOTAL_SIZE`."""

    def __init__(self, sdist: SdistName) -> None:
        self.sdist, self.members, self.size = sdist, 0, 0

    def take(self, name: str, size: int) -> None:
        self.members += 1
        self.size += size
        if self.members > MAX_MEMBERS:
            raise self.sdist.refused(f"it holds more than {MAX_MEMBERS} members", name)
        if self.size > MAX_TOTAL_SIZE:
            raise self.sdist.refused(f"it unpacks to more than {MAX_TOTAL_SIZE // 2**20} MiB", name)


def _write(destination: Path, path: PurePosixPath, data: bytes, sdist: SdistName, name: str) -> None:
    target = destination.joinpath(*path.parts)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Security: mode bits from the archive are not kept (no setuid, no world-writable files).
        target.write_bytes(data)
    except OSError as exc:
        raise sdist.refused(f"the member cannot be written ({exc})", name) from exc


def _unpack_tar(data: bytes, destination: Path, sdist: SdistName) -> None:
    budget = _Budget(sdist)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for member in archive:  # one member at a time: nothing is held beyond the current one
                path = _checked_path(member.name, sdist)
                if member.isdir():
                    budget.take(member.name, 0)
                    if path is not None:
                        destination.joinpath(*path.parts).mkdir(parents=True, exist_ok=True)
                    continue
                # Security: a symlink or hard link can point outside the build directory (or at
                # a file written later through it); devices and FIFOs have no place in an sdist.
                if member.issym() or member.islnk():
                    raise sdist.refused(f"the member is a link (to {member.linkname!r}); sdists may hold no links", member.name)
                if not member.isreg():
                    raise sdist.refused("the member is a device, FIFO or other special file", member.name)
                if path is None:
                    raise sdist.refused("a file member has no name", member.name)
                budget.take(member.name, member.size)
                stream = archive.extractfile(member)
                content = stream.read(member.size + 1) if stream is not None else b""
                if len(content) != member.size:
                    raise sdist.refused(f"the member holds {len(content)} bytes, its header says {member.size}", member.name)
                _write(destination, path, content, sdist, member.name)
    except (tarfile.TarError, zlib.error, EOFError) as exc:
        raise sdist.refused(f"it is not a readable .tar.gz archive ({exc})") from exc


def _unpack_zip(data: bytes, destination: Path, sdist: SdistName) -> None:
    budget = _Budget(sdist)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                path = _checked_path(info.filename, sdist)
                # Security: a zip made on Unix can hold symlinks (S_IFLNK in the high bits of
                # external_attr), which unzip tools recreate: refuse them as in a tar.
                # No file type at all (zips made on Windows, or by writestr) means a plain file.
                kind = stat.S_IFMT(info.external_attr >> 16)
                if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                    raise sdist.refused("the member is a link or special file; sdists may hold no links", info.filename)
                budget.take(info.filename, info.file_size)
                if info.is_dir():
                    if path is not None:
                        destination.joinpath(*path.parts).mkdir(parents=True, exist_ok=True)
                    continue
                if path is None:
                    raise sdist.refused("a file member has no name", info.filename)
                # Security: the declared size is what the budget counted; a member that
                # inflates past it (a forged header) is refused before it is held.
                with archive.open(info) as stream:
                    content = stream.read(info.file_size + 1)
                if len(content) != info.file_size:
                    raise sdist.refused(f"the member inflates to more than its declared {info.file_size} bytes", info.filename)
                _write(destination, path, content, sdist, info.filename)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError) as exc:
        raise sdist.refused(f"it is not a readable .zip archive ({exc})") from exc


def unpack(data: bytes, destination: Path, sdist: SdistName) -> Path:
    """Unpack the sdist ``data`` into the empty directory ``destination``; return its source tree
    (the archive's one top-level directory, ``{name}-{version}/`` by PEP 625)."""
    if sdist.filename.lower().endswith(".zip"):
        _unpack_zip(data, destination, sdist)
    else:
        _unpack_tar(data, destination, sdist)
    tops = sorted(destination.iterdir())
    if len(tops) != 1 or not tops[0].is_dir():
        names = ", ".join(p.name for p in tops) or "nothing"
        raise sdist.refused(f"it should hold one top-level directory (PEP 625), but holds {names}")
    root = tops[0]
    if not (root / "pyproject.toml").is_file() and not (root / "setup.py").is_file():
        raise sdist.refused(f"{root.name}/ has neither a pyproject.toml nor a setup.py to build it with")
    return root


@dataclass(frozen=True)
class BuildSystem:
    """PEP 518's ``[build-system]``: what the build needs, and the PEP 517 backend."""

    requires: tuple[str, ...]
    backend: str  # "module.path:object.path"
    backend_path: tuple[str, ...] = ()  # in-tree directories put first on sys.path (PEP 517)

    @property
    def legacy(self) -> bool:
        return self.backend == LEGACY_BACKEND


def read_build_system(root: Path, sdist: SdistName) -> BuildSystem:
    """The build system of the source tree ``root``: its pyproject.toml's, or PEP 517's fallback."""
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return BuildSystem(LEGACY_REQUIRES, LEGACY_BACKEND)
    member = f"{root.name}/pyproject.toml"
    import tomllib  # a fresh Pyodide compiles it (~26 ms): only where an sdist is built

    try:
        table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("build-system")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise sdist.refused(f"its pyproject.toml is not valid TOML ({exc})", member) from exc
    if table is None:
        return BuildSystem(LEGACY_REQUIRES, LEGACY_BACKEND)
    if not isinstance(table, dict):
        raise sdist.refused("its [build-system] is not a table", member)
    requires = table.get("requires")
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise sdist.refused(f"[build-system] requires should be a list of strings (PEP 518), got {requires!r}", member)
    for text in requires:
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            raise sdist.refused(f"[build-system] requires {text!r}, which is not PEP 508 ({exc})", member) from exc
    backend = table.get("build-backend", LEGACY_BACKEND)
    if not isinstance(backend, str) or not _BACKEND.match(backend):
        raise sdist.refused(f"[build-system] build-backend {backend!r} is not 'module:object' (PEP 517)", member)
    paths = table.get("backend-path", [])
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise sdist.refused(f"[build-system] backend-path should be a list of strings, got {paths!r}", member)
    for text in paths:
        # PEP 517: backend-path entries are relative to the tree and must stay inside it.
        resolved = (root / text).resolve()
        if Path(text).is_absolute() or not resolved.is_relative_to(root.resolve()):
            raise sdist.refused(f"[build-system] backend-path {text!r} leaves the source tree (PEP 517)", member)
    return BuildSystem(tuple(requires), backend, tuple(str((root / p).resolve()) for p in paths))
