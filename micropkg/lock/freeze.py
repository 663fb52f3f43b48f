"""The runtime's installed set as a :class:`~._lock.Lock` (``micropkg.freeze()``).

A lock needs each distribution's file: where it came from and its hash.
Installed distributions record that in their ``.dist-info``, by installer:

* micropkg writes ``PYODIDE_SOURCE``, ``PYODIDE_URL`` and ``PYODIDE_SHA256``
  -- the files micropip writes, so ``micropip.freeze()`` and Pyodide's
  ``loadedPackages`` understand micropkg's installs and the other way round
  -- and ``micropkg_source.json``, the complete wheel entry of a PEP 751 lock
  (url, hashes, size, upload-time, index), which the PYODIDE files cannot hold;
* micropip writes the PYODIDE files only (no size or upload time then);
* Pyodide's ``loadPackage`` writes ``PYODIDE_SOURCE`` = ``pyodide``; the file
  is then the runtime's own lockfile entry, whose ``file_name`` is relative
  to the runtime's package base URL. The lockfile entries those depend on
  (shared libraries among them) come along, as Pyodide would load them.

A distribution none of these describe (unpacked by hand, or installed at a
version the runtime's lockfile does not list) cannot be locked: it is left
out, with a warning naming it.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
import warnings
from collections.abc import Collection, Mapping
from pathlib import Path

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import IndexFormatError
from ..installation.environment import SOURCE_FILE, InstalledDistribution, distributions
from ..model.location import filename_of, join_location
from ..model.lock import Lock, LockedPackage, LockedWheel, built_wheel, environment_marker
from ..model.metadata import parse_metadata
from ..model.target import Target

__all__ = ["installed_lock", "wheels_only"]


def _read(dist: InstalledDistribution, name: str) -> str | None:
    path = Path(dist.dist_info_path) / name
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def _imports(dist: InstalledDistribution) -> list[str]:
    """Top-level import names, from the files RECORD lists."""
    names = set()
    for path in dist.files:
        top, sep, _ = path.partition("/")
        if sep:
            if not top.endswith((".dist-info", ".data")) and top != "__pycache__" and top.isidentifier():
                names.add(top)
        elif path.endswith(".py") or ".so" in path:
            stem = path.split(".", 1)[0]
            if stem.isidentifier():
                names.add(stem)
    return sorted(names)


def _depends(dist: InstalledDistribution, target: Target, present: Collection[str]) -> list[str]:
    try:
        meta = parse_metadata((Path(dist.dist_info_path) / "METADATA").read_bytes(), source=dist.dist_info)
    except IndexFormatError:
        return []  # the lock stays usable without this informational list
    extras = ["", *sorted(meta.provides_extra)]
    names = {
        canonicalize_name(req.name)
        for req in meta.requires_dist
        if any(target.marker_ok(req.marker, extra) for extra in extras)
    }
    return sorted((names & set(present)) - {dist.name})


def _recorded(dist: InstalledDistribution) -> LockedWheel | None:
    """The wheel micropkg or micropip recorded for ``dist``, if either did."""
    url, sha256 = _read(dist, "PYODIDE_URL"), _read(dist, "PYODIDE_SHA256")
    if not url or not sha256:
        return None
    size = upload_time = None
    hashes = {"sha256": sha256}
    recorded = _read(dist, SOURCE_FILE)
    if recorded:
        try:
            entry = json.loads(recorded)
        except json.JSONDecodeError:
            entry = {}  # damaged: the PYODIDE files still say url and hash
        size = entry.get("size") if isinstance(entry.get("size"), int) else None
        upload_time = entry.get("upload-time") if isinstance(entry.get("upload-time"), str) else None
        if isinstance(entry.get("hashes"), dict):
            hashes = {**{k: v for k, v in entry["hashes"].items() if isinstance(v, str)}, "sha256": sha256}
    return LockedWheel(filename_of(url), url, None, hashes, size, upload_time)


def _built_wheel(dist: InstalledDistribution) -> dict[str, str] | None:
    """The wheel micropkg built from ``dist``'s sdist (name, sha256), as the install recorded it."""
    try:
        entry = json.loads(_read(dist, SOURCE_FILE) or "{}")
    except json.JSONDecodeError:
        return None
    return built_wheel(entry.get("built-wheel") if isinstance(entry, dict) else None)


def _index_of(dist: InstalledDistribution) -> str | None:
    recorded = _read(dist, SOURCE_FILE)
    try:
        index = json.loads(recorded).get("index") if recorded else None
    except json.JSONDecodeError:
        return None
    return index if isinstance(index, str) else None


def _runtime_entry(name: str, entry: Mapping, base_url: str | None) -> LockedPackage | None:
    file_name, sha256, version = entry.get("file_name"), entry.get("sha256"), entry.get("version")
    if not (isinstance(file_name, str) and isinstance(sha256, str) and isinstance(version, str)) \
            or not (file_name and sha256 and version):
        return None
    try:
        parsed = Version(version)
    except InvalidVersion:
        return None
    location = file_name if base_url is None else join_location(base_url, file_name)
    has_scheme = bool(urllib.parse.urlsplit(location).scheme)
    wheel = LockedWheel(
        filename=filename_of(location),
        url=location if has_scheme else None,
        path=None if has_scheme else location,
        hashes={"sha256": sha256},
    )
    depends = entry.get("depends") if isinstance(entry.get("depends"), list) else []
    return LockedPackage(
        name=NormalizedName(name),
        version=parsed,
        wheels=(wheel,),
        dependencies=tuple(canonicalize_name(d) for d in depends if isinstance(d, str)),  # type: ignore[union-attr]
        pyodide={k: v for k, v in entry.items() if k not in ("file_name", "sha256")},
    )


def installed_lock(
    site_packages: Path,
    target: Target,
    *,
    runtime_packages: Mapping[str, Mapping],
    base_url: str | None,
) -> Lock:
    """Every distribution in ``site_packages`` whose file is known, as a lock for ``target``.

    ``runtime_packages`` is the runtime's own lockfile (``packages``), whose
    relative ``file_name`` values resolve against ``base_url``.
    """
    runtime = {canonicalize_name(k): v for k, v in runtime_packages.items() if isinstance(v, Mapping)}
    dists = distributions([site_packages])
    present = {d.name for d in dists}
    packages: dict[str, LockedPackage] = {}
    unlocked = []
    for dist in dists:
        wheel = _recorded(dist)
        if wheel is not None:
            # A wheel micropkg built from an sdist records the sdist: the lock entry is the sdist.
            built = not wheel.filename.endswith(".whl")
            packages[dist.name] = LockedPackage(
                name=dist.name,
                version=dist.version,
                wheels=() if built else (wheel,),
                sdist=wheel if built else None,
                built_wheel=_built_wheel(dist) if built else None,
                index=_index_of(dist),
                dependencies=tuple(_depends(dist, target, present)),
                pyodide={"imports": _imports(dist)},
            )
            continue
        entry = runtime.get(dist.name)
        from_runtime = _runtime_entry(dist.name, entry, base_url) if entry is not None else None
        if from_runtime is not None and from_runtime.version == dist.version:
            packages[dist.name] = from_runtime
        else:
            unlocked.append(f"{dist} ({dist.installer or 'no INSTALLER'})")
    # What Pyodide loaded along with its own packages (shared libraries have no .dist-info).
    pending = [d for p in list(packages.values()) if p.pyodide.get("depends") is not None for d in p.dependencies]
    while pending:
        name = canonicalize_name(pending.pop())
        if name in packages or name not in runtime:
            continue
        extra = _runtime_entry(name, runtime[name], base_url)
        if extra is not None:
            packages[name] = extra
            pending.extend(extra.dependencies)
    if unlocked:
        warnings.warn(
            f"freeze: no source is recorded for {', '.join(unlocked)}; left out of the lock."
            " Install them with micropkg (or pyodide.loadPackage) to make them lockable.",
            stacklevel=3,
        )
    major_minor = target.markers["python_version"]
    return Lock(
        packages=tuple(sorted(packages.values(), key=lambda p: p.name)),
        source="<freeze>",
        environments=(Marker(environment_marker(target)),),
        requires_python=SpecifierSet(f"=={major_minor}.*"),
        target=target,
    )


def wheels_only(lock: Lock) -> Lock:
    """``lock`` without the entries that are not wheels (Pyodide's shared-library archives),
    which a PEP 751 ``[[packages.wheels]]`` list cannot hold; a warning names them."""
    kept = [p for p in lock.packages if p.sdist is not None or all(w.filename.endswith(".whl") for w in p.wheels)]
    dropped = [f"{p.name} {p.version}" for p in lock.packages if p not in kept]
    if dropped:
        warnings.warn(
            f"freeze: {', '.join(dropped)} are not wheels (Pyodide shared libraries); a pylock.toml"
            " cannot list them, so they are left out. format='pyodide-lock' keeps them.",
            stacklevel=3,
        )
    return dataclasses.replace(lock, packages=tuple(kept))
