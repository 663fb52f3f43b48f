"""The Pyodide folder pytest-pyodide runs tests from (its ``--dist-dir``).

The npm ``pyodide`` package holds the runtime but no package wheels: its
``pyodide-lock.json`` points at Pyodide's CDN, which this network cannot
reach. pytest-pyodide loads ``pytest`` and ``tblib`` into Pyodide for every
``@run_in_pyodide`` test, and micropkg needs ``packaging`` and
``resolvelib``, so this module assembles a folder that has them all:

``.cache/pyodide/<version>/``
    the npm package's files (``pyodide.mjs``, ``pyodide.asm.wasm``,
    ``python_stdlib.zip``...), the wheels named below, a fresh
    ``micropkg-<v>-py3-none-any.whl`` (sources plus CPython 3.14 bytecode
    compiled in Pyodide 314, see :mod:`tests.harness.bytecode`; the same
    file for every version), a rewritten ``pyodide-lock.json``
    whose entries for those wheels carry the sha256 of the file actually
    there, and ``.harness.json`` (what was assembled, for the cache check).
``.cache/npm/<version>/``
    ``npm install --prefix`` of ``pyodide@<version>``.
``.cache/wheels/``
    third-party wheels downloaded from PyPI by their lockfile file names
    (Pyodide's lockfile hashes are Pyodide's own rebuilds, PyPI's differ),
    or built from PyPI's sdist where PyPI has no wheel (atomicwrites 1.4.1).

Preparing again is a no-op unless micropkg's sources, ``pyproject.toml`` or
this harness changed; a micropkg change only rebuilds micropkg's wheel and
the lockfile. Run ``python -m tests.harness.pyodide_dist --pyodide 314.0.7``.
(scripts/build-wheel builds the wheel to serve with flit instead, and adds
the same bytecode with :func:`tests.harness.bytecode.add_to_wheel`.)
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from . import bytecode, pypi, wheels
from .wheels import make_wheel

__all__ = ["CACHE", "DEFAULT_VERSION", "dist_dir", "prepare"]

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache"
DEFAULT_VERSION = "314.0.7"

# pytest-pyodide's run_in_pyodide loads these (and their lockfile dependencies).
_TEST_RUNNER_PACKAGES = ("pytest", "tblib")
# micropkg's run-time dependencies that Pyodide's lockfile already names; they
# are re-pointed at PyPI's file of the version the lockfile pins.
_LOCKFILE_DEPENDENCIES = ("packaging",)
# micropkg's run-time dependencies Pyodide does not ship, pinned so the
# folder is reproducible.
_ADDED_DEPENDENCIES = {"resolvelib": "1.2.1"}

_STAMP = ".harness.json"
_HARNESS_SOURCES = (Path(__file__), Path(pypi.__file__))


def dist_dir(version: str, cache: Path = CACHE) -> Path:
    """Where the folder for Pyodide ``version`` lives (prepared or not)."""
    return cache / "pyodide" / version


def _log(message: str) -> None:
    print(f"[pyodide_dist] {message}", file=sys.stderr, flush=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    os.chmod(temporary, 0o644)  # mkstemp's 0600 would surprise whoever serves the folder
    os.replace(temporary, path)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Serialize preparation: two pytest runs may start at once."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(stream, fcntl.LOCK_UN)


# -- npm ---------------------------------------------------------------------


def _npm_package(version: str, cache: Path) -> Path:
    """The installed npm ``pyodide`` package directory, installing it if needed."""
    prefix = cache / "npm" / version
    package = prefix / "node_modules" / "pyodide"
    manifest = package / "package.json"
    if not (manifest.is_file() and json.loads(manifest.read_text())["version"] == version):
        if shutil.which("npm") is None:
            raise RuntimeError(f"npm is needed to fetch pyodide@{version} into {prefix}: install Node.js 20+ with npm")
        _log(f"npm install pyodide@{version}")
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm", "install", "--prefix", str(prefix),
                "--no-audit", "--no-fund", "--ignore-scripts", "--no-save",
                f"pyodide@{version}",
            ],
            check=True,
            stdout=sys.stderr,
        )
        installed = json.loads(manifest.read_text())["version"]
        if installed != version:
            raise RuntimeError(f"npm installed pyodide {installed}, wanted {version}")
    return package


# -- third-party wheels --------------------------------------------------------


def closure(packages: dict, roots: Iterable[str]) -> set[str]:
    """``roots`` and everything they depend on, by the lockfile's ``depends``."""
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            # ``depends`` may spell names unnormalized (prompt_toolkit).
            pending.extend(canonicalize_name(dep) for dep in packages[name]["depends"])
    return seen


def _build_from_sdist(sdist: pypi.PyPIFile, filename: str, wheels: Path) -> Path:
    """Build ``filename`` from a verified sdist; for projects PyPI has no wheel of."""
    _log(f"building {filename} from {sdist.filename}")
    source = pypi.download(sdist, wheels / "sdists")
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--wheel-dir", out, str(source)],
            check=True,
            stdout=sys.stderr,
            # Fixed zip timestamps: the same sdist gives the same wheel bytes.
            env={**os.environ, "SOURCE_DATE_EPOCH": "315532800"},
        )
        built = Path(out) / filename
        if not built.is_file():
            raise RuntimeError(f"pip wheel {sdist.filename} gave {os.listdir(out)}, not {filename}")
        target = wheels / filename
        shutil.copyfile(built, target.with_name(".tmp-" + filename))
        os.replace(target.with_name(".tmp-" + filename), target)
    return target


def _third_party_wheel(project: str, version: str, filename: str, wheels: Path) -> Path:
    """PyPI's ``filename`` (downloaded once), or a wheel built from the sdist."""
    cached = wheels / filename
    if cached.is_file():
        return cached
    files = pypi.release_files(project)
    for file in files:
        if file.filename == filename:
            _log(f"downloading {filename}")
            return pypi.download(file, wheels)
    for file in files:
        if file.version == version and file.packagetype == "sdist":
            return _build_from_sdist(file, filename, wheels)
    raise LookupError(f"PyPI has neither {filename} nor an sdist of {project} {version}")


# -- micropkg ------------------------------------------------------------------


def _micropkg_sources() -> list[Path]:
    sources = [
        path
        for path in (REPO / "micropkg").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]
    return sorted(sources)


def _micropkg_files() -> dict[str, bytes]:
    """micropkg's sources as the wheel holds them, read once: others may be editing them."""
    return {path.relative_to(REPO).as_posix(): path.read_bytes() for path in _micropkg_sources()}


# What goes into micropkg's wheel besides its sources: a change to any rebuilds it.
_MICROPKG_BUILD_INPUTS = (REPO / "pyproject.toml", Path(wheels.__file__), Path(bytecode.__file__))


def _micropkg_digest(files: dict[str, bytes]) -> str:
    """Changes whenever the micropkg wheel built from ``files`` would come out different."""
    digest = hashlib.sha256()
    inputs = [*files.items(), *((p.relative_to(REPO).as_posix(), p.read_bytes()) for p in _MICROPKG_BUILD_INPUTS)]
    for name, data in inputs:
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


# One compile per process and source state: preparing four Pyodide folders
# (scripts/test) starts Pyodide once, not four times.
_compiled: dict[str, bytecode.Bytecode] = {}


def _micropkg_bytecode(files: dict[str, bytes], key: str, cache: Path) -> bytecode.Bytecode:
    """The bytecode of ``files``, whose :func:`_micropkg_digest` is ``key``."""
    if key not in _compiled:
        started = time.monotonic()
        _compiled[key] = bytecode.compile_in_pyodide(files, _npm_package(bytecode.PYODIDE, cache))
        _log(f"compiled micropkg's bytecode in Pyodide {bytecode.PYODIDE} in {time.monotonic() - started:.1f}s")
    return _compiled[key]


def _build_micropkg(directory: Path, cache: Path, files: dict[str, bytes], digest: str) -> tuple[Path, dict]:
    """Write micropkg's wheel into ``directory``; return it and its lockfile facts.

    The wheel holds the sources and, beside them, their CPython 3.14 bytecode
    (:mod:`tests.harness.bytecode`), so Pyodide 314 imports micropkg without
    compiling it; other Pythons use the sources. ``files`` is a snapshot from
    :func:`_micropkg_files`, ``digest`` its :func:`_micropkg_digest`.
    """
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    compiled = _micropkg_bytecode(files, digest, cache)
    wheel = make_wheel(
        project["name"],
        project["version"],
        requires_dist=project.get("dependencies", ()),
        requires_python=project.get("requires-python"),
        summary=project.get("description", ""),
        files={**files, **compiled.pycs},
    )
    path = directory / wheel.filename
    # Atomic: another pytest process may be loading the previous build right now.
    _write_atomically(path, wheel.data)
    for stale in directory.glob(f"{wheel.filename.split('-')[0]}-*.whl"):
        if stale != path:
            stale.unlink()
    facts = {
        "file_name": wheel.filename,
        "sha256": wheel.sha256,
        "version": wheel.version,
        "imports": ["micropkg"],
        "depends": sorted(
            canonicalize_name(Requirement(dep).name) for dep in project.get("dependencies", ())
        ),
        # Not a lockfile key: what compiled the pycs, for tests/host/test_bytecode_wheel.py.
        "bytecode": {"python": compiled.python, "cache_tag": compiled.cache_tag, "magic": compiled.magic.hex()},
    }
    return path, facts


# -- lockfile ----------------------------------------------------------------------


def _lockfile(pristine: dict, placed: dict[str, dict]) -> dict:
    """The npm lockfile with ``placed`` wheels' entries pointing at their files.

    New entries copy the shape of an existing pure-Python one (the keys differ
    between Pyodide releases, e.g. ``tool`` appeared in 314).
    """
    lock = json.loads(json.dumps(pristine))
    packages = lock["packages"]
    template = packages["packaging"]
    for name, facts in sorted(placed.items()):
        if name in packages:
            packages[name] = {**packages[name], **{k: facts[k] for k in ("file_name", "sha256", "version")}}
        else:
            packages[name] = {
                **template,
                "name": name,
                "version": facts["version"],
                "file_name": facts["file_name"],
                "sha256": facts["sha256"],
                "imports": facts["imports"],
                "depends": facts["depends"],
                "install_dir": "site",
                "package_type": "package",
                "unvendored_tests": False,
            }
    return lock


def _third_party_facts(path: Path, imports: list[str] | None = None) -> dict:
    name, version, _, _ = parse_wheel_filename(path.name)
    return {
        "file_name": path.name,
        "sha256": _sha256(path),
        "version": str(version),
        "imports": imports if imports is not None else [name.replace("-", "_")],
        "depends": [],
    }


# -- assembly ----------------------------------------------------------------------


def _recipe(version: str) -> dict:
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in _HARNESS_SOURCES))
    return {"pyodide": version, "harness": digest.hexdigest()}


def _assemble(version: str, cache: Path, target: Path) -> dict[str, dict]:
    """Lay out runtime and third-party wheels in a fresh ``target``."""
    package = _npm_package(version, cache)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for path in sorted(package.iterdir()):
        if path.is_file():
            shutil.copyfile(path, target / path.name)

    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    packages = json.loads((package / "pyodide-lock.json").read_text())["packages"]
    placed: dict[str, dict] = {}
    for name in sorted(closure(packages, _TEST_RUNNER_PACKAGES) | set(_LOCKFILE_DEPENDENCIES)):
        entry = packages[name]
        path = _third_party_wheel(name, entry["version"], entry["file_name"], wheels)
        shutil.copyfile(path, target / path.name)
        placed[name] = _third_party_facts(target / path.name, entry["imports"])
    for name, pinned in sorted(_ADDED_DEPENDENCIES.items()):
        filename = f"{name.replace('-', '_')}-{pinned}-py3-none-any.whl"
        path = _third_party_wheel(name, pinned, filename, wheels)
        shutil.copyfile(path, target / path.name)
        placed[name] = _third_party_facts(target / path.name)
    return placed


def prepare(version: str = DEFAULT_VERSION, cache: Path = CACHE) -> Path:
    """Make ``dist_dir(version)`` ready for ``pytest --dist-dir`` and return it."""
    target = dist_dir(version, cache)
    with _exclusive(cache / "pyodide" / f".{version}.lock"):
        stamp_path = target / _STAMP
        stamp = json.loads(stamp_path.read_text()) if stamp_path.is_file() else {}
        recipe = _recipe(version)
        placed = stamp.get("placed", {})
        complete = stamp.get("recipe") == recipe and all(
            (target / facts["file_name"]).is_file() for facts in placed.values()
        )
        if not complete:
            started = time.monotonic()
            placed = _assemble(version, cache, target)
            stamp = {"recipe": recipe, "placed": placed}
            _log(f"assembled {target} in {time.monotonic() - started:.1f}s")

        files = _micropkg_files()
        digest = _micropkg_digest(files)
        if stamp.get("micropkg") != digest or "micropkg" not in placed:
            _, facts = _build_micropkg(target, cache, files, digest)
            placed = {**placed, "micropkg": facts}
            pristine = json.loads((_npm_package(version, cache) / "pyodide-lock.json").read_text())
            _write_atomically(
                target / "pyodide-lock.json",
                json.dumps(_lockfile(pristine, placed), indent=1, sort_keys=True).encode(),
            )
            stamp = {**stamp, "placed": placed, "micropkg": digest}
            _write_atomically(stamp_path, json.dumps(stamp, indent=1, sort_keys=True).encode())
            _log(f"built {facts['file_name']} ({facts['sha256'][:12]}...)")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pyodide", action="append", metavar="VERSION",
        help=f"npm version of pyodide; repeatable (default {DEFAULT_VERSION})",
    )
    parser.add_argument("--cache", type=Path, default=CACHE, help="cache root (default .cache/)")
    args = parser.parse_args(argv)
    for version in args.pyodide or [DEFAULT_VERSION]:
        print(prepare(version, args.cache.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
