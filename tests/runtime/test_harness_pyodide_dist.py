"""The prepared Pyodide folder: every wheel the lockfile names there has the hash of the file there.

The folder is prepared for the runtime runs, so these host-side checks run
there too, in each Node run (``node_run``), on the folder of the Pyodide
under test; the host suite prepares no Pyodide.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from email.parser import BytesHeaderParser

import pytest

from tests.harness import pyodide_dist

pytestmark = pytest.mark.usefixtures("node_run")


def test_lockfile_hashes_match_the_files(pyodide_dist_dir):
    packages = json.loads((pyodide_dist_dir / "pyodide-lock.json").read_text())["packages"]
    present = {name: entry for name, entry in packages.items() if (pyodide_dist_dir / entry["file_name"]).is_file()}

    assert {"pytest", "tblib", "packaging", "resolvelib", "micropkg"} <= set(present)
    for name, entry in present.items():
        digest = hashlib.sha256((pyodide_dist_dir / entry["file_name"]).read_bytes()).hexdigest()
        assert entry["sha256"] == digest, name
    assert packages["micropkg"]["depends"] == ["packaging", "resolvelib"]
    assert set(packages["pytest"]["depends"]) <= set(present)


def test_micropkg_wheel_is_built_from_the_sources(pyodide_dist_dir):
    entry = json.loads((pyodide_dist_dir / "pyodide-lock.json").read_text())["packages"]["micropkg"]
    with zipfile.ZipFile(pyodide_dist_dir / entry["file_name"]) as archive:
        names = archive.namelist()
        metadata = BytesHeaderParser().parsebytes(archive.read(f"micropkg-{entry['version']}.dist-info/METADATA"))

    assert "micropkg/__init__.py" in names
    assert metadata["Name"] == "micropkg"
    assert {r.split(">")[0] for r in metadata.get_all("Requires-Dist")} == {"packaging", "resolvelib"}


def test_preparing_again_is_a_no_op(pyodide_dist_dir, pytestconfig):
    # Nothing in the folder is written again (a timing bound here was flaky on a busy machine).
    def stamps() -> dict[str, int]:
        return {str(p): p.stat().st_mtime_ns for p in pyodide_dist_dir.rglob("*") if p.is_file()}

    before = stamps()
    assert str(pyodide_dist_dir / "pyodide-lock.json") in before

    pyodide_dist.prepare(pytestconfig.getoption("--pyodide-version"))

    assert stamps() == before
