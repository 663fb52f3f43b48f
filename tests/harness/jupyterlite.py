"""A real JupyterLite site running the Pyodide kernel, self-contained, for browser tests.

``jupyter lite build`` (jupyterlite-core with the jupyterlite-pyodide-kernel
addons, both from PyPI, pinned below) assembles the site. Nothing in it
reaches the internet: Chromium cannot use PyPI or Pyodide's CDN here, so

``static/pyodide/``
    the prepared Pyodide folder of :mod:`tests.harness.pyodide_dist` (the npm
    runtime and ``packaging``), plus the wheels the kernel loads from
    Pyodide's lockfile when it boots -- micropip, IPython, jedi and their
    dependencies -- fetched from PyPI by the lockfile's file names. The
    lockfile copy carries the sha256 of the files that are there, and it
    lists neither micropkg nor resolvelib: a user's Pyodide does not either.
``pypi/``
    piplite's wheel index (``--piplite-wheels``): ``comm`` (the kernel needs
    it; Pyodide does not ship it), micropkg's wheel and ``resolvelib``. A
    notebook gets micropkg the way a user of any JupyterLite site would:
    ``%pip install micropkg``.
``files/``
    the notebooks handed to :func:`prepare`.

``jupyter-lite.json`` turns piplite's PyPI fallback off, so a missing wheel
fails at once instead of waiting on a blocked request.

Sites are cached under ``.cache/jupyterlite/site-<key>/``, keyed by the
versions, the wheels' hashes, the notebooks and this file: rebuilding
happens only when one of them changes (e.g. micropkg's sources).
Run ``python -m tests.harness.jupyterlite --pyodide 314.0.7`` to build one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from . import pyodide_dist, pypi

__all__ = ["JUPYTERLITE_CORE", "PYODIDE_KERNEL", "Site", "notebook", "prepare"]

# jupyterlite-pyodide-kernel 0.8.7 requires jupyterlite-core>=0.8.7, which
# PyPI does not have (0.8.6 is the newest): 0.8.6 of both is the newest
# pair pip can install. The kernel 0.8.6 was made for Pyodide 314.0.6.
JUPYTERLITE_CORE = "0.8.6"
PYODIDE_KERNEL = "0.8.6"
# comm: imported by the kernel, absent from Pyodide's lockfile.
_PIPLITE_EXTRAS = {"comm": "0.2.3"}
# What the kernel's worker loads from the Pyodide distribution while it boots
# (micropip first, then piplite.install of ipython and jedi, which micropip
# takes from the lockfile).
_KERNEL_LOCKFILE_PACKAGES = ("micropip", "ipython", "jedi")
# In the prepared folder for the test runner, not in any user's Pyodide.
_NOT_IN_USER_PYODIDE = ("micropkg", "resolvelib")

CACHE = pyodide_dist.CACHE / "jupyterlite"
_STAMP = ".site.json"


@dataclass(frozen=True)
class Site:
    """A built site: serve ``root`` as a static folder and open ``lab/index.html``."""

    root: Path
    versions: dict[str, str]


def _log(message: str) -> None:
    print(f"[jupyterlite] {message}", file=sys.stderr, flush=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def notebook(cells: Sequence[str]) -> dict:
    """An nbformat 4 notebook of code ``cells``, for the Pyodide kernel."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{i}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python (Pyodide)", "language": "python", "name": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _check_tools() -> dict[str, str]:
    """The installed jupyterlite packages, which must be the pinned ones."""
    found = {}
    for name, wanted in (("jupyterlite-core", JUPYTERLITE_CORE), ("jupyterlite-pyodide-kernel", PYODIDE_KERNEL)):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "missing"
        if found[name] != wanted:
            raise RuntimeError(
                f"{name} {found[name]} is installed, the JupyterLite test needs {wanted}: "
                f'pip install "jupyterlite-core=={JUPYTERLITE_CORE}" "jupyterlite-pyodide-kernel=={PYODIDE_KERNEL}"'
            )
    return found


def _pypi_wheel(project: str, filename: str, wheels: Path) -> Path:
    """PyPI's file ``filename`` of ``project``, downloaded (verified) once."""
    cached = wheels / filename
    if cached.is_file():
        return cached
    for file in pypi.release_files(project):
        if file.filename == filename:
            _log(f"downloading {filename}")
            return pypi.download(file, wheels)
    raise LookupError(f"PyPI has no {filename} for {project}: pick a version of {project} that has a wheel")


def _pinned_wheel(project: str, version: str, wheels: Path) -> Path:
    return _pypi_wheel(project, f"{project.replace('-', '_')}-{version}-py3-none-any.whl", wheels)


def _pyodide_folder(dist: Path, target: Path, wheels: Path) -> list[Path]:
    """Fill ``target`` with the runtime and the kernel's lockfile wheels; return
    the wheels a user's site would carry beside it (micropkg, resolvelib)."""
    lock = json.loads((dist / "pyodide-lock.json").read_text())
    packages = lock["packages"]
    target.mkdir(parents=True)
    left_out = {packages[name]["file_name"]: name for name in _NOT_IN_USER_PYODIDE}
    user_wheels = []
    for path in sorted(dist.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.name in left_out:
            user_wheels.append(path)
        elif path.suffix != ".whl" or path.name.startswith("packaging-"):
            # The pytest runner's wheels stay out: the site needs none of them.
            shutil.copyfile(path, target / path.name)
    for name in _NOT_IN_USER_PYODIDE:
        del packages[name]
    for name in sorted(pyodide_dist.closure(packages, _KERNEL_LOCKFILE_PACKAGES)):
        entry = packages[name]
        source = _pypi_wheel(name, entry["file_name"], wheels)
        shutil.copyfile(source, target / source.name)
        # Pyodide's lockfile hashes its own rebuilds; PyPI's file is what is here.
        packages[name] = {**entry, "sha256": _sha256(source)}
    (target / "pyodide-lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))
    return user_wheels


def _key(pyodide_version: str, dist: Path, notebooks: Mapping[str, dict]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([JUPYTERLITE_CORE, PYODIDE_KERNEL, pyodide_version, _PIPLITE_EXTRAS]).encode())
    digest.update((dist / "pyodide-lock.json").read_bytes())  # names micropkg's wheel and its hash
    digest.update(json.dumps(notebooks, sort_keys=True).encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:16]


def _build(pyodide_version: str, dist: Path, notebooks: Mapping[str, dict], output: Path) -> None:
    wheels = CACHE / "wheels"
    with tempfile.TemporaryDirectory(prefix="jupyterlite-build-") as work:
        lite = Path(work)
        user_wheels = _pyodide_folder(dist, lite / "static" / "pyodide", wheels)
        piplite = [*user_wheels, *(_pinned_wheel(p, v, wheels) for p, v in sorted(_PIPLITE_EXTRAS.items()))]
        contents = lite / "contents"
        contents.mkdir()
        for name, document in notebooks.items():
            (contents / name).write_text(json.dumps(document, indent=1))
        config = {
            "jupyter-lite-schema-version": 0,
            "jupyter-config-data": {
                "litePluginSettings": {
                    "@jupyterlite/pyodide-kernel-extension:kernel": {"disablePyPIFallback": True}
                }
            },
        }
        (lite / "jupyter-lite.json").write_text(json.dumps(config, indent=1))
        command = [
            sys.executable, "-m", "jupyter", "lite", "build",
            "--lite-dir", str(lite),
            "--output-dir", str(output),
            "--contents", str(contents),
            "--apps", "lab",
            "--no-sourcemaps",
        ]
        for wheel in piplite:
            command += ["--piplite-wheels", str(wheel)]
        # doit keeps its task database in the lite dir; a fresh one each time.
        result = subprocess.run(command, cwd=lite, capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        if result.returncode != 0:
            raise RuntimeError(
                f"jupyter lite build failed (exit {result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )


def prepare(pyodide_version: str = pyodide_dist.DEFAULT_VERSION, notebooks: Mapping[str, dict] | None = None) -> Site:
    """The built site for ``pyodide_version`` holding ``notebooks`` (name -> nbformat dict)."""
    versions = _check_tools()
    notebooks = dict(notebooks or {})
    dist = pyodide_dist.prepare(pyodide_version)
    key = _key(pyodide_version, dist, notebooks)
    root = CACHE / f"site-{pyodide_version}-{key}"
    stamp = root / _STAMP
    versions = {**versions, "pyodide": pyodide_version}
    if stamp.is_file():
        return Site(root, versions)
    CACHE.mkdir(parents=True, exist_ok=True)
    with pyodide_dist._exclusive(CACHE / f".{pyodide_version}.lock"):
        if stamp.is_file():  # another run built it meanwhile
            return Site(root, versions)
        for stale in CACHE.glob(f"site-{pyodide_version}-*"):
            shutil.rmtree(stale)
        started = time.monotonic()
        building = CACHE / f".building-{key}"
        shutil.rmtree(building, ignore_errors=True)
        _build(pyodide_version, dist, notebooks, building)
        (building / _STAMP).write_text(json.dumps(versions, indent=1))
        os.replace(building, root)
        _log(f"built {root} in {time.monotonic() - started:.1f}s")
    return Site(root, versions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyodide", default=pyodide_dist.DEFAULT_VERSION, help="npm version of Pyodide")
    args = parser.parse_args(argv)
    print(prepare(args.pyodide).root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
