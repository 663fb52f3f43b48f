"""Wheel.from_bytes: what it accepts, and every refusal (type, filename, member)."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest
from packaging.tags import Tag
from packaging.version import Version

from micropkg.errors import InvalidWheel
from micropkg.model.records import (
    Hash,
    RecordEntry,
    RecordError,
    parse_record,
    path_problem,
    serialize_record,
)
from micropkg.model.wheel import Wheel
from tests.harness.wheels import Member, make_wheel, patch_header, record_row

DIST_INFO = "demo-1.0.dist-info"
RECORD = f"{DIST_INFO}/RECORD"


def demo_wheel(name: str = "demo", version: str = "1.0", files: dict[str, bytes] | None = None, **options) -> tuple[str, bytes]:
    """``(filename, bytes)`` of a wheel whose package holds ``VALUE = 1``, broken as ``options`` say."""
    if files is None:
        files = {"demo/__init__.py": b"VALUE = 1\n"}
    return make_wheel(name, version, files=files, **options).file


def refused(filename: str, data: bytes, **kwargs: int) -> InvalidWheel:
    with pytest.raises(InvalidWheel) as info:
        Wheel.from_bytes(filename, data, **kwargs)
    exc = info.value
    assert exc.filename == filename
    assert filename in str(exc)
    if exc.member is not None:
        assert repr(exc.member) in str(exc)
    return exc


# -- accepted -----------------------------------------------------------------


def test_plain_wheel() -> None:
    filename, data = demo_wheel(files={"demo/__init__.py": b"VALUE = 1\n", "demo/core.py": b""})
    wheel = Wheel.from_bytes(filename, data)
    assert wheel.filename == "demo-1.0-py3-none-any.whl"
    assert wheel.name == "demo"
    assert wheel.version == Version("1.0")
    assert wheel.tags == frozenset({Tag("py3", "none", "any")})
    assert wheel.dist_info == DIST_INFO
    assert wheel.metadata.startswith(b"Metadata-Version: 2.1\nName: demo\n")
    assert wheel.root_is_purelib
    assert [path for path, _ in wheel.members] == [
        "demo/__init__.py",
        "demo/core.py",
        f"{DIST_INFO}/METADATA",
        f"{DIST_INFO}/WHEEL",
    ]
    assert dict(wheel.members)["demo/__init__.py"] == b"VALUE = 1\n"
    assert wheel.skipped == (RECORD,)
    assert wheel.dynlibs == ()


def test_names_and_versions_compare_canonically() -> None:
    filename, data = demo_wheel(
        "Foo.Bar",
        "1.0",
        dist_info="Foo.Bar-1.0.0.dist-info",
        files={"foo_bar/__init__.py": b""},
        filename="Foo.Bar-1.0-py3-none-any.whl",
    )
    assert filename == "Foo.Bar-1.0-py3-none-any.whl"
    wheel = Wheel.from_bytes(filename, data)
    assert wheel.name == "foo-bar"
    assert wheel.dist_info == "Foo.Bar-1.0.0.dist-info"


def test_build_tag_and_compressed_tags() -> None:
    _, data = demo_wheel(tag="cp312-cp312-pyodide_2024_0_wasm32")
    wheel = Wheel.from_bytes("demo-1.0-1-cp312.cp313-cp312-pyodide_2024_0_wasm32.whl", data)
    assert Tag("cp313", "cp312", "pyodide_2024_0_wasm32") in wheel.tags
    assert len(wheel.tags) == 2


def test_data_schemes() -> None:
    filename, data = demo_wheel(
        files={
            "demo/__init__.py": b"",
            "demo-1.0.data/purelib/pure.py": b"p",
            "demo-1.0.data/platlib/plat.so": b"s",
            "demo-1.0.data/scripts/demo-cli": b"#!python",
            "demo-1.0.data/headers/demo.h": b"h",
            "demo-1.0.data/data/share/demo.txt": b"d",
        },
        wheel_file=b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\n",
    )
    wheel = Wheel.from_bytes(filename, data)
    paths = [path for path, _ in wheel.members]
    assert paths[:3] == ["demo/__init__.py", "pure.py", "plat.so"]
    assert not wheel.root_is_purelib
    assert wheel.skipped == (
        "demo-1.0.data/scripts/demo-cli",
        "demo-1.0.data/headers/demo.h",
        "demo-1.0.data/data/share/demo.txt",
        RECORD,
    )


def test_dynlibs() -> None:
    filename, data = demo_wheel(
        files={
            "demo/__init__.py": b"",
            "demo/_core.cpython-312-wasm32-emscripten.so": b"\0asm",
            "demo.libs/libz-1234.so.1.2": b"\0asm",
            "demo/data.sofa": b"",
        }
    )
    assert Wheel.from_bytes(filename, data).dynlibs == (
        "demo/_core.cpython-312-wasm32-emscripten.so",
        "demo.libs/libz-1234.so.1.2",
    )


def test_directory_entries_signatures_and_installer_files() -> None:
    filename, data = demo_wheel(
        extra_members=[
            Member("demo/", mode=stat.S_IFDIR | 0o755, recorded=False),
            Member("demo/windows.py", b"", mode=0),  # made without Unix modes
            Member(f"{DIST_INFO}/RECORD.jws", b"{}", recorded=False),
            Member(f"{DIST_INFO}/INSTALLER", b"pip\n"),
        ]
    )
    wheel = Wheel.from_bytes(filename, data)
    paths = [path for path, _ in wheel.members]
    assert "demo/windows.py" in paths
    assert "demo/" not in paths
    assert set(wheel.skipped) == {f"{DIST_INFO}/RECORD.jws", f"{DIST_INFO}/INSTALLER", RECORD}


def test_stored_members() -> None:
    filename, data = demo_wheel(
        extra_members=[Member("demo/stored.bin", b"x" * 100, compress_type=zipfile.ZIP_STORED)]
    )
    assert dict(Wheel.from_bytes(filename, data).members)["demo/stored.bin"] == b"x" * 100


# -- refused: the file ----------------------------------------------------------


@pytest.mark.parametrize(
    "filename",
    [
        "demo.whl",
        "demo-1.0.whl",
        "demo-1.0-py3-none-any.zip",
        "de mo-1.0-py3-none-any.whl",
        "demo-not a version-py3-none-any.whl",
        "../demo-1.0-py3-none-any.whl",
    ],
)
def test_bad_filename(filename: str) -> None:
    _, data = demo_wheel()
    exc = refused(filename, data)
    assert exc.member is None
    assert "not a valid wheel filename" in str(exc)


@pytest.mark.parametrize(
    "data",
    [b"", b"not a zip", demo_wheel()[1][:200], demo_wheel()[1][:-30]],
    ids=["empty", "text", "first-200-bytes", "last-30-bytes-cut"],
)
def test_not_a_zip(data: bytes) -> None:
    exc = refused("demo-1.0-py3-none-any.whl", data)
    assert exc.member is None
    assert "not a zip archive" in str(exc)


# -- refused: members ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("/etc/passwd", "absolute"),
        ("../evil.py", "'..' segment"),
        ("demo/../../evil.py", "'..' segment"),
        ("C:/evil.py", "drive letter"),
        ("c:evil.py", "drive letter"),
        ("demo\\evil.py", "backslash"),
        ("demo//evil.py", "empty segment"),
        ("./demo/evil.py", "'.' segment"),
        ("../outside/", "'..' segment"),
    ],
)
def test_unsafe_member_path(name: str, reason: str) -> None:
    filename, data = demo_wheel(extra_members=[Member(name, b"x")])
    exc = refused(filename, data)
    assert exc.member == name
    assert reason in str(exc)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        (stat.S_IFLNK | 0o777, "symlink"),
        (stat.S_IFIFO | 0o644, "not a regular file"),
        (stat.S_IFCHR | 0o644, "not a regular file"),
        (stat.S_IFDIR | 0o755, "not a regular file"),  # a directory mode on a file name
    ],
)
def test_non_regular_member(mode: int, reason: str) -> None:
    filename, data = demo_wheel(extra_members=[Member("demo/link", b"/etc/passwd", mode=mode)])
    exc = refused(filename, data)
    assert exc.member == "demo/link"
    assert reason in str(exc)


def test_directory_entry_with_file_mode() -> None:
    filename, data = demo_wheel(
        extra_members=[Member("demo/sub/", mode=stat.S_IFLNK | 0o777, recorded=False)]
    )
    assert refused(filename, data).member == "demo/sub/"


def test_duplicate_member() -> None:
    filename, data = demo_wheel(extra_members=[Member("demo/__init__.py", b"evil", recorded=False)])
    exc = refused(filename, data)
    assert exc.member == "demo/__init__.py"
    assert "twice" in str(exc)


def test_encrypted_member() -> None:
    filename, data = demo_wheel()
    data = patch_header(data, "demo/__init__.py", flag_bits=0x1)
    exc = refused(filename, data)
    assert exc.member == "demo/__init__.py"
    assert "encrypted" in str(exc)


def test_unusual_compression() -> None:
    filename, data = demo_wheel(extra_members=[Member("demo/x.bin", b"x", compress_type=zipfile.ZIP_BZIP2)])
    exc = refused(filename, data)
    assert exc.member == "demo/x.bin"
    assert "compression method 12" in str(exc)


# -- refused: sizes (zip bombs) ---------------------------------------------------


def test_declared_size_over_limit() -> None:
    big = b"\0" * (2 << 20)  # deflates to a few kilobytes
    filename, data = demo_wheel(files={"demo/__init__.py": b"", "demo/big.bin": big})
    assert len(data) < 10_000
    exc = refused(filename, data, max_unpacked_size=1 << 20)
    assert exc.member == "demo/big.bin"
    assert "more than the 1,048,576 bytes (1.0 MiB) micropkg unpacks for one wheel" in str(exc)
    assert Wheel.from_bytes(filename, data, max_unpacked_size=3 << 20).members


def test_total_declared_size_counts_every_member() -> None:
    files = {f"demo/part{i}.bin": b"\0" * 1000 for i in range(5)}
    filename, data = demo_wheel(files=files)
    exc = refused(filename, data, max_unpacked_size=4500)
    assert exc.member == "demo/part0.bin"  # the largest (the first of equals)
    assert "members declare 5," in str(exc) and "uncompressed in all" in str(exc)


@pytest.mark.parametrize("fix_crc", [False, True])
def test_member_inflating_past_its_declared_size(fix_crc: bool) -> None:
    # The zip claims 10 bytes; the stream holds a megabyte. Reading stops at 10
    # bytes, then either the CRC or RECORD's size and hash give the lie away.
    filename, data = demo_wheel(files={"demo/__init__.py": b"", "demo/big.bin": b"\0" * (1 << 20)})
    data = patch_header(data, "demo/big.bin", size=10, fix_crc=fix_crc)
    exc = refused(filename, data, max_unpacked_size=1000)
    assert exc.member == "demo/big.bin"


# -- refused: .dist-info, METADATA, WHEEL -------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"omit": ("METADATA", "WHEEL", "RECORD")}, "found none"),
        (
            {"extra_members": [Member("other-1.0.dist-info/METADATA", b"Name: other\n")]},
            "found 'demo-1.0.dist-info', 'other-1.0.dist-info'",
        ),
        ({"dist_info": "other-1.0.dist-info"}, "is for project 'other'"),
        ({"dist_info": "demo-2.0.dist-info"}, "is for version '2.0'"),
        ({"dist_info": "demo-x.y.dist-info"}, "invalid version 'x.y'"),
        ({"dist_info": "demo.dist-info"}, "is not <name>-<version>.dist-info"),
        ({"omit": ("METADATA",)}, "has no METADATA"),
        ({"omit": ("WHEEL",)}, "has no WHEEL"),
        ({"omit": ("RECORD",)}, "has no RECORD"),
    ],
)
def test_bad_dist_info(kwargs: dict, message: str) -> None:
    filename, data = demo_wheel(**kwargs)
    exc = refused(filename, data)
    assert exc.member is None
    assert message in str(exc)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (b"Metadata-Version: 2.1\nName: other\nVersion: 1.0\n", "Name 'other' does not match"),
        (b"Metadata-Version: 2.1\nVersion: 1.0\n", "Name None does not match"),
        (b"Metadata-Version: 2.1\nName: demo\nVersion: 2.0\n", "Version '2.0' does not match"),
        (b"Metadata-Version: 2.1\nName: demo\n", "Version None does not match"),
        (b"Metadata-Version: 2.1\nName: demo\nVersion: one\n", "'one' is not a valid version"),
        (b"Name: demo\nVersion: 1.0\nSummary: \xff\n", "not UTF-8"),
    ],
)
def test_bad_metadata(metadata: bytes, message: str) -> None:
    filename, data = demo_wheel(metadata=metadata)
    exc = refused(filename, data)
    assert exc.member == f"{DIST_INFO}/METADATA"
    assert message in str(exc)


@pytest.mark.parametrize(
    ("wheel", "message"),
    [
        (b"Wheel-Version: 2.0\nRoot-Is-Purelib: true\n", "'2.0' is not 1.x"),
        (b"Root-Is-Purelib: true\n", "no Wheel-Version"),
    ],
)
def test_bad_wheel_file(wheel: bytes, message: str) -> None:
    filename, data = demo_wheel(wheel_file=wheel)
    exc = refused(filename, data)
    assert exc.member == f"{DIST_INFO}/WHEEL"
    assert message in str(exc)


# -- refused: RECORD ----------------------------------------------------------------


def _replace_row(path: str, row: list[str]):
    return lambda rows: [row if r[0] == path else r for r in rows]


def test_record_hash_mismatch() -> None:
    filename, data = demo_wheel(
        edit_record=_replace_row("demo/__init__.py", record_row("demo/__init__.py", b"VALUE = 2\n"))
    )
    exc = refused(filename, data)
    assert exc.member == "demo/__init__.py"
    assert "RECORD says sha256=" in str(exc)


def test_record_size_mismatch() -> None:
    row = record_row("demo/__init__.py", b"VALUE = 1\n")
    filename, data = demo_wheel(edit_record=_replace_row("demo/__init__.py", [*row[:2], "99"]))
    exc = refused(filename, data)
    assert exc.member == "demo/__init__.py"
    assert "RECORD says 99 bytes, the file has 10" in str(exc)


def test_record_without_hash() -> None:
    filename, data = demo_wheel(
        edit_record=_replace_row("demo/__init__.py", ["demo/__init__.py", "", ""])
    )
    exc = refused(filename, data)
    assert exc.member == "demo/__init__.py"
    assert "without a hash" in str(exc)


def test_member_not_in_record() -> None:
    filename, data = demo_wheel(extra_members=[Member("demo/smuggled.py", b"import os", recorded=False)])
    exc = refused(filename, data)
    assert exc.member == "demo/smuggled.py"
    assert "not listed in RECORD" in str(exc)


def test_record_names_missing_member() -> None:
    filename, data = demo_wheel(edit_record=lambda rows: [*rows, record_row("demo/ghost.py", b"")])
    exc = refused(filename, data)
    assert exc.member == "demo/ghost.py"
    assert "no such member" in str(exc)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["demo/x.py", "sha256=abc"], "row 5 ['demo/x.py', 'sha256=abc']: expected 3 fields"),
        (["demo/x.py", "md5=abc", "1"], "hash algorithm 'md5' is not accepted"),
        (["demo/x.py", "sha256", "1"], "is not 'algorithm=digest'"),
        (["demo/x.py", "sha256=ab+c/=", "1"], "not urlsafe base64"),
        (["demo/x.py", "sha256=abc", "-1"], "size '-1' is not a decimal number"),
        (["", "sha256=abc", "1"], "the path is empty"),
        (["demo/__init__.py", "sha256=abc", "1"], "listed twice"),
    ],
)
def test_malformed_record_row(row: list[str], message: str) -> None:
    filename, data = demo_wheel(edit_record=lambda rows: [*rows, row])
    exc = refused(filename, data)
    assert exc.member == RECORD
    assert message in str(exc)


def test_record_not_utf8() -> None:
    filename, data = demo_wheel(
        omit=("RECORD",), extra_members=[Member(RECORD, b"demo/\xff.py,,\n", recorded=False)]
    )
    exc = refused(filename, data)
    assert exc.member == RECORD
    assert "not UTF-8" in str(exc)


# -- refused: .data ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("demo-1.0.data/bogus/x.py", "unknown .data scheme 'bogus'"),
        ("demo-1.0.data/purelib", "unknown .data scheme 'purelib'"),  # a file, not a directory
        ("other-1.0.data/purelib/x.py", "other than 'demo-1.0.data'"),
    ],
)
def test_bad_data_directory(member: str, message: str) -> None:
    filename, data = demo_wheel(files={"demo/__init__.py": b"", member: b"x"})
    exc = refused(filename, data)
    assert exc.member == member
    assert message in str(exc)


def test_two_members_installing_to_one_path() -> None:
    filename, data = demo_wheel(
        files={"demo/__init__.py": b"a", "demo-1.0.data/platlib/demo/__init__.py": b"b"}
    )
    exc = refused(filename, data)
    assert exc.member == "demo-1.0.data/platlib/demo/__init__.py"
    assert "same path as 'demo/__init__.py'" in str(exc)


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("demo-1.0.data/purelib/other-1.0.dist-info/RECORD", "installs into 'other-1.0.dist-info'"),
        (
            "demo-1.0.data/platlib/other-1.0.dist-info/METADATA",
            "installs into 'other-1.0.dist-info'",
        ),
    ],
)
def test_data_scheme_cannot_plant_another_dist_info(member: str, message: str) -> None:
    filename, data = demo_wheel(files={"demo/__init__.py": b"", member: b"x"})
    exc = refused(filename, data)
    assert exc.member == member
    assert message in str(exc)


def test_data_scheme_cannot_ship_installer_files() -> None:
    member = f"demo-1.0.data/purelib/{DIST_INFO}/INSTALLER"
    filename, data = demo_wheel(files={"demo/__init__.py": b"", member: b"evil\n"})
    wheel = Wheel.from_bytes(filename, data)
    assert member in wheel.skipped
    assert f"{DIST_INFO}/INSTALLER" not in dict(wheel.members)


# -- _records --------------------------------------------------------------------------------


def test_record_round_trip() -> None:
    entries = [
        RecordEntry.for_bytes("demo/a,b.py", b""),  # a comma: CSV quoting
        RecordEntry("demo-1.0.dist-info/RECORD", None, None),
    ]
    text = serialize_record(entries)
    assert text.endswith(b"demo-1.0.dist-info/RECORD,,\n")
    assert parse_record(text) == entries
    assert entries[0].mismatch(b"") is None
    assert entries[0].mismatch(b"x") == "RECORD says 0 bytes, the file has 1"
    # The digest of b"" every RECORD has seen (PEP 376 example).
    assert entries[0].hash == Hash.parse("sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")


def test_record_blank_lines_are_skipped_and_bad_csv_refused() -> None:
    assert parse_record(b"\n\na.py,,\n\n") == [RecordEntry("a.py", None, None)]
    with pytest.raises(RecordError, match="not valid CSV"):
        parse_record(b'a.py,"unterminated\n')


@pytest.mark.parametrize("path", ["a.py", "a/b/c.py", "a.dist-info/RECORD", "x..y/z"])
def test_safe_paths(path: str) -> None:
    assert path_problem(path) is None


@pytest.mark.parametrize("path", ["", "/a", "a/", "a//b", "a/./b", "a/..", "a\\b", "D:x", "a\x00b"])
def test_unsafe_paths(path: str) -> None:
    assert path_problem(path) is not None


def test_zip_with_fake_sizes_in_central_directory_only_is_refused() -> None:
    # A member that zipfile itself rejects while reading: a corrupt deflate stream.
    filename, data = demo_wheel(files={"demo/__init__.py": b"VALUE = 1\n" * 50})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        offset = archive.getinfo("demo/__init__.py").header_offset
    corrupt = bytearray(data)
    start = offset + 30 + len("demo/__init__.py")
    corrupt[start : start + 4] = b"\xff\xff\xff\xff"
    exc = refused(filename, bytes(corrupt))
    assert exc.member == "demo/__init__.py"
    assert "cannot be read" in str(exc)


def test_open_gives_the_event_loop_turns_and_agrees_with_from_bytes():
    import asyncio
    import os as _os

    # ~1 MB of incompressible members: several slices of inflating and hashing.
    files = {f"demo/blob{i}.bin": _os.urandom(200_000) for i in range(5)}
    filename, data = demo_wheel("demo", "1.0", files)

    async def race():
        ticks = 0
        done = False

        async def ticker():
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0)

        counting = asyncio.ensure_future(ticker())
        wheel = await Wheel.open(filename, data)
        done = True
        await counting
        return wheel, ticks

    wheel, ticks = asyncio.run(race())
    assert ticks >= 3  # the loop ran other work while the wheel was being verified
    assert wheel.members == Wheel.from_bytes(filename, data).members
