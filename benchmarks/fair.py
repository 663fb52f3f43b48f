"""The two deployments the race is run in: every wheel with bytecode, or every wheel from source.

Pyodide 314 ships ``.py`` files only, so whatever an installer imports is
compiled in the page unless its wheel carries CPython 3.14 bytecode.
micropkg's wheel does (``tests.harness.bytecode``, checked-hash pycs compiled
inside Pyodide 314); micropip's wheel on PyPI, ``packaging`` and
``resolvelib`` do not. A race between one tool with bytecode and one without
measures the compiler, not the installers, so:

* ``bytecode`` (the default, the fair race): micropkg as built, and micropip,
  ``packaging`` and ``resolvelib`` given the very same treatment
  (:func:`tests.harness.bytecode.add_to_wheel`);
* ``source``: micropkg's pycs taken out again, and the others as PyPI
  publishes them -- both tools as a plain ``pip wheel`` deployment would be.

Each deployment is a Pyodide folder whose lockfile lists only micropkg and its
dependencies (Pyodide's own entries point at a CDN this network cannot reach,
and micropip would look requirements up there before asking the index), and
a micropip wheel for ``loadPackage``. Compiled wheels are cached in
``.cache/bench/bytecode/`` by the sha256 of the wheel compiled.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.harness import bytecode, pyodide_dist  # noqa: E402

__all__ = ["DEPLOYMENTS", "Deployment", "prepare_deployment", "micropip_wheel"]

CACHE = REPO / ".cache" / "bench"
MICROPIP = "micropip==0.11.1"
DEPLOYMENTS = ("bytecode", "source")
# micropkg's dependencies, which the race compiles as it compiles micropip.
SHARED = ("packaging", "resolvelib")


@dataclass(frozen=True)
class Deployment:
    name: str  # bytecode or source
    dist: Path  # the Pyodide folder (indexURL)
    micropip: Path  # micropip's wheel, for loadPackage


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def micropip_wheel() -> Path:
    """micropip 0.11.1's wheel from PyPI, downloaded once into .cache/bench/wheels/."""
    wheels = CACHE / "wheels"
    found = sorted(wheels.glob("micropip-0.11.1-*.whl"))
    if found:
        return found[0]
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--python-version", "3.14",
         "--only-binary=:all:", MICROPIP, "-d", str(wheels)],
        check=True,
    )
    return sorted(wheels.glob("micropip-0.11.1-*.whl"))[0]


def with_bytecode(wheel: Path) -> Path:
    """``wheel`` plus the bytecode of its modules, compiled in Pyodide (cached by sha256)."""
    target = CACHE / "bytecode" / _sha256(wheel)[:16] / wheel.name
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    shutil.copyfile(wheel, temporary)
    package = pyodide_dist._npm_package(bytecode.PYODIDE, pyodide_dist.CACHE)
    compiled = bytecode.add_to_wheel(temporary, package)
    _log(f"{wheel.name}: {len(compiled.pycs)} modules compiled by Python {compiled.python} in Pyodide")
    temporary.replace(target)
    return target


def without_bytecode(wheel: Path) -> Path:
    """``wheel`` without its ``__pycache__`` members and their RECORD lines (cached by sha256)."""
    target = CACHE / "source" / _sha256(wheel)[:16] / wheel.name
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    with zipfile.ZipFile(wheel) as archive, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as stripped:
        for info in archive.infolist():
            if "/__pycache__/" in info.filename:
                continue
            data = archive.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = data.decode("utf-8").splitlines(keepends=True)
                data = "".join(line for line in lines if "/__pycache__/" not in line).encode("utf-8")
            stripped.writestr(info, data)
    target.write_bytes(out.getvalue())
    return target


def prepare_deployment(name: str, version: str) -> Deployment:
    """The Pyodide folder and micropip wheel of deployment ``name`` (bytecode or source)."""
    if name not in DEPLOYMENTS:
        raise ValueError(f"deployment must be one of {DEPLOYMENTS}, got {name!r}")
    source = pyodide_dist.prepare(version)
    target = CACHE / f"pyodide-{version}-{name}"
    lock = json.loads((source / "pyodide-lock.json").read_text())
    keep = pyodide_dist.closure(lock["packages"], ["micropkg"])
    lock["packages"] = {k: v for k, v in lock["packages"].items() if k in keep}
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file() and not path.name.endswith(".whl") and path.name != "pyodide-lock.json":
            shutil.copyfile(path, target / path.name)
    for entry in lock["packages"].values():
        wheel = source / entry["file_name"]
        if name == "bytecode":
            placed = wheel if entry["name"] == "micropkg" else with_bytecode(wheel)
        else:
            placed = without_bytecode(wheel) if entry["name"] == "micropkg" else wheel
        shutil.copyfile(placed, target / entry["file_name"])
        entry["sha256"] = _sha256(target / entry["file_name"])
    (target / "pyodide-lock.json").write_text(json.dumps(lock))
    micropip = micropip_wheel()
    return Deployment(name, target, with_bytecode(micropip) if name == "bytecode" else micropip)
