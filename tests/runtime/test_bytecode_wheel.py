"""micropkg's wheel carries checked-hash CPython 3.14 bytecode for every module, beside the sources.

The wheel is the one :mod:`tests.harness.pyodide_dist` puts in the Pyodide
folder (scripts/build-wheel writes the same). Whether Pyodide 314 really
loads it is tests/runtime/test_bytecode.py's business; this checks the
archive: names, RECORD, and each pyc's PEP 552 header.

These tests read the prepared folder from the host, and one compiles in
Pyodide under Node: they belong to the runtime runs, not the host suite, and
run once: in the Node run (``node_run``) of Pyodide 314 (ABI 2026_0).
"""

from __future__ import annotations

import _imp
import json
import zipfile
from pathlib import PurePosixPath

import pytest

from tests.harness.wheels import record_hash

pytestmark = [pytest.mark.usefixtures("node_run"), pytest.mark.pyodide_abi("2026_0")]

# PEP 552 flags: bit 0 "hash-based", bit 1 "check the source".
CHECKED_HASH = 0b11


@pytest.fixture(scope="module")
def wheel(pyodide_dist_dir):
    """(archive members by name, RECORD rows by path, what compiled the pycs)."""
    facts = json.loads((pyodide_dist_dir / ".harness.json").read_text())["placed"]["micropkg"]
    with zipfile.ZipFile(pyodide_dist_dir / facts["file_name"]) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    record = members[f"micropkg-{facts['version']}.dist-info/RECORD"].decode()
    rows = {path: (digest, size) for path, digest, size in (line.split(",") for line in record.splitlines())}
    return members, rows, facts["bytecode"]


def _pyc_name(source: str, cache_tag: str) -> str:
    path = PurePosixPath(source)
    return str(path.parent / "__pycache__" / f"{path.stem}.{cache_tag}.pyc")


def test_the_bytecode_is_pyodide_314s(wheel):
    _, _, compiled = wheel
    assert compiled["python"].startswith("3.14.") and compiled["cache_tag"] == "cpython-314"


def test_every_module_has_its_pyc_and_nothing_else_does(wheel):
    members, _, compiled = wheel
    sources = sorted(name for name in members if name.endswith(".py"))
    pycs = sorted(name for name in members if name.endswith(".pyc"))
    assert "micropkg/api.py" in sources and "micropkg/__init__.py" in sources
    assert pycs == sorted(_pyc_name(source, compiled["cache_tag"]) for source in sources)


def test_record_lists_every_file_with_its_hash_and_size(wheel):
    members, rows, _ = wheel
    for name, data in members.items():
        if name.endswith("/RECORD"):
            assert rows[name] == ("", "")
        else:
            assert rows[name] == (record_hash(data), str(len(data))), name
    assert set(rows) == set(members)


def test_each_pyc_is_checked_against_its_source_hash(wheel):
    members, _, compiled = wheel
    magic = bytes.fromhex(compiled["magic"])
    # The source hash is SipHash-1-3 keyed with the interpreter's magic number
    # (the same function in 3.11 and 3.14), so the host's _imp.source_hash
    # given 3.14's magic reproduces what Pyodide wrote.
    key = int.from_bytes(magic, "little")
    for name in (n for n in members if n.endswith(".py")):
        pyc = members[_pyc_name(name, compiled["cache_tag"])]
        assert pyc[:4] == magic, name
        assert int.from_bytes(pyc[4:8], "little") == CHECKED_HASH, name
        assert pyc[8:16] == _imp.source_hash(key, members[name]), name


def test_add_to_wheel_turns_a_built_wheel_into_one_pyodide_314_loads_without_compiling(tmp_path):
    # What scripts/build-wheel does to flit's wheel, on a small one: compiled in Pyodide (Node).
    from micropkg.model.wheel import Wheel
    from tests.harness import bytecode, pyodide_dist
    from tests.harness.wheels import make_wheel

    built = make_wheel("demo-pkg", "1.0", files={"demo_pkg/__init__.py": "VALUE = 1\n", "demo_pkg/sub.py": "X = 2\n"})
    path = tmp_path / built.filename
    path.write_bytes(built.data)
    compiled = bytecode.add_to_wheel(path, pyodide_dist._npm_package(bytecode.PYODIDE, pyodide_dist.CACHE))
    wheel = Wheel.from_bytes(path.name, path.read_bytes())  # RECORD lists every pyc with its hash
    names = {name for name, _ in wheel.members}
    assert {"demo_pkg/__pycache__/__init__.cpython-314.pyc", "demo_pkg/__pycache__/sub.cpython-314.pyc"} <= names
    assert set(compiled.pycs) == {n for n in names if n.endswith(".pyc")}
    with pytest.raises(bytecode.BytecodeError, match="already holds bytecode"):
        bytecode.add_to_wheel(path, pyodide_dist._npm_package(bytecode.PYODIDE, pyodide_dist.CACHE))
