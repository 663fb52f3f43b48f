"""METADATA out of a wheel by HTTP range requests (micropkg.index.lazy_wheel, micropkg.model.zip_directory), over a MockTransport
serving real zip bytes: with and without range support, ZIP64, big and small wheels, and
hostile central directories. zipfile (and the catalog's whole-wheel reader) is the oracle."""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import random
import re
import struct
import tracemalloc
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micropkg.errors import (
    FetchError,
    HTTPStatusError,
    IndexFormatError,
    IntegrityError,
)
from micropkg.index.lazy_wheel import MetadataRead, fetch_wheel_metadata
from micropkg.model.zip_directory import TAIL_SIZE, metadata_from_wheel
from micropkg.net.transport import MockTransport, Request, Response
from micropkg.resolution.catalog import read_wheel_metadata
from tests.harness.wheels import BuiltWheel, make_wheel

URL = "https://files.example/packages/demo.whl"


def server(data: bytes, *, ranges: bool = True, content_range: bool = True) -> MockTransport:
    """A file host holding ``data``: 206 for a range (clamped, as servers do), 416 past the end."""

    def handle(request: Request) -> Response:
        asked = re.fullmatch(r"bytes=(\d+)-(\d+)", request.headers.get("Range", ""))
        if not ranges or asked is None:
            return Response(request.url, 200, {"content-type": "application/octet-stream"}, data)
        start, end = int(asked[1]), min(int(asked[2]), len(data) - 1)
        if start >= len(data):
            return Response(request.url, 416, {"content-range": f"bytes */{len(data)}"}, b"")
        headers = {"content-range": f"bytes {start}-{end}/{len(data)}"} if content_range else {}
        return Response(request.url, 206, headers, data[start:end + 1])

    return MockTransport(handle)


def fetch(transport: MockTransport, wheel_filename: str, size: int | None, **kwargs) -> MetadataRead:
    return asyncio.run(fetch_wheel_metadata(transport, URL, wheel_filename, size=size, **kwargs))


def asked(transport: MockTransport) -> list[tuple[int, int]]:
    """The ranges asked, inclusive, in order."""
    found = [re.fullmatch(r"bytes=(\d+)-(\d+)", r.headers["Range"]) for r in transport.requests]
    return [(int(m[1]), int(m[2])) for m in found if m is not None]


def oracle(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist() if info.filename.endswith("/METADATA")}


def noise(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)  # incompressible: the zip is as big as it says


def many_files(count: int) -> dict[str, bytes]:
    return {f"big/pkg_{i:05d}/module_{i}.py": f"VALUE = {i}\n".encode() for i in range(count)}


# -- how many requests, of what size ------------------------------------------------------------


def test_a_wheel_no_bigger_than_the_tail_is_one_request_for_the_whole_file():
    wheel = make_wheel("demo", "1.0", requires_dist=["dep>=2"])
    assert len(wheel.data) < TAIL_SIZE
    transport = server(wheel.data)
    read = fetch(transport, wheel.filename, len(wheel.data), hashes={"sha256": wheel.sha256})
    assert asked(transport) == [(0, len(wheel.data) - 1)]
    assert (read.how, read.metadata, read.wheel) == ("whole-file", wheel.metadata, wheel.data)
    assert (read.member, read.requests, read.bytes_received) == ("demo-1.0.dist-info/METADATA", 1, len(wheel.data))


def test_a_big_wheel_with_many_files_costs_two_small_requests():
    # Like botocore: thousands of members (a directory bigger than the tail) and megabytes of data.
    wheel = make_wheel("demo", "1.0", files={**many_files(3000), "big/blob.bin": noise(4_000_000)})
    size = len(wheel.data)
    with zipfile.ZipFile(io.BytesIO(wheel.data)) as archive:
        directory_size = size - archive.start_dir - 22
    assert size > 4_000_000 and directory_size > TAIL_SIZE
    transport = server(wheel.data)
    read = fetch(transport, wheel.filename, size)
    assert (read.how, read.metadata, read.wheel) == ("ranges", wheel.metadata, None)
    tail_start = size - TAIL_SIZE
    # The tail, then the directory with as many bytes again before it; nothing asked twice.
    assert asked(transport) == [(tail_start, size - 1), (archive.start_dir - directory_size, tail_start - 1)]
    assert read.requests == 2 and read.bytes_received == 2 * directory_size + 22  # 22: the end record
    assert read.bytes_received < 0.1 * size


def test_without_reaching_back_before_the_directory_metadata_costs_a_third_request():
    wheel = make_wheel("demo", "1.0", files=many_files(3000))
    transport = server(wheel.data)
    read = fetch(transport, wheel.filename, len(wheel.data), directory_lead=0)
    assert read.metadata == wheel.metadata and read.requests == 3
    with zipfile.ZipFile(io.BytesIO(wheel.data)) as archive:
        infos = sorted(archive.infolist(), key=lambda i: i.header_offset)
    member = next(i for i in infos if i.filename == "demo-1.0.dist-info/METADATA")
    following = infos[infos.index(member) + 1]
    # Exactly the member: its local header up to the next member's.
    assert asked(transport)[2] == (member.header_offset, following.header_offset - 1)


def test_metadata_before_a_big_last_member_is_the_second_request_exactly():
    # The directory fits in the tail, METADATA lies megabytes before it.
    wheel = make_wheel("demo", "1.0", extra_members=[("zz/blob.bin", noise(3_000_000))])
    size = len(wheel.data)
    transport = server(wheel.data)
    read = fetch(transport, wheel.filename, size)
    with zipfile.ZipFile(io.BytesIO(wheel.data)) as archive:
        offsets = {i.filename: i.header_offset for i in archive.infolist()}
    assert read.metadata == wheel.metadata and read.how == "ranges"
    assert asked(transport) == [
        (size - TAIL_SIZE, size - 1),
        (offsets["demo-1.0.dist-info/METADATA"], offsets["demo-1.0.dist-info/WHEEL"] - 1),
    ]
    assert read.bytes_received < TAIL_SIZE + 1000


def test_metadata_inside_the_tail_of_a_big_wheel_is_one_request():
    wheel = make_wheel("demo", "1.0", files={"demo/blob.bin": noise(2_000_000)})
    transport = server(wheel.data)
    read = fetch(transport, wheel.filename, len(wheel.data))
    assert (read.how, read.metadata, read.requests, read.bytes_received) == ("ranges", wheel.metadata, 1, TAIL_SIZE)


def test_bytes_already_held_are_not_asked_again():
    # METADATA's local header starts before the tail and ends inside it.
    probe = make_wheel("demo", "1.0", files={"demo/blob.bin": noise(200_000)})
    with zipfile.ZipFile(io.BytesIO(probe.data)) as archive:
        offset = archive.getinfo("demo-1.0.dist-info/METADATA").header_offset
    tail = len(probe.data) - offset - 10  # 10 bytes of the header lie before the tail
    transport = server(probe.data)
    read = fetch(transport, probe.filename, len(probe.data), tail_size=tail)
    assert read.metadata == probe.metadata
    assert asked(transport) == [(len(probe.data) - tail, len(probe.data) - 1), (offset, offset + 9)]


def test_no_size_means_no_request():
    transport = server(b"never read")
    read = fetch(transport, "demo-1.0-py3-none-any.whl", None)
    assert read == MetadataRead("no-size", None, None, None, requests=0, bytes_received=0)
    assert transport.requests == []


def test_headers_go_with_every_range():
    wheel = make_wheel("demo", "1.0", files=many_files(3000))
    transport = server(wheel.data)
    fetch(transport, wheel.filename, len(wheel.data), headers={"Authorization": "Basic eDp5"}, directory_lead=0)
    assert len(transport.requests) == 3
    for request in transport.requests:
        assert request.headers["Authorization"] == "Basic eDp5"
        # Both ends stated: a suffix range ("bytes=-N") is not CORS-safelisted.
        assert re.fullmatch(r"bytes=\d+-\d+", request.headers["Range"])


# -- servers that do not serve ranges, or serve them wrong ------------------------------------


def test_a_server_without_ranges_sends_the_whole_file_once():
    wheel = make_wheel("demo", "1.0", files={"demo/blob.bin": noise(500_000)})
    transport = server(wheel.data, ranges=False)
    read = fetch(transport, wheel.filename, len(wheel.data), hashes={"sha256": wheel.sha256})
    assert (read.how, read.metadata, read.wheel) == ("whole-file", wheel.metadata, wheel.data)
    assert (read.requests, read.bytes_received) == (1, len(wheel.data))


def test_a_whole_file_after_a_range_is_used_for_the_rest():
    wheel = make_wheel("demo", "1.0", extra_members=[("zz/blob.bin", noise(300_000))])
    # A server (or cache in front of it) that honours the first range only.
    answers = iter([server(wheel.data), server(wheel.data, ranges=False)])
    transport = MockTransport(lambda request: next(answers).fetch(request))
    read = fetch(transport, wheel.filename, len(wheel.data), hashes={"sha256": wheel.sha256})
    assert (read.how, read.metadata, read.wheel, read.requests) == ("whole-file", wheel.metadata, wheel.data, 2)


@pytest.mark.parametrize("ranges", [True, False], ids=["small-wheel", "no-range-support"])
def test_a_whole_file_is_hash_checked(ranges):
    wheel = make_wheel("demo", "1.0")
    with pytest.raises(IntegrityError, match=r"Hash mismatch for https://files\.example/"):
        fetch(server(wheel.data, ranges=ranges), wheel.filename, len(wheel.data), hashes={"sha256": "0" * 64})


def test_a_whole_file_of_another_size_is_refused():
    wheel = make_wheel("demo", "1.0", files={"demo/blob.bin": noise(200_000)})
    with pytest.raises(FetchError, match=r"answered 200 with the whole file, \d+ bytes, but the index says 300000"):
        fetch(server(wheel.data, ranges=False), wheel.filename, 300_000)


def test_a_hidden_content_range_is_checked_by_length():
    # Browsers hide Content-Range from cross-origin pages unless the server exposes it.
    wheel = make_wheel("demo", "1.0", files=many_files(3000))
    read = fetch(server(wheel.data, content_range=False), wheel.filename, len(wheel.data))
    assert read.metadata == wheel.metadata and read.requests == 2


@pytest.mark.parametrize(
    "content_range",
    ["bytes 1-65557/{size}", "bytes {start}-{end}/{other}", "bytes {start}-{end}", "items {start}-{end}/{size}"],
)
def test_a_content_range_other_than_asked_is_refused(content_range):
    wheel = make_wheel("demo", "1.0", files={"demo/blob.bin": noise(200_000)})
    size = len(wheel.data)

    def handle(request: Request) -> Response:
        start, end = map(int, request.headers["Range"][6:].split("-"))
        header = content_range.format(start=start, end=end, size=size, other=size + 1)
        return Response(request.url, 206, {"content-range": header}, wheel.data[start:end + 1])

    with pytest.raises(FetchError, match=f"Asked {URL} for bytes={size - TAIL_SIZE}-{size - 1} ") as caught:
        fetch(MockTransport(handle), wheel.filename, size)
    sent = content_range.format(start=size - TAIL_SIZE, end=size - 1, size=size, other=size + 1)
    assert f"answered 206 with {TAIL_SIZE} bytes and Content-Range {sent!r}" in str(caught.value)


def test_a_short_206_is_refused():
    wheel = make_wheel("demo", "1.0", files={"demo/blob.bin": noise(200_000)})
    transport = MockTransport(lambda r: Response(r.url, 206, {}, wheel.data[-100:]))
    with pytest.raises(FetchError, match="answered 206 with 100 bytes and Content-Range None"):
        fetch(transport, wheel.filename, len(wheel.data))


def test_a_size_beyond_the_file_is_a_416_naming_the_size():
    wheel = make_wheel("demo", "1.0", files={"demo/blob.bin": noise(200_000)})
    claimed = 10 * len(wheel.data)
    with pytest.raises(HTTPStatusError, match=f"the index says has {claimed} bytes; it answered 416") as caught:
        fetch(server(wheel.data), wheel.filename, claimed)
    assert caught.value.status == 416 and caught.value.url == URL


def test_a_size_short_of_the_file_is_refused():
    wheel = make_wheel("demo", "1.0", files={"demo/blob.bin": noise(200_000)})
    size = len(wheel.data)
    with pytest.raises(FetchError, match=f"the index says {size - 7} bytes"):
        fetch(server(wheel.data), wheel.filename, size - 7)
    with pytest.raises(IndexFormatError, match=f"no end of central directory record.* not the {size - 7} bytes"):
        fetch(server(wheel.data, content_range=False), wheel.filename, size - 7)


@pytest.mark.parametrize("status", [403, 404, 500])
def test_other_statuses_raise(status):
    transport = MockTransport(lambda r: Response(r.url, status, {"content-type": "text/html"}, b"no"))
    with pytest.raises(HTTPStatusError, match=f"Metadata of demo-1.0-py3-none-any.whl .* answered HTTP {status}"):
        fetch(transport, "demo-1.0-py3-none-any.whl", 1_000_000)


# -- ZIP64 ---------------------------------------------------------------------------------------


def zip64_wheel(monkeypatch: pytest.MonkeyPatch, **kwargs) -> BuiltWheel:
    # zipfile writes ZIP64 records past these limits; lowered, a small wheel gets them all:
    # the ZIP64 end record and locator, and 64-bit sizes and offsets in every directory entry.
    with monkeypatch.context() as patch:
        patch.setattr(zipfile, "ZIP64_LIMIT", 0)
        patch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 0)
        wheel = make_wheel("demo", "1.0", **kwargs)
    assert b"PK\x06\x06" in wheel.data and b"PK\x06\x07" in wheel.data
    return wheel


def _maxed_end_record(data: bytes) -> bytes:
    # What writers with real ZIP64 archives put in the classic record: "see the ZIP64 one".
    at = data.rindex(b"PK\x05\x06")
    return data[:at + 8] + struct.pack("<2H2L", 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF) + data[at + 20:]


@pytest.mark.parametrize("maxed", [False, True], ids=["zip64-record", "zip64-record-and-maxed-end-record"])
def test_zip64(monkeypatch, maxed):
    wheel = zip64_wheel(monkeypatch, extra_members=[("zz/blob.bin", noise(300_000))])
    data = _maxed_end_record(wheel.data) if maxed else wheel.data
    assert oracle(data) == {"demo-1.0.dist-info/METADATA": wheel.metadata}
    read = fetch(server(data), wheel.filename, len(data))
    assert (read.how, read.metadata, read.requests) == ("ranges", wheel.metadata, 2)
    assert metadata_from_wheel(wheel.filename, data, url=URL) == ("demo-1.0.dist-info/METADATA", wheel.metadata)


def test_zip64_with_the_directory_outside_the_tail(monkeypatch):
    wheel = zip64_wheel(monkeypatch, files=many_files(3000))
    read = fetch(server(wheel.data), wheel.filename, len(wheel.data))
    assert (read.metadata, read.requests) == (wheel.metadata, 2)


def test_a_zip64_locator_pointing_past_itself_is_refused(monkeypatch):
    wheel = zip64_wheel(monkeypatch)
    at = wheel.data.rindex(b"PK\x06\x07")
    data = wheel.data[:at + 8] + struct.pack("<Q", len(wheel.data)) + wheel.data[at + 16:]
    with pytest.raises(IndexFormatError, match=f"its ZIP64 locator points at offset {len(wheel.data)}"):
        metadata_from_wheel(wheel.filename, data, url=URL)


# -- real wheels ------------------------------------------------------------------------------------


def test_real_pyemscripten_wheels(real_wheels):
    for real in real_wheels:
        data = real.data
        transport = server(data)
        read = fetch(transport, real.filename, len(data), hashes={"sha256": real.sha256})
        assert read.metadata == real.metadata == read_wheel_metadata(real.filename, data)
        # luau-wasm (272 KB) holds its directory and METADATA in the tail; msgpack is smaller than it.
        assert read.requests == 1
        assert read.how == ("ranges" if len(data) > TAIL_SIZE else "whole-file")


# -- hostile and damaged zips -----------------------------------------------------------------------

BASE = make_wheel("demo", "1.0", requires_dist=["dep"], extra_members=[("zz/blob.bin", noise(100_000))])
MEMBER = "demo-1.0.dist-info/METADATA"


def _entry(data: bytes, name: str = MEMBER) -> int:
    """Where ``name``'s central directory entry starts (its name's last copy is the directory's)."""
    at = data.rindex(name.encode()) - 46
    assert data[at:at + 4] == b"PK\x01\x02"
    return at


def _put(data: bytes, at: int, fmt: str, value: int) -> bytes:
    return data[:at] + struct.pack(fmt, value) + data[at + struct.calcsize(fmt):]


def _field(offset: int, fmt: str, change):
    def patched(data: bytes) -> bytes:
        at = _entry(data) + offset
        return _put(data, at, fmt, change(struct.unpack_from(fmt, data, at)[0], data))
    return patched


def _end(offset: int, fmt: str, change):
    def patched(data: bytes) -> bytes:
        at = data.rindex(b"PK\x05\x06") + offset
        return _put(data, at, fmt, change(struct.unpack_from(fmt, data, at)[0], data))
    return patched


def _offset_of(name: str) -> int:
    with zipfile.ZipFile(io.BytesIO(BASE.data)) as archive:
        return archive.getinfo(name).header_offset


def _renamed(data: bytes) -> bytes:
    at = _entry(data) + 46
    return data[:at] + MEMBER.replace("METADATA", "METADATX").encode() + data[at + len(MEMBER):]


HOSTILE = {
    "directory-past-its-end-record": (_end(16, "<L", lambda v, d: v + 100), "does not end where its end record begins"),
    "directory-outside-the-file": (
        _end(16, "<L", lambda v, d: len(d) + 100), "does not end where its end record begins"
    ),
    "directory-starting-early": (
        lambda d: _end(12, "<L", lambda v, _: v + 10)(_end(16, "<L", lambda v, _: v - 10)(d)),
        "no central directory entry at offset",
    ),
    "more-entries-than-the-directory-holds": (
        lambda d: _end(8, "<H", lambda v, _: v + 1)(_end(10, "<H", lambda v, _: v + 1)(d)),
        "its central directory ends within entry",
    ),
    "fewer-entries-than-the-directory-holds": (
        lambda d: _end(8, "<H", lambda v, _: v - 1)(_end(10, "<H", lambda v, _: v - 1)(d)),
        "bytes after its",
    ),
    "absurd-entry-count": (
        lambda d: _end(8, "<H", lambda v, _: 0xFFFE)(_end(10, "<H", lambda v, _: 0xFFFE)(d)),
        "its central directory claims 65534 members",
    ),
    "several-disks": (_end(4, "<H", lambda v, d: 1), "it spans several disks"),
    "data-before-the-zip": (lambda d: b"#!/bin/sh\n" * 10 + d, "data before the zip"),
    "local-header-after-the-directory": (
        _field(42, "<L", lambda v, d: d.rindex(b"PK\x05\x06") - 5),
        "is not before the central directory",
    ),
    "local-header-of-another-member": (
        _field(42, "<L", lambda v, d: _offset_of("demo-1.0.dist-info/WHEEL")),
        "no local header for it at offset",
    ),
    "declared-size-beyond-the-bound": (
        _field(24, "<L", lambda v, d: 17 * 1024 * 1024), "metadata larger than 16777216"
    ),
    "compressed-size-beyond-the-bound": (_field(20, "<L", lambda v, d: 17 * 1024 * 1024), "metadata larger than"),
    "compressed-size-past-the-next-member": (_field(20, "<L", lambda v, d: v + 1000), "run past the next record"),
    "compressed-size-short": (_field(20, "<L", lambda v, d: v - 10), "not exactly one deflate stream"),
    "declared-size-short": (_field(24, "<L", lambda v, d: v - 1), "inflates past its declared size"),
    "declared-size-long": (_field(24, "<L", lambda v, d: v + 1), "holds \\d+ bytes, its entry declares"),
    "crc": (_field(16, "<L", lambda v, d: v ^ 1), "its CRC-32 is"),
    "bzip2": (_field(10, "<H", lambda v, d: 12), "compressed with method 12"),
    "stored-with-two-sizes": (_field(10, "<H", lambda v, d: 0), "it is stored, yet declares"),
    "encrypted": (_field(8, "<H", lambda v, d: v | 1), "it is encrypted"),
    "zip64-marker-without-zip64-field": (_field(24, "<L", lambda v, d: 0xFFFFFFFF), "marked ZIP64, but no ZIP64"),
    "no-metadata": (_renamed, "has no METADATA"),
    "not-a-zip": (lambda d: noise(len(d)), "hold no end of central directory record"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_zips_are_refused_naming_url_file_and_member(name):
    damage, problem = HOSTILE[name]
    data = damage(BASE.data)
    with pytest.raises(IndexFormatError, match=problem) as whole:
        metadata_from_wheel(BASE.filename, data, url=URL)
    with pytest.raises(IndexFormatError, match=problem) as ranged:
        fetch(server(data), BASE.filename, len(data))
    assert str(whole.value) == str(ranged.value)
    assert str(ranged.value).startswith(f"Cannot read the metadata of {BASE.filename}") and URL in str(ranged.value)
    assert ranged.value.url == URL


def test_a_deflate_bomb_stops_at_its_declared_size():
    bomb = make_wheel("demo", "1.0", summary="A" * 20_000_000)  # 20 MB of METADATA in ~20 KB
    data = _field(24, "<L", lambda v, d: 1000)(bomb.data)
    transport = server(data)
    tracemalloc.start()
    try:
        with pytest.raises(IndexFormatError, match=f"member '{MEMBER}'.*inflates past its declared size of 1000 bytes"):
            fetch(transport, bomb.filename, len(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000  # nowhere near the 20 MB it would inflate to
    with pytest.raises(IndexFormatError, match=r"it declares 20000\d\d\d bytes .* than 16777216 bytes is not read"):
        fetch(server(bomb.data), bomb.filename, len(bomb.data))
    read = fetch(server(bomb.data), bomb.filename, len(bomb.data), max_metadata_size=32 * 1024 * 1024)
    assert read.metadata == bomb.metadata


@pytest.mark.parametrize(
    ("extra_members", "problem"),
    [
        (
            [("other-2.0.dist-info/METADATA", b"Name: other\n")],
            "exactly one .dist-info directory, found 'demo-1.0.dist-info', 'other-2.0.dist-info'",
        ),
        ([(MEMBER, b"Name: evil\nVersion: 1.0\n")], f"member '{MEMBER}'.*listed more than once"),
    ],
    ids=["two-dist-infos", "two-metadata-files"],
)
def test_ambiguous_metadata_is_refused(extra_members, problem):
    wheel = make_wheel("demo", "1.0", extra_members=extra_members)
    with pytest.raises(IndexFormatError, match=problem):
        fetch(server(wheel.data), wheel.filename, len(wheel.data))


@pytest.mark.parametrize(
    ("filename", "problem"),
    [
        ("other-1.0-py3-none-any.whl", "'demo-1.0.dist-info' is not the other-1.0.dist-info"),
        ("demo-2.0-py3-none-any.whl", "'demo-1.0.dist-info' is not the demo-2.0.dist-info"),
        ("demo.zip", "'demo.zip' is not a wheel's file name"),
    ],
)
def test_the_dist_info_must_be_the_file_names(filename, problem):
    wheel = make_wheel("demo", "1.0")
    with pytest.raises(IndexFormatError, match=problem):
        metadata_from_wheel(filename, wheel.data, url=URL)


def test_a_file_too_small_for_a_zip_is_refused_before_any_request():
    transport = server(b"PK")
    with pytest.raises(IndexFormatError, match="the index says it has 2 bytes, too few for a zip file"):
        fetch(transport, "demo-1.0-py3-none-any.whl", 2)
    assert transport.requests == []


# -- against zipfile, over random wheels and random damage -------------------------------------------


@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.dictionaries(
        st.from_regex(r"demo/[a-z]{1,12}\.py", fullmatch=True), st.binary(max_size=3000), max_size=40
    ),
    filler=st.integers(0, 300_000),
    tail_size=st.integers(42, 200_000),
    lead=st.integers(0, 100_000),
    ranges=st.booleans(),
)
def test_agrees_with_zipfile(files, filler, tail_size, lead, ranges):
    wheel = make_wheel("demo", "1.0", files=files, extra_members=[("zz/blob.bin", noise(filler))] if filler else ())
    transport = server(wheel.data, ranges=ranges)
    read = fetch(transport, wheel.filename, len(wheel.data), tail_size=tail_size, directory_lead=lead)
    assert read.metadata == oracle(wheel.data)[MEMBER] == read_wheel_metadata(wheel.filename, wheel.data)
    spans = sorted(asked(transport))
    assert all(a_end < b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans)), "a byte asked twice"
    assert read.requests <= (3 if ranges else 1)


SMALL = make_wheel("demo", "1.0", requires_dist=["dep"])


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(st.integers(1, len(SMALL.data)), st.integers(0, 255)), min_size=1, max_size=3))
def test_damage_is_refused_or_harmless(flips):
    data = bytearray(SMALL.data)
    for back, value in flips:
        data[-back] = value
    try:
        # A tail of 100 bytes: the directory and the member are read by ranges too.
        read = fetch(server(bytes(data)), SMALL.filename, len(data), tail_size=100)
    except FetchError as exc:  # IndexFormatError mostly; FetchError and HTTPStatusError derive from it
        assert SMALL.filename in str(exc)
    else:
        assert read.metadata == SMALL.metadata  # the CRC catches a change to the bytes read


def test_whole_wheel_reader_agrees_with_the_catalogs():
    wheels = (BASE, make_wheel("Demo.Pkg", "2.0rc1", files=many_files(50)), make_wheel("x", "1", tag="py2-none-any"))
    for wheel in wheels:
        member, data = metadata_from_wheel(wheel.filename, wheel.data, url=URL)
        assert data == wheel.metadata == read_wheel_metadata(wheel.filename, wheel.data)
        assert hashlib.sha256(data).digest() == hashlib.sha256(oracle(wheel.data)[member]).digest()
