"""The installed-tree cache's entry format, key and transaction, on CPython.

Whether a hit installs something that imports is proved inside Pyodide
(tests/runtime/test_tree_cache.py); here: the entry round-trips, any damage is
found and the entry deleted, the key moves with every input, a taken path
makes a miss, and a failure while restoring leaves site-packages as it was.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from micropkg.errors import InstallError
from micropkg.installation import tree_cache
from micropkg.net.cache import MemoryStore
from micropkg.reporter import Reporter

KEY = "tree/" + "ab" * 32


def _key(**changed) -> str:
    given = {
        "requirements": ["demo"], "options": {"deps": True, "constraints": ()},
        "indexes": [("https://example.org/simple", {})], "index_strategy": "first-index",
        "pyodide_packages": True, "credentials": None, "runtime": {"abi": "2026_0"},
    }
    given.update(changed)
    return tree_cache.tree_key(
        given["requirements"], given["options"], given["indexes"], index_strategy=given["index_strategy"],
        pyodide_packages=given["pyodide_packages"], credentials=given["credentials"], runtime=given["runtime"],
    )


def test_the_key_moves_with_every_input() -> None:
    keys = {
        _key(),
        _key(requirements=["demo>=1"]),
        _key(requirements=["other", "demo"]),
        _key(options={"deps": False, "constraints": ()}),
        _key(options={"deps": True, "constraints": ("x<2",)}),
        _key(indexes=[("https://example.org/other", {})]),
        _key(indexes=[("https://example.org/simple", {"Authorization": "Bearer a"})]),
        _key(index_strategy="merge"),
        _key(pyodide_packages=False),
        _key(credentials="user:pass"),
        _key(runtime={"abi": "2026_5"}),
    }
    assert len(keys) == 11
    assert _key() == _key() and _key().startswith("tree/")
    assert "Bearer" not in _key(indexes=[("u", {"Authorization": "Bearer a"})])


def _entry(files: dict[str, bytes]) -> bytes:
    manifest = {
        "key": KEY, "environment": [], "pages": [], "pins": [], "projects": ["demo"],
        "files": [[path, len(data), 0] for path, data in files.items()], "dynlibs": [],
    }
    return tree_cache.pack(manifest, list(files.values()))


FILES = {"demo/__init__.py": b"x = 1\n", "demo-1.0.dist-info/RECORD": b"demo/__init__.py,,\n"}


def test_an_entry_round_trips() -> None:
    entry = tree_cache.unpack(_entry(FILES), KEY)
    assert entry is not None
    assert {path: bytes(data) for path, data, _ in entry.files()} == FILES


@pytest.mark.parametrize("where", [0, 20, 40, 90, -1, -7])
def test_any_flipped_byte_is_found_and_the_entry_deleted(where: int) -> None:
    blob = bytearray(_entry(FILES))
    blob[where] ^= 0x01
    store = MemoryStore()
    asyncio.run(store.put(KEY, bytes(blob)))
    assert asyncio.run(tree_cache.read_entry(store, KEY)) is None
    assert KEY not in store.entries


def test_an_entry_under_another_key_or_cut_short_is_no_entry() -> None:
    blob = _entry(FILES)
    assert tree_cache.unpack(blob, "tree/" + "cd" * 32) is None
    assert tree_cache.unpack(blob[:-1], KEY) is None


def _restore(entry: bytes, root: Path, load_dynlibs=None):
    async def no_libraries(root, libs) -> None:
        return None

    unpacked = tree_cache.unpack(entry, KEY)
    assert unpacked is not None
    return asyncio.run(tree_cache.restore(unpacked, root, load_dynlibs=load_dynlibs or no_libraries, reporter=Reporter()))


def test_restoring_writes_every_file(tmp_path: Path) -> None:
    assert _restore(_entry(FILES), tmp_path) == []
    assert {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == FILES


def test_a_taken_path_is_a_miss_and_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "__init__.py").write_bytes(b"someone else's\n")
    assert _restore(_entry(FILES), tmp_path) is None
    assert sorted(os.listdir(tmp_path)) == ["demo"]
    assert (tmp_path / "demo" / "__init__.py").read_bytes() == b"someone else's\n"


def test_a_native_library_that_fails_rolls_every_file_back(tmp_path: Path) -> None:
    manifest_libs = dict(FILES, **{"demo/_speed.so": b"\0asm"})
    manifest = {
        "key": KEY, "environment": [], "pages": [], "pins": [], "projects": ["demo"],
        "files": [[path, len(data), 0] for path, data in manifest_libs.items()], "dynlibs": [["demo/_speed.so"]],
    }

    async def failing(root, libs) -> None:
        raise InstallError(f"Could not load the native library {libs[0]}: link error")

    with pytest.raises(InstallError, match="link error.*Nothing was installed"):
        _restore(tree_cache.pack(manifest, list(manifest_libs.values())), tmp_path, failing)
    assert os.listdir(tmp_path) == []


# -- which installs the tree cache serves (micropkg.warm) --------------------------------------


def _warm(requirements, *, cache="default", pyodide_packages=True, constraints=(), deps=True):
    from micropkg.session import Options, Session
    from micropkg.warm import WarmStart

    session = Session.open(["https://example.org/simple"], cache=cache, pyodide_packages=pyodide_packages)
    return WarmStart.open(session, requirements, Options(deps=deps, constraints=tuple(constraints)), credentials=None)


def test_plain_requests_get_a_key_that_moves_with_the_options() -> None:
    plain, no_deps = _warm(["demo>=1", "other[extra]"]), _warm(["demo>=1", "other[extra]"], deps=False)
    assert plain is not None and no_deps is not None
    assert plain.key != no_deps.key and plain.key == _warm(["demo>=1", "other[extra]"]).key


@pytest.mark.parametrize("changed", [
    {"requirements": ["demo @ https://example.org/demo-1.0-py3-none-any.whl"]},
    {"requirements": ["https://example.org/demo-1.0-py3-none-any.whl"]},
    {"requirements": ["demo-1.0-py3-none-any.whl"]},
    {"requirements": ["./wheels/demo"]},
    {"requirements": []},
    {"constraints": ["demo @ https://example.org/demo-1.0-py3-none-any.whl"]},
    {"cache": "off"},
    {"pyodide_packages": "https://example.org/pyodide-lock.json"},
])
def test_what_may_change_under_the_same_request_is_never_served(changed) -> None:
    given = {"requirements": ["demo"], **changed}
    requirements = given.pop("requirements")
    assert _warm(requirements, **given) is None
