"""Pyodide releases as targets, for locking on the host (no Pyodide running).

Each release series pins one Python minor version, one PyEmscripten ABI and
one Emscripten version; the values below are the ``info`` blocks of the npm
``pyodide`` packages' own ``pyodide-lock.json`` (0.27.8, 0.28.3, 0.29.5,
314.0.7, 315.0.0-alpha.2, whose Python 3.15.0rc1 is locked for as 3.15.0).
A series not listed here can still be targeted by platform tag and Python
version (:func:`target_for_platform`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import LockError
from .tags import PlatformInfo, parse_platform
from .target import Target

__all__ = ["RELEASES", "PyodideRelease", "target_for_platform", "target_for_pyodide"]


@dataclass(frozen=True)
class PyodideRelease:
    series: str  # "0.29" before Pyodide 314, then the major version: "314"
    python: str  # full Python version of the series' latest release
    abi: str
    emscripten: tuple[int, int, int]

    def target(self) -> Target:
        major, minor = (int(p) for p in self.python.split(".")[:2])
        info = PlatformInfo(python_version=(major, minor), abi_version=self.abi, emscripten_version=self.emscripten)
        return Target.for_platform(info, self.python)


RELEASES = (
    PyodideRelease("0.27", "3.12.7", "2024_0", (3, 1, 58)),
    PyodideRelease("0.28", "3.13.2", "2025_0", (4, 0, 9)),
    PyodideRelease("0.29", "3.13.2", "2025_0", (4, 0, 9)),
    PyodideRelease("314", "3.14.2", "2026_0", (5, 0, 3)),
    PyodideRelease("315", "3.15.0", "2026_5", (6, 0, 5)),
)


def _series(version: str) -> str:
    parts = version.strip().split(".")
    return ".".join(parts[:2]) if parts[0] == "0" else parts[0]


def _known() -> str:
    return ", ".join(r.series for r in RELEASES)


def target_for_pyodide(version: str) -> Target:
    """The runtime of Pyodide ``version`` ("314.0", "314.0.7", "0.29.5", "0.27")."""
    series = _series(version)
    for release in RELEASES:
        if release.series == series:
            return release.target()
    raise LockError(
        f"Unknown Pyodide version {version!r} (series {series!r}); micropkg knows {_known()}."
        " Name the runtime by its platform instead: --platform pyemscripten_<abi>_wasm32 --python X.Y",
        lock="<command line>",
    )


def target_for_platform(platform: str, python: str) -> Target:
    """The runtime with wheel platform ``platform`` (``pyemscripten_2026_0_wasm32``,
    ``pyodide_2024_0_wasm32`` or ``emscripten_3_1_58_wasm32``) and Python ``python``."""
    abi = parse_platform(platform)
    emscripten = None
    if abi is None and platform.startswith("emscripten_") and platform.endswith("_wasm32"):
        try:
            emscripten = tuple(int(p) for p in platform[len("emscripten_"):-len("_wasm32")].split("_"))
        except ValueError:
            emscripten = None
        if emscripten is None or len(emscripten) != 3:
            emscripten = None
    if abi is None and emscripten is None:
        raise LockError(
            f"Unknown platform {platform!r}: expected pyemscripten_<abi>_wasm32 (PEP 783),"
            " pyodide_<abi>_wasm32 or emscripten_<x>_<y>_<z>_wasm32.",
            lock="<command line>",
        )
    try:
        major, minor = (int(p) for p in python.split(".")[:2])
    except ValueError as exc:
        raise LockError(f"Invalid Python version {python!r}: expected X.Y or X.Y.Z", lock="<command line>") from exc
    known = next(
        (r for r in RELEASES if (r.abi == abi or r.emscripten == emscripten) and r.python.startswith(f"{major}.{minor}.")),
        None,
    )
    if known is not None:
        abi, emscripten = known.abi, known.emscripten
    full = python if python.count(".") >= 2 else (known.python if known else f"{major}.{minor}.0")
    info = PlatformInfo(python_version=(major, minor), abi_version=abi, emscripten_version=emscripten)  # type: ignore[arg-type]
    return Target.for_platform(info, full)
