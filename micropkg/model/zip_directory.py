"""A wheel's zip directory, read for its METADATA member without holding the whole file.

This is the pure half of reading a wheel's METADATA with HTTP range requests
(:mod:`micropkg.index.lazy_wheel`, which says why and how): a generator that
asks for byte ranges of the file and is sent their bytes, and answers with
METADATA. It touches no network, so the same reader serves a whole wheel's
bytes (:func:`metadata_from_wheel`) and both paths accept and refuse the same
files. Damaged or hostile zips are refused with an :class:`IndexFormatError`
naming the file and member; every read is bounded (see the constants).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Generator, Mapping

from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ..errors import IndexFormatError
from ..value import Value

__all__ = [
    "DIRECTORY_LEAD", "EOCD_SIZE", "MAX_DIRECTORY_SIZE", "MAX_METADATA_SIZE", "TAIL_SIZE", "ZIP64_LOCATOR_SIZE",
    "metadata_from_wheel", "read_metadata",
]

_EOCD = struct.Struct("<4s4H2LH")  # End Of Central Directory record: 22 bytes, then a comment
_ZIP64_LOCATOR = struct.Struct("<4sLQL")  # 20 bytes, just before the EOCD
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")  # 56 bytes, then extensible data
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # a central directory entry: 46 bytes, then name, extra, comment
_LOCAL = struct.Struct("<4s5H3L2H")  # a local file header: 30 bytes, then name and extra

# The longest End Of Central Directory record: 22 bytes and a 65,535-byte comment.
TAIL_SIZE = _EOCD.size + 0xFFFF
# How far before the central directory its request reaches, for METADATA (see above).
DIRECTORY_LEAD = 1024 * 1024
# A bigger directory is refused: 32 MiB is some 300,000 members.
MAX_DIRECTORY_SIZE = 32 * 1024 * 1024
# Core metadata is headers and a description; PyPI's largest are well under 1 MiB.
MAX_METADATA_SIZE = 16 * 1024 * 1024
# A local header with the longest name and extra field.
_MAX_LOCAL_HEADER = _LOCAL.size + 2 * 0xFFFF

_STORED, _DEFLATED = 0, 8
_ENCRYPTED, _UTF8 = 0x1, 0x800

Range = tuple[int, int]  # [start, end) of the file
# Builds the error for a problem with the file, or (given a member's name) with one member.
Refuse = Callable[..., IndexFormatError]

EOCD_SIZE = _EOCD.size
ZIP64_LOCATOR_SIZE = _ZIP64_LOCATOR.size


class _Entry(Value):
    """A central directory entry, as much of it as reading the member needs. Immutable by convention."""

    __slots__ = ("name", "raw_name", "flags", "method", "crc", "compressed_size", "file_size", "offset")

    def __init__(
        self, name: str, raw_name: bytes, flags: int, method: int, crc: int, compressed_size: int, file_size: int, offset: int,
    ) -> None:
        self.name = name
        self.raw_name = raw_name
        self.flags = flags
        self.method = method
        self.crc = crc
        self.compressed_size = compressed_size
        self.file_size = file_size
        self.offset = offset  # of its local header


def metadata_from_wheel(filename: str, data: bytes, *, url: str) -> tuple[str, bytes]:
    """``(member name, METADATA bytes)`` out of a whole wheel; ``url`` names it in errors."""
    steps = read_metadata(filename, len(data), url, TAIL_SIZE, DIRECTORY_LEAD, MAX_METADATA_SIZE)
    try:
        start, end = next(steps)
        while True:
            start, end = steps.send(data[start:end])
    except StopIteration as done:
        return done.value


def read_metadata(
    filename: str, size: int, url: str, tail_size: int, lead: int, max_size: int
) -> Generator[Range, bytes, tuple[str, bytes]]:
    """The reading itself, without I/O: yields each range it lacks and is sent its bytes.

    Returns ``(member name, METADATA bytes)``.
    """

    def refuse(problem: str, member: str | None = None) -> IndexFormatError:
        where = filename if member is None else f"{filename} (member {member!r})"
        return IndexFormatError(f"Cannot read the metadata of {where} at {url}: {problem}", url=url)

    if size < _EOCD.size:
        raise refuse(f"the index says it has {size} bytes, too few for a zip file")
    held: dict[int, bytes] = {}  # start -> bytes; a piece that ends where another starts absorbs it

    def find(start: int, end: int) -> bytes | None:
        return next((b[start - at:end - at] for at, b in held.items() if at <= start and end <= at + len(b)), None)

    def read(start: int, end: int) -> Generator[Range, bytes, bytes]:
        if start >= end:
            return b""
        data = find(start, end)
        if data is None:
            # Not the bytes held already again: ask up to the piece that holds the range's end.
            upto = min((at for at, b in held.items() if start < at < end <= at + len(b)), default=end)
            data = yield (start, upto)
            held[start] = data + held.pop(upto, b"")
            data = find(start, end)
            assert data is not None
        return data

    tail_start = max(0, size - tail_size)
    tail = yield from read(tail_start, size)

    # -- the End Of Central Directory record: the last one whose comment reaches the end --
    at = len(tail) - _EOCD.size + 4
    while (at := tail.rfind(b"PK\x05\x06", 0, at)) >= 0:
        if at + _EOCD.size + _EOCD.unpack_from(tail, at)[7] == len(tail):
            break
        at += 3
    if at < 0:
        raise refuse(
            f"its last {len(tail)} bytes hold no end of central directory record: it is not a zip "
            f"file, or not the {size} bytes long the index says"
        )
    eocd_at = tail_start + at
    _, disk, cd_disk, disk_entries, entries, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, at)
    directory_end = eocd_at
    if eocd_at >= _ZIP64_LOCATOR.size:
        locator = yield from read(eocd_at - _ZIP64_LOCATOR.size, eocd_at)
        if locator[:4] == b"PK\x06\x07":
            _, _, record_at, disks = _ZIP64_LOCATOR.unpack(locator)
            if disks > 1 or record_at + _ZIP64_EOCD.size > eocd_at - _ZIP64_LOCATOR.size:
                raise refuse(f"its ZIP64 locator points at offset {record_at} (of {disks} disks)")
            record = yield from read(record_at, record_at + _ZIP64_EOCD.size)
            if record[:4] != b"PK\x06\x06":
                raise refuse(f"it has no ZIP64 end of central directory record at offset {record_at}")
            _, _, _, _, disk, cd_disk, disk_entries, entries, cd_size, cd_offset = _ZIP64_EOCD.unpack(record)
            directory_end = record_at
    if disk or cd_disk or disk_entries != entries:
        raise refuse("it spans several disks")
    if cd_offset + cd_size != directory_end:
        raise refuse(
            f"its central directory ({cd_size} bytes at offset {cd_offset}) does not end where its "
            f"end record begins (offset {directory_end}): a damaged file, or data before the zip"
        )
    if cd_size > MAX_DIRECTORY_SIZE or entries > cd_size // _CENTRAL.size:
        raise refuse(f"its central directory claims {entries} members in {cd_size} bytes")

    # -- the central directory, and (likely) METADATA in the same request --
    if find(cd_offset, directory_end) is None:
        yield from read(max(0, cd_offset - min(cd_size, lead)), directory_end)
    directory = yield from read(cd_offset, directory_end)
    members = _parse_directory(directory, entries, cd_offset, refuse)
    member = _metadata_member(filename, members, refuse)
    entry = members[member]

    # -- the member --
    if entry.flags & _ENCRYPTED:
        raise refuse("it is encrypted", member)
    if entry.method not in (_STORED, _DEFLATED):
        raise refuse(f"it is compressed with method {entry.method}; only stored (0) and deflate (8) are read", member)
    if entry.file_size > max_size or entry.compressed_size > max_size:
        raise refuse(
            f"it declares {entry.file_size} bytes ({entry.compressed_size} compressed); "
            f"metadata larger than {max_size} bytes is not read",
            member,
        )
    if entry.method == _STORED and entry.compressed_size != entry.file_size:
        raise refuse(f"it is stored, yet declares {entry.compressed_size} bytes stored for {entry.file_size}", member)
    # A member ends where the next one (or the directory) begins.
    following = min((e.offset for e in members.values() if e.offset > entry.offset), default=cd_offset)
    end = min(following, entry.offset + _MAX_LOCAL_HEADER + entry.compressed_size)
    if entry.offset + _LOCAL.size + len(entry.raw_name) > end:
        raise refuse(f"its local header at offset {entry.offset} overlaps the next record (offset {end})", member)
    local = yield from read(entry.offset, end)
    signature, _, _, _, _, _, _, _, _, name_length, extra_length = _LOCAL.unpack_from(local)
    if signature != b"PK\x03\x04" or local[_LOCAL.size:_LOCAL.size + name_length] != entry.raw_name:
        raise refuse(f"there is no local header for it at offset {entry.offset}", member)
    data_at = _LOCAL.size + name_length + extra_length
    compressed = local[data_at:data_at + entry.compressed_size]
    if len(compressed) != entry.compressed_size:
        raise refuse(
            f"its {entry.compressed_size} compressed bytes at offset {entry.offset + data_at} run past "
            f"the next record (offset {end})",
            member,
        )
    return member, _inflate(entry, compressed, lambda problem: refuse(problem, member))


def _parse_directory(directory: bytes, entries: int, cd_offset: int, refuse: Refuse) -> dict[str, _Entry]:
    """The directory's entries by name; each must point before the directory."""
    members: dict[str, _Entry] = {}
    duplicates: set[str] = set()
    at = 0
    for number in range(1, entries + 1):
        if at + _CENTRAL.size > len(directory):
            raise refuse(f"its central directory ends within entry {number} of {entries}")
        (signature, _, _, flags, method, _, _, crc, compressed_size, file_size,
         name_length, extra_length, comment_length, _, _, _, offset) = _CENTRAL.unpack_from(directory, at)
        if signature != b"PK\x01\x02":
            raise refuse(f"there is no central directory entry at offset {cd_offset + at}")
        name_at = at + _CENTRAL.size
        at = name_at + name_length + extra_length + comment_length
        if at > len(directory):
            raise refuse(f"entry {number} of its central directory runs past the directory's end")
        raw_name = directory[name_at:name_at + name_length]
        extra = directory[name_at + name_length:name_at + name_length + extra_length]
        # CP437 unless flagged UTF-8, as zipfile (and so Wheel.open) decodes names.
        name = raw_name.decode("utf-8" if flags & _UTF8 else "cp437", errors="replace")
        file_size, compressed_size, offset = _zip64_fields(extra, (file_size, compressed_size, offset), name, refuse)
        if offset + _LOCAL.size + name_length > cd_offset:
            raise refuse(
                f"its local header offset {offset} is not before the central directory (offset {cd_offset})", name
            )
        if name in members:
            duplicates.add(name)
        members[name] = _Entry(name, raw_name, flags, method, crc, compressed_size, file_size, offset)
    if at != len(directory):
        raise refuse(f"its central directory has {len(directory) - at} bytes after its {entries} entries")
    for name in duplicates:
        if name.endswith(".dist-info/METADATA"):
            raise refuse("it is listed more than once in the central directory", name)
    return members


def _zip64_fields(extra: bytes, fields: tuple[int, int, int], name: str, refuse: Refuse) -> tuple[int, int, int]:
    """(size, compressed size, offset), those marked 0xFFFFFFFF read from the ZIP64 extra field."""
    wide = [value == 0xFFFFFFFF for value in fields]
    if not any(wide):
        return fields
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack_from("<2H", extra, at)
        body = extra[at + 4:at + 4 + length]
        if kind == 0x0001 and len(body) >= 8 * sum(wide):
            # The extra field holds only the wide values, in this order.
            values = iter(struct.unpack_from(f"<{sum(wide)}Q", body))
            size, compressed, offset = (next(values) if w else v for v, w in zip(fields, wide, strict=True))
            return size, compressed, offset
        at += 4 + length
    raise refuse("its sizes or offset are marked ZIP64, but no ZIP64 extra field holds them", name)


def _metadata_member(filename: str, members: Mapping[str, _Entry], refuse: Refuse) -> str:
    """``<name>-<version>.dist-info/METADATA``, found by the rules of Wheel.open."""
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise refuse(f"{filename!r} is not a wheel's file name: {exc}") from exc
    # Only top-level directories count: a nested foo/x.dist-info is package data.
    tops = sorted({top for m in members if "/" in m and (top := m.split("/", 1)[0]).endswith(".dist-info")})
    if len(tops) != 1:
        raise refuse(f"expected exactly one .dist-info directory, found {', '.join(map(repr, tops)) or 'none'}")
    dist_info = tops[0]
    dist_name, sep, dist_version = dist_info[: -len(".dist-info")].rpartition("-")
    try:
        agrees = bool(sep) and canonicalize_name(dist_name) == name and Version(dist_version) == version
    except InvalidVersion:
        agrees = False
    if not agrees:
        raise refuse(f"its {dist_info!r} is not the {name}-{version}.dist-info its file name promises")
    member = f"{dist_info}/METADATA"
    if member not in members:
        raise refuse(f"{dist_info}/ has no METADATA")
    return member


def _inflate(entry: _Entry, compressed: bytes, refuse: Callable[[str], IndexFormatError]) -> bytes:
    if entry.method == _STORED:
        data = compressed
    else:
        inflater = zlib.decompressobj(-15)
        try:
            # One byte past the declared size tells a bomb, or a lie, at no cost.
            data = inflater.decompress(compressed, entry.file_size + 1)
        except zlib.error as exc:
            raise refuse(f"its deflate data is damaged: {exc}") from exc
        if len(data) > entry.file_size:
            raise refuse(f"it inflates past its declared size of {entry.file_size} bytes")
        if not inflater.eof or inflater.unused_data:
            raise refuse(
                f"its {entry.compressed_size} compressed bytes are not exactly one deflate stream"
                f" (inflated {len(data)} of the {entry.file_size} bytes declared)"
            )
    if len(data) != entry.file_size:
        raise refuse(f"it holds {len(data)} bytes, its entry declares {entry.file_size}")
    if zlib.crc32(data) != entry.crc:
        raise refuse(f"its CRC-32 is {zlib.crc32(data):08x}, its entry declares {entry.crc:08x}")
    return data
