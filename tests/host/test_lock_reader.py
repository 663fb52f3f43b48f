"""A lock install hashes each downloaded file once, and still refuses every wrong one."""

from __future__ import annotations

import asyncio

import pytest

from micropkg.errors import FetchError, IntegrityError
from micropkg.model import hashes
from micropkg.model.lock import verified_reader
from micropkg.model.simple import DistFile
from tests.harness.wheels import make_wheel

from .test_lock_install import Files, install, lock_text


@pytest.fixture
def wheels():
    return [make_wheel("lr-app", "1.0", requires_dist=["lr-lib"]), make_wheel("lr-lib", "1.0")]


def test_each_file_is_hashed_once(site, wheels, monkeypatch):
    hashed: list[bytes] = []
    real = hashes.digests.new

    def counting(name, data=b""):
        hashed.append(bytes(data))
        return real(name, data)

    monkeypatch.setattr(hashes.digests, "new", counting)
    install(lock_text(wheels), Files(wheels), site)
    assert sorted(hashed) == sorted(w.data for w in wheels)  # once each, by Downloads
    assert sorted(p.name for p in site.iterdir() if p.name.endswith(".dist-info")) == [
        "lr_app-1.0.dist-info", "lr_lib-1.0.dist-info",
    ]


def _reader(data: bytes, size: int | None, *, check_hash: bool):
    url = "https://files.example/lr_lib-1.0-py3-none-any.whl"
    file = DistFile(filename=url.rsplit("/", 1)[1], url=url, hashes={"sha256": "0" * 64}, size=size)

    async def read(location: str) -> bytes:
        return data

    return url, verified_reader({url: file}, read, check_hash=check_hash)


def test_the_reader_checks_the_hash_unless_told_its_caller_does():
    url, checking = _reader(b"bytes", 5, check_hash=True)
    with pytest.raises(IntegrityError):
        asyncio.run(checking(url))
    url, trusting = _reader(b"bytes", 5, check_hash=False)
    assert asyncio.run(trusting(url)) == b"bytes"


@pytest.mark.parametrize("check_hash", [True, False])
def test_a_wrong_size_is_refused_and_named_by_its_hash_either_way(check_hash):
    url, reader = _reader(b"bytes", 6, check_hash=check_hash)
    with pytest.raises(IntegrityError, match="received 5 bytes, the index said 6"):
        asyncio.run(reader(url))


def test_a_file_not_in_the_lock_is_refused():
    url, reader = _reader(b"bytes", 5, check_hash=False)
    with pytest.raises(FetchError, match="not a file of the lock"):
        asyncio.run(reader(url + ".other"))
