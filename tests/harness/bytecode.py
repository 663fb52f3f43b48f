"""CPython 3.14 bytecode for micropkg's wheel, compiled inside Pyodide 314.

Pyodide 314 ships its standard library and packages as ``.py`` only, so a
fresh runtime compiles every module it imports; for micropkg that was about
165 ms of a cold install. A wheel that also carries
``micropkg/__pycache__/<module>.cpython-314.pyc`` skips that: the import
system loads the pyc beside its source. Other Pythons (Pyodide 0.27, 0.29,
315) look for their own cache tag and use the sources.

The bytecode must come from the very CPython Pyodide runs (3.14.2, built for
WebAssembly), not the host's, so :func:`compile_in_pyodide` starts Pyodide
:data:`PYODIDE` under Node once and runs ``py_compile`` there. The pycs are
hash-based and checked (PEP 552): they stay valid without file mtimes,
which unpacking a wheel does not keep, and a source edited after install
is noticed and recompiled rather than silently shadowed.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .wheels import record_hash

__all__ = ["PYODIDE", "Bytecode", "BytecodeError", "add_to_wheel", "compile_in_pyodide"]

# The npm ``pyodide`` release whose CPython compiles the bytecode.
PYODIDE = "314.0.7"

# Runs inside Pyodide. ``job`` is a JSON string: {"sources": {path: base64}}.
# py_compile rather than marshal by hand: it writes the PEP 552 header itself.
_PYTHON = r"""
import base64, importlib.util, json, os, platform, py_compile, sys, tempfile

def _compile(job):
    sources = json.loads(job)["sources"]
    pycs = {}
    with tempfile.TemporaryDirectory() as root:
        for name, encoded in sorted(sources.items()):
            source = os.path.join(root, name)
            os.makedirs(os.path.dirname(source), exist_ok=True)
            with open(source, "wb") as stream:
                stream.write(base64.b64decode(encoded))
            # The name the pyc has in a wheel, as this interpreter's importer looks it up.
            relative = importlib.util.cache_from_source(name, optimization="")
            cfile = os.path.join(root, relative)
            py_compile.compile(
                source, cfile=cfile, dfile=name, doraise=True, optimize=0,
                invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
            )
            with open(cfile, "rb") as stream:
                pycs[relative] = base64.b64encode(stream.read()).decode("ascii")
    return json.dumps({
        "python": platform.python_version(),
        "cache_tag": sys.implementation.cache_tag,
        "magic": importlib.util.MAGIC_NUMBER.hex(),
        "pycs": pycs,
    })

_compile(job)
"""

# Runs under Node: boots Pyodide from the npm package, hands the job (stdin)
# to _PYTHON, prints its JSON answer as the last stdout line.
_JS = r"""
import { pathToFileURL } from "node:url";
const [packageDir, python] = process.argv.slice(1);
const { loadPyodide } = await import(pathToFileURL(packageDir + "/pyodide.mjs").href);
const pyodide = await loadPyodide({ indexURL: packageDir + "/", stdout: (line) => console.error(line) });
// Read stdin as a stream: readFileSync(0) can fail with EAGAIN on a pipe.
let job = "";
for await (const chunk of process.stdin) job += chunk;
pyodide.globals.set("job", job);
let answer;
try {
  answer = pyodide.runPython(python);
} catch (error) {
  // The Python traceback alone: Node's report of an uncaught error quotes minified pyodide.asm.mjs.
  console.error(String(error?.message ?? error));
  process.exit(1);
}
process.stdout.write("\n" + answer + "\n");
"""


class BytecodeError(RuntimeError):
    """Compiling in Pyodide could not run or failed."""


@dataclass(frozen=True)
class Bytecode:
    """What Pyodide compiled: ``pycs`` maps ``pkg/__pycache__/mod.<tag>.pyc`` to its bytes."""

    python: str
    cache_tag: str
    magic: bytes
    pycs: dict[str, bytes]


def compile_in_pyodide(sources: Mapping[str, bytes], package: Path, *, timeout: float = 300) -> Bytecode:
    """Compile ``sources`` (wheel path such as ``micropkg/api.py`` -> source bytes).

    ``package`` is the installed npm ``pyodide`` package directory (the one
    holding ``pyodide.mjs``); :func:`tests.harness.pyodide_dist._npm_package`
    installs it. Only ``.py`` entries are compiled; others are ignored.
    """
    node = shutil.which("node")
    if node is None:
        raise BytecodeError("node (20+) is needed to compile micropkg's bytecode inside Pyodide; install Node.js")
    if not (package / "pyodide.mjs").is_file():
        raise BytecodeError(
            f"no Pyodide runtime in {package}: run `npm install --prefix DIR pyodide@{PYODIDE}`"
            f" or `python -m tests.harness.pyodide_dist --pyodide {PYODIDE}`, which does it"
        )
    job = {
        "sources": {
            name: base64.b64encode(data).decode("ascii")
            for name, data in sources.items()
            if name.endswith(".py")
        }
    }
    completed = subprocess.run(
        [node, "--input-type=module", "-e", _JS, str(package.resolve()), _PYTHON],
        input=json.dumps(job), capture_output=True, text=True, timeout=timeout,
    )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        raise BytecodeError(
            f"compiling in Pyodide ({package}) failed, node exited {completed.returncode}:"
            f"\n{completed.stderr[-3000:]}"
        )
    answer = json.loads(lines[-1])
    return Bytecode(
        python=answer["python"],
        cache_tag=answer["cache_tag"],
        magic=bytes.fromhex(answer["magic"]),
        pycs={name: base64.b64decode(data) for name, data in answer["pycs"].items()},
    )


def add_to_wheel(wheel: Path, package: Path) -> Bytecode:
    """Rewrite ``wheel`` (a built ``py3-none-any`` wheel) with the bytecode of its modules.

    Each pyc goes beside its source and into RECORD with its hash and size; the
    members keep their order and RECORD stays last. The file name is unchanged:
    the sources inside still serve every other Python.
    """
    with zipfile.ZipFile(wheel) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    records = [(info, data) for info, data in members if info.filename.endswith(".dist-info/RECORD")]
    if not records:
        raise BytecodeError(f"{wheel} has no .dist-info/RECORD: not a wheel")
    if any(info.filename.endswith(".pyc") for info, _ in members):
        raise BytecodeError(f"{wheel} already holds bytecode")
    compiled = compile_in_pyodide({info.filename: data for info, data in members}, package)
    pycs = sorted(compiled.pycs.items())
    (record_info, record), = records
    rows = "".join(f"{name},{record_hash(data)},{len(data)}\n" for name, data in pycs)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as rewritten:
        for info, data in members:
            if info is not record_info:
                rewritten.writestr(info, data)
        for name, data in pycs:
            rewritten.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
        rewritten.writestr(record_info, record + rows.encode("utf-8"))
    wheel.write_bytes(out.getvalue())
    return compiled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.harness.bytecode",
        description=f"add CPython bytecode, compiled inside Pyodide {PYODIDE}, to built wheels",
    )
    parser.add_argument("wheels", nargs="+", type=Path, help="wheel files, rewritten in place")
    args = parser.parse_args(argv)
    from .pyodide_dist import CACHE, _npm_package  # the npm runtime, fetched once into .cache/

    package = _npm_package(PYODIDE, CACHE)
    for wheel in args.wheels:
        compiled = add_to_wheel(wheel, package)
        print(f"{wheel}: {len(compiled.pycs)} modules compiled by Python {compiled.python} ({compiled.cache_tag})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
