"""Does an sdist need a compiler? The scan that refuses it before anything is installed.

Pyodide has no compiler: a C, C++, Cython, Fortran or Rust extension module
cannot be built in the page. Saying so before the build requirements are
downloaded and the backend runs is kinder than a compiler error minutes later,
so the unpacked tree is read for the signs: a backend or build requirement
that exists to compile (maturin, scikit-build-core, meson-python,
setuptools-rust, Cython...), a ``Cargo.toml``, ``ext_modules`` /
``Extension(`` in setup.py or setup.cfg, setuptools' ``ext-modules`` in
pyproject.toml, or C/C++/Cython/Rust sources among the package's files.
The build itself is guarded too (:mod:`.backend` refuses to start a process)
and the wheel it makes must be pure, so this scan is a courtesy, not the wall.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .sdist import BuildSystem

__all__ = ["COMPILING_BACKENDS", "COMPILING_REQUIRES", "extension_reason"]

# Backends whose whole job is compiling (top-level module of build-backend -> what it builds).
COMPILING_BACKENDS = {
    "maturin": "Rust extension modules (maturin)",
    "scikit_build_core": "C/C++ extension modules (scikit-build-core, CMake)",
    "mesonpy": "C/C++ extension modules (meson-python)",
    "pymsbuild": "C/C++ extension modules (pymsbuild)",
    "enscons": "C extension modules (enscons, SCons)",
    "py_build_cmake": "C/C++ extension modules (py-build-cmake)",
    "sipbuild": "C++ extension modules (sip)",
}
# Build requirements that exist to compile.
COMPILING_REQUIRES = {
    "cython": "Cython extension modules",
    "setuptools-rust": "Rust extension modules (setuptools-rust)",
    "maturin": "Rust extension modules (maturin)",
    "scikit-build": "C/C++ extension modules (scikit-build, CMake)",
    "scikit-build-core": "C/C++ extension modules (scikit-build-core, CMake)",
    "meson-python": "C/C++ extension modules (meson-python)",
    "cmake": "C/C++ extension modules (CMake)",
    "ninja": "C/C++ extension modules (ninja)",
    "pybind11": "C++ extension modules (pybind11)",
    "nanobind": "C++ extension modules (nanobind)",
    "cffi": "C extension modules (cffi)",
}
_SOURCES = {".c": "C", ".cc": "C++", ".cpp": "C++", ".cxx": "C++", ".pyx": "Cython", ".rs": "Rust", ".f90": "Fortran"}
# Sources in these directories are not built into the package (tests, docs, examples).
_NOT_PACKAGED = {"tests", "test", "testing", "docs", "doc", "examples", "example", "benchmarks", "bench"}
_DECLARES = re.compile(r"\bext_modules\b|\bExtension\s*\(|\bcythonize\s*\(|\bcffi_modules\b|\brust_extensions\b")


def extension_reason(root: Path, system: BuildSystem) -> str | None:
    """Why the source tree ``root`` cannot be built without a compiler, or None if it can."""
    backend_module = system.backend.split(":")[0].split(".")[0]
    if backend_module in COMPILING_BACKENDS:
        return f"has {COMPILING_BACKENDS[backend_module]} (its build-backend is {system.backend!r})"
    for text in system.requires:
        try:
            name = canonicalize_name(Requirement(text).name)
        except InvalidRequirement:
            continue  # read_build_system refused it already
        if name in COMPILING_REQUIRES:
            return f"has {COMPILING_REQUIRES[name]} (its build requires {text!r})"
    if (root / "Cargo.toml").is_file():
        return "has Rust extension modules (a Cargo.toml)"
    for config in ("setup.py", "setup.cfg"):
        path = root / config
        if path.is_file():
            found = _DECLARES.search(path.read_text(encoding="utf-8", errors="replace"))
            if found:
                return f"has C extension modules ({config} declares {found.group(0).strip()!r})"
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and re.search(r"\bext-modules\b", pyproject.read_text(encoding="utf-8", errors="replace")):
        return "has C extension modules (pyproject.toml's [tool.setuptools] ext-modules)"
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d.lower() not in _NOT_PACKAGED and not d.startswith("."))
        for file in sorted(files):
            language = _SOURCES.get(os.path.splitext(file)[1].lower())
            if language is not None:
                relative = Path(directory, file).relative_to(root.parent)
                return f"has {language} extension sources ({relative.as_posix()})"
    return None
