"""Pyodide's ``pyodide-lock.json``: reading it as a :class:`~._lock.Lock`, writing one.

The format is Pyodide's own catalogue (``loadPyodide({lockFileURL})``)::

    {"info": {"abi_version": "2026_0", "arch": "wasm32", "platform": "emscripten_5_0_3",
              "python": "3.14.2"},
     "packages": {"luau-wasm": {"name": "luau-wasm", "version": "0.1a0",
                                "file_name": "https://.../luau_wasm-0.1a0-...whl",
                                "sha256": "...", "depends": [], "imports": ["luau_wasm"],
                                "install_dir": "site", "package_type": "package",
                                "unvendored_tests": false}}}

Keys of ``packages`` are canonical names (Pyodide looks entries up by them).
A relative ``file_name`` is relative to the lockfile's own location, which is
what PEP 751's ``path`` means too, so a lock read from here keeps it as the
wheel's ``path``. ``info`` becomes the lock's target and its
``environments`` marker, so a lockfile for another Pyodide ABI is refused by
name before anything is fetched, as Pyodide itself refuses it.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Collection, Mapping

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import LockError
from ..model.location import filename_of, is_absolute
from ..model.lock import (
    Lock,
    LockedPackage,
    LockedWheel,
    best_wheel,
    check_wheel_hashes,
    environment_marker,
)
from ..model.lock_conditions import lock_marker
from ..model.tags import PlatformInfo
from ..model.target import Target

__all__ = ["dumps", "info_for", "loads", "parse_lock", "target_of"]

# What every entry has; the runtime's own entries may carry more (tool, shared_library...).
_DEFAULTS = {"install_dir": "site", "package_type": "package", "imports": [], "unvendored_tests": False}
# Rewritten from the lock's wheel on the way out; every other key is kept as it was.
_FILE_KEYS = ("file_name", "sha256")


def info_for(target: Target) -> dict[str, str]:
    """The ``info`` block for ``target``; Pyodide compares its ``abi_version`` with its own."""
    info = target.info
    if not info.abi_version or not info.emscripten_version:
        raise LockError(
            f"Cannot write a pyodide-lock.json for {target.describe()}: its Pyodide ABI and Emscripten"
            " version must be known (lock with --pyodide VERSION).",
            lock="<pyodide-lock.json>",
        )
    return {
        "abi_version": info.abi_version,
        "arch": "wasm32",
        "platform": "emscripten_" + "_".join(map(str, info.emscripten_version)),
        "python": target.python_full_version,
    }


def _entry(lock: Lock, package: LockedPackage, target: Target, names: Collection[str]) -> dict:
    wheel = package.wheels[0] if len(package.wheels) == 1 else best_wheel(lock, package, target)
    if not wheel.sha256:
        raise LockError(
            f"{lock.source}: {wheel.filename} of {package.name} has no sha256, which pyodide-lock.json"
            " requires; lock again with an index that states sha256 hashes.",
            lock=lock.source,
            project=package.name,
        )
    raw = dict(package.pyodide)
    depends = raw.get("depends")
    if not isinstance(depends, list):
        # Pyodide fails on a depends entry it has no package for.
        depends = [name for name in package.dependencies if name in names]
    return {
        **_DEFAULTS,
        **raw,
        "name": raw.get("name", package.name),
        "version": str(package.version),
        "file_name": wheel.url if wheel.url is not None else wheel.path,
        "sha256": wheel.sha256,
        "depends": depends,
    }


def dumps(lock: Lock, target: Target | None = None, *, info: Mapping[str, str] | None = None) -> str:
    """``lock`` as ``pyodide-lock.json`` text for ``target`` (default: the lock's own)."""
    target = target or lock.target
    if target is None:
        raise LockError(
            f"{lock.source} does not say which Pyodide it is for, and pyodide-lock.json must"
            " (lock with --pyodide VERSION, or write the pylock format).",
            lock=lock.source,
        )
    built = [f"{p.name} {p.version}" for p in lock.packages if p.sdist_to_build is not None]
    if built:
        warnings.warn(
            f"pyodide-lock.json lists wheels only: {', '.join(built)}, built from an sdist by micropkg, is left"
            " out. The pylock format keeps it (as its sdist, built again or taken from the cache on install).",
            stacklevel=3,
        )
    kept = [p for p in lock.packages if p.wheels or p.sdist is None]
    names = {p.name for p in kept}
    packages = {p.name: _entry(lock, p, target, names) for p in sorted(kept, key=lambda p: p.name)}
    document = {"info": dict(info) if info is not None else info_for(target), "packages": packages}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def target_of(info: object, source: str) -> Target:
    """The runtime an ``info`` block describes."""
    if not isinstance(info, dict):
        raise LockError(f"{source}: 'info' must be an object, got {info!r}", lock=source)
    abi, python, platform = info.get("abi_version"), info.get("python"), info.get("platform", "")
    if not isinstance(abi, str) or not isinstance(python, str):
        raise LockError(f"{source}: 'info' must state 'abi_version' and 'python', got {info!r}", lock=source)
    try:
        major, minor = (int(p) for p in python.split(".")[:2])
        emscripten = None
        if isinstance(platform, str) and platform.startswith("emscripten_"):
            emscripten = tuple(int(p) for p in platform[len("emscripten_"):].split("_"))
    except ValueError as exc:
        raise LockError(f"{source}: cannot read the runtime in 'info' {info!r}: {exc}", lock=source) from exc
    platform_info = PlatformInfo(python_version=(major, minor), abi_version=abi, emscripten_version=emscripten)  # type: ignore[arg-type]
    return Target.for_platform(platform_info, python)


def _package(key: str, raw: object, source: str) -> LockedPackage:
    if not isinstance(raw, dict):
        raise LockError(f"{source}: packages[{key!r}] must be an object, got {raw!r}", lock=source)
    missing = [k for k in ("name", "version", "file_name") if not isinstance(raw.get(k), str)]
    if missing:
        raise LockError(f"{source}: packages[{key!r}] lacks {', '.join(missing)}", lock=source, project=key)
    name = canonicalize_name(raw["name"])
    file_name = raw["file_name"]
    sha256 = raw.get("sha256")
    filename = filename_of(file_name)
    if not isinstance(sha256, str) or not sha256:
        raise LockError(
            f"{source}: {filename} of {name} has no sha256; micropkg installs only files whose"
            " hash the lock pins. Regenerate the lockfile with hashes.",
            lock=source,
            project=name,
        )
    check_wheel_hashes(source, name, filename, {"sha256": sha256})
    try:
        version = Version(raw["version"])
    except InvalidVersion as exc:
        raise LockError(f"{source}: {name} has an invalid version {raw['version']!r}", lock=source) from exc
    absolute = is_absolute(file_name)
    wheel = LockedWheel(
        filename=filename,
        url=file_name if absolute else None,
        path=None if absolute else file_name,
        hashes={"sha256": sha256.lower()},
    )
    depends = raw.get("depends")
    return LockedPackage(
        name=name,
        version=version,
        wheels=(wheel,),
        dependencies=tuple(canonicalize_name(d) for d in depends if isinstance(d, str))
        if isinstance(depends, list) else (),
        pyodide={k: v for k, v in raw.items() if k not in _FILE_KEYS},
    )


def loads(text: str, *, source: str = "<text>", base_url: str | None = None) -> Lock:
    """Parse ``pyodide-lock.json`` text; raise :class:`LockError` for anything micropkg cannot trust."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LockError(f"{source} is not valid JSON: {exc}", lock=source) from exc
    if not isinstance(document, dict) or not isinstance(document.get("packages"), dict):
        raise LockError(f"{source} is not a pyodide-lock.json: it has no 'packages' object", lock=source)
    target = target_of(document.get("info"), source)
    packages = tuple(_package(key, raw, source) for key, raw in sorted(document["packages"].items()))
    return Lock(
        packages=packages,
        source=source,
        base_url=base_url,
        # Simple (model.lock_conditions): checked without packaging's marker parser.
        environments=(lock_marker(environment_marker(target)),),
        created_by="pyodide-lock.json",
        target=target,
    )


def parse_lock(text: str, *, source: str = "<text>", base_url: str | None = None) -> Lock:
    """A lock in either format: JSON is ``pyodide-lock.json``, anything else ``pylock.toml``."""
    if text.lstrip().startswith("{"):
        return loads(text, source=source, base_url=base_url)
    from . import pylock as _pylock  # tomllib, compiled on first import: not for a JSON lock

    return _pylock.loads(text, source=source, base_url=base_url)
