"""Installing verified wheels into a destination: all of them, or nothing.

:func:`install` touches nothing but the :class:`~._destination.Destination`
it is given, so it runs the same on a real site-packages, in a browser, and
in memory. It works in three steps:

1. plan, per wheel, every file to write: the wheel's members, then
   ``INSTALLER``, ``REQUESTED`` (PEP 376), ``direct_url.json`` (PEP 610)
   and a new ``RECORD`` listing all of them (PEP 627);
2. refuse, before writing anything, a batch that installs one project twice,
   a project already installed and not in ``replace``, two wheels writing
   one path, or a path that already exists and is not a file of a
   distribution being replaced (pip would overwrite it; then uninstalling
   either owner breaks the other);
3. in one transaction, remove the distributions being replaced (per their
   RECORD) and write every planned file. Any failure rolls the destination
   back and raises :class:`~micropkg.InstallError` naming the wheel and path.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from ..errors import InstallError, UninstallError
from ..model.records import RecordEntry, serialize_record
from ..model.wheel import Wheel
from ..model.wheel_member import StreamedMember
from ..value import MutableValue, Value
from .destination import Destination, rolled_back
from .environment import InstalledDistribution, removal_plan, remove_distribution, scan

__all__ = ["InstalledFiles", "install"]


class InstalledFiles(Value, Sequence[str]):
    """What :func:`install` did for one wheel: a sequence of the paths it wrote,
    with the distribution and the shared libraries to load as attributes.
    Immutable by convention."""

    __slots__ = ("name", "version", "dist_info", "paths", "dynlibs", "removed")

    def __init__(
        self,
        name: NormalizedName,
        version: Version,
        dist_info: str,
        paths: tuple[str, ...],  # every file written, relative to the root; RECORD last
        dynlibs: tuple[str, ...],  # the shared libraries among them, for the loader
        removed: tuple[str, ...],  # files of the installed version this one replaced
    ) -> None:
        self.name = name
        self.version = version
        self.dist_info = dist_info
        self.paths = paths
        self.dynlibs = dynlibs
        self.removed = removed

    def __getitem__(self, index):
        return self.paths[index]

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)


class _Plan(MutableValue):
    """One wheel's part of an install: its files, and what of the installed version goes."""

    __slots__ = ("wheel", "files", "replaced", "removals", "removed")

    def __init__(
        self,
        wheel: Wheel,
        files: list[tuple[str, bytes | StreamedMember]],
        replaced: list[InstalledDistribution],
        removals: list[str] | None = None,
        removed: list[str] | None = None,
    ) -> None:
        self.wheel = wheel
        self.files = files
        self.replaced = replaced
        self.removals: list[str] = [] if removals is None else removals
        self.removed: list[str] = [] if removed is None else removed


def install(
    wheels: Sequence[Wheel],
    destination: Destination,
    *,
    installer: str = "micropkg",
    requested: Collection[str] = (),
    direct_urls: Mapping[str, str] | None = None,
    replace: Collection[str] = (),
    commit: bool = True,
    dist_info_files: Mapping[str, Mapping[str, bytes]] | None = None,
    installed: Sequence[InstalledDistribution] | None = None,
) -> list[InstalledFiles]:
    """Install ``wheels`` into ``destination`` in one transaction.

    With ``commit=False`` the transaction is left open on success, for the
    caller to finish with ``destination.commit()`` or ``destination.rollback()``
    once what must follow the writes (loading native code) has worked.

    ``requested``, ``direct_urls`` (project name -> the JSON text of its
    direct_url.json) and ``replace`` are keyed by project name in any
    spelling; names of projects not in ``wheels`` are ignored. A project in
    ``replace`` that is installed is removed first, in the same transaction;
    one that is not is simply installed.

    ``dist_info_files`` (project name -> file name -> bytes) adds files of
    the installer's own to a wheel's ``.dist-info`` (where it came from, for
    ``freeze``); they replace a copy the wheel carries and go into RECORD.

    ``installed``: what ``destination`` holds, if the caller has just scanned it
    (:func:`~.environment.scan`; nothing may have changed since): not scanned again.

    Returns one :class:`InstalledFiles` per wheel, in order.
    """
    if not installer or "\n" in installer:
        raise ValueError(f"installer must be one non-empty line, got {installer!r}")
    requested_names = {canonicalize_name(name) for name in requested}
    replace_names = {canonicalize_name(name) for name in replace}
    urls = {canonicalize_name(name): text for name, text in (direct_urls or {}).items()}
    extras = {canonicalize_name(name): dict(files) for name, files in (dist_info_files or {}).items()}
    for name, named in extras.items():
        for filename in named:
            if not filename or "/" in filename or filename in ("RECORD", "INSTALLER", "REQUESTED"):
                raise ValueError(f"dist_info_files[{name!r}] names {filename!r}, which is not a file of its own")
    for name, text in urls.items():
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"direct_urls[{name!r}] is not JSON: {exc}") from exc

    batch: dict[str, Wheel] = {}
    for wheel in wheels:
        if wheel.name in batch:
            raise InstallError(
                f"Cannot install both {batch[wheel.name].filename} and {wheel.filename}:"
                f" they are the same project {wheel.name!r}. Nothing was written."
            )
        batch[wheel.name] = wheel
    if not batch:
        return []

    try:
        if installed is None:
            installed = scan(destination)
    except OSError as exc:
        raise InstallError(
            f"Cannot read what is installed in {str(destination.root)!r}: {exc}"
        ) from exc

    plans = []
    for wheel in batch.values():
        existing = [dist for dist in installed if dist.name == wheel.name]
        if existing and wheel.name not in replace_names:
            raise InstallError(
                f"Cannot install {wheel.filename}: {existing[0]} is already installed"
                f" ({existing[0].dist_info}); pass replace=[{wheel.name!r}] to reinstall"
                " or upgrade it. Nothing was written."
            )
        files = _files_to_write(
            wheel, installer, wheel.name in requested_names, urls.get(wheel.name), extras.get(wheel.name, {})
        )
        plan = _Plan(wheel, files, existing)
        for dist in existing:
            try:
                plan.removals.extend(removal_plan(dist, destination))
            except UninstallError as exc:
                raise InstallError(
                    f"Cannot install {wheel.filename} in place of {dist}: {exc}"
                ) from exc
        plans.append(plan)

    _check_conflicts(plans, installed, destination)
    _apply(plans, destination, commit=commit)
    return [
        InstalledFiles(
            name=plan.wheel.name,
            version=plan.wheel.version,
            dist_info=plan.wheel.dist_info,
            paths=tuple(path for path, _ in plan.files),
            dynlibs=plan.wheel.dynlibs,
            removed=tuple(plan.removed),
        )
        for plan in plans
    ]


def _files_to_write(
    wheel: Wheel, installer: str, requested: bool, direct_url: str | None,
    extra: Mapping[str, bytes] | None = None,
) -> list[tuple[str, bytes | StreamedMember]]:
    own = {f"{wheel.dist_info}/{name}": data for name, data in (extra or {}).items()}
    members = [(path, data) for path, data in wheel.members if path not in own]
    added = list(own.items())
    added.append((f"{wheel.dist_info}/INSTALLER", f"{installer}\n".encode()))
    if requested:
        added.append((f"{wheel.dist_info}/REQUESTED", b""))
    if direct_url is not None:
        added.append((f"{wheel.dist_info}/direct_url.json", direct_url.encode("utf-8")))
    record_path = f"{wheel.dist_info}/RECORD"
    # The wheel's own files were hashed when the wheel was verified; what micropkg adds was not.
    # (A streamed member always has its entry: its sha256 is taken while it is verified.)
    entries = [wheel.verified.get(path) or RecordEntry.for_bytes(path, bytes(data)) for path, data in members]
    entries += [RecordEntry.for_bytes(path, data) for path, data in added]
    entries.append(RecordEntry(record_path, None, None))  # RECORD cannot hash itself
    files = members + added
    files.append((record_path, serialize_record(entries)))
    return files


def _check_conflicts(
    plans: list[_Plan], installed: Sequence[InstalledDistribution], destination: Destination
) -> None:
    removed = {path for plan in plans for path in plan.removals}
    owners: dict[str, InstalledDistribution] = {}
    for dist in installed:
        for path in dist.files:
            owners.setdefault(path, dist)
    writers: dict[str, Wheel] = {}
    listings: dict[str, frozenset[str] | None] = {}
    for plan in plans:
        for path, _ in plan.files:
            other = writers.get(path)
            if other is not None:
                together = "" if other is plan.wheel else f" together with {other.filename}"
                raise InstallError(
                    f"Cannot install {plan.wheel.filename}{together}: {path!r} would be"
                    " written twice. Nothing was written."
                )
            writers[path] = plan.wheel
            if path in removed:
                continue
            try:
                occupied = _occupied(destination, path, listings)
            except OSError as exc:
                raise InstallError(f"Cannot install {plan.wheel.filename}: {exc}") from exc
            if occupied:
                owner = owners.get(path)
                whose = (
                    f"belongs to {owner} ({owner.dist_info})"
                    if owner is not None
                    else "exists and is listed in no installed distribution's RECORD"
                )
                raise InstallError(
                    f"Cannot install {plan.wheel.filename}: {path!r} {whose};"
                    " installing would overwrite it. Nothing was written."
                )


def _occupied(destination: Destination, path: str, listings: dict[str, frozenset[str] | None]) -> bool:
    """Whether anything is at ``path``, reading each directory once (a wheel's files share a few)."""
    parent, _, name = path.rpartition("/")
    names = listings[parent] if parent in listings else _listing(destination, parent, listings)
    return names is not None and name in names


def _listing(destination: Destination, directory: str, listings: dict[str, frozenset[str] | None]) -> frozenset[str] | None:
    """The names in ``directory``, or None if it is no directory; kept in ``listings``.

    A directory its parent does not list is not there, and is not asked about: a new
    package's directories cost nothing (each question is a few system calls in Pyodide).
    """
    if directory:
        above, _, name = directory.rpartition("/")
        names = listings[above] if above in listings else _listing(destination, above, listings)
        if names is None or name not in names:
            listings[directory] = None
            return None
    listed = frozenset(destination.list_dir(directory)) if destination.is_dir(directory) else None
    listings[directory] = listed
    return listed


def _apply(plans: list[_Plan], destination: Destination, *, commit: bool) -> None:
    root = str(destination.root)
    destination.begin()
    wheel, action = plans[0].wheel, "starting"
    path: str | None = None  # the file being written, if any (its message is made on failure only)
    try:
        # Removals first: the new version may reuse paths the old one held. Each project's
        # changes are marked as its own, for a rollback to undo them together.
        for plan in plans:
            with destination.project(plan.wheel.name):
                for dist in plan.replaced:
                    wheel, action = plan.wheel, f"removing the installed {dist} ({dist.dist_info})"
                    plan.removed.extend(remove_distribution(dist, destination))
        for plan in plans:
            wheel = plan.wheel
            with destination.project(wheel.name):
                for path, data in plan.files:
                    destination.write(path, data)
            path = None
    except Exception as exc:
        if path is not None:
            action = f"writing {path!r}"
        try:
            kept = destination.rollback()
        except OSError as rollback_exc:
            raise InstallError(
                f"Could not install {wheel.filename}: {action} failed: {exc}. Rolling back"
                f" failed too ({rollback_exc}): {root!r} may be left half-installed."
            ) from exc
        raise InstallError(
            f"Could not install {wheel.filename}: {action} failed: {exc}. {rolled_back(destination.root, kept)}"
        ) from exc
    except BaseException:
        destination.rollback()
        raise
    if not commit:
        return
    try:
        destination.commit()
    except OSError as exc:
        names = ", ".join(plan.wheel.filename for plan in plans)
        raise InstallError(
            f"Installed {names}, but cleaning up the rollback data failed: {exc}"
        ) from exc
