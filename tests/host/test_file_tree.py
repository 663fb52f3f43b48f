"""A batch of new files written in one call (micropkg.runtime.file_tree), on CPython.

The same rules hold inside Pyodide, where JavaScript writes the files
(tests/runtime/test_file_tree.py): every file is new, a taken path or a file
where a directory should be writes nothing, a parent may not lead out of the
root, and undo removes only what is still the call's own.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from micropkg.runtime import file_tree

FILES = {"demo/__init__.py": b"x = 1\n", "demo/sub/deep.py": b"y = 2\n", "demo-1.0.dist-info/RECORD": b"", "top.py": b"z"}


def _batch(root: Path, files: dict[str, bytes] = FILES, *, head: bytes = b"HEAD"):
    data = head + b"".join(files.values())
    return file_tree.write_new_files(str(root), data, [(path, len(body)) for path, body in files.items()], len(head))


def _tree(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(root.rglob("*"))
    }


def test_every_file_is_written_with_its_parents(tmp_path: Path) -> None:
    batch = _batch(tmp_path)
    assert batch is not None
    assert {path: body for path, body in _tree(tmp_path).items() if body is not None} == FILES
    assert (tmp_path / "demo" / "sub").is_dir()


@pytest.mark.parametrize("taken", ["demo/sub/deep.py", "top.py", "demo/sub"])
def test_a_taken_path_writes_nothing(tmp_path: Path, taken: str) -> None:
    # A file where a file goes, or where a directory goes (ENOTDIR).
    (tmp_path / taken).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / taken).write_bytes(b"someone else's")
    before = _tree(tmp_path)
    assert _batch(tmp_path) is None
    assert _tree(tmp_path) == before


def test_a_link_at_a_path_is_taken_and_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_bytes(b"not to be touched")
    root = tmp_path / "root"
    root.mkdir()
    (root / "top.py").symlink_to(outside)
    assert _batch(root) is None
    assert outside.read_bytes() == b"not to be touched"
    assert sorted(os.listdir(root)) == ["top.py"]


def test_a_parent_leading_out_of_the_root_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "demo").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OSError, match="outside"):
        _batch(root, {"a.py": b"1", "demo/__init__.py": b"2"})
    assert os.listdir(elsewhere) == []
    assert sorted(os.listdir(root)) == ["demo"]  # a.py, written first, was removed again


def test_undo_removes_what_is_still_its_own(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    batch = _batch(root)
    assert batch is not None
    (root / "demo" / "__init__.py").write_bytes(b"changed since")  # the same file, other bytes
    # Another file with the same bytes (the first kept aside, so its inode is not reused).
    (root / "demo" / "sub" / "deep.py").rename(tmp_path / "aside.py")
    (root / "demo" / "sub" / "deep.py").write_bytes(FILES["demo/sub/deep.py"])
    (root / "demo" / "theirs.py").write_bytes(b"another install's")
    assert batch.undo() == ["demo/__init__.py", "demo/sub/deep.py"]
    assert _tree(root) == {
        "demo": None, "demo/__init__.py": b"changed since", "demo/sub": None,
        "demo/sub/deep.py": FILES["demo/sub/deep.py"], "demo/theirs.py": b"another install's",
    }
    with pytest.raises(RuntimeError):
        batch.undo()


def test_undo_leaves_the_root_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "old.py").write_bytes(b"there before")
    before = _tree(tmp_path)
    batch = _batch(tmp_path)
    assert batch is not None and _tree(tmp_path) != before
    assert batch.undo() == []
    assert _tree(tmp_path) == before


def test_the_sha256_is_hashlibs() -> None:
    data = os.urandom(100_000)
    assert asyncio.run(file_tree.sha256_hex(data, 17)) == hashlib.sha256(data[17:]).hexdigest()


@pytest.mark.parametrize("path", ["", "/abs.py", "a//b.py", "a/./b.py", "a/../b.py", "C:x.py", "a\\b.py", "a\x00b.py"])
def test_an_unsafe_path_is_refused_before_anything_is_written(tmp_path: Path, path: str) -> None:
    with pytest.raises(PermissionError, match="unsafe"):
        _batch(tmp_path, {"first.py": b"1", path: b"2"})
    assert os.listdir(tmp_path) == []


def test_a_failed_cleanup_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "demo").symlink_to(elsewhere, target_is_directory=True)

    def failing_unlink(path, *args, **kwargs):
        raise PermissionError(13, "denied", str(path))

    monkeypatch.setattr(os, "unlink", failing_unlink)
    with pytest.raises(file_tree.HalfWritten, match="outside.*removing what was written failed too"):
        _batch(root, {"a.py": b"1", "demo/__init__.py": b"2"})
