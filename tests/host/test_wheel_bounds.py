"""A wheel's uncompressed size is bounded by what a browser tab can afford, before anything inflates.

The old bound was 1 GiB in all: a wheel honestly declaring a 1000 MiB member
installed from a 1.2 MB download and grew the tab's WebAssembly memory by
2 GiB for good. Now one file may hold 128 MiB and a wheel 256 MiB in all
(``micropkg.model.wheel`` says why), checked against the sizes the zip
declares before a single member is inflated.
"""

from __future__ import annotations

import zipfile

import pytest

from micropkg.errors import InvalidWheel
from micropkg.model.wheel import MAX_MEMBER_SIZE, MAX_UNPACKED_SIZE, Wheel
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
