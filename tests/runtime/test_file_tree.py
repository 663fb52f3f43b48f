"""A batch of new files written in one JavaScript call into Emscripten's file system.

micropkg.runtime.file_tree writes a warm page load's files from JavaScript
inside Pyodide (in Python elsewhere: tests/host/test_file_tree.py). Here,
inside real Pyodide: the files are what Python reads and imports, with the
mode ``os.open(path, ..., 0o666)`` gives; a taken path (a file, a link, a
file where a directory goes) writes nothing; a parent that leads out of the
root is refused; undo removes only what is still the call's own; and the
sha256 is the host's, equal to hashlib's.
"""

from __future__ import annotations

import pytest
from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["micropkg"])
def _scenario(selenium, name):
    import importlib
    import os
    import stat
    import sys
    import tempfile
    from pathlib import Path

    from micropkg.runtime import file_tree

    files = {
        "ftdemo/__init__.py": b"VALUE = 42\n", "ftdemo/sub/__init__.py": b"", "ftdemo/sub/deep.py": b"y = 2\n",
        "ftdemo-1.0.dist-info/RECORD": b"ftdemo/__init__.py,,\n", "ftdemo_top.py": b"z = 3\n",
    }
    base = Path(tempfile.mkdtemp())
    root = base / "root"
    root.mkdir()

    def write(chosen=files):
        data = b"HEAD" + b"".join(chosen.values())
        return file_tree.write_new_files(str(root), data, [(p, len(b)) for p, b in chosen.items()], 4)

    def tree():
        return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes().decode()) for p in sorted(root.rglob("*"))}

    if name == "written":
        batch = write()
        written = tree()
        reference = os.open(base / "reference", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.close(reference)
        sys.path.insert(0, str(root))
        importlib.invalidate_caches()
        try:
            module = importlib.import_module("ftdemo.sub.deep")
        finally:
            sys.path.remove(str(root))
        modes = {stat.S_IMODE(os.stat(root / path).st_mode) for path in files}
        return {
            "batch": batch is not None, "tree": written, "imported": module.y,
            "modes": sorted(modes), "reference_mode": stat.S_IMODE(os.stat(base / "reference").st_mode),
            "regular": all(stat.S_ISREG(os.lstat(root / path).st_mode) for path in files),
        }
    if name in ("taken file", "taken directory"):
        taken = root / ("ftdemo/sub/deep.py" if name == "taken file" else "ftdemo/sub")
        taken.parent.mkdir(parents=True)
        taken.write_bytes(b"someone else's")
        before = tree()
        return {"batch": write() is not None, "same": tree() == before}
    if name == "link":
        (base / "outside.py").write_bytes(b"not to be touched")
        os.symlink(base / "outside.py", root / "ftdemo_top.py")
        return {"batch": write() is not None, "outside": (base / "outside.py").read_bytes().decode(),
                "listing": sorted(os.listdir(root))}
    if name == "leading out":
        (base / "elsewhere").mkdir()
        os.symlink(base / "elsewhere", root / "ftdemo")
        try:
            write({"a.py": b"1", "ftdemo/__init__.py": b"2"})
        except OSError as exc:
            return {"error": str(exc), "elsewhere": os.listdir(base / "elsewhere"), "listing": sorted(os.listdir(root))}
        return {"error": None}
    if name == "undo":
        (root / "ftdemo").mkdir()
        (root / "ftdemo" / "old.py").write_bytes(b"there before")
        batch = write()
        (root / "ftdemo" / "__init__.py").write_bytes(b"changed since")  # the same file, other bytes
        (root / "ftdemo" / "sub" / "deep.py").rename(base / "aside.py")  # another file, the same bytes
        (root / "ftdemo" / "sub" / "deep.py").write_bytes(files["ftdemo/sub/deep.py"])
        (root / "ftdemo" / "sub" / "theirs.py").write_bytes(b"another install's")
        return {"kept": batch.undo(), "tree": tree()}
    raise AssertionError(name)


@run_in_pyodide(packages=["micropkg"])
async def _sha256(selenium):
    import hashlib
    import os

    from micropkg.runtime import file_tree

    data = os.urandom(3_000_000)
    return await file_tree.sha256_hex(data, 17) == hashlib.sha256(data[17:]).hexdigest()


def test_the_files_are_what_python_reads_and_imports(selenium) -> None:
    outcome = _scenario(selenium, "written")
    assert outcome["batch"] and outcome["regular"] and outcome["imported"] == 2
    assert outcome["modes"] == [outcome["reference_mode"]]
    assert outcome["tree"] == {
        "ftdemo": None, "ftdemo-1.0.dist-info": None, "ftdemo-1.0.dist-info/RECORD": "ftdemo/__init__.py,,\n",
        "ftdemo/__init__.py": "VALUE = 42\n", "ftdemo/sub": None, "ftdemo/sub/__init__.py": "",
        "ftdemo/sub/deep.py": "y = 2\n", "ftdemo_top.py": "z = 3\n",
    }


@pytest.mark.parametrize("name", ["taken file", "taken directory"])
def test_a_taken_path_writes_nothing(selenium, name) -> None:
    assert _scenario(selenium, name) == {"batch": False, "same": True}


def test_a_link_at_a_path_is_taken_and_never_written_through(selenium) -> None:
    assert _scenario(selenium, "link") == {"batch": False, "outside": "not to be touched", "listing": ["ftdemo_top.py"]}


def test_a_parent_leading_out_of_the_root_is_refused(selenium) -> None:
    outcome = _scenario(selenium, "leading out")
    assert outcome["error"] is not None and "outside" in outcome["error"]
    assert outcome["elsewhere"] == [] and outcome["listing"] == ["ftdemo"]


def test_undo_removes_only_what_is_still_its_own(selenium) -> None:
    outcome = _scenario(selenium, "undo")
    assert outcome["kept"] == ["ftdemo/__init__.py", "ftdemo/sub/deep.py"]
    assert outcome["tree"] == {
        "ftdemo": None, "ftdemo/__init__.py": "changed since", "ftdemo/old.py": "there before",
        "ftdemo/sub": None, "ftdemo/sub/deep.py": "y = 2\n", "ftdemo/sub/theirs.py": "another install's",
    }


def test_the_sha256_is_hashlibs(selenium) -> None:
    assert _sha256(selenium)


PATHS = [
    "a.py", "a/b.py", "", "/abs.py", "a//b.py", "a/./b.py", "./a.py", "a/..", "..", "a/../b.py", "...", ".a", "a.",
    "C:x.py", "c:/x.py", "a:b.py", "ab:c.py", "a\\b.py", "a\x00b.py", "a/b/", "é/ü.py", " a.py", "a/ b.py", "a\nb.py",
]


@run_in_pyodide(packages=["micropkg"])
def _refused(selenium, paths):
    """For each path: whether write_new_files refused it as unsafe, and path_problem's verdict."""
    import tempfile

    from micropkg.model.records import path_problem
    from micropkg.runtime import file_tree

    verdicts = []
    for path in paths:
        root = tempfile.mkdtemp()
        try:
            file_tree.write_new_files(root, b"", [(path, 0)], 0)
            refused = False
        except OSError as exc:
            refused = "unsafe" in str(exc)
        verdicts.append([path, refused, path_problem(path) is not None])
    return verdicts


def test_the_path_rule_in_javascript_is_path_problems(selenium) -> None:
    verdicts = _refused(selenium, PATHS)
    assert [path for path, refused, problem in verdicts if refused != problem] == []
    assert sum(refused for _, refused, _ in verdicts) >= 12  # the list holds both kinds


@run_in_pyodide(packages=["micropkg"])
async def _from_javascript_bytes(selenium):
    """The same from a JavaScript Uint8Array (what the stores hand a warm restore), read in place."""
    import hashlib
    import tempfile
    from pathlib import Path

    import js
    from pyodide.ffi import to_js

    from micropkg.runtime import file_tree

    data = b"HEAD\nftjs/__init__.py...x = 1\n"
    held = file_tree.Held(js.Uint8Array.new(to_js(data)))
    root = Path(tempfile.mkdtemp())
    batch = file_tree.write_new_files(str(root), held, [("ftjs/__init__.py", 6)], len(data) - 6)
    return {
        "length": len(held), "newline": held.find(10, 0), "slice": held.slice(5, 9).decode(),
        "sha256": await file_tree.sha256_hex(held, 3) == hashlib.sha256(data[3:]).hexdigest(),
        "written": (root / "ftjs" / "__init__.py").read_text(), "kept": batch.undo(), "left": list(root.iterdir()),
    }


def test_bytes_held_in_javascript_are_read_in_place(selenium) -> None:
    assert _from_javascript_bytes(selenium) == {
        "length": 30, "newline": 4, "slice": "ftjs", "sha256": True, "written": "x = 1\n", "kept": [], "left": [],
    }


@run_in_pyodide(packages=["micropkg"])
def _no_files(selenium):
    import os
    import tempfile

    from micropkg.runtime import file_tree

    root = tempfile.mkdtemp()
    batch = file_tree.write_new_files(root, b"HEAD", [], 4)
    return [batch is not None, os.listdir(root), batch.undo()]


def test_an_empty_batch_writes_nothing(selenium) -> None:
    assert _no_files(selenium) == [True, [], []]


@run_in_pyodide(packages=["micropkg"])
async def _read_back_and_pack(selenium):
    import tempfile
    from pathlib import Path

    from micropkg.runtime import file_reader

    root = Path(tempfile.mkdtemp())
    files = {"a/__init__.py": b"A = 1\n", "a/b/c.py": bytes(range(256)) * 40, "a-1.0.dist-info/RECORD": b""}
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    data, sizes = file_reader.read_files(str(root), list(files), 1 << 20)
    in_js = not isinstance(data.data, bytes)
    packed = await file_reader.pack_entry(b"HEAD\n", b'{"m": 1}', data)
    expected = file_reader.frame(b"HEAD\n", b'{"m": 1}', b"".join(files.values()))
    too_big = file_reader.read_files(str(root), list(files), 100)
    try:
        file_reader.read_files(str(root), ["gone.py"], 1 << 20)
        gone = "read"
    except OSError as exc:
        gone = str(exc)
    return in_js, sizes == [len(b) for b in files.values()], packed.slice(0, len(packed)) == expected, too_big, gone


def test_an_installed_tree_is_read_back_and_packed_in_javascript_as_python_would(selenium_standalone):
    # The tree cache keeps what an install wrote from these (micropkg.runtime.file_reader): the
    # files read straight from Emscripten's file system, framed with the host's sha256.
    in_js, sizes_right, same, too_big, gone = _read_back_and_pack(selenium_standalone)
    assert in_js and sizes_right and same
    assert too_big is None
    assert "reading back the installed files" in gone, gone
