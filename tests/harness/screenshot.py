"""Screenshots that tests take of pages, and the check that one is a rendered page.

A test saves what it saw under pytest's ``tmp_path``; the committed copy in
``docs/`` (which the README shows) is written only when it is missing or
``MICROPKG_UPDATE_SCREENSHOT=1`` is set: every run differs (timings on the
page), and a committed image should not change with each test run.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections import Counter
from pathlib import Path

__all__ = ["check_screenshot", "decode_png"]


def check_screenshot(
    png: bytes, committed: Path, tmp_path: Path, *, minimum: tuple[int, int], max_share: float = 0.9
) -> tuple[int, Counter]:
    """Save ``png``, renew ``committed`` when asked, and fail unless it shows a rendered page.

    ``max_share``: the largest part of the image one colour may fill (a
    terminal's background fills more than a page's). Returns the width and the
    colour counts, for checks of the page's own colours.
    """
    (tmp_path / committed.name).write_bytes(png)
    if not committed.exists() or os.environ.get("MICROPKG_UPDATE_SCREENSHOT") == "1":
        committed.parent.mkdir(exist_ok=True)
        committed.write_bytes(png)
    width, height, pixels = decode_png(png)
    assert width >= minimum[0] and height >= minimum[1], (width, height)
    colours = Counter(pixels)
    # A blank page is one colour; rendered text (anti-aliased) brings hundreds.
    assert len(colours) > 50, f"the screenshot has only {len(colours)} colours: is the page blank?"
    assert colours.most_common(1)[0][1] < max_share * width * height, f"one colour fills {max_share:.0%} of the screenshot"
    return width, colours


def decode_png(png: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """(width, height, RGB pixels) of an 8-bit RGB or RGBA PNG, as Chromium writes them."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    chunks: dict[bytes, bytes] = {}
    position = 8
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        chunks[kind] = chunks.get(kind, b"") + png[position + 8 : position + 8 + length]
        position += 12 + length  # length, type, data, CRC
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, interlace) == (8, 0) and colour_type in (2, 6), (depth, colour_type, interlace)
    channels = 3 if colour_type == 2 else 4
    stride = width * channels
    data = zlib.decompress(chunks[b"IDAT"])
    previous = bytearray(stride)
    pixels: list[tuple[int, int, int]] = []
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(data[start], bytearray(data[start + 1 : start + 1 + stride]), previous, channels)
        pixels.extend(zip(row[0::channels], row[1::channels], row[2::channels]))
        previous = row
    return width, height, pixels


def _unfilter(kind: int, row: bytearray, previous: bytearray, bpp: int) -> bytearray:
    """Undo one scanline's PNG filter (None, Sub, Up, Average, Paeth)."""
    if kind == 0:
        return row
    if kind == 2:
        return bytearray((a + b) & 0xFF for a, b in zip(row, previous))
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + (left + previous[i]) // 2) & 0xFF
        elif kind == 4:
            up, up_left = previous[i], previous[i - bpp] if i >= bpp else 0
            estimate = left + up - up_left
            distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
            row[i] = (row[i] + (left, up, up_left)[distances.index(min(distances))]) & 0xFF
        else:
            raise AssertionError(f"unknown PNG filter type {kind}")
    return row
