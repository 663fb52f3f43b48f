"""Checking bytes against the hashes an index, a lock or a URL fragment states."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import IntegrityError
from . import digests

__all__ = ["HASH_ALGORITHMS", "check_hashes"]

# What PEP 503/691 and PEP 751 let a source state; weaker ones are not trusted.
HASH_ALGORITHMS = ("sha256", "sha384", "sha512")


def check_hashes(data: bytes, hashes: Mapping[str, str], url: str, *, size: int | None = None) -> None:
    """Raise :class:`IntegrityError` unless ``data`` matches every known hash in ``hashes``."""
    for algorithm in HASH_ALGORITHMS:
        expected = hashes.get(algorithm)
        if expected is None:
            continue
        actual = digests.new(algorithm, data).hexdigest()
        if actual != expected.lower():
            note = ""
            if size is not None and size != len(data):
                note = f"received {len(data)} bytes, the index said {size}: the transfer may have been cut short"
            raise IntegrityError(url=url, algorithm=algorithm, expected=expected, actual=actual, note=note)
