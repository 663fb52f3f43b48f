"""What is installed: the ``*.dist-info`` directories of site-packages (PEP 376, PEP 627).

Everything takes the site-packages directories (or a :class:`Destination`)
as an argument; nothing here reads ``sys.path``. A directory counts as a
distribution when it is named ``*.dist-info`` and its METADATA has a
``Name`` and a PEP 440 ``Version``; other directories are not listed.

RECORD is read when scanning, but a missing or malformed one does not hide
the distribution: it is kept in :attr:`InstalledDistribution.record_problem`
and raised (``UninstallError`` here, ``InstallError`` from the installer)
by whatever needs the file list, since removing or replacing files that are
not known would be guesswork.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import VERSION_PATTERN, Version

from ..errors import UninstallError
from ..model.headers import parse_headers
from ..model.records import RecordError, parse_record, path_problem
from ..value import Value
from .destination import Destination
from .site_packages import SitePackages

__all__ = [
    "SOURCE_FILE",
    "InstalledDistribution",
    "distributions",
    "get",
    "removal_plan",
    "remove_distribution",
    "scan",
    "source_files",
    "uninstall",
]

# Where a wheel came from (URL, hashes, index), written beside its METADATA:
# freeze() reads it back to lock the runtime (see _freeze).
SOURCE_FILE = "micropkg_source.json"


def source_files(*, url: str, sha256: str, size: int, upload_time: str | None,
                 index: str | None, hashes: Mapping[str, str], built: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """The ``.dist-info`` files micropkg writes to remember where a wheel came from (``built``:
    the wheel micropkg built from the sdist at ``url``, its name and sha256)."""
    entry: dict[str, object] = {"url": url, "hashes": {**hashes, "sha256": sha256}, "size": size}
    if built:
        entry["built-wheel"] = dict(built)
    if upload_time:
        entry["upload-time"] = upload_time
    if index:
        entry["index"] = index
    return {
        "PYODIDE_SOURCE": (index or url).encode(),
        "PYODIDE_URL": url.encode(),
        "PYODIDE_SHA256": sha256.encode(),
        SOURCE_FILE: json.dumps(entry, sort_keys=True).encode(),
    }

_VERSION = re.compile(VERSION_PATTERN, re.VERBOSE | re.IGNORECASE)


class InstalledDistribution(Value):
    """A ``.dist-info`` directory as read from site-packages. Immutable by convention."""

    __slots__ = ("name", "version", "dist_info_path", "installer", "requested", "files", "record_problem")

    def __init__(
        self,
        name: NormalizedName,  # canonical (PEP 503)
        version: Version,
        dist_info_path: PurePath,
        installer: str | None,  # INSTALLER's first line; None without one
        requested: bool,  # REQUESTED exists (PEP 376): installed by request, not as a dependency
        files: tuple[str, ...],  # RECORD's paths, relative to the site-packages directory
        record_problem: str | None = None,  # why ``files`` cannot be trusted (then it is empty)
    ) -> None:
        self.name = name
        self.version = version
        self.dist_info_path = dist_info_path
        self.installer = installer
        self.requested = requested
        self.files = files
        self.record_problem = record_problem

    @property
    def dist_info(self) -> str:
        """The directory's name, e.g. ``demo-1.0.dist-info``."""
        return self.dist_info_path.name

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


def scan(destination: Destination) -> list[InstalledDistribution]:
    """The distributions directly under ``destination``'s root, sorted by directory name."""
    found = []
    for entry in destination.list_dir(""):
        if entry.endswith(".dist-info") and destination.is_dir(entry):
            dist = _load(destination, entry)
            if dist is not None:
                found.append(dist)
    return found


def distributions(paths: Iterable[Path]) -> list[InstalledDistribution]:
    """The distributions in each of ``paths``, in order. Paths that are not
    directories are passed over, as the import system does with ``sys.path``."""
    found = []
    for path in paths:
        if Path(path).is_dir():
            found.extend(scan(SitePackages(Path(path))))
    return found


def get(paths: Iterable[Path], name: str) -> InstalledDistribution | None:
    """The first distribution named ``name`` (any spelling) in ``paths``, as import would find it."""
    wanted = canonicalize_name(name)
    for dist in distributions(paths):
        if dist.name == wanted:
            return dist
    return None


def _load(destination: Destination, dist_info: str) -> InstalledDistribution | None:
    metadata_path = f"{dist_info}/METADATA"
    if not destination.exists(metadata_path):
        return None
    # Only Name and Version are read, both ASCII: a stray bad byte elsewhere
    # in METADATA must not make the distribution invisible.
    headers = parse_headers(destination.read(metadata_path).decode("utf-8", "replace"))
    name, version = (headers.get("Name") or "").strip(), (headers.get("Version") or "").strip()
    if not name or not _VERSION.fullmatch(version):
        return None

    installer = None
    if destination.exists(f"{dist_info}/INSTALLER"):
        lines = destination.read(f"{dist_info}/INSTALLER").decode("utf-8", "replace").splitlines()
        installer = lines[0].strip() if lines else ""

    files: tuple[str, ...] = ()
    problem = None
    record_path = f"{dist_info}/RECORD"
    if not destination.exists(record_path):
        problem = f"{record_path} is missing, so its files are unknown"
    else:
        try:
            files = tuple(entry.path for entry in parse_record(destination.read(record_path)))
        except RecordError as exc:
            problem = f"{record_path} is malformed: {exc}"

    return InstalledDistribution(
        name=canonicalize_name(name),
        version=Version(version),
        dist_info_path=destination.root / dist_info,
        installer=installer,
        requested=destination.exists(f"{dist_info}/REQUESTED"),
        files=files,
        record_problem=problem,
    )


def _pycache_pattern(stem: str) -> re.Pattern[str]:
    # PEP 3147/488: __pycache__/<stem>.<cache tag>[.opt-<level>].pyc
    return re.compile(rf"{re.escape(stem)}\.[A-Za-z0-9_-]+(?:\.opt-[A-Za-z0-9]+)?\.pyc")


def removal_plan(dist: InstalledDistribution, destination: Destination) -> list[str]:
    """The files removing ``dist`` deletes: RECORD's files that exist, then the
    bytecode Python cached for its ``.py`` files (which RECORD cannot list:
    it is written at import time, after the install), then every other file
    in its ``.dist-info`` directory. Installers add files there that their
    RECORD does not list -- ``pyodide.loadPackage`` and micropip write
    ``INSTALLER``, ``PYODIDE_SOURCE``, ``PYODIDE_URL`` and ``PYODIDE_SHA256``
    after the wheel's RECORD -- and the directory is the distribution's own
    (PEP 376): left behind, they would make a later install of the project
    fail on files nobody owns. A link in it is removed, never followed.

    Raises :class:`UninstallError`, before anything changes, for a RECORD
    that is missing, malformed, or names a path outside site-packages.
    """
    if dist.dist_info_path.parent != destination.root:
        raise UninstallError(
            f"Cannot uninstall {dist}: it is installed in {str(dist.dist_info_path.parent)!r},"
            f" not in {str(destination.root)!r}"
        )
    if dist.record_problem is not None:
        raise UninstallError(f"Cannot uninstall {dist} ({dist.dist_info}): {dist.record_problem}")
    for path in dist.files:
        problem = path_problem(path)
        if problem is not None:
            # Security: a hostile or corrupt RECORD must not delete outside site-packages.
            raise UninstallError(
                f"Refusing to uninstall {dist}: {dist.dist_info}/RECORD lists {path!r} ({problem});"
                " a RECORD may only name files inside site-packages. Nothing was removed."
            )
    try:
        files = [path for path in dist.files if destination.exists(path)]
        listed = set(files)
        cached = []
        for path in files:
            directory, _, filename = path.rpartition("/")
            if not filename.endswith(".py"):
                continue
            pycache = f"{directory}/__pycache__" if directory else "__pycache__"
            if destination.is_dir(pycache):
                pattern = _pycache_pattern(filename[: -len(".py")])
                for name in destination.list_dir(pycache):
                    pyc = f"{pycache}/{name}"
                    if pattern.fullmatch(name) and pyc not in listed:
                        cached.append(pyc)
                        listed.add(pyc)
        own = [path for path in _files_under(destination, dist.dist_info) if path not in listed]
    except OSError as exc:
        raise UninstallError(f"Cannot uninstall {dist}: {exc}") from exc
    return files + cached + own


def _files_under(destination: Destination, directory: str) -> list[str]:
    """Every file (or link) under ``directory``, depth first; links are not followed."""
    found = []
    for name in destination.list_dir(directory):
        path = f"{directory}/{name}"
        if not destination.is_link(path) and destination.is_dir(path):
            found.extend(_files_under(destination, path))
        else:
            found.append(path)
    return found


def remove_distribution(dist: InstalledDistribution, destination: Destination) -> list[str]:
    """Remove ``dist`` inside the caller's open transaction; return the files removed.

    After the files, directories left empty are removed, deepest first, up to
    (not including) the root, along with empty ``__pycache__`` directories in
    them: the ``.dist-info`` directory goes too. Raises ``UninstallError`` from :func:`removal_plan`, ``OSError`` from
    the destination.
    """
    return _remove(destination, removal_plan(dist, destination))


def _remove(destination: Destination, removed: list[str]) -> list[str]:
    for path in removed:
        destination.remove(path)
    directories = {
        path.rsplit("/", i)[0] for path in removed for i in range(1, path.count("/") + 1)
    }
    for directory in sorted(directories, key=lambda d: (-d.count("/"), d)):
        pycache = f"{directory}/__pycache__"
        if destination.is_dir(pycache) and not destination.list_dir(pycache):
            destination.remove_dir(pycache)
        if destination.is_dir(directory) and not destination.list_dir(directory):
            destination.remove_dir(directory)
    return removed


def uninstall(dist: InstalledDistribution, destination: Destination) -> list[str]:
    """Remove ``dist`` in a transaction of its own; return the files removed.

    Files RECORD lists that are already gone are not an error. Any failure
    rolls the destination back and raises :class:`UninstallError`.
    """
    plan = removal_plan(dist, destination)  # refuse before the transaction opens
    destination.begin()
    try:
        removed = _remove(destination, plan)
    except Exception as exc:
        try:
            destination.rollback()
        except OSError as rollback_exc:
            raise UninstallError(
                f"Could not uninstall {dist}: {exc}; rolling back failed too ({rollback_exc}),"
                f" so {str(destination.root)!r} may be left with part of {dist.name}"
            ) from exc
        raise UninstallError(f"Could not uninstall {dist}: {exc}. Nothing was removed.") from exc
    except BaseException:
        destination.rollback()
        raise
    try:
        destination.commit()
    except OSError as exc:
        raise UninstallError(
            f"{dist} was uninstalled, but cleaning up after it failed: {exc}"
        ) from exc
    return removed
