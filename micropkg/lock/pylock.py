"""PEP 751 ``pylock.toml``: reading with ``tomllib``, writing with a small emitter.

The standard library reads TOML but does not write it, so :func:`dumps_toml`
writes the subset a lock needs -- strings, integers, booleans, UTC
datetimes, arrays, inline tables, ``[tables]`` and ``[[arrays of tables]]``
-- and nothing else; :func:`dumps` feeds it a :class:`~._lock.Lock` in the
key order the specification lists. Output is deterministic: packages by
name, wheels by file name, so locking twice gives the same bytes.

What micropkg writes::

    lock-version = "1.0"
    environments = ["sys_platform == \\"emscripten\\" and ... and platform_release == \\"5.0.3\\""]
    requires-python = "==3.14.*"
    created-by = "micropkg"

    [[packages]]
    name = "luau-wasm"
    version = "0.1a0"
    index = "https://pypi.org/simple"

    [[packages.wheels]]
    name = "luau_wasm-0.1a0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    upload-time = 2025-11-02T10:00:00Z
    url = "https://files.pythonhosted.org/..."
    size = 272123
    hashes = {sha256 = "..."}

    [tool.micropkg]
    python = "3.14.2"
    abi = "2026_0"
    emscripten = "5.0.3"
    platform = "pyemscripten_2026_0_wasm32"

An entry micropkg built from an sdist has a ``[packages.sdist]`` table (the
sdist's url and hashes) and no wheels: ``install(lock=...)`` builds it, or
takes the wheel built before from the cache (``micropkg.build``); ``freeze()``
adds ``[packages.tool.micropkg] built-wheel`` (the name and sha256 of the
wheel built here, informational: builds are not reproducible). A mirror
made with ``--build`` lists the wheel it built beside the sdist, with its hash:
that wheel is installed and nothing is built.

``[tool.micropkg]`` names the runtime the lock was made for (PEP 751 keeps
tool data informational: micropkg installs by ``environments`` and the wheel
tags, and uses it only to write a ``pyodide-lock.json`` from a pylock).
"""

from __future__ import annotations

import datetime
import re
import tomllib
import warnings
from collections.abc import Mapping
from typing import Any

from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ..errors import LockError
from ..model.location import filename_of
from ..model.lock import Lock, LockedPackage, LockedWheel, built_wheel, check_wheel_hashes
from ..model.lock_conditions import InvalidCondition, lock_marker, lock_specifier
from .pylock_tool import runtime_target, tool_table

__all__ = ["LOCK_VERSION", "Table", "TableArray", "dumps", "dumps_toml", "loads"]

LOCK_VERSION = "1.0"

_TOP_KEYS = frozenset({
    "lock-version", "environments", "requires-python", "extras", "dependency-groups",
    "default-groups", "created-by", "packages", "tool",
})
_PACKAGE_KEYS = frozenset({
    "name", "version", "marker", "requires-python", "dependencies", "vcs", "directory", "archive",
    "index", "sdist", "wheels", "attestation-identities", "tool",
})
_WHEEL_KEYS = frozenset({"name", "upload-time", "url", "path", "size", "hashes"})


# -- the TOML emitter ----------------------------------------------------------------------


class Table(dict):
    """A table written as a ``[header]`` section (a plain dict is written inline)."""


class TableArray(list):
    """An array of tables written as ``[[header]]`` sections (a plain list is written inline)."""


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:  # TOML forbids raw control characters
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _datetime(value: datetime.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def _value(value: Any) -> str:
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime.datetime):
        return _datetime(value)
    if isinstance(value, (Table, TableArray)):
        raise TypeError("a [table] or [[array of tables]] cannot be written inside an inline value")
    if isinstance(value, dict):
        # Inline tables must stay on one line (TOML 1.0).
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        if len(value) <= 1:
            return "[" + "".join(_value(v) for v in value) + "]"
        return "[\n" + "".join(f"    {_value(v)},\n" for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as TOML")


def _section(lines: list[str], path: list[str], table: Mapping[str, Any]) -> None:
    for key, value in table.items():
        if not isinstance(value, (Table, TableArray)):
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in table.items():
        header = ".".join(_key(k) for k in [*path, key])
        if isinstance(value, TableArray):
            for item in value:
                lines.extend(["", f"[[{header}]]"])
                _section(lines, [*path, key], item)
        elif isinstance(value, Table):
            if any(not isinstance(v, (Table, TableArray)) for v in value.values()) or not value:
                lines.extend(["", f"[{header}]"])  # a table of tables only needs no header of its own
            _section(lines, [*path, key], value)


def dumps_toml(document: Mapping[str, Any]) -> str:
    """``document`` as TOML: :class:`Table`/:class:`TableArray` values get headers, the rest is inline."""
    lines: list[str] = []
    _section(lines, [], document)
    return "\n".join(lines).lstrip("\n") + "\n"


# -- writing a lock ------------------------------------------------------------------------


def _upload_time(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        # Informational and optional in PEP 751: an index's malformed value is
        # left out rather than written as something TOML readers reject.
        return None


def _wheel_table(wheel: LockedWheel) -> Table:
    table = Table(name=wheel.filename)
    if (uploaded := _upload_time(wheel.upload_time)) is not None:
        table["upload-time"] = uploaded
    if wheel.url is not None:
        table["url"] = wheel.url
    if wheel.path is not None:
        table["path"] = wheel.path
    if wheel.size is not None:
        table["size"] = wheel.size
    table["hashes"] = dict(sorted(wheel.hashes.items()))
    return table


def dumps(lock: Lock) -> str:
    """``lock`` as ``pylock.toml`` text."""
    document: dict[str, Any] = {"lock-version": LOCK_VERSION}
    if lock.environments:
        document["environments"] = [str(m) for m in lock.environments]
    if lock.requires_python is not None:
        document["requires-python"] = str(lock.requires_python)
    document["created-by"] = lock.created_by
    packages = TableArray()
    for package in sorted(lock.packages, key=lambda p: p.name):
        entry = Table(name=package.name, version=str(package.version))
        if package.marker is not None:
            entry["marker"] = str(package.marker)
        if package.requires_python is not None:
            entry["requires-python"] = str(package.requires_python)
        if package.index is not None:
            entry["index"] = package.index
        if package.dependencies:
            entry["dependencies"] = [{"name": name} for name in package.dependencies]
        if package.sdist is not None:  # built by micropkg in the runtime (micropkg.build)
            entry["sdist"] = _wheel_table(package.sdist)
        if package.built_wheel:
            entry["tool"] = Table(micropkg=Table({"built-wheel": Table(dict(package.built_wheel))}))
        if package.wheels or package.sdist is None:
            entry["wheels"] = TableArray(_wheel_table(w) for w in sorted(package.wheels, key=lambda w: w.filename))
        packages.append(entry)
    document["packages"] = packages
    tool = tool_table(lock)
    if tool:
        document["tool"] = Table(micropkg=Table(tool))
    return dumps_toml(document)


# -- reading a lock ------------------------------------------------------------------------


class _Reader:
    """Typed access to a parsed document, with errors that say where."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str, project: str | None = None) -> LockError:
        return LockError(f"{self.source}: {where}: {message}", lock=self.source, project=project)

    def get(self, table: Mapping, key: str, kind: type | tuple[type, ...], where: str, *, required: bool = False):
        value = table.get(key)
        if value is None:
            if required:
                raise self.fail(where, f"the required key {key!r} is missing")
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise self.fail(where, f"{key!r} must be a {names}, got {value!r}")
        return value

    def warn_unknown(self, table: Mapping, known: frozenset[str], where: str) -> None:
        unknown = sorted(set(table) - known)
        if unknown:
            warnings.warn(f"{self.source}: {where}: unknown keys {unknown} were ignored", stacklevel=4)

    # Simple forms are read without packaging's parsers (model.lock_conditions), which
    # load for another form: only such a form can be invalid.
    def marker(self, text: str, where: str):
        try:
            return lock_marker(text)
        except InvalidCondition as exc:
            raise self.fail(where, f"invalid marker {text!r}: {exc.reason}") from exc

    def specifier(self, text: str, where: str):
        try:
            return lock_specifier(text)
        except InvalidCondition as exc:
            raise self.fail(where, f"invalid requires-python {text!r}: {exc.reason}") from exc


def _time_text(value: object, reader: _Reader, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        # PEP 751 records upload times in UTC; a local (naive) datetime is read as UTC.
        return _datetime(value)
    raise reader.fail(where, f"'upload-time' must be a TOML datetime, got {value!r}")


def _wheel(raw: Mapping, reader: _Reader, where: str, project: str) -> LockedWheel:
    reader.warn_unknown(raw, _WHEEL_KEYS, where)
    url = reader.get(raw, "url", str, where)
    path = reader.get(raw, "path", str, where)
    if url is None and path is None:
        raise reader.fail(where, "a wheel needs a 'url' or a 'path'", project)
    filename = reader.get(raw, "name", str, where) or filename_of(url or path)
    hashes = reader.get(raw, "hashes", dict, where)
    if not hashes:
        raise reader.fail(
            where, f"{filename} has no hashes; micropkg installs only files whose hash the lock pins", project
        )
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in hashes.items()):
        raise reader.fail(where, f"'hashes' must map algorithm names to hex strings, got {hashes!r}", project)
    hashes = {k.lower(): v.lower() for k, v in hashes.items()}
    check_wheel_hashes(reader.source, project, filename, hashes)
    return LockedWheel(
        filename=filename,
        url=url,
        path=path,
        hashes=hashes,
        size=reader.get(raw, "size", int, where),
        upload_time=_time_text(raw.get("upload-time"), reader, where),
    )


def _package(raw: object, reader: _Reader, position: int) -> LockedPackage:
    where = f"packages[{position}]"
    if not isinstance(raw, dict):
        raise reader.fail(where, f"expected a table, got {raw!r}")
    name = canonicalize_name(reader.get(raw, "name", str, where, required=True))
    where = f"package {name!r}"
    reader.warn_unknown(raw, _PACKAGE_KEYS, where)
    wheels = []
    for i, wheel in enumerate(reader.get(raw, "wheels", list, where) or []):
        if not isinstance(wheel, dict):
            raise reader.fail(f"{where}, wheels[{i}]", f"expected a table, got {wheel!r}", name)
        wheels.append(_wheel(wheel, reader, f"{where}, wheels[{i}]", name))
    version_text = reader.get(raw, "version", str, where)
    try:
        if version_text is not None:
            version = Version(version_text)
        elif wheels:
            version = parse_wheel_filename(wheels[0].filename)[1]
        else:
            raise reader.fail(where, "an entry without wheels must state its 'version' for micropkg", name)
    except (InvalidVersion, InvalidWheelFilename) as exc:
        raise reader.fail(where, f"cannot tell the version: {exc}", name) from exc
    marker = reader.get(raw, "marker", str, where)
    requires_python = reader.get(raw, "requires-python", str, where)
    dependencies = []
    for dep in reader.get(raw, "dependencies", list, where) or []:
        if isinstance(dep, dict) and isinstance(dep.get("name"), str):
            dependencies.append(canonicalize_name(dep["name"]))
    other = next((key for key in ("sdist", "vcs", "directory", "archive") if key in raw), None)
    sdist = _wheel(raw["sdist"], reader, f"{where}, sdist", name) if isinstance(raw.get("sdist"), dict) else None
    return LockedPackage(
        name=name,
        version=version,
        wheels=tuple(wheels),
        marker=reader.marker(marker, where) if marker else None,
        requires_python=reader.specifier(requires_python, where) if requires_python else None,
        index=reader.get(raw, "index", str, where),
        dependencies=tuple(dependencies),
        other_source=other,
        sdist=sdist,
        built_wheel=_built_wheel(raw),
    )


def _built_wheel(raw: dict) -> dict[str, str] | None:
    # [packages.tool.micropkg] built-wheel
    tool = raw.get("tool")
    micropkg = tool.get("micropkg") if isinstance(tool, dict) else None
    return built_wheel(micropkg.get("built-wheel") if isinstance(micropkg, dict) else None)


def loads(text: str, *, source: str = "<text>", base_url: str | None = None) -> Lock:
    """Parse ``pylock.toml`` text; raise :class:`LockError` for anything micropkg cannot trust."""
    reader = _Reader(source)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LockError(f"{source} is not valid TOML: {exc}", lock=source) from exc
    version = reader.get(document, "lock-version", str, "lock-version", required=True)
    major, _, minor = version.partition(".")
    if major != LOCK_VERSION.split(".")[0]:
        raise reader.fail(
            "lock-version", f"version {version!r} is not supported; micropkg reads lock-version 1.x"
        )
    if minor != "0":
        warnings.warn(f"{source}: lock-version {version} is newer than 1.0; unknown keys are ignored", stacklevel=2)
    reader.warn_unknown(document, _TOP_KEYS, "top level")
    created_by = reader.get(document, "created-by", str, "created-by", required=True)
    environments = []
    for marker in reader.get(document, "environments", list, "environments") or []:
        if not isinstance(marker, str):
            raise reader.fail("environments", f"each entry must be a marker string, got {marker!r}")
        environments.append(reader.marker(marker, "environments"))
    requires_python = reader.get(document, "requires-python", str, "requires-python")
    raw_packages = reader.get(document, "packages", list, "packages", required=True)
    packages = tuple(_package(raw, reader, i) for i, raw in enumerate(raw_packages))
    tool = reader.get(document.get("tool") or {}, "micropkg", dict, "[tool]") or {}
    return Lock(
        packages=packages,
        source=source,
        base_url=base_url,
        environments=tuple(environments),
        requires_python=reader.specifier(requires_python, "requires-python") if requires_python else None,
        created_by=created_by,
        target=runtime_target(tool, reader.fail),
        tool={k: v for k, v in tool.items() if k not in ("python", "abi", "emscripten", "platform")},
    )
