"""METADATA by HTTP range requests (micropkg.index.lazy_wheel) inside a real Pyodide, through pyfetch:
from the loopback index (Node and Chromium, where CORS applies) and from live PyPI (Node)."""

from __future__ import annotations

import random
import re

import pytest
from pytest_pyodide import run_in_pyodide

from tests.harness.index_server import IndexServer


@run_in_pyodide(packages=["micropkg"])
async def _read(selenium, url, filename, size, suffix_probe=False):
    """fetch_wheel_metadata through Pyodide's own transport: (how, member, metadata, requests, bytes)."""
    from micropkg.index.lazy_wheel import fetch_wheel_metadata
    from micropkg.runtime.fetch import PyfetchTransport

    read = await fetch_wheel_metadata(PyfetchTransport(), url, filename, size=size)
    if suffix_probe:
        from pyodide.http import pyfetch

        # The control: a suffix range is not CORS-safelisted, so Chromium asks first (OPTIONS).
        await pyfetch(url, headers={"Range": "bytes=-100"})
    return read.how, read.member, read.metadata, read.requests, read.bytes_received


def _big_wheel(make_wheel):
    files = {f"big/pkg_{i:05d}/module_{i}.py": f"VALUE = {i}\n" for i in range(3000)}
    files["big/blob.bin"] = random.Random(0).randbytes(2_000_000)
    return make_wheel("lazy-big", "1.0", requires_dist=["harness-dep"], files=files)


def test_two_ranges_without_a_preflight(selenium, index_server: IndexServer, make_wheel, runtime):
    wheel = _big_wheel(make_wheel)
    index_server.add(wheel, metadata=None)
    url = index_server.file_url(wheel.filename)

    how, member, metadata, requests, received = _read(selenium, url, wheel.filename, len(wheel.data), True)

    assert (how, member, metadata, requests) == ("ranges", "lazy_big-1.0.dist-info/METADATA", wheel.metadata, 2)
    assert received < len(wheel.data) / 4
    gets = [e for e in index_server.log if e.kind == "file" and e.method == "GET"]
    assert [e.status for e in gets] == [206, 206, 206]  # the two reads, then the probe
    assert all(re.fullmatch(r"bytes=\d+-\d+", e.headers["range"]) for e in gets[:2])
    # Absolute ranges need no preflight; the suffix-range probe does, in a browser.
    assert index_server.log.count("preflight") == (0 if runtime.startswith("node") else 1)


def test_a_server_without_ranges_sends_the_whole_file(selenium, index_server: IndexServer, make_wheel):
    wheel = _big_wheel(make_wheel)
    index_server.add(wheel, metadata=None)
    url = index_server.file_url(wheel.filename)
    index_server.inject(url[len(index_server.url) - 1:], status=200, body=wheel.data)

    how, _, metadata, requests, received = _read(selenium, url, wheel.filename, len(wheel.data))

    assert (how, metadata, requests, received) == ("whole-file", wheel.metadata, 1, len(wheel.data))


BOTOCORE = (
    "https://files.pythonhosted.org/packages/2f/17/07eed244563fb67782ea5ed3ec8646390d9baccb8a02b0d8bc42a6cdd064/"
    "botocore-1.44.8-py3-none-any.whl"
)


@pytest.mark.network
def test_botocore_from_pypi(selenium):
    # 16.9 MB, 2061 members, and no PEP 658 file on PyPI as seen from here.
    how, member, metadata, requests, received = _read(
        selenium, BOTOCORE, "botocore-1.44.8-py3-none-any.whl", 16_884_815
    )
    assert (how, member, requests) == ("ranges", "botocore-1.44.8.dist-info/METADATA", 2)
    assert received < 1_000_000
    assert b"\nName: botocore\n" in metadata and b"\nVersion: 1.44.8\n" in metadata
