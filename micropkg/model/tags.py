"""Wheel tags a Pyodide runtime accepts, best first (PEP 425, PEP 783).

A Pyodide build is identified three ways, newest scheme first:

* ``pyemscripten_<V>_wasm32`` -- PEP 783's platform tag, ``V`` being the
  PyEmscripten platform version (``2026_0`` for Pyodide 314);
* ``pyodide_<V>_wasm32`` -- the same ABI under the name Pyodide used before
  PEP 783 (Pyodide 0.27 is ``pyodide_2024_0``);
* ``emscripten_<x>_<y>_<z>_wasm32`` -- the compiler version, the oldest scheme.

The functions here take every input as an argument, so the host (locking for
a browser, issue "locks") and the tests build tags for any runtime without
monkeypatching; :func:`runtime_platforms` reads the running interpreter, given
its ABI version (which the runtime adapter, ``micropkg.runtime.detect.abi_version``, reads).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # packaging loads with wheel_tags: the chain (runtime.chain) needs only the platforms
    from packaging.tags import Tag

__all__ = [
    "PlatformInfo",
    "describe",
    "emscripten_platforms",
    "parse_platform",
    "runtime_platforms",
    "wheel_tags",
]


class PlatformInfo:
    """The facts about a runtime that decide its platform tags."""

    def __init__(
        self,
        *,
        python_version: tuple[int, int],
        abi_version: str | None,
        emscripten_version: tuple[int, int, int] | None = None,
    ) -> None:
        self.python_version = python_version
        self.abi_version = abi_version
        self.emscripten_version = emscripten_version

    def __repr__(self) -> str:
        return (
            f"PlatformInfo(python_version={self.python_version!r}, "
            f"abi_version={self.abi_version!r}, emscripten_version={self.emscripten_version!r})"
        )


def emscripten_platforms(info: PlatformInfo) -> list[str]:
    """Platform tags for ``info``, best first."""
    platforms = []
    if info.abi_version:
        platforms.append(f"pyemscripten_{info.abi_version}_wasm32")
        platforms.append(f"pyodide_{info.abi_version}_wasm32")
    if info.emscripten_version:
        x, y, z = info.emscripten_version
        platforms.append(f"emscripten_{x}_{y}_{z}_wasm32")
    return platforms


def wheel_tags(info: PlatformInfo) -> list[Tag]:
    """Every tag the runtime accepts, best first: cpXY, then abi3, then py3-none.

    ``packaging.tags`` does the combining; it is given the platforms
    explicitly because it does not know Emscripten (and the packaging that
    older Pyodides ship knows it even less).
    """
    from packaging.tags import compatible_tags, cpython_tags

    platforms = emscripten_platforms(info)
    interpreter = "cp{}{}".format(*info.python_version)
    # The ABI and interpreter are the target's, never the host's: left to
    # itself packaging reads them off the running CPython's build config, so a
    # free-threaded host would lock for ``cp314t`` (PEP 783 wheels are ``cp314``,
    # Pyodide is neither debug nor free-threaded), and without ``interpreter``
    # it leaves out ``cp314-none-any``, which pip accepts.
    tags = list(cpython_tags(info.python_version, abis=[interpreter], platforms=platforms))
    tags.extend(compatible_tags(info.python_version, interpreter=interpreter, platforms=platforms))
    return tags


def runtime_platforms(abi_version: str | None) -> PlatformInfo:
    """:class:`PlatformInfo` of the running interpreter, whose ABI version is ``abi_version``."""
    em_info = getattr(sys, "_emscripten_info", None)
    em_version = tuple(em_info.emscripten_version) if em_info is not None else None
    return PlatformInfo(
        python_version=sys.version_info[:2],
        abi_version=abi_version,
        emscripten_version=em_version,
    )


def parse_platform(platform: str) -> str | None:
    """The ABI version named by a pyemscripten/pyodide platform tag, else None."""
    for prefix in ("pyemscripten_", "pyodide_"):
        if platform.startswith(prefix) and platform.endswith("_wasm32"):
            return platform[len(prefix) : -len("_wasm32")]
    return None


def describe(tags: Sequence[Tag]) -> str:
    """A short human description of a runtime's tags: ``cp314 pyemscripten_2026_0``."""
    if not tags:
        return "no tags"
    best = tags[0]
    return f"{best.interpreter} {best.platform.removesuffix('_wasm32')}"
