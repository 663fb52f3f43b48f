"""A wheel's uncompressed size is bounded by what a browser tab can afford, before anything inflates.

The old bound was 1 GiB in all: a wheel honestly declaring a 1000 MiB member
installed from a 1.2 MB download and grew the tab's WebAssembly memory by
2 GiB for good. Now one file may hold 128 MiB and a wheel 256 MiB in all
(``micropkg.model.wheel`` says why), checked against the sizes the zip
declares before a single member is inflated. A member over 8 MiB is not held
at all: it is verified and written a piece at a time.
"""

from __future__ import annotations

import tracemalloc
import zipfile

import pytest

from micropkg.errors import InvalidWheel
from micropkg.installation.site_packages import SitePackages
from micropkg.installation.writer import install
from micropkg.model.records import parse_record
from micropkg.model.wheel import MAX_MEMBER_SIZE, MAX_UNPACKED_SIZE, Wheel
from micropkg.model.wheel_member import STREAM_THRESHOLD, StreamedMember
from tests.harness.wheels import make_wheel, patch_header

MiB = 1 << 20


@pytest.fixture
def inflated(monkeypatch) -> list[str]:
    """The members zipfile opened (inflated), whatever opened them."""
    opened: list[str] = []
    original = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return opened


def _declaring(sizes: dict[str, int]) -> tuple[str, bytes]:
    """A small wheel whose members declare ``sizes`` (their real bytes are 4 KiB of zeros)."""
    files = {"demo/__init__.py": b"", **{name: b"\0" * 4096 for name in sizes}}
    filename, data = make_wheel("demo", "1.0", files=files).file
    for name, size in sizes.items():
        data = patch_header(data, name, size=size)
    return filename, data


def test_the_bounds_are_what_a_tab_can_afford() -> None:
    assert MAX_MEMBER_SIZE == 128 * MiB
    assert MAX_UNPACKED_SIZE == 256 * MiB


def test_a_member_declaring_1000_mib_is_refused_before_inflating(inflated: list[str]) -> None:
    filename, data = _declaring({"demo/big.bin": 1000 * MiB})
    assert len(data) < 20_000
    inflated.clear()  # building it read its members
    with pytest.raises(InvalidWheel) as info:
        Wheel.from_bytes(filename, data)
    assert inflated == []
    assert info.value.member == "demo/big.bin"
    message = str(info.value)
    assert f"Refusing wheel {filename} (member 'demo/big.bin')" in message
    assert "the member declares 1,048,576,000 bytes (1,000.0 MiB) uncompressed, from" in message
    assert "more than the 134,217,728 bytes (128.0 MiB) micropkg unpacks for one file" in message
    assert "Nothing was inflated or installed" in message


def test_members_over_the_wheel_bound_in_all_are_refused_before_inflating(inflated: list[str]) -> None:
    filename, data = _declaring({"demo/a.bin": 100 * MiB, "demo/b.bin": 120 * MiB, "demo/c.bin": 90 * MiB})
    inflated.clear()
    with pytest.raises(InvalidWheel) as info:
        Wheel.from_bytes(filename, data)
    assert inflated == []
    assert info.value.member == "demo/b.bin"
    message = str(info.value)
    assert "its 7 members declare 325,05" in message and "bytes (310.0 MiB) uncompressed in all" in message
    assert "more than the 268,435,456 bytes (256.0 MiB) micropkg unpacks for one wheel" in message
    assert "the largest is 'demo/b.bin', 125,829,120 bytes (120.0 MiB)" in message


def test_an_honest_member_just_over_the_bound_is_refused_and_one_under_it_is_not() -> None:
    filename, data = make_wheel("demo", "1.0", files={"demo/__init__.py": b"", "demo/big.bin": b"\0" * (4 * MiB + 1)}).file
    with pytest.raises(InvalidWheel, match="micropkg unpacks for one file"):
        Wheel.from_bytes(filename, data, max_member_size=4 * MiB)
    assert Wheel.from_bytes(filename, data, max_member_size=4 * MiB + 1).members


# -- members too big to hold are streamed -----------------------------------------------------------


def _big_wheel(size: int = 40 * MiB, **options) -> tuple[str, bytes]:
    content = bytes(range(256)) * (size // 256)  # compresses, but not to nothing
    return make_wheel("demo", "1.0", files={"demo/__init__.py": b"", "demo/big.bin": content}, **options).file


def test_a_member_over_the_threshold_is_streamed_not_held(site) -> None:
    filename, data = _big_wheel()
    tracemalloc.start()
    try:
        wheel = Wheel.from_bytes(filename, data)
        [result] = install([wheel], SitePackages(site))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    member = dict(wheel.members)["demo/big.bin"]
    assert isinstance(member, StreamedMember) and len(member) == 40 * MiB
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB while verifying and writing a 40 MiB member"
    written = (site / "demo/big.bin").read_bytes()
    assert written == bytes(range(256)) * (40 * MiB // 256)
    [row] = [r for r in parse_record((site / "demo-1.0.dist-info/RECORD").read_bytes()) if r.path == "demo/big.bin"]
    assert row.mismatch(written) is None and row.hash is not None and row.hash.algorithm == "sha256"
    assert "demo/big.bin" in result.paths


def test_small_members_are_held_as_before() -> None:
    filename, data = _big_wheel(STREAM_THRESHOLD)  # exactly the threshold: held
    assert isinstance(dict(Wheel.from_bytes(filename, data).members)["demo/big.bin"], bytes)


def test_a_streamed_member_is_checked_against_its_record_row() -> None:
    def corrupt(rows):
        for row in rows:
            if row[0] == "demo/big.bin":
                row[1] = "sha256=" + "A" * 43
        return rows

    filename, data = _big_wheel(edit_record=corrupt)
    with pytest.raises(InvalidWheel) as info:
        Wheel.from_bytes(filename, data)
    assert info.value.member == "demo/big.bin" and "RECORD says sha256=AAAA" in str(info.value)


def test_a_streamed_member_that_lies_about_its_size_is_refused() -> None:
    filename, data = _big_wheel()
    data = patch_header(data, "demo/big.bin", size=20 * MiB, fix_crc=True)  # holds 40 MiB
    with pytest.raises(InvalidWheel) as info:
        Wheel.from_bytes(filename, data)
    assert info.value.member == "demo/big.bin"
    assert "inflates past its declared size" in str(info.value) or "RECORD says" in str(info.value)


def test_a_rollback_removes_a_streamed_file_it_wrote_and_only_that(site) -> None:
    filename, data = _big_wheel()
    destination = SitePackages(site)
    install([Wheel.from_bytes(filename, data)], destination, commit=False)
    assert destination.rollback() == []
    assert list(site.iterdir()) == []
