"""Building a pure-Python wheel from an sdist, in the running Pyodide, once.

The :class:`Builder` is what the session wires to the resolution's
:class:`~micropkg.model.builds.SdistBuilds`. For an sdist candidate it:

1. looks in the persistent cache for the wheel this sdist built before on
   this runtime (keyed by the sdist's sha256 and the runtime's ABI): a hit
   installs like any wheel, with no build and no build-requirement download;
2. otherwise unpacks the (hash-checked) sdist into a temporary directory
   (:mod:`.sdist`'s rules), reads its ``[build-system]``, refuses a tree that
   needs a compiler (:mod:`.extensions`), and installs the build requirements
   -- wheels only, resolved by micropkg's own resolver from the same sources
   -- into an environment directory beside it, which the user's
   site-packages never see (the installer writes a plan into another root);
3. calls the PEP 517 hooks in this process (:mod:`.backend`):
   ``get_requires_for_build_wheel``, ``prepare_metadata_for_build_wheel``
   for the resolver (or ``build_wheel`` when the backend lacks it), and
   ``build_wheel`` for the install;
4. refuses a wheel that is not pure (``Root-Is-Purelib: false`` or a tag
   other than ``none-any``), keeps it in the cache, and removes the
   temporary directory. The wheel then goes through the installer's usual
   verified, transactional path; its hash is the built file's sha256.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import shutil
import tempfile
import time
import zipfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from ..errors import BuildError, CannotBuild
from ..installation.environment import distributions
from ..installation.installer import install_plan
from ..model.candidates import Candidate
from ..model.target import Target
from ..net.cache import Cache
from ..reporter import Reporter
from .backend import SpawnAttempt, captured, isolated, last_lines, load_backend, no_processes
from .extensions import extension_reason
from .sdist import BuildSystem, SdistName, read_build_system, unpack

if TYPE_CHECKING:
    from ..model.plan import Plan
    from ..resolution.catalog import Catalog

__all__ = ["Builder", "BuildRecord"]

ResolveWheels = Callable[[Sequence[str]], Awaitable["tuple[Plan, Catalog]"]]
_MISSING = object()  # an optional hook the backend does not define


@dataclass
class BuildRecord:
    """What one sdist's build cost: for the reporter's callers, tests and benchmarks."""

    project: str
    version: str
    sdist_size: int
    cached: bool = False  # the wheel came from the cache: nothing was built
    wheel_size: int = 0
    requirements_size: int = 0  # bytes of the build requirements' wheels
    requirements: list[str] = field(default_factory=list)  # "name version" installed for the build
    seconds: float = 0.0


@dataclass
class _Tree:
    """An unpacked sdist, its build system and its build environment."""

    sdist: SdistName
    directory: Path  # the temporary directory holding it all
    root: Path  # the source tree
    system: BuildSystem
    environment: Path
    record: BuildRecord
    metadata_directory: str | None = None
    metadata: bytes = b""


class Builder:
    """Builds sdists into wheels (see the module docstring); one per resolution."""

    def __init__(
        self,
        *,
        target: Target,
        cache: Cache | None,
        resolve_wheels: ResolveWheels,
        site_packages: Path,
        reporter: Reporter | None = None,
    ) -> None:
        self._target = target
        self._cache = cache
        self._resolve_wheels = resolve_wheels
        self._hidden = {str(site_packages)}  # the user's site-packages: not visible to a backend
        self._reporter = reporter or Reporter()
        # The runtime's ABI, for the cache key: a wheel built here is pure, but its metadata
        # may hold markers evaluated by the backend, so it is kept per runtime.
        self._abi = hashlib.sha256(target.describe().encode()).hexdigest()[:16]
        self._trees: dict[str, asyncio.Task[_Tree]] = {}
        self._wheels: dict[str, asyncio.Future[tuple[str, bytes]]] = {}
        self.records: list[BuildRecord] = []

    # -- SdistBuilds -----------------------------------------------------------------------

    async def metadata(self, candidate: Candidate, sdist: bytes) -> bytes:
        key = hashlib.sha256(sdist).hexdigest()
        cached = await self._cached(key, candidate, sdist)
        if cached is not None:
            return _wheel_metadata(*cached)
        tree = await self._tree(candidate, sdist, key)
        if key in self._wheels:  # the backend had no prepare_metadata hook: the wheel is built
            return _wheel_metadata(*await self._wheels[key])
        return tree.metadata

    async def wheel(self, candidate: Candidate, sdist: bytes) -> tuple[str, bytes]:
        key = hashlib.sha256(sdist).hexdigest()
        cached = await self._cached(key, candidate, sdist)
        if cached is not None:
            return cached
        tree = await self._tree(candidate, sdist, key)
        if key not in self._wheels:
            self._wheels[key] = asyncio.ensure_future(self._finish(tree, key))
        return await self._wheels[key]

    def close(self) -> None:
        """Remove the temporary directories of builds not carried through (a dry run, a walk-back)."""
        for task in self._trees.values():
            if task.done() and not task.cancelled() and task.exception() is None:
                shutil.rmtree(task.result().directory, ignore_errors=True)

    # -- the cache -------------------------------------------------------------------------

    def _cache_key(self, key: str) -> str:
        return f"built-wheel-{key}-{self._abi}"

    async def _cached(self, key: str, candidate: Candidate, sdist: bytes) -> tuple[str, bytes] | None:
        if key in self._wheels and self._wheels[key].done():
            return self._wheels[key].result()
        if key in self._trees or self._cache is None:
            return None
        entry = await self._cache.derived(self._cache_key(key))
        if entry is None:
            return None
        try:
            found = json.loads(entry)
            filename, sha256 = found["filename"], found["sha256"]
        except (ValueError, KeyError, TypeError):
            return None  # an unreadable entry: build again (and overwrite it)
        data = await self._cache.file(sha256)  # checked against its sha256 on read
        if data is None:
            return None
        done: asyncio.Future[tuple[str, bytes]] = asyncio.get_running_loop().create_future()
        done.set_result((filename, data))
        self._wheels[key] = done
        self.records.append(BuildRecord(str(candidate.name), str(candidate.version), len(sdist), cached=True,
                                        wheel_size=len(data)))
        return filename, data

    async def _keep(self, key: str, filename: str, data: bytes) -> None:
        if self._cache is None:
            return
        sha256 = hashlib.sha256(data).hexdigest()
        await self._cache.keep_file(sha256, data)
        await self._cache.keep_derived(self._cache_key(key), json.dumps({"filename": filename, "sha256": sha256}).encode())
        await self._cache.settle()

    # -- preparing: unpack, check, environment, metadata -----------------------------------

    def _tree(self, candidate: Candidate, sdist: bytes, key: str) -> asyncio.Task[_Tree]:
        if key not in self._trees:
            self._trees[key] = asyncio.ensure_future(self._prepare(candidate, sdist))
        return self._trees[key]

    async def _prepare(self, candidate: Candidate, data: bytes) -> _Tree:
        assert candidate.file is not None  # an sdist candidate always has its file
        name = SdistName(str(candidate.name), str(candidate.version), candidate.file.filename)
        self._reporter.building(name.project, name.version)
        started = time.perf_counter()
        directory = Path(tempfile.mkdtemp(prefix=f"micropkg-build-{candidate.name}-"))
        record = BuildRecord(name.project, name.version, len(data))
        self.records.append(record)
        try:
            (directory / "src").mkdir()
            root = unpack(data, directory / "src", name)
            system = read_build_system(root, name)
            reason = extension_reason(root, system)
            if reason is not None:
                raise CannotBuild(
                    f"Cannot install {name.project} {name.version} from its sdist {name.filename}: it {reason};"
                    " they cannot be compiled in the browser. Nothing was installed. Use a release or a"
                    " project with a wheel for this runtime (or a pure-Python py3-none-any wheel).",
                    project=name.project, version=name.version, filename=name.filename, reason=reason,
                )
            tree = _Tree(name, directory, root, system, directory / "env", record)
            await self._install(system.requires, tree.environment, record)
            extra = self._call(tree, "get_requires_for_build_wheel", {})
            if extra is not _MISSING and not _satisfied(list(extra), tree.environment):
                # Whatever the backend adds (PEP 517), with what it had, in a fresh environment.
                tree.environment = directory / "env-full"
                await self._install([*system.requires, *extra], tree.environment, record)
            metadata_directory = directory / "metadata"
            metadata_directory.mkdir()
            found = self._call(tree, "prepare_metadata_for_build_wheel", str(metadata_directory), {})
            if found is _MISSING:
                key = hashlib.sha256(data).hexdigest()
                built = self._build(tree)
                self._wheels[key] = asyncio.ensure_future(self._kept(key, tree, built))
            else:
                tree.metadata_directory = str(metadata_directory / found)
                tree.metadata = (metadata_directory / found / "METADATA").read_bytes()
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        finally:
            record.seconds += time.perf_counter() - started
        return tree

    async def _install(self, requirements: Sequence[str], environment: Path, record: BuildRecord) -> None:
        """The build requirements, as wheels, installed into ``environment`` (not site-packages)."""
        environment.mkdir()
        if not requirements:
            return
        plan, catalog = await self._resolve_wheels(list(requirements))
        try:
            await install_plan(
                plan, catalog.downloads, environment, requested=set(),
                load_dynlibs=_no_libraries, dynlibs_to_load=lambda paths: [], target=self._target,
            )
        finally:
            await catalog.settle()
        for pin in plan.to_install:
            record.requirements.append(f"{pin.name} {pin.version}")
            record.requirements_size += len(await catalog.downloads.wheel(pin.candidate))

    # -- building ----------------------------------------------------------------------------

    async def _finish(self, tree: _Tree, key: str) -> tuple[str, bytes]:
        started = time.perf_counter()
        try:
            built = self._build(tree)
        finally:
            tree.record.seconds += time.perf_counter() - started
        return await self._kept(key, tree, built)

    async def _kept(self, key: str, tree: _Tree, built: tuple[str, bytes]) -> tuple[str, bytes]:
        shutil.rmtree(tree.directory, ignore_errors=True)
        await self._keep(key, *built)
        return built

    def _build(self, tree: _Tree) -> tuple[str, bytes]:
        out = tree.directory / "dist"
        out.mkdir(exist_ok=True)
        filename = self._call(tree, "build_wheel", str(out), {}, tree.metadata_directory)
        if not isinstance(filename, str) or not (out / filename).is_file():
            raise self._failed(tree, "build_wheel", f"it returned {filename!r}, which names no file it wrote", "")
        data = (out / filename).read_bytes()
        _check_pure(tree.sdist, filename, data)
        tree.record.wheel_size = len(data)
        return filename, data

    def _call(self, tree: _Tree, hook: str, *args: Any) -> Any:
        """PEP 517 hook ``hook`` of the tree's backend, called in isolation (see :mod:`.backend`)."""
        output = io.StringIO()
        attempts: list[str] = []
        paths = [*tree.system.backend_path, str(tree.environment)]
        try:
            with isolated(tree.root, paths, self._hidden, tree.environment), no_processes(attempts), captured(output):
                function = getattr(load_backend(tree.system.backend), hook, None)
                return _MISSING if function is None else function(*args)
        except (Exception, SystemExit) as exc:  # SystemExit: setup.py's errors end in sys.exit
            if attempts or isinstance(exc, SpawnAttempt):
                raise CannotBuild(
                    f"Cannot install {tree.sdist.project} {tree.sdist.version} from its sdist {tree.sdist.filename}:"
                    f" its build ({tree.system.backend}, {hook}) tried to start a process ({attempts[0]!r}) --"
                    " a compiler, most likely, which the browser does not have. Nothing was installed; use a"
                    " release or a project with a wheel for this runtime.",
                    project=tree.sdist.project, version=tree.sdist.version, filename=tree.sdist.filename,
                    reason="starts a process in its build (a compiler)",
                ) from exc
            raise self._failed(tree, hook, f"{type(exc).__name__}: {exc}", output.getvalue()) from exc

    def _failed(self, tree: _Tree, hook: str, problem: str, output: str) -> BuildError:
        tail = last_lines(output)
        said = f" Its last output:\n{tail}" if tail else ""
        return BuildError(
            f"Building {tree.sdist.project} {tree.sdist.version} from its sdist {tree.sdist.filename} failed:"
            f" its build backend {tree.system.backend!r} ({hook}) says {problem}. Nothing was installed;"
            f" use a release with a wheel, or report it to the project.{said}",
            project=tree.sdist.project, version=tree.sdist.version, filename=tree.sdist.filename,
        )


async def _no_libraries(root: Path, paths: Sequence[str]) -> None:
    """Build requirements are not imported by the user: their native libraries are not loaded."""


def _satisfied(requirements: Sequence[str], environment: Path) -> bool:
    present = {d.name: d.version for d in distributions([environment])}
    for text in requirements:
        req = Requirement(text)
        version = present.get(canonicalize_name(req.name))
        if version is None or not req.specifier.contains(version, prereleases=True):
            return False
    return True


def _wheel_metadata(filename: str, data: bytes) -> bytes:
    from ..resolution.catalog import read_wheel_metadata

    return read_wheel_metadata(filename, data)


def _check_pure(sdist: SdistName, filename: str, data: bytes) -> None:
    """Refuse a built wheel that is not pure Python, or not the sdist's project and version."""
    refuse = {"project": sdist.project, "version": sdist.version, "filename": sdist.filename}
    try:
        name, version, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise BuildError(f"Building {sdist.project} {sdist.version} made {filename!r}, not a wheel: {exc}", **refuse) from exc
    if name != canonicalize_name(sdist.project) or str(version) != sdist.version:
        raise BuildError(
            f"Building {sdist.project} {sdist.version} from {sdist.filename} made {filename}, a wheel of"
            f" {name} {version}: the sdist is not what its name says. Nothing was installed.", **refuse,
        )
    impure = sorted(str(t) for t in tags if t.abi != "none" or t.platform != "any")
    purelib = False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            wheel_files = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/WHEEL")]
            text = archive.read(wheel_files[0]).decode("utf-8", "replace") if len(wheel_files) == 1 else ""
            purelib = any(line.split(":", 1)[1].strip().lower() == "true" for line in text.splitlines()
                          if line.lower().startswith("root-is-purelib:"))
    except zipfile.BadZipFile as exc:
        raise BuildError(f"Building {sdist.project} {sdist.version} made {filename}, which is not a zip: {exc}", **refuse) from exc
    if impure or not purelib:
        why = f"its tags are {', '.join(impure)}" if impure else "its WHEEL file says Root-Is-Purelib is not true"
        raise CannotBuild(
            f"Cannot install {sdist.project} {sdist.version} from its sdist {sdist.filename}: the wheel it built"
            f" ({filename}) is not pure Python ({why}); its native code cannot be compiled in the browser."
            " Nothing was installed.", reason="builds a wheel that is not pure Python", **refuse,
        )
