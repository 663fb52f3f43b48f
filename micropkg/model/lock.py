"""A lock: exactly which files to install, whatever format it was written in.

Two formats say the same thing -- PEP 751's ``pylock.toml`` (:mod:`._pylock`)
and Pyodide's ``pyodide-lock.json`` (:mod:`._lockfile`) -- and both become a
:class:`Lock` of :class:`LockedPackage` entries, each with the
:class:`LockedWheel` files it may be installed from.

Going out, :func:`lock_plan` turns a resolver :class:`~._resolver.Plan` into a
lock (hashing any direct-URL wheel the index gave no hash for). Coming in,
:func:`select` applies PEP 751's installation steps for one runtime -- lock
version, ``requires-python``, ``environments``, each entry's ``marker``, one
entry per project, the best wheel by tag -- and :func:`plan_from_lock` makes
the pins the ordinary install pipeline carries out. Nothing is resolved and no
index is asked: :func:`verified_reader` is the only way bytes come in, and it
checks each file's size against the lock, and its hash (unless its caller, which
reads through ``index.downloads``, checks that same hash itself).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from packaging.utils import InvalidWheelFilename, NormalizedName, parse_wheel_filename
from packaging.version import Version

from ..errors import FetchError, LockError
from .candidates import Candidate
from .hashes import check_hashes
from .location import is_absolute, join_location, scheme_of
from .plan import Kept, Pin, Plan
from .simple import DistFile
from .sources import INSTALLED, LockSource
from .target import Target

if TYPE_CHECKING:  # a lock's conditions are read without them when simple (model.lock_conditions)
    from packaging.markers import Marker
    from packaging.specifiers import SpecifierSet

    from .lock_conditions import SimpleMarker, SimpleSpecifierSet

__all__ = [
    "SECURE_HASHES",
    "Lock",
    "LockedPackage",
    "LockedWheel",
    "best_wheel",
    "built_wheel",
    "check_wheel_hashes",
    "environment_marker",
    "plan_from_lock",
    "select",
    "verified_reader",
    "wheel_location",
]

# check_hashes verifies these; a lock whose files carry none of them cannot be trusted.
SECURE_HASHES = ("sha256", "sha384", "sha512")


@dataclass(frozen=True)
class LockedWheel:
    """One wheel file a lock entry may be installed from."""

    filename: str
    url: str | None
    path: str | None  # PEP 751 ``path``: relative to the lock's own location, or absolute
    hashes: Mapping[str, str]
    size: int | None = None
    upload_time: str | None = None  # RFC 3339 in UTC, ``...Z``

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("sha256")


@dataclass(frozen=True)
class LockedPackage:
    name: NormalizedName
    version: Version
    wheels: tuple[LockedWheel, ...]
    marker: Marker | SimpleMarker | None = None
    requires_python: SpecifierSet | SimpleSpecifierSet | None = None
    index: str | None = None  # the Simple API base the files were found on
    dependencies: tuple[str, ...] = ()  # informational only (PEP 751 forbids installing by it)
    # Why the entry has no wheels ("sdist", "vcs", "directory", "archive"), if it has none.
    other_source: str | None = None
    # PEP 751's [packages.sdist]: micropkg builds it in the runtime when no wheel is locked
    # (a build it made before is taken from its cache, keyed by this file's sha256).
    sdist: LockedWheel | None = None
    # For an sdist entry: the wheel micropkg built from it where the lock was made ({"name",
    # "sha256"}, [packages.tool.micropkg] built-wheel). Informational: builds are not
    # byte-for-byte reproducible, so the sdist's hash is what pins the code.
    built_wheel: Mapping[str, str] | None = None
    # The rest of a pyodide-lock.json entry (package_type, imports, install_dir...), kept
    # so that a runtime's own lockfile entries are written back unchanged.
    pyodide: Mapping[str, object] = field(default_factory=dict)

    @property
    def sdist_to_build(self) -> LockedWheel | None:
        """The sdist an install builds: when no wheel is locked (an entry with both installs a wheel)."""
        return None if self.wheels else self.sdist


def built_wheel(value: object) -> dict[str, str] | None:
    """A recorded built wheel ({"name", "sha256"}, both strings), or None for anything else:
    the record is informational, so a malformed one is ignored, not refused."""
    if not isinstance(value, Mapping) or not all(isinstance(value.get(k), str) for k in ("name", "sha256")):
        return None
    return {"name": value["name"], "sha256": value["sha256"]}


@dataclass(frozen=True)
class Lock:
    packages: tuple[LockedPackage, ...]
    source: str  # where the lock was read from, for messages: a URL, a path, or "<text>"
    base_url: str | None = None  # relative wheel paths resolve against this (the lock's location)
    environments: tuple[Marker | SimpleMarker, ...] = ()
    requires_python: SpecifierSet | SimpleSpecifierSet | None = None
    created_by: str = "micropkg"
    target: Target | None = None  # the runtime it was made for, when the lock says
    tool: Mapping[str, object] = field(default_factory=dict)  # [tool.micropkg], informational


def environment_marker(target: Target) -> str:
    """A PEP 508 marker true on ``target``'s runtime and on no other Pyodide ABI.

    ``platform_release`` is the Emscripten version there, and each Pyodide ABI
    is built with exactly one Emscripten version.
    """
    parts = [
        'sys_platform == "emscripten"',
        'platform_machine == "wasm32"',
        f'python_version == "{target.markers["python_version"]}"',
    ]
    if target.info.emscripten_version:
        parts.append(f'platform_release == "{target.markers["platform_release"]}"')
    return " and ".join(parts)


# -- out: a plan becomes a lock --------------------------------------------------------


# -- in: a lock becomes a plan -----------------------------------------------------------


def _wheel_tags(lock: Lock, package: LockedPackage, wheel: LockedWheel):
    try:
        name, version, _, tags = parse_wheel_filename(wheel.filename)
    except InvalidWheelFilename as exc:
        raise LockError(
            f"{lock.source}: {package.name} lists {wheel.filename!r}, which is not a wheel file name ({exc})."
            " micropkg installs wheels only.",
            lock=lock.source,
            project=package.name,
        ) from exc
    if name != package.name or version != package.version:
        raise LockError(
            f"{lock.source}: the entry {package.name} {package.version} lists the wheel"
            f" {wheel.filename}, which is {name} {version}. The lock is inconsistent; regenerate it.",
            lock=lock.source,
            project=package.name,
        )
    return tags


def best_wheel(lock: Lock, package: LockedPackage, target: Target) -> LockedWheel:
    if not package.wheels:
        what = package.other_source or "no file"
        raise LockError(
            f"{lock.source}: {package.name} {package.version} is locked to {what}, and micropkg installs"
            " wheels and pure-Python sdists only. Lock it with a wheel for this runtime, or with its sdist.",
            lock=lock.source,
            project=package.name,
        )
    ranked = []
    for wheel in package.wheels:
        rank = target.tag_rank(_wheel_tags(lock, package, wheel))
        if rank is not None:
            ranked.append((rank, wheel.filename, wheel))
    if not ranked:
        files = ", ".join(w.filename for w in package.wheels)
        raise LockError(
            f"{lock.source}: no wheel of {package.name} {package.version} fits this runtime"
            f" ({target.describe()}); the lock lists {files}. It was made for another Pyodide:"
            f" lock again for this one (python -m micropkg lock --pyodide ...).",
            lock=lock.source,
            project=package.name,
        )
    return min(ranked, key=lambda item: item[:2])[2]


def select(lock: Lock, target: Target) -> list[tuple[LockedPackage, LockedWheel]]:
    """What ``lock`` installs on ``target``: one (entry, wheel) per project, by PEP 751's steps;
    an entry with only an sdist gives its sdist (the install builds it, or takes the cached build).

    Entries whose marker is false here are skipped; everything else that does
    not fit raises :class:`LockError` before anything is downloaded.
    """
    if lock.requires_python is not None and not target.python_ok(lock.requires_python):
        raise LockError(
            f"{lock.source} requires Python {lock.requires_python}; this runtime is Python"
            f" {target.python_full_version}.",
            lock=lock.source,
        )
    if lock.environments and not any(target.marker_ok(m) for m in lock.environments):
        wanted = " or ".join(f"({m})" for m in lock.environments)
        raise LockError(
            f"{lock.source} is for environments {wanted}; this runtime ({target.describe()},"
            f" Python {target.python_full_version}, Emscripten {target.markers.get('platform_release')})"
            " matches none of them.",
            lock=lock.source,
        )
    chosen: dict[str, tuple[LockedPackage, LockedWheel]] = {}
    for package in lock.packages:
        if not target.marker_ok(package.marker):
            continue
        if package.requires_python is not None and not target.python_ok(package.requires_python):
            raise LockError(
                f"{lock.source}: {package.name} {package.version} requires Python {package.requires_python};"
                f" this runtime is Python {target.python_full_version}.",
                lock=lock.source,
                project=package.name,
            )
        if package.name in chosen:
            other = chosen[package.name][0]
            raise LockError(
                f"{lock.source} has two entries for {package.name} that apply here ({other.version} and"
                f" {package.version}); PEP 751 requires exactly one. Fix their markers or lock again.",
                lock=lock.source,
                project=package.name,
            )
        if (sdist := package.sdist_to_build) is not None:
            chosen[package.name] = (package, sdist)  # built when installed (micropkg.build)
        else:
            chosen[package.name] = (package, best_wheel(lock, package, target))
    return list(chosen.values())


def wheel_location(lock: Lock, package: LockedPackage, wheel: LockedWheel) -> str:
    """Where to fetch ``wheel``: its ``path`` when it can be resolved (PEP 751 prefers it), else its ``url``."""
    if wheel.path is not None:
        if is_absolute(wheel.path):
            return wheel.path if scheme_of(wheel.path) else "emfs:" + wheel.path
        if lock.base_url is not None:
            return join_location(lock.base_url, wheel.path)
    if wheel.url is not None:
        return wheel.url
    raise LockError(
        f"{lock.source}: {wheel.filename} of {package.name} has only the relative path {wheel.path!r},"
        " which is relative to the lock file's location, but the lock was given as text."
        " Pass the lock's URL instead (install(lock='https://.../pylock.toml')).",
        lock=lock.source,
        project=package.name,
    )


def plan_from_lock(
    lock: Lock, target: Target, installed: Mapping[NormalizedName, Version]
) -> tuple[Plan, dict[str, DistFile]]:
    """Pins for what ``lock`` installs on ``target``, and the files by URL for :func:`verified_reader`.

    A project installed at the locked version stays (as the resolver keeps
    what is installed); one at another version is replaced.
    """
    pins: list[Pin | Kept] = []
    files: dict[str, DistFile] = {}
    for package, wheel in select(lock, target):
        if installed.get(package.name) == package.version:
            kept = Candidate(package.name, package.version, None, INSTALLED)
            pins.append(Kept(package.name, package.version, kept, ("the lock",)))
        else:
            file = DistFile(
                filename=wheel.filename,
                url=wheel_location(lock, package, wheel),
                hashes=dict(wheel.hashes),
                size=wheel.size,
                upload_time=wheel.upload_time,
            )
            files[file.url] = file
            # Not the file's URL: a locked wheel is no PEP 610 direct reference.
            candidate = Candidate(package.name, package.version, file, LockSource(lock.source, package.index))
            pins.append(Pin(package.name, package.version, candidate, ("the lock",)))
    return Plan(sorted(pins, key=lambda p: p.name)), files


def verified_reader(
    files: Mapping[str, DistFile], read: Callable[[str], Awaitable[bytes]], *, check_hash: bool = True,
) -> Callable[[str], Awaitable[bytes]]:
    """A ``read_url`` for the catalog that fetches only the lock's files and checks each.

    ``check_hash=False`` leaves the hash to the caller, who checks the same file's
    hashes anyway (``index.downloads.Downloads`` checks every file it reads that way):
    hashing a wheel twice costs a megabyte's worth of milliseconds each time. A size that
    differs is checked here either way, and such bytes are still named by their hash first.
    """

    async def read_verified(url: str) -> bytes:
        file = files.get(url)
        if file is None:
            # The catalog only asks for the pins' own files; anything else is a bug, not input.
            raise FetchError(f"{url} is not a file of the lock being installed", url=url)
        data = await read(url)
        wrong_size = file.size is not None and len(data) != file.size
        if check_hash or wrong_size:
            check_hashes(data, file.hashes, url, size=file.size)
        if wrong_size:
            raise FetchError(
                f"Download of {file.filename}: {url} sent {len(data)} bytes, the lock says {file.size}."
                " The file changed since it was locked, or the transfer was cut short.",
                url=url,
            )
        return data

    return read_verified


def check_wheel_hashes(lock_source: str, package: str, wheel: str, hashes: Mapping[str, str]) -> None:
    """Raise :class:`LockError` unless ``hashes`` has a hash micropkg can verify."""
    if not any(hashes.get(algorithm) for algorithm in SECURE_HASHES):
        stated = ", ".join(sorted(hashes)) or "none"
        raise LockError(
            f"{lock_source}: {wheel} of {package} has no sha256, sha384 or sha512 hash (it states: {stated})."
            " micropkg installs only files whose hash the lock pins; regenerate the lock with hashes.",
            lock=lock_source,
            project=package,
        )
