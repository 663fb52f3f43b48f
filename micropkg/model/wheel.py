"""A wheel, opened from bytes and verified before anything is written (PEP 427, PEP 491).

:meth:`Wheel.from_bytes` (or :meth:`Wheel.open`, the same checks in slices that
yield to the event loop) is the only way to get a :class:`Wheel`, and it
refuses, with :class:`~micropkg.InvalidWheel` naming the file and member:

* a filename that is not ``name-version(-build)?-tags.whl``, bytes that are not a zip;
* members that are not plain relative paths (see :func:`~._records.path_problem`),
  symlinks and other non-regular members, encrypted members, duplicate names;
* a member over ``max_member_size`` (128 MiB) or members over
  ``max_unpacked_size`` (256 MiB in all) uncompressed, by the sizes the zip
  declares, before anything is inflated, and by the bytes actually produced
  (zip bombs; see :data:`MAX_UNPACKED_SIZE` for why these numbers);
* a missing or ambiguous ``.dist-info`` directory, or one whose name or
  version (or METADATA's ``Name``/``Version``) differs from the filename's;
* a missing METADATA, WHEEL or RECORD, a ``Wheel-Version`` other than 1.x;
* members absent from RECORD, RECORD rows without a member, and members
  whose size or hash differs from their row.

A member over 8 MiB (outside ``.dist-info``) is not held but verified and
later written a piece at a time (:mod:`~micropkg.model.wheel_member`).

What gets installed (:attr:`Wheel.members`): everything under the archive
root, and ``<name>-<version>.data/purelib/`` and ``.../platlib/`` mapped to
the root, whatever ``Root-Is-Purelib`` says: Pyodide has one site-packages.
The ``scripts``, ``headers`` and ``data`` schemes have no use in a browser
and are verified but not installed; neither are the RECORD (the installer
writes its own) and its signatures, nor the files the installer owns
(INSTALLER, REQUESTED, direct_url.json). All of these are listed in
:attr:`Wheel.skipped`.
"""

from __future__ import annotations

import asyncio
import io
import stat
import struct
import zipfile
import zlib
from collections.abc import Generator, Mapping

from packaging.tags import Tag
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ..errors import InvalidWheel
from .records import RecordEntry, path_problem
from .wheel_contents import (
    SLICE,
    check_metadata,
    check_record,
    check_wheel_file,
    find_dist_info,
    install_paths,
)
from .wheel_member import STREAM_THRESHOLD, StreamedMember

__all__ = ["MAX_MEMBER_SIZE", "MAX_UNPACKED_SIZE", "Wheel"]

_MiB = 1 << 20
# What a browser tab can afford. A wheel is verified whole before anything is written:
# its download and its members up to 8 MiB are held in WebAssembly memory at once (bigger
# ones are streamed, a piece at a time: micropkg.model.wheel_member), memory that grows to
# fit and never shrinks, and the installed files hold the same bytes again (in the
# JavaScript heap, under Emscripten's file system). 256 MiB in all is 8 times the largest
# PyEmscripten wheel on PyPI today (pandas 3.1.1 for Pyodide 0.27: 8.1 MB, 33 MiB unpacked,
# no file over 1.1 MiB) and leaves a phone's tab (1-2 GiB; a desktop's gets some 4 GiB)
# room for the page; 128 MiB for one file leaves room for a big native library (which a
# browser must then compile) while one honest-looking member can no longer take a
# gigabyte (the old bound was 1 GiB in all, and held every member whole, twice over).
MAX_UNPACKED_SIZE = 256 * _MiB
MAX_MEMBER_SIZE = 128 * _MiB


class Wheel:
    """A verified wheel held in memory. Build it with :meth:`from_bytes`."""

    __slots__ = (
        "dist_info",
        "filename",
        "members",
        "metadata",
        "name",
        "root_is_purelib",
        "skipped",
        "tags",
        "verified",
        "version",
    )

    def __init__(
        self,
        *,
        filename: str,
        name: NormalizedName,
        version: Version,
        tags: frozenset[Tag],
        dist_info: str,
        metadata: bytes,
        root_is_purelib: bool,
        members: tuple[tuple[str, bytes | StreamedMember], ...],
        skipped: tuple[str, ...],
        verified: Mapping[str, RecordEntry] | None = None,
    ) -> None:
        self.filename = filename
        self.name = name
        self.version = version
        self.tags = tags
        self.dist_info = dist_info
        self.metadata = metadata
        self.root_is_purelib = root_is_purelib
        # (install path, bytes), in archive order; a member too big to hold is a StreamedMember
        self.members = members
        self.skipped = skipped  # archive names verified but not installed
        # Install path -> its RECORD row, sha256 checked against the member's bytes:
        # the installed RECORD reuses these instead of hashing every file again.
        self.verified = verified or {}

    def __repr__(self) -> str:
        return f"<Wheel {self.filename!r}: {len(self.members)} files>"

    @property
    def dynlibs(self) -> tuple[str, ...]:
        """Install paths of shared libraries, in archive order.

        A file is one if its name ends in ``.so`` (extension modules and most
        libraries) or if it lies in a ``*.libs`` directory, where auditwheel-style
        tools vendor dependencies under versioned names like ``libz.so.1``.
        """
        return tuple(
            path
            for path, _ in self.members
            if path.endswith(".so") or any(d.endswith(".libs") for d in path.split("/")[:-1])
        )

    @classmethod
    def from_bytes(
        cls, filename: str, data: bytes, *,
        max_unpacked_size: int = MAX_UNPACKED_SIZE, max_member_size: int = MAX_MEMBER_SIZE,
    ) -> Wheel:
        """Open and verify the wheel ``data``, named ``filename``. See the module docstring."""
        steps = cls._open(filename, data, max_unpacked_size, max_member_size)
        while (wheel := _step(steps)) is None:
            pass
        return wheel

    @classmethod
    async def open(
        cls, filename: str, data: bytes, *,
        max_unpacked_size: int = MAX_UNPACKED_SIZE, max_member_size: int = MAX_MEMBER_SIZE,
    ) -> Wheel:
        """:meth:`from_bytes`, giving the event loop a turn every few hundred kilobytes.

        A wheel downloaded early is verified while the resolution waits on the
        network; in slices, its work cannot hold up the resolution's next requests
        by more than a few milliseconds.
        """
        steps = cls._open(filename, data, max_unpacked_size, max_member_size)
        while (wheel := _step(steps)) is None:
            await asyncio.sleep(0)
        return wheel

    @classmethod
    def _open(
        cls, filename: str, data: bytes, max_unpacked_size: int, max_member_size: int,
    ) -> Generator[None, None, Wheel]:
        # Yields between slices of work (inflating, hashing): see open().
        try:
            name, version, _build, tags = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion) as exc:
            raise InvalidWheel(f"not a valid wheel filename: {exc}", filename=filename) from exc
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        # Besides BadZipFile, zipfile lets these through on corrupt input:
        # NotImplementedError for features it lacks (a newer zip version),
        # ValueError from seeking to a corrupt negative offset.
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as exc:
            raise InvalidWheel(f"not a zip archive: {exc}", filename=filename) from exc
        with archive:
            infos = _regular_members(filename, archive)
            _check_declared_sizes(filename, infos, max_unpacked_size, max_member_size)
            contents: dict[str, bytes | StreamedMember] = {}
            work = 0
            for info in infos:
                if info.file_size > STREAM_THRESHOLD and ".dist-info/" not in info.filename:
                    # Not held: verified (check_record) and written a piece at a time.
                    contents[info.filename] = StreamedMember(filename, data, info)
                    continue
                contents[info.filename] = _read_member(filename, data, info)
                work += info.file_size
                if work > SLICE:
                    work = 0
                    yield

        dist_info = find_dist_info(filename, contents, name, version)
        for required in ("METADATA", "WHEEL", "RECORD"):
            if f"{dist_info}/{required}" not in contents:
                raise InvalidWheel(f"{dist_info}/ has no {required}", filename=filename)
        root_is_purelib = check_wheel_file(filename, dist_info, contents)
        check_metadata(filename, dist_info, contents, name, version)
        checked = yield from check_record(filename, dist_info, contents)
        members, skipped, verified = install_paths(filename, dist_info, contents, checked)
        return cls(
            filename=filename,
            name=name,
            version=version,
            tags=frozenset(tags),
            dist_info=dist_info,
            metadata=contents[f"{dist_info}/METADATA"],  # type: ignore[arg-type]  # held: a dist-info file
            root_is_purelib=root_is_purelib,
            members=members,
            skipped=skipped,
            verified=verified,
        )


def _step(steps: Generator[None, None, Wheel]) -> Wheel | None:
    """One slice of Wheel._open: the wheel when it is done, else None."""
    try:
        next(steps)
    except StopIteration as done:
        return done.value
    return None


def _regular_members(filename: str, archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The archive's file members, every name and type checked; directory entries dropped."""
    files: list[zipfile.ZipInfo] = []
    seen: set[str] = set()
    for info in archive.infolist():
        name = info.filename
        mode = info.external_attr >> 16
        file_type = stat.S_IFMT(mode)
        is_dir = name.endswith("/")
        problem = path_problem(name[:-1] if is_dir else name)
        if problem is not None:
            # Security: the member would be written outside site-packages, or alias another.
            raise InvalidWheel(problem, filename=filename, member=name)
        if name in seen:
            # Security: of two members with one name, RECORD could vouch for one
            # while the other is the one an unpacker writes.
            raise InvalidWheel(
                "the archive contains this name twice", filename=filename, member=name
            )
        seen.add(name)
        if is_dir:
            if file_type not in (0, stat.S_IFDIR):
                raise InvalidWheel(
                    f"a directory entry with file mode {mode:#o}", filename=filename, member=name
                )
            continue
        # Type 0 means the zip was made without Unix modes (e.g. on Windows): a regular file.
        if file_type not in (0, stat.S_IFREG):
            # Security: a symlink member could point anywhere, and a later member
            # written through it would land outside site-packages.
            kind = (
                "a symlink" if file_type == stat.S_IFLNK else f"not a regular file (mode {mode:#o})"
            )
            raise InvalidWheel(f"the member is {kind}", filename=filename, member=name)
        if info.flag_bits & 0x1:
            raise InvalidWheel("the member is encrypted", filename=filename, member=name)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # Every wheel builder writes these two; bz2 and lzma are optional
            # modules that a Pyodide runtime may not have loaded.
            raise InvalidWheel(
                f"compression method {info.compress_type} is not stored (0) or deflate (8)",
                filename=filename,
                member=name,
            )
        files.append(info)
    return files


def _size(size: int) -> str:
    return f"{size:,} bytes ({size / _MiB:,.1f} MiB)"


def _check_declared_sizes(filename: str, infos: list[zipfile.ZipInfo], limit: int, member_limit: int) -> None:
    # Checked before inflating anything: a few kilobytes of deflate can declare gigabytes.
    why = (
        "; a browser tab holds an installing wheel in memory that never shrinks (see"
        " micropkg.model.wheel.MAX_UNPACKED_SIZE). Nothing was inflated or installed."
    )
    for info in infos:
        if info.file_size > member_limit:
            raise InvalidWheel(
                f"the member declares {_size(info.file_size)} uncompressed, from {info.compress_size:,} bytes"
                f" compressed: more than the {_size(member_limit)} micropkg unpacks for one file{why}",
                filename=filename,
                member=info.filename,
            )
    total = sum(info.file_size for info in infos)
    if total > limit:
        largest = max(infos, key=lambda info: info.file_size)
        raise InvalidWheel(
            f"its {len(infos)} members declare {_size(total)} uncompressed in all, more than the"
            f" {_size(limit)} micropkg unpacks for one wheel; the largest is {largest.filename!r},"
            f" {_size(largest.file_size)}{why}",
            filename=filename,
            member=largest.filename,
        )


# A local file header: 30 bytes, then the member's name and an extra field (APPNOTE 4.3.7).
_LOCAL = struct.Struct("<4s5H3L2H")
_UTF8_NAME = 0x800  # general purpose flag bit 11: the name is UTF-8, else CP437
_UNREADABLE = 0x20 | 0x40  # flag bits 5 and 6: compressed patched data, strong encryption


def _read_member(filename: str, data: bytes, info: zipfile.ZipInfo) -> bytes:
    """The member's bytes, inflated straight from the archive's bytes.

    zipfile's reader (``ZipFile.open`` and its stream) takes some twenty Python
    calls per member, twice the time of the inflating itself in Pyodide (1,650
    members in a 23-package install: ~80 ms, ~40 of them inflating). This makes
    the same checks in a few: the local header is there and names the member
    as the central directory does, the data does not run into the next record
    (zipfile's "overlapped entries"), the member inflates to no more than its
    declared size (one byte past it is asked for and refused: a bomb or a lie),
    and its CRC-32 is the declared one. The directory itself is zipfile's.
    """

    def unreadable(problem: str) -> InvalidWheel:
        return InvalidWheel(f"the member cannot be read: {problem}", filename=filename, member=info.filename)

    at = info.header_offset
    if at < 0 or at + _LOCAL.size > len(data):
        raise unreadable(f"its local header at offset {at} lies outside the archive's {len(data)} bytes")
    signature, _, flags, _, _, _, _, _, _, name_length, extra_length = _LOCAL.unpack_from(data, at)
    if signature != b"PK\x03\x04":
        raise unreadable(f"there is no local header at offset {at}")
    if info.flag_bits & _UNREADABLE:
        raise unreadable("compressed patched data or strong encryption (flag bit 5 or 6)")
    start = at + _LOCAL.size
    raw_name = data[start:start + name_length]
    try:
        # As zipfile reads it: the local header's own flag says how its name is encoded.
        local_name = raw_name.decode("utf-8" if flags & _UTF8_NAME else "cp437")
    except UnicodeDecodeError as exc:
        raise unreadable(f"the local header's name is not UTF-8 ({exc})") from exc
    if local_name != info.orig_filename:
        raise unreadable(f"the central directory names it {info.orig_filename!r}, its local header {raw_name!r}")
    start += name_length + extra_length
    end = start + info.compress_size
    # Set by zipfile (3.12+): where the next record begins.
    following = getattr(info, "_end_offset", None)
    if following is not None and end > following:
        raise unreadable(f"its data runs into the next record (offset {following}): overlapped entries")
    if end > len(data):
        raise unreadable(f"its {info.compress_size} compressed bytes run past the end of the archive")
    size = info.file_size
    if info.compress_type == zipfile.ZIP_STORED:
        content = data[start:end]
    else:
        try:
            # A view, not a copy, of the compressed bytes; one byte past the declared size is asked for.
            content = zlib.decompressobj(-15).decompress(memoryview(data)[start:end], size + 1)
        except zlib.error as exc:
            raise unreadable(f"its deflate data is damaged ({exc})") from exc
    if len(content) > size:
        raise InvalidWheel(
            f"the member inflates past its declared size of {size} bytes",
            filename=filename,
            member=info.filename,
        )
    if zlib.crc32(content) != info.CRC:
        raise unreadable(f"its CRC-32 is {zlib.crc32(content):08x}, the archive declares {info.CRC:08x}")
    return content
