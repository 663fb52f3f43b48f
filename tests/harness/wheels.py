"""Wheels built in memory, so a test states exactly what it installs.

:func:`make_wheel` writes a correct wheel (PEP 427 / binary distribution
format): the files, a ``.dist-info`` with ``METADATA`` (Metadata-Version
2.1), ``WHEEL`` and a ``RECORD`` holding each file's urlsafe-base64 sha256
and size. The archive is byte-for-byte reproducible (fixed timestamps and
permissions, sorted members), so a wheel's sha256 is stable across runs and
can be pinned in lockfiles.

Safety tests need wheels that are *not* correct. Two hooks, nothing more:

* ``extra_members`` -- ``(name_or_ZipInfo, bytes)`` pairs written verbatim
  after everything else and never listed in RECORD: path traversal
  (``"../evil.py"``), absolute paths, duplicates, symlinks (a ``ZipInfo``
  with symlink mode bits), files the RECORD does not cover;
* ``record`` -- ``True`` for a correct RECORD, ``False`` to leave it out,
  or ``bytes`` to use as RECORD verbatim (wrong hashes, wrong sizes).
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BuiltWheel", "make_wheel", "record_hash"]

# 1980-01-01 is the earliest time a zip header can hold.
_EPOCH = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o644 << 16

Member = tuple["str | zipfile.ZipInfo", bytes]


@dataclass(frozen=True)
class BuiltWheel:
    """A wheel in memory. ``metadata`` is its METADATA file (PEP 658 serves it)."""

    name: str
    version: str
    filename: str
    data: bytes
    sha256: str
    metadata: bytes

    def write(self, directory: Path) -> Path:
        """Write the wheel into ``directory`` under its file name."""
        path = directory / self.filename
        path.write_bytes(self.data)
        return path


def record_hash(data: bytes) -> str:
    """The hash field of a RECORD line: ``sha256=`` urlsafe base64, unpadded."""
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _escape_name(name: str) -> str:
    """A project name as it appears in a wheel's file name (PEP 427, PEP 503)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _escape_version(version: str) -> str:
    """A version as it appears in a wheel's file name: no ``-``, it separates fields."""
    return version.replace("-", "_")


def _metadata(
    name: str,
    version: str,
    *,
    requires_dist: Iterable[str],
    requires_python: str | None,
    provides_extra: Iterable[str],
    summary: str,
) -> bytes:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary}",
    ]
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    lines.extend(f"Provides-Extra: {extra}" for extra in provides_extra)
    lines.extend(f"Requires-Dist: {requirement}" for requirement in requires_dist)
    return ("\n".join(lines) + "\n").encode("utf-8")


def _wheel_file(tag: str) -> bytes:
    """The WHEEL file; a compressed tag set (``py2.py3-none-any``) is expanded."""
    python, abi, platform = tag.split("-")
    purelib = "true" if platform == "any" else "false"
    lines = ["Wheel-Version: 1.0", "Generator: micropkg-test-harness", f"Root-Is-Purelib: {purelib}"]
    for p in python.split("."):
        for a in abi.split("."):
            for plat in platform.split("."):
                lines.append(f"Tag: {p}-{a}-{plat}")
    return ("\n".join(lines) + "\n").encode("ascii")


def _zipinfo(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = _FILE_MODE
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def make_wheel(
    name: str,
    version: str,
    *,
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    provides_extra: Iterable[str] = (),
    files: Mapping[str, bytes | str] | None = None,
    tag: str = "py3-none-any",
    extra_members: Iterable[Member] = (),
    record: bool | bytes = True,
    summary: str = "A wheel built by micropkg's test harness",
) -> BuiltWheel:
    """Build a wheel named ``{name}-{version}-{tag}.whl``.

    ``files`` maps archive paths to contents; by default the wheel holds one
    package, ``<name>/__init__.py``, that sets ``__version__``.
    """
    escaped = _escape_name(name)
    dist_info = f"{escaped}-{_escape_version(version)}.dist-info"
    if files is None:
        files = {f"{escaped}/__init__.py": f'__version__ = "{version}"\n'}
    metadata = _metadata(
        name,
        version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        provides_extra=provides_extra,
        summary=summary,
    )
    contents: dict[str, bytes] = {
        path: body.encode("utf-8") if isinstance(body, str) else body
        for path, body in files.items()
    }
    contents[f"{dist_info}/METADATA"] = metadata
    contents[f"{dist_info}/WHEEL"] = _wheel_file(tag)
    record_path = f"{dist_info}/RECORD"
    if record is True:
        lines = [f"{path},{record_hash(body)},{len(body)}" for path, body in sorted(contents.items())]
        lines.append(f"{record_path},,")
        contents[record_path] = ("\n".join(lines) + "\n").encode("utf-8")
    elif record is not False:
        contents[record_path] = record

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # dist-info last, as the spec recommends; RECORD last of all.
        ordered = sorted(contents, key=lambda p: (p.startswith(dist_info), p == record_path, p))
        for path in ordered:
            archive.writestr(_zipinfo(path), contents[path])
        with warnings.catch_warnings():
            # Hostile wheels repeat names on purpose; zipfile warns about that.
            warnings.filterwarnings("ignore", "Duplicate name", UserWarning)
            for member, body in extra_members:
                info = _zipinfo(member) if isinstance(member, str) else member
                archive.writestr(info, body)
    data = buffer.getvalue()
    return BuiltWheel(
        name=name,
        version=version,
        filename=f"{escaped}-{_escape_version(version)}-{tag}.whl",
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        metadata=metadata,
    )
