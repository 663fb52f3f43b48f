"""What runtime this is: Pyodide or not, a browser or Node, and its target.

Everything here is cheap to call and safe on CPython (where it answers "not
Pyodide"), so callers need not guard it.
"""

from __future__ import annotations

import re
import site
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the target needs packaging, which an install imports after its first request
    from ..model.target import Target


__all__ = [
    "abi_version", "current_target", "in_browser", "in_pyodide", "invalidate_import_caches", "known_abi_version",
    "marker_environment", "page_url", "site_packages",
]

# The version at the start of sys.version, as platform.python_version() reads it.
_VERSION_AT_START = re.compile(r"[\w.+]+")


def in_pyodide() -> bool:
    return sys.platform == "emscripten"

def in_browser() -> bool:
    info = getattr(sys, "_emscripten_info", None)
    return in_pyodide() and not (info is not None and str(info.runtime).startswith("Node"))

def page_url() -> str | None:
    """The URL of the page (or worker script) running Pyodide; None under Node."""
    if not in_browser():
        return None
    import js

    return str(js.location.href)

# sysconfig's paths and variables are read from a generated module of ~20 KB
# that a fresh Pyodide compiles on first use (~18 ms of an install, Pyodide 314
# under Node): what this adapter needs comes from cheaper sources.

def site_packages() -> Path:
    # The folder Pyodide's own loader installs into (pyodide._package_loader.SITE_PACKAGES).
    return Path(site.getsitepackages()[0])

def abi_version() -> str | None:
    """The runtime's PyEmscripten platform version (``2026_0``), None outside Pyodide."""
    if not in_pyodide():
        return None
    # Pyodide 0.28 and later state it in their JS API; 0.27 only in sysconfig,
    # under its pre-PEP 783 name.
    version = known_abi_version()
    if version:
        return version
    import sysconfig  # ~20 ms of compiling in a fresh runtime, on 0.27 only

    return sysconfig.get_config_var("PYEMSCRIPTEN_PLATFORM_VERSION") or sysconfig.get_config_var("PYODIDE_ABI_VERSION")


def known_abi_version() -> str | None:
    """The ABI version if the runtime's JS API states it (Pyodide 0.28 and later), without
    :func:`abi_version`'s fallback to ``sysconfig``, which a fresh runtime compiles."""
    if not in_pyodide():
        return None
    import pyodide_js

    version = getattr(pyodide_js._api, "abiVersion", None)
    return str(version) if version else None


def marker_environment() -> dict[str, str]:
    """The running interpreter's PEP 508 marker values: ``packaging.markers.default_environment()``
    without importing packaging's marker parser (and its specifiers), which a lock install
    need not load. ``tests/host/test_lock_conditions.py`` compares the two."""
    import os

    info = sys.implementation.version
    implementation_version = f"{info.major}.{info.minor}.{info.micro}"
    if info.releaselevel != "final":
        implementation_version += info.releaselevel[0] + str(info.serial)
    environment = {
        "implementation_name": sys.implementation.name,
        "implementation_version": implementation_version,
        "os_name": os.name,
        "sys_platform": sys.platform,
    }
    if sys.platform == "emscripten" and sys.implementation.name == "cpython":
        # What ``platform`` answers there, read where it reads it: a fresh runtime compiles
        # ``platform`` (~20 ms), and Pyodide's CPython has none of the systems it special-cases
        # (Windows, Android, iOS, OpenVMS); like it, an "unknown" value reads as "".
        uname = [value if value != "unknown" else "" for value in os.uname()]
        full_version = _VERSION_AT_START.match(sys.version)
        return {
            **environment,
            "platform_machine": uname[4],
            "platform_release": uname[2],
            "platform_system": uname[0],
            "platform_version": uname[3],
            "python_full_version": full_version.group(0) if full_version is not None else "",
            "platform_python_implementation": "CPython",
            "python_version": f"{sys.version_info[0]}.{sys.version_info[1]}",
        }
    import platform

    return {
        **environment,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
    }


def current_target() -> Target:
    """The running interpreter as a target (inside Pyodide: the browser's or Node's runtime)."""
    from ..model.tags import runtime_platforms
    from ..model.target import Target

    markers = marker_environment()
    return Target.build(runtime_platforms(abi_version()), markers["python_full_version"], markers)


def invalidate_import_caches() -> None:
    import importlib

    importlib.invalidate_caches()
