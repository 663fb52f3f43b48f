"""Wheel members are read straight from the archive's bytes: held to zipfile's own reader.

``model.wheel._read_member`` inflates a member without ``ZipFile.open`` (a
few C calls instead of some twenty Python ones). The oracle is zipfile: on
archives with bytes flipped in the members' headers and data, whatever the
direct reader returns, zipfile returns too, byte for byte; and what zipfile
reads whole (its declared size, its CRC), the direct reader reads the same.
"""

from __future__ import annotations

import io
import warnings
import zipfile
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micropkg.errors import InvalidWheel
from micropkg.model.wheel import _read_member
from tests.harness.wheels import make_wheel

FILENAME = "demo-1.0-py3-none-any.whl"
FILES = {
    "demo/__init__.py": b"VALUE = 1\n" * 40,
    "demo/data.bin": bytes(range(256)) * 8,
    "demo/empty.py": b"",
}
VALID = make_wheel("demo", "1.0", files=FILES).data


def _stored(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


STORED = _stored(FILES)


def _zipfile_reads(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Overlapped entries": refused by the direct reader
            with archive.open(info) as stream:
                return stream.read()
    except Exception:  # noqa: BLE001 - zipfile's failures are of many kinds: a refusal, for the oracle
        return None


def _compare(data: bytes) -> int:
    """Read every member both ways; return how many both read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.filename.endswith("/")]
    except Exception:  # noqa: BLE001 - a damaged directory is zipfile's to refuse, before any member
        return 0
    both = 0
    for info in infos:
        if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            continue  # refused before any member is read (model.wheel._regular_members)
        theirs = _zipfile_reads(archive, info)
        try:
            mine: bytes | None = _read_member(FILENAME, data, info)
            problem = ""
        except InvalidWheel as exc:
            mine, problem = None, str(exc)
            assert exc.member == info.filename and problem
        if mine is not None:
            assert theirs == mine, info.filename
            both += 1
        elif theirs is not None and len(theirs) == info.file_size and zlib.crc32(theirs) == info.CRC:
            # zipfile read it whole: only what zipfile would cut short or merely warn about is refused.
            assert ("inflates past" in problem or "overlapped" in problem
                    or (info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size)), problem
    return both


@pytest.mark.parametrize("data", [VALID, STORED], ids=["deflated", "stored"])
def test_intact_members_read_as_zipfile_reads_them(data: bytes) -> None:
    assert _compare(data) == len(FILES) + (3 if data is VALID else 0)  # and the wheel's dist-info files


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([VALID, STORED]), st.data())
def test_members_with_flipped_bytes_read_as_zipfile_reads_them(data: bytes, draw) -> None:
    # Flips land before the central directory: in local headers and members' data.
    end = zipfile.ZipFile(io.BytesIO(data)).start_dir
    flips = draw.draw(st.lists(st.tuples(st.integers(0, end - 1), st.integers(0, 255)), min_size=1, max_size=4))
    damaged = bytearray(data)
    for position, value in flips:
        damaged[position] = value
    _compare(bytes(damaged))


def test_a_member_whose_local_header_names_another_is_refused() -> None:
    data = bytearray(VALID)
    at = data.index(b"demo/__init__.py")  # the first local header's name
    data[at:at + 4] = b"evil"
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("demo/__init__.py")
    with pytest.raises(InvalidWheel, match="local header"):
        _read_member(FILENAME, bytes(data), info)


def test_a_member_past_the_end_of_the_archive_is_refused() -> None:
    archive = zipfile.ZipFile(io.BytesIO(VALID))
    info = archive.getinfo("demo/data.bin")
    with pytest.raises(InvalidWheel, match="cannot be read"):
        _read_member(FILENAME, VALID[: info.header_offset + 40], info)
