"""model.digests against hashlib: the same digest for every algorithm hashlib guarantees."""

from __future__ import annotations

import hashlib

import pytest

from micropkg.model import digests

DATA = bytes(range(256)) * 97 + b"tail"


@pytest.mark.parametrize("algorithm", sorted(hashlib.algorithms_guaranteed))
def test_each_guaranteed_algorithm_gives_hashlibs_digest(algorithm: str) -> None:
    ours, theirs = digests.new(algorithm, DATA), hashlib.new(algorithm, DATA)
    if algorithm.startswith("shake_"):  # a length of output is asked for
        assert ours.hexdigest(40) == theirs.hexdigest(40)
    else:
        assert ours.hexdigest() == theirs.hexdigest()
    fed = digests.new(algorithm)
    fed.update(DATA[:1000])
    fed.update(DATA[1000:])
    assert fed.digest(40) == ours.digest(40) if algorithm.startswith("shake_") else fed.digest() == ours.digest()


def test_sha256_is_hashlibs() -> None:
    assert digests.sha256(DATA).hexdigest() == hashlib.sha256(DATA).hexdigest()
    assert digests.sha256().hexdigest() == hashlib.sha256().hexdigest()


def test_an_unknown_algorithm_is_refused_as_hashlib_refuses_it() -> None:
    with pytest.raises(ValueError, match="unsupported hash type"):
        digests.new("sha-257", DATA)


@pytest.mark.parametrize("algorithm", ["sha256", "sha512", "md5", "blake2b"])
def test_a_constructor_is_hashlibs(algorithm: str) -> None:
    assert digests.constructor(algorithm)(DATA).hexdigest() == hashlib.new(algorithm, DATA).hexdigest()
