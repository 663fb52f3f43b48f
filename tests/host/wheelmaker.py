"""Wheels built in memory for tests: honest ones, and hostile ones on request.
Also the two helpers the install tests share: :func:`snapshot` and
:class:`FailingSitePackages`.

``make_wheel()`` returns ``(filename, bytes)`` of a wheel whose RECORD is
right for every member. The keyword arguments break it in one place each::

    make_wheel(extra=[Member("../evil.py", b"x")])           # a hostile member, listed in RECORD
    make_wheel(extra=[Member("demo/x.py", recorded=False)])  # a member RECORD does not list
    make_wheel(edit_record=lambda rows: rows[:-2] + ...)      # any RECORD you like
    make_wheel(dist_info="other-1.0.dist-info")               # a mismatched .dist-info
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import os
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from micropkg.installation.site_packages import SitePackages

__all__ = ["FailingSitePackages", "Member", "make_wheel", "patch_header", "record_row", "snapshot"]

Rows = list[list[str]]


@dataclass
class Member:
    name: str
    data: bytes = b""
    mode: int = stat.S_IFREG | 0o644  # stored in the high 16 bits of external_attr
    recorded: bool = True  # listed in RECORD, with the right hash and size
    compress_type: int = zipfile.ZIP_DEFLATED
    flag_bits: int = 0


def record_row(name: str, data: bytes) -> list[str]:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
    return [name, f"sha256={digest}", str(len(data))]


def make_wheel(
    name: str = "demo",
    version: str = "1.0",
    files: Mapping[str, bytes] | None = None,
    *,
    tag: str = "py3-none-any",
    dist_info: str | None = None,
    metadata: bytes | None = None,
    wheel: bytes | None = None,
    omit: Iterable[str] = (),
    extra: Iterable[Member] = (),
    edit_record: Callable[[Rows], Rows] | None = None,
) -> tuple[str, bytes]:
    """A wheel for ``name`` ``version``; ``files`` maps archive paths to bytes
    (default: ``<name>/__init__.py``). ``omit`` names dist-info files to leave out."""
    stem = f"{name.replace('-', '_')}-{version}"
    dist_info = dist_info or f"{stem}.dist-info"
    if files is None:
        files = {f"{name.replace('-', '_')}/__init__.py": b"VALUE = 1\n"}
    members = [Member(path, data) for path, data in files.items()]
    members.extend(extra)
    omit = set(omit)
    generated = {
        "METADATA": (
            metadata
            if metadata is not None
            else f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n".encode()
        ),
        "WHEEL": (
            wheel
            if wheel is not None
            else b"Wheel-Version: 1.0\nGenerator: wheelmaker\nRoot-Is-Purelib: true\n"
            + f"Tag: {tag}\n".encode()
        ),
    }
    for filename, data in generated.items():
        if filename not in omit:
            members.append(Member(f"{dist_info}/{filename}", data))

    record_name = f"{dist_info}/RECORD"
    rows = [record_row(m.name, m.data) for m in members if m.recorded]
    rows.append([record_name, "", ""])
    if edit_record is not None:
        rows = edit_record(rows)
    if "RECORD" not in omit:
        text = "".join(",".join(row) + "\n" for row in rows)
        members.append(Member(record_name, text.encode()))

    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # "Duplicate name": wanted, for the duplicate test
        for member in members:
            info = zipfile.ZipInfo(member.name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = member.mode << 16
            info.compress_type = member.compress_type
            info.flag_bits |= member.flag_bits
            archive.writestr(info, member.data)
    return f"{stem}-{tag}.whl", buffer.getvalue()


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


def snapshot(root: Path) -> dict[str, tuple]:
    """Everything under ``root``: each file's bytes and mode, each directory's
    mode, each link's target. Equal snapshots mean byte-for-byte equal trees."""
    tree: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            key = path.relative_to(root).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                tree[key] = ("link", os.readlink(path))
            elif stat.S_ISDIR(mode):
                tree[key] = ("dir", stat.S_IMODE(mode))
            else:
                tree[key] = ("file", path.read_bytes(), stat.S_IMODE(mode))
    return tree


class FailingSitePackages(SitePackages):
    """A site-packages whose ``fail_at``-th write or removal fails (1-based).

    A failing write first writes half its bytes, like a full disk would.
    """

    def __init__(self, root: Path, fail_at: int, operation: str = "write") -> None:
        super().__init__(root)
        self.fail_at = fail_at
        self.operation = operation
        self.count = 0

    def _fails(self, operation: str) -> bool:
        if operation == self.operation:
            self.count += 1
        return operation == self.operation and self.count == self.fail_at

    def _write(self, path: str, data: bytes) -> None:
        if self._fails("write"):
            super()._write(path, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "injected failure", path)
        super()._write(path, data)

    def _remove(self, path: str) -> None:
        if self._fails("remove"):
            raise OSError(errno.EACCES, "injected failure", path)
        super()._remove(path)


def wheel(name: str = "demo", version: str = "1.0", files: dict[str, bytes] | None = None):
    """A verified :class:`~micropkg.model.wheel.Wheel` of a freshly made wheel."""
    from micropkg.model.wheel import Wheel

    return Wheel.from_bytes(*make_wheel(name, version, files))
