"""``mirror --build``: a lock's sdists built into wheels in Pyodide under Node, from the host.

A page that installs from a mirror built this way never builds: the wheel is
already beside the sdist. The build runs where a page would run it -- in the
lock's own Pyodide, with micropkg's own :class:`~micropkg.build.builder.Builder`
(PEP 517 in-process, build requirements resolved by micropkg from the given
indexes) -- so the wheel is the one a page would have built.

On the host, :func:`node_builder` checks the Pyodide folder (an npm ``pyodide``
package folder, ``--pyodide-dir`` or ``PYODIDE_DIR``) against the lock's
runtime, then for each call writes a work folder::

    WORK/lib/{micropkg,packaging,resolvelib}/   the host's own copies (pure Python)
    WORK/sdists/<sdist>                         the sdists, hash-checked by the mirror
    WORK/job.json                               what to build, from which indexes
    WORK/build.mjs                              the ES module node runs

and runs ``node WORK/build.mjs PYODIDE_DIR WORK``. The script loads Pyodide,
mounts WORK with NODEFS, puts ``WORK/lib`` first on ``sys.path`` and awaits
:func:`run_job` inside Pyodide, which writes ``WORK/wheels/<wheel>`` and
``WORK/result.json``.

The build runs the sdists' code, and Pyodide under Node reaches the host
through JavaScript (``run_js``, Node's modules). So node runs under its
permission model (Node 20+: ``--experimental-permission``, later
``--permission``): it reads only the Pyodide folder and WORK, writes only WORK
and starts no process; the network and environment variables stay open, as
they are to pip's builds. The host trusts nothing it reads back beyond JSON
and bytes: an error comes back as its class name and fields (never pickled),
and the mirror checks each wheel's file name and METADATA against the lock.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import BuildError, BuildRuntimeError, CannotBuild, InvalidSdist
from ..lock.mirror import BuildSdists, LockedSdist
from ..model.lock import Lock
from ..model.target import Target

__all__ = ["NPM_PYODIDE", "node_builder", "pyodide_folder", "pyodide_target", "run_job"]

NPM_PYODIDE = "pyodide@314.0.7"  # the one the README and the error message suggest
TIMEOUT = 1800.0  # seconds for all of one mirror's builds
_LIBRARIES = ("micropkg", "packaging", "resolvelib")
_ERRORS: dict[str, type[BuildError]] = {c.__name__: c for c in (BuildError, InvalidSdist, CannotBuild)}

_SCRIPT = """\
// micropkg mirror --build: node build.mjs PYODIDE_DIR WORK (see micropkg/commands/node_build.py)
import { constants as fsConstants } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

// Under Node's permission model process.binding is refused; Emscripten's NODEFS asks it only
// for the file system's constants, which node:fs states too.
process.binding = (name) => {
  if (name === "constants") return { fs: fsConstants };
  throw new Error(`process.binding(${JSON.stringify(name)}) is not available during mirror --build`);
};
const [pyodideDir, work] = process.argv.slice(2).map((p) => path.resolve(p));
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
// Python's output goes to stderr: the host shows its last lines if the build dies.
const pyodide = await loadPyodide({
  indexURL: pyodideDir + path.sep, stdout: (s) => console.error(s), stderr: (s) => console.error(s),
});
pyodide.FS.mkdirTree("/micropkg-build");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: work }, "/micropkg-build");
await pyodide.runPythonAsync(`
import sys
sys.path.insert(0, "/micropkg-build/lib")
from micropkg.commands.node_build import run_job
await run_job("/micropkg-build")
`);
"""


def pyodide_folder(given: str | None) -> Path:
    """The npm ``pyodide`` folder: ``given`` (``--pyodide-dir``), else ``$PYODIDE_DIR``; checked."""
    chosen = given or os.environ.get("PYODIDE_DIR")
    if not chosen:
        raise BuildRuntimeError(
            "mirror --build runs the builds in Pyodide under Node and needs a Pyodide folder: give"
            f" --pyodide-dir DIR or set PYODIDE_DIR. Get one with `npm install {NPM_PYODIDE}`"
            " (the folder is then node_modules/pyodide; its version must be the lock's runtime).",
            what="--pyodide-dir",
        )
    folder = Path(chosen).resolve()
    missing = [name for name in ("pyodide.mjs", "pyodide-lock.json") if not (folder / name).is_file()]
    if missing:
        raise BuildRuntimeError(
            f"{str(folder)!r} is not a Pyodide folder: it has no {' or '.join(missing)}. Give the npm"
            f" package's folder (`npm install {NPM_PYODIDE}` makes node_modules/pyodide).",
            what=str(folder),
        )
    return folder


def pyodide_target(folder: Path) -> Target:
    """The runtime the Pyodide in ``folder`` is, from its ``pyodide-lock.json``'s ``info``."""
    from ..lock.pyodide_lock import target_of

    source = str(folder / "pyodide-lock.json")
    try:
        info = json.loads((folder / "pyodide-lock.json").read_text(encoding="utf-8")).get("info")
    except (OSError, ValueError, AttributeError) as exc:
        raise BuildRuntimeError(f"Cannot read the runtime of {source!r}: {exc}", what=source) from exc
    return target_of(info, source)


def _runtime(target: Target) -> str:
    major, minor = target.info.python_version
    return f"Python {major}.{minor} (ABI {target.info.abi_version}, {target.describe()})"


def check_runtime(lock: Lock, folder: Path, target: Target) -> None:
    """Refuse a Pyodide that is not the lock's target: a wheel built there may not fit the lock's."""
    if lock.target is not None:
        wanted, found = lock.target.info, target.info
        if (wanted.python_version, wanted.abi_version) != (found.python_version, found.abi_version):
            raise BuildRuntimeError(
                f"{lock.source} is locked for {_runtime(lock.target)}, but the Pyodide in {str(folder)!r} is"
                f" {_runtime(target)}. Build in the lock's runtime: give --pyodide-dir a folder of that"
                " Pyodide (npm install pyodide@VERSION), or lock again for this one.",
                what=str(folder),
            )
        return
    fits = (lock.requires_python is None or target.python_ok(lock.requires_python)) and (
        not lock.environments or any(target.marker_ok(m) for m in lock.environments))
    if not fits:
        wanted_text = " or ".join(f"({m})" for m in lock.environments) or f"Python {lock.requires_python}"
        raise BuildRuntimeError(
            f"{lock.source} is for {wanted_text}, which the Pyodide in {str(folder)!r} ({_runtime(target)})"
            " is not. Give --pyodide-dir a folder of the lock's Pyodide.",
            what=str(folder),
        )


def node_builder(lock: Lock, folder: Path, index_urls: Sequence[str] | None, *, node: str = "node") -> BuildSdists:
    """The :data:`~micropkg.lock.mirror.BuildSdists` for :func:`~micropkg.lock.mirror.build_mirror`:
    checked now (node, the folder, its runtime against the lock); builds when called."""
    if shutil.which(node) is None:
        raise BuildRuntimeError(
            f"mirror --build runs the builds in Pyodide under Node, and {node!r} is not on PATH."
            " Install Node.js 18 or newer (https://nodejs.org, or your system's nodejs package).",
            what=node,
        )
    check_runtime(lock, folder, pyodide_target(folder))

    async def build(sdists: Sequence[LockedSdist]) -> list[tuple[str, bytes]]:
        with tempfile.TemporaryDirectory(prefix="micropkg-node-build-") as temporary:
            return _run(Path(temporary), sdists, folder, list(index_urls or []), node)

    return build


def _run(work: Path, sdists: Sequence[LockedSdist], folder: Path, index_urls: list[str], node: str) -> list[tuple[str, bytes]]:
    import importlib

    for name in _LIBRARIES:
        # The host's own (pure-Python) copies: the build runs this very micropkg.
        source = Path(importlib.import_module(name).__file__ or "").parent
        shutil.copytree(source, work / "lib" / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (work / "sdists").mkdir()
    (work / "wheels").mkdir()
    for sdist in sdists:
        (work / "sdists" / sdist.filename).write_bytes(sdist.data)
    job = {"index_urls": index_urls, "sdists": [
        {"project": s.project, "version": s.version, "filename": s.filename} for s in sdists]}
    (work / "job.json").write_text(json.dumps(job))
    (work / "build.mjs").write_text(_SCRIPT)
    names = ", ".join(f"{s.project} {s.version}" for s in sdists)
    started = time.perf_counter()
    try:
        command = [node, *_permissions(node, folder, work), str(work / "build.mjs"), str(folder), str(work)]
        finished = subprocess.run(command,
                                  capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise _failed(sdists, f"the builds of {names} took more than {TIMEOUT:.0f} s in Pyodide under Node", "") from exc
    result_path = work / "result.json"
    if not result_path.is_file():
        raise _failed(sdists, f"node exited with status {finished.returncode} before the builds of {names} finished",
                      finished.stderr)
    result = json.loads(result_path.read_text())
    error = result.get("error")
    if error is not None:
        cls = _ERRORS.get(str(error.get("type")), BuildError)
        raise cls(f"mirror --build stopped: {error.get('message')} Nothing was written to the mirror.",
                  project=str(error.get("project")), version=str(error.get("version")),
                  filename=str(error.get("filename")))
    built = []
    for sdist, entry in zip(sdists, result["built"], strict=True):
        wheel = Path(entry["wheel"]).name  # a bare file name, whatever the build wrote
        built.append((wheel, (work / "wheels" / wheel).read_bytes()))
        needs = ", ".join(entry["requirements"]) or "nothing"
        print(f"Built {wheel} from {sdist.filename} in {entry['seconds']:.2f} s (build requirements: {needs})",
              file=sys.stderr)
    print(f"Pyodide under Node ran the builds in {time.perf_counter() - started:.2f} s (start-up included)",
          file=sys.stderr)
    return built


def _permissions(node: str, folder: Path, work: Path) -> list[str]:
    """Node's permission model for the build: it runs the sdists' code, and Pyodide under Node
    reaches the host through JavaScript. Reads only the Pyodide folder and the work folder, writes
    only the work folder, starts no process (network and environment variables stay open)."""
    listed = subprocess.run([node, "--help"], capture_output=True, text=True, check=False).stdout
    flag = next((f for f in ("--permission", "--experimental-permission") if f"  {f} " in listed), None)
    if flag is None:  # Node 18 has none: the build runs with the user's rights, as pip's builds do
        print(f"note: {node} has no permission model (Node 20 or newer has): the builds run with your"
              " rights on this machine", file=sys.stderr)
        return []
    return [flag, f"--allow-fs-read={folder}", f"--allow-fs-read={work}", f"--allow-fs-write={work}"]


def _failed(sdists: Sequence[LockedSdist], problem: str, output: str) -> BuildError:
    from ..build.backend import last_lines

    tail = last_lines(output)
    first = sdists[0]
    return BuildError(
        f"mirror --build: {problem}. Nothing was written." + (f" Its last output:\n{tail}" if tail else ""),
        project=first.project, version=first.version, filename=first.filename,
    )


# -- inside Pyodide ----------------------------------------------------------------------


async def run_job(work: str) -> None:
    """Build the job's sdists with micropkg's :class:`Builder`; write the wheels and result.json."""
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    from ..errors import MicropkgError
    from ..model.candidates import Candidate
    from ..model.simple import DistFile
    from ..model.sources import LockSource
    from ..session import Session

    root = Path(work)
    job = json.loads((root / "job.json").read_text())
    session = Session.open(job["index_urls"] or None, cache="off", pyodide_packages=False)
    builder = session.builder(None)
    built: list[dict[str, object]] = []
    result: dict[str, object] = {"built": built, "error": None}
    entry: dict[str, str] = {}
    try:
        for entry in job["sdists"]:
            data = (root / "sdists" / entry["filename"]).read_bytes()
            file = DistFile(filename=entry["filename"], url="emfs:" + str(root / "sdists" / entry["filename"]))
            candidate = Candidate(canonicalize_name(entry["project"]), Version(entry["version"]), file,
                                  LockSource("mirror --build"))
            started = time.perf_counter()
            filename, wheel = await builder.wheel(candidate, data)
            (root / "wheels" / filename).write_bytes(wheel)
            record = builder.records[-1] if builder.records else None
            built.append({"wheel": filename, "seconds": time.perf_counter() - started,
                          "requirements": record.requirements if record else []})
    except MicropkgError as exc:
        message = str(exc)
        if not isinstance(exc, BuildError):  # the build requirements' resolution or download, say
            message = (f"Building {entry.get('project')} {entry.get('version')} from its sdist"
                       f" {entry.get('filename')} in Pyodide failed: {type(exc).__name__}: {exc}")
        fields = {k: entry.get(k) for k in ("project", "version", "filename")}
        result["error"] = {"type": type(exc).__name__, "message": message, **fields}
    finally:
        builder.close()
    (root / "result.json").write_text(json.dumps(result))
