"""Wheels built in memory, so a test states exactly what it installs.

:func:`make_wheel` writes a correct wheel (PEP 427 / binary distribution
format): the files, a ``.dist-info`` with ``METADATA`` (Metadata-Version
2.1), ``WHEEL`` and a ``RECORD`` holding each file's urlsafe-base64 sha256
and size. The archive is byte-for-byte reproducible (fixed timestamps and
permissions, members in the order given), so a wheel's sha256 is stable
across runs and can be pinned in lockfiles.

Safety tests need wheels that are *not* correct. Each keyword breaks the
wheel in one place::

    make_wheel("demo", "1.0", extra_members=[Member("../evil.py", b"x")])   # listed in RECORD
    make_wheel("demo", "1.0", extra_members=[Member("demo/x.py", recorded=False)])
    make_wheel("demo", "1.0", extra_members=[Member("demo/link", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)])
    make_wheel("demo", "1.0", edit_record=lambda rows: rows[:-2] + ...)      # any RECORD rows you like
    make_wheel("demo", "1.0", record=b"not,a,record\\n")                    # RECORD's bytes verbatim
    make_wheel("demo", "1.0", dist_info="other-1.0.dist-info")             # a mismatched .dist-info
    make_wheel("demo", "1.0", omit=("WHEEL",))                             # a dist-info file left out
    make_wheel("demo", "1.0", metadata=b"Name: other\\n", wheel_file=b"Wheel-Version: 2.0\\n")

:class:`Member` also sets a member's compression and flag bits, and
repeating a name gives a duplicate member. :func:`patch_header` then
rewrites an archive's headers so they lie (declared sizes, encryption flag).
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BuiltWheel", "Member", "Rows", "make_wheel", "patch_header", "record_hash", "record_row"]

# 1980-01-01 is the earliest time a zip header can hold.
_EPOCH = (1980, 1, 1, 0, 0, 0)
_GENERATED = ("METADATA", "WHEEL", "RECORD")

Rows = list[list[str]]


@dataclass(frozen=True)
class Member:
    """One zip member, written as given (a hostile one may be anything)."""

    name: str
    data: bytes = b""
    mode: int = stat.S_IFREG | 0o644  # stored in the high 16 bits of external_attr
    recorded: bool = True  # listed in RECORD, with the right hash and size
    compress_type: int = zipfile.ZIP_DEFLATED
    flag_bits: int = 0


@dataclass(frozen=True)
class BuiltWheel:
    """A wheel in memory. ``metadata`` is its METADATA file (PEP 658 serves it)."""

    name: str
    version: str
    filename: str
    data: bytes
    sha256: str
    metadata: bytes

    @property
    def file(self) -> tuple[str, bytes]:
        """``(filename, data)``, the pair ``Wheel.from_bytes`` and the installer take."""
        return self.filename, self.data

    def write(self, directory: Path) -> Path:
        """Write the wheel into ``directory`` under its file name."""
        path = directory / self.filename
        path.write_bytes(self.data)
        return path


def record_hash(data: bytes) -> str:
    """The hash field of a RECORD line: ``sha256=`` urlsafe base64, unpadded."""
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def record_row(name: str, data: bytes) -> list[str]:
    """The RECORD row that is right for ``data`` under ``name``."""
    return [name, record_hash(data), str(len(data))]


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


def _zipinfo(member: Member) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(member.name, date_time=_EPOCH)
    info.external_attr = member.mode << 16
    info.compress_type = member.compress_type
    info.flag_bits |= member.flag_bits
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
    summary: str = "A wheel built by micropkg's test harness",
    extra_members: Iterable[Member | tuple[str, bytes]] = (),
    dist_info: str | None = None,
    metadata: bytes | None = None,
    wheel_file: bytes | None = None,
    omit: Iterable[str] = (),
    edit_record: Callable[[Rows], Rows] | None = None,
    record: bytes | None = None,
    filename: str | None = None,
) -> BuiltWheel:
    """Build a wheel named ``{name}-{version}-{tag}.whl``.

    ``files`` maps archive paths to contents, written in that order; by
    default the wheel holds one package, ``<name>/__init__.py``, that sets
    ``__version__``. The rest make it hostile:

    ``extra_members``
        :class:`Member` s written after the files, before the ``.dist-info``
        ones; those ``recorded`` are listed in RECORD with their true hash.
    ``dist_info``
        the ``.dist-info`` directory's name instead of ``<name>-<version>.dist-info``.
    ``metadata``, ``wheel_file``
        the METADATA / WHEEL bytes instead of the generated ones.
    ``omit``
        generated ``.dist-info`` files to leave out: ``METADATA``, ``WHEEL``, ``RECORD``.
    ``edit_record``
        takes RECORD's rows (the last one is RECORD's own) and returns the rows to write.
    ``record``
        RECORD's bytes, verbatim.
    ``filename``
        the wheel's file name instead of the escaped ``{name}-{version}-{tag}.whl``.
    """
    escaped = _escape_name(name)
    dist_info = dist_info or f"{escaped}-{_escape_version(version)}.dist-info"
    if files is None:
        files = {f"{escaped}/__init__.py": f'__version__ = "{version}"\n'}
    if metadata is None:
        metadata = _metadata(
            name,
            version,
            requires_dist=requires_dist,
            requires_python=requires_python,
            provides_extra=provides_extra,
            summary=summary,
        )
    omitted = set(omit)
    if unknown := omitted - set(_GENERATED):
        raise ValueError(f"omit names generated .dist-info files {_GENERATED}, not {sorted(unknown)}")

    members = [Member(path, body.encode("utf-8") if isinstance(body, str) else body) for path, body in files.items()]
    members.extend(m for m in extra_members if isinstance(m, Member))
    # A plain (name, data) pair is written verbatim after RECORD and not listed in it: a
    # big last member, as range readers meet it after the .dist-info of some builders.
    trailing = [Member(*m, recorded=False) for m in extra_members if not isinstance(m, Member)]
    # dist-info last, as the spec recommends; RECORD last of all.
    generated = {"METADATA": metadata, "WHEEL": wheel_file if wheel_file is not None else _wheel_file(tag)}
    members.extend(Member(f"{dist_info}/{file}", body) for file, body in generated.items() if file not in omitted)
    record_path = f"{dist_info}/RECORD"
    if record is None:
        rows = [record_row(m.name, m.data) for m in members if m.recorded]
        rows.append([record_path, "", ""])
        if edit_record is not None:
            rows = edit_record(rows)
        record = "".join(",".join(row) + "\n" for row in rows).encode("utf-8")
    if "RECORD" not in omitted:
        members.append(Member(record_path, record))
    members.extend(trailing)

    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        # Hostile wheels repeat names on purpose; zipfile warns about that.
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)
        for member in members:
            archive.writestr(_zipinfo(member), member.data)
    data = buffer.getvalue()
    return BuiltWheel(
        name=name,
        version=version,
        filename=filename or f"{escaped}-{_escape_version(version)}-{tag}.whl",
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        metadata=metadata,
    )


def patch_header(
    data: bytes,
    member: str,
    *,
    size: int | None = None,
    fix_crc: bool = False,
    flag_bits: int | None = None,
) -> bytes:
    """``data`` with fields of ``member``'s local header and central directory
    entry rewritten: ``size`` (uncompressed), ``flag_bits``. A zip that lies.

    With ``fix_crc`` the CRC becomes that of the first ``size`` bytes, so a
    reader that stops at the declared size sees no CRC error.
    """
    patched = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(member)
        content = archive.read(member)
    crc = zlib.crc32(content[:size]) if fix_crc and size is not None else info.CRC
    # (offset in the local header, offset in the central entry, format, value)
    fields = [(14, 16, "<I", crc)]
    if size is not None:
        fields.append((22, 24, "<I", size))
    if flag_bits is not None:
        fields.append((6, 8, "<H", flag_bits))
    local = info.header_offset
    assert patched[local : local + 4] == b"PK\x03\x04"
    central = patched.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", patched, central + 28)[0]
        if patched[central + 46 : central + 46 + name_length] == member.encode():
            break
        central = patched.find(b"PK\x01\x02", central + 4)
    else:
        raise AssertionError(f"{member!r} not in the central directory")
    for local_offset, central_offset, fmt, value in fields:
        struct.pack_into(fmt, patched, local + local_offset, value)
        struct.pack_into(fmt, patched, central + central_offset, value)
    return bytes(patched)
