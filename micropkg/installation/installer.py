"""Carrying out a plan in the running Pyodide: download, verify, write, load.

The order is the safety argument: every wheel of the transaction is
downloaded and hash-checked, then opened and verified (paths, RECORD,
dist-info, and METADATA against the metadata the resolver used), and only
then is anything written -- in one destination transaction that rolls back
on failure. Native libraries load last, when every file they may link
against is in place, and the transaction stays open until they have: if
one fails to load, the files are rolled back (the replaced version comes
back) and nothing the install added stays in ``sys.modules``. A library
that did load cannot be unloaded from the WebAssembly runtime; it stays
in memory, unused, with its file gone.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from ..errors import IndexFormatError, InstallError, InvalidWheel
from ..index.downloads import Downloads
from ..model import digests
from ..model.plan import Pin, Plan
from ..model.sources import DirectSource
from ..model.target import Target
from ..model.wheel import Wheel
from ..net.transport import redact_url
from ..reporter import Reporter, mark
from .destination import rolled_back
from .environment import distributions, source_files
from .site_packages import SitePackages
from .tree_cache import Installed
from .writer import InstalledFiles
from .writer import install as write_wheels

if TYPE_CHECKING:  # locks load only for install(lock=...)
    from ..model.builds import SdistBuilds
    from ..model.lock import Lock
    from ..model.metadata import CoreMetadata
    from ..model.simple import DistFile

__all__ = [
    "Installed", "check_metadata_agrees", "check_tags_fit", "download_and_verify", "forget_modules", "install_lock", "install_plan",
]


async def download_and_verify(
    pins: Sequence[Pin],
    downloads: Downloads,
    reporter: Reporter | None = None,
) -> list[Wheel]:
    """All wheels of the plan, downloaded concurrently and verified; nothing written yet.

    ``reporter`` hears of each file as it arrives. A resolved plan's wheels
    may have been downloaded and verified during the resolution already, and
    each wheel's METADATA must say what the resolver used (``Pin.metadata``).
    """
    reporter = reporter or Reporter()
    mark(reporter, "downloading")
    # Early downloads start during resolution: count from the first of them.
    started = downloads.first_wheel_at if downloads.first_wheel_at is not None else time.perf_counter()
    # The index's sizes (PEP 700) give the total up front; a file without one counts when it lands.
    total = sum(pin.file.size or 0 for pin in pins)
    done = [0, 0]  # bytes, files: one event loop, so no lock is needed

    async def arrival(pin: Pin) -> Wheel:
        nonlocal total
        blob = await downloads.wheel(pin.candidate)
        if not pin.file.size:
            total += len(blob)
        done[0] += len(blob)
        done[1] += 1
        reporter.downloading(done[0], total, done[1], len(pins))
        if done[1] == len(pins):
            mark(reporter, "verifying")  # the last wheel is here (the others may be verified already)
        return await downloads.verified_wheel(pin.candidate)  # opened once, maybe during the resolution

    wheels = await asyncio.gather(*(arrival(pin) for pin in pins))
    reporter.downloaded(len(pins), done[0], time.perf_counter() - started)
    for pin, wheel in zip(pins, wheels):
        # A pin without metadata needs no such check, since no resolver read any for it: a
        # lock's wheel (the lock pins its hash, its file name must be the entry's name and
        # version, and its dist-info and METADATA the file name's: ``Wheel.open``), or a Pyodide
        # distribution build (its dependencies are its lockfile's `depends`, its bytes pinned
        # by that same lockfile's sha256).
        if pin.metadata is not None:
            check_metadata_agrees(wheel, pin.metadata, pin.file.metadata_url)
    return list(wheels)


def check_tags_fit(wheel: Wheel, target: Target) -> None:
    """Raise :class:`InvalidWheel` unless one of the wheel's tags fits ``target``."""
    if target.tag_rank(wheel.tags) is None:
        tags = ", ".join(sorted(str(tag) for tag in wheel.tags))
        raise InvalidWheel(
            f"its tags ({tags}) do not fit this runtime ({target.describe()}); its native code"
            " could not load here. Use a pure-Python wheel or one built for this runtime.",
            filename=wheel.filename,
        )


def _requirement_key(requirement) -> str:
    # str() of a packaging Requirement is already normalised except for name spelling.
    text = str(requirement)
    return canonicalize_name(requirement.name) + text[len(requirement.name):]


def check_metadata_agrees(wheel: Wheel, used: CoreMetadata, source: str) -> None:
    """Raise :class:`InvalidWheel` unless the wheel's METADATA says what the resolver was told.

    Security: the plan was built from the index's PEP 658 file; a wheel whose
    own METADATA differs (another dependency, another Requires-Python) would
    install something nobody resolved. PEP 658 requires the two to be the same.
    """
    # Here, not with the module: a lock's wheels have no resolver's metadata to agree with,
    # and the parser brings packaging's requirements, markers and specifiers.
    from ..model.metadata import parse_metadata

    member = f"{wheel.dist_info}/METADATA"
    try:
        own = parse_metadata(wheel.metadata, source=f"{wheel.filename} ({member})")
    except IndexFormatError as exc:
        raise InvalidWheel(str(exc), filename=wheel.filename, member=member) from exc
    fields = [
        ("Name", used.name, own.name),
        ("Version", str(used.version), str(own.version)),
        ("Requires-Dist", sorted(map(_requirement_key, used.requires_dist)),
         sorted(map(_requirement_key, own.requires_dist))),
        ("Requires-Python", str(used.requires_python or ""), str(own.requires_python or "")),
        ("Provides-Extra", sorted(used.provides_extra), sorted(own.provides_extra)),
    ]
    for field, expected, actual in fields:
        if expected != actual:
            raise InvalidWheel(
                f"its METADATA disagrees with the metadata the resolver used ({redact_url(source)}):"
                f" {field} is {actual!r} in the wheel but {expected!r} in the index's file."
                " The index or the wheel was tampered with; nothing was installed.",
                filename=wheel.filename,
                member=member,
            )


def _direct_url(pin: Pin) -> str | None:
    if not isinstance(pin.source, DirectSource):
        return None
    # PEP 610: record where a direct-reference install came from.
    return json.dumps({"url": pin.file.url, "archive_info": {}})


async def _source_files(pin: Pin, downloads: Downloads) -> dict[str, bytes]:
    """Where the wheel came from, for freeze() (the dist-info files: see _environment.source_files)."""
    file = pin.file
    data = await downloads.wheel(pin.candidate)  # memoised: downloaded once, by download_and_verify
    built = None
    if not file.is_wheel and downloads.builds is not None:  # the sdist's build (memoised too)
        name, wheel = await downloads.builds.wheel(pin.candidate, data)
        built = {"name": name, "sha256": digests.sha256(wheel).hexdigest()}
    return source_files(
        url=file.url,
        # A stated sha256 was checked against these bytes on download; only direct URLs lack one.
        sha256=file.hashes.get("sha256") or digests.sha256(data).hexdigest(),
        size=len(data),
        upload_time=file.upload_time,
        index=pin.source.index_url,
        hashes=file.hashes,
        built=built,
    )


async def install_plan(
    plan: Plan,
    downloads: Downloads,
    root: Path,
    *,
    requested: Collection[str],
    load_dynlibs,
    dynlibs_to_load,
    target: Target | None = None,
    reporter: Reporter | None = None,
    on_committed: Callable[[Sequence[InstalledFiles], list[list[str]], bool], None] | None = None,
) -> list[Installed]:
    """Install what ``plan`` adds to the runtime; return what was installed.

    With ``target``, every wheel's tags must fit it: a direct wheel URL is not
    judged by tag during resolution, and is refused here, before any write.
    ``on_committed`` hears, once the files are in place for good, what was
    written per wheel, the native libraries in the order they loaded, and
    whether an installed version was replaced (for the installed-tree cache).
    """
    pins = plan.to_install
    if not pins:
        return []
    reporter = reporter or Reporter()
    wheels = await download_and_verify(pins, downloads, reporter)
    if target is not None:
        for wheel in wheels:
            check_tags_fit(wheel, target)
    direct_urls: dict[str, str] = {pin.name: url for pin in pins if (url := _direct_url(pin)) is not None}
    sources: dict[str, dict[str, bytes]] = {pin.name: await _source_files(pin, downloads) for pin in pins}
    # From here to the writes nothing awaits: this scan is the writer's too.
    scanned = distributions([root])  # one scan, not one per pin
    present = {dist.name: dist for dist in scanned}
    old = {pin.name: present[pin.name] for pin in pins if pin.name in present}
    replace = set(old)
    destination = SitePackages(root)
    modules_before = set(sys.modules)
    reporter.installing([(pin.name, str(pin.version)) for pin in pins])
    mark(reporter, "writing")
    written = write_wheels(
        wheels,
        destination,
        installer="micropkg",
        requested=set(requested),
        direct_urls=direct_urls,
        replace=replace,
        dist_info_files=sources,
        commit=False,  # open until the native code has loaded: a failure there rolls back too
        installed=scanned,
    )
    native = [(wheel, libs) for wheel, paths in zip(wheels, written) if (libs := dynlibs_to_load(paths.dynlibs))]
    count = sum(len(libs) for _, libs in native)
    if native:
        mark(reporter, "loading")
    loaded = 0

    async def load(libs: list[str]) -> None:
        nonlocal loaded
        for lib in libs:
            loaded += 1
            reporter.loading(lib, loaded, count)
        await load_dynlibs(root, libs)

    try:
        # Each wheel's libraries in their order, the wheels side by side: a wheel's
        # extensions link against its own libraries (and the distribution's shared
        # ones, which load first), so the order between wheels does not matter.
        # (Pyodide 314's loadDynlib takes a lock: the loads themselves run one at a time.)
        outcomes = await asyncio.gather(*(load(libs) for _, libs in native), return_exceptions=True)
        failed = [(wheel, o) for (wheel, _), o in zip(native, outcomes) if isinstance(o, BaseException)]
        if failed:
            failing, exc = failed[0]
            raise exc
    except Exception as exc:  # InstallError from the loader, or the JS loader's own errors
        outcome = _roll_back(destination, root, written, modules_before)
        raise InstallError(
            f"Could not install {failing.filename}: loading its native code failed: {exc}. {outcome}"
        ) from exc
    except BaseException:  # cancelled or interrupted: undo, and let it propagate as it was
        _roll_back(destination, root, written, modules_before)
        raise
    try:
        destination.commit()
    except OSError as exc:
        names = ", ".join(wheel.filename for wheel in wheels)
        raise InstallError(f"Installed {names}, but cleaning up the rollback data failed: {exc}") from exc
    # Modules imported from the replaced versions must not linger in sys.modules.
    forget_modules(root, [f for dist in old.values() for f in dist.files])
    if on_committed is not None:
        on_committed(written, [libs for _, libs in native], bool(old))
    return [
        Installed(pin.name, str(pin.version), pin.file.filename, redact_url(str(pin.source)))
        for pin in pins
    ]


async def install_lock(
    lock: Lock,
    target: Target,
    root: Path,
    read: Callable[[str], Awaitable[bytes]],
    *,
    load_dynlibs,
    dynlibs_to_load,
    reporter: Reporter | None = None,
    builds: SdistBuilds | None = None,
    planned: tuple[Plan, dict[str, DistFile]] | None = None,
) -> list[Installed]:
    """Install exactly what ``lock`` lists for ``target``: no resolution, no index.

    Every wheel comes through ``read`` once, in one concurrent batch, and is
    checked against the lock's hash and size before anything is written.
    An entry locked to an sdist is built by ``builds`` (or taken from its cache).
    ``planned``: what :func:`~micropkg.model.lock.plan_from_lock` made of ``lock`` for
    what is installed in ``root`` (the caller's, made before this module loaded).
    """
    from ..model.lock import plan_from_lock, verified_reader

    started = time.perf_counter()
    if planned is None:
        present = {dist.name: dist.version for dist in distributions([root])}
        planned = plan_from_lock(lock, target, present)
    plan, files = planned
    # Downloads checks each file it reads against the lock's hashes (the file's own): not twice.
    downloads = Downloads(read_url=verified_reader(files, read, check_hash=False), builds=builds)
    pins = plan.to_install
    reporter = reporter or Reporter()
    reporter.resolved([(pin.name, str(pin.version)) for pin in pins], time.perf_counter() - started)
    return await install_plan(
        plan, downloads, root,
        requested={pin.name for pin in pins},
        load_dynlibs=load_dynlibs,
        dynlibs_to_load=dynlibs_to_load,
        target=target,
        reporter=reporter,
    )


def _roll_back(destination: SitePackages, root: Path, written, modules_before: set[str]) -> str:
    """Undo the open transaction and the modules it added; say how that went."""
    try:
        kept = destination.rollback()
    except OSError as exc:
        kept, outcome = [], f"Rolling back failed too ({exc}): {str(root)!r} may be left half-installed."
    else:
        outcome = rolled_back(destination.root, kept)
    # Only what this install added and the rollback removed: modules of a replaced version,
    # imported before, match the restored files, and a file another install has written
    # over since is that install's (its module too).
    gone = {str((root / path).resolve()) for paths in written for path in paths} - {
        str((root / path).resolve()) for path in kept
    }
    for name in set(sys.modules) - modules_before:
        origin = _file_of(sys.modules.get(name))
        if isinstance(origin, str) and origin and str(Path(origin).resolve()) in gone:
            del sys.modules[name]
    return outcome


def _file_of(module: object) -> object:
    """The ``__file__`` a loaded module has set, if any. Not ``getattr``: a module whose code has
    not run yet (index.head_start defers ``platform`` and ``sysconfig``) would run it, ~40 ms
    of compiling in a fresh Pyodide 314 for each install that replaced anything."""
    try:
        return vars(module).get("__file__")
    except TypeError:  # not a module: something placed in sys.modules without a __dict__
        return None


def forget_modules(root: Path, files: Collection[str]) -> list[str]:
    """Drop from ``sys.modules`` every module loaded from one of ``files``."""
    if not files:
        return []  # resolving every loaded module's file costs ~80 ms in Pyodide: skip it when moot
    paths = {str((root / f).resolve()) for f in files}
    # Only a module whose file lies under the root (as given or resolved) can be one of them.
    prefixes = (os.path.join(str(root), ""), os.path.join(str(Path(root).resolve()), ""))
    gone = [
        name for name, module in list(sys.modules.items())
        if (origin := _file_of(module)) and isinstance(origin, str)
        and (origin.startswith(prefixes) or os.path.islink(origin))
        and str(Path(origin).resolve()) in paths
    ]
    for name in gone:
        del sys.modules[name]
    return gone
