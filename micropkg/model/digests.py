"""Hash functions by name, without importing ``hashlib``.

A fresh Pyodide 314 compiles ``hashlib`` from source on an install's way (~5-8 ms under
Node, 2026-12-05), and there its constructors are CPython's built-in modules anyway
(``_sha2``, ``_sha1``, ``_md5``, ``_sha3``, ``_blake2``): this module calls them directly.
A name it does not know, or a Python without those modules (CPython before 3.12, or one
whose ``hashlib`` is OpenSSL's), goes through ``hashlib`` as before.
``tests/runtime/test_digests.py`` holds it to ``hashlib``'s answers inside Pyodide,
``tests/host/test_digests.py`` on the host.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["constructor", "new", "sha256"]

# hashlib.algorithms_guaranteed, by the built-in module that has each.
_BUILT_IN = {
    "sha224": "_sha2", "sha256": "_sha2", "sha384": "_sha2", "sha512": "_sha2",
    "sha1": "_sha1", "md5": "_md5",
    "sha3_224": "_sha3", "sha3_256": "_sha3", "sha3_384": "_sha3", "sha3_512": "_sha3",
    "shake_128": "_sha3", "shake_256": "_sha3",
    "blake2b": "_blake2", "blake2s": "_blake2",
}
_constructors: dict[str, Callable[..., Any] | None] = {}


def new(algorithm: str, data: bytes | bytearray | memoryview = b"") -> Any:
    """What ``hashlib.new(algorithm, data)`` gives: a hash object (``update``, ``digest``, ``hexdigest``)."""
    constructor = _built_in(algorithm)
    if constructor is None:
        import hashlib

        return hashlib.new(algorithm, data)
    return constructor(data)


def sha256(data: bytes | bytearray | memoryview = b"") -> Any:
    """``hashlib.sha256(data)``."""
    return new("sha256", data)


def constructor(algorithm: str) -> Callable[..., Any]:
    """``algorithm``'s constructor itself, for a caller that hashes many small things: a
    call less each time (``hashlib.sha256`` where there is no built-in module)."""
    built_in = _built_in(algorithm)
    if built_in is not None:
        return built_in
    import hashlib

    return getattr(hashlib, algorithm)


def _built_in(algorithm: str) -> Callable[..., Any] | None:
    if algorithm in _constructors:
        return _constructors[algorithm]
    module = _BUILT_IN.get(algorithm)
    if module is None:
        return None  # not remembered: names come from wheels' RECORD files
    try:
        constructor = getattr(__import__(module), algorithm)
    except (ImportError, AttributeError):
        constructor = None  # remembered: a failed import searches sys.path again each time
    _constructors[algorithm] = constructor
    return constructor
