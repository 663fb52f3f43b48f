"""The wheel builder writes wheels a strict installer would accept, and hostile ones on request."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from email.parser import BytesHeaderParser

from tests.harness.wheels import Member, make_wheel, record_hash


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_record_lists_every_member_with_its_hash_and_size():
    wheel = make_wheel("Demo.Pkg", "1.2.0", files={"demo_pkg/__init__.py": "x = 1\n", "demo_pkg/data.bin": b"\0\1"})
    members = _members(wheel.data)
    record_path = "demo_pkg-1.2.0.dist-info/RECORD"
    rows = list(csv.reader(io.StringIO(members[record_path].decode())))

    assert {row[0] for row in rows} == set(members)
    for path, hash_field, size in rows:
        if path == record_path:
            assert (hash_field, size) == ("", "")
        else:
            assert hash_field == record_hash(members[path])
            assert int(size) == len(members[path])


def test_metadata_wheel_file_and_file_name():
    wheel = make_wheel(
        "Demo.Pkg",
        "1.2.0",
        requires_dist=['harness-dep>=1; extra == "fast"'],
        requires_python=">=3.11",
        provides_extra=["fast"],
        tag="py2.py3-none-any",
    )
    members = _members(wheel.data)
    metadata = BytesHeaderParser().parsebytes(wheel.metadata)

    assert wheel.filename == "demo_pkg-1.2.0-py2.py3-none-any.whl"
    assert wheel.sha256 == hashlib.sha256(wheel.data).hexdigest()
    assert members["demo_pkg-1.2.0.dist-info/METADATA"] == wheel.metadata
    assert metadata["Metadata-Version"] == "2.1"
    assert (metadata["Name"], metadata["Version"]) == ("Demo.Pkg", "1.2.0")
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata.get_all("Requires-Dist") == ['harness-dep>=1; extra == "fast"']
    assert metadata.get_all("Provides-Extra") == ["fast"]
    assert members["demo_pkg/__init__.py"] == b'__version__ = "1.2.0"\n'
    wheel_file = BytesHeaderParser().parsebytes(members["demo_pkg-1.2.0.dist-info/WHEEL"])
    assert wheel_file.get_all("Tag") == ["py2-none-any", "py3-none-any"]
    assert wheel_file["Root-Is-Purelib"] == "true"


def test_platform_wheels_are_not_purelib():
    wheel = make_wheel("native", "1.0", tag="cp314-cp314-pyemscripten_2026_0_wasm32")
    wheel_file = BytesHeaderParser().parsebytes(_members(wheel.data)["native-1.0.dist-info/WHEEL"])

    assert wheel.filename == "native-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    assert wheel_file["Root-Is-Purelib"] == "false"


def test_wheels_are_reproducible():
    assert make_wheel("same", "1.0").sha256 == make_wheel("same", "1.0").sha256


def test_hostile_variants():
    wheel = make_wheel(
        "evil",
        "1.0",
        extra_members=[
            Member("../escape.py", b"boom", recorded=False),
            Member("/abs.py", b"boom", recorded=False),
            Member("evil/__init__.py", b"dup", recorded=False),
            Member("evil/link", b"/etc/passwd", mode=0o120777, recorded=False),
        ],
    )
    with zipfile.ZipFile(io.BytesIO(wheel.data)) as archive:
        names = archive.namelist()
        record = archive.read("evil-1.0.dist-info/RECORD").decode()

    assert names.count("evil/__init__.py") == 2
    assert {"../escape.py", "/abs.py", "evil/link"} <= set(names)
    assert "escape.py" not in record and "evil/link" not in record

    assert "evil-1.0.dist-info/RECORD" not in _members(make_wheel("evil", "1.0", omit=("RECORD",)).data)
    wrong = b"evil/__init__.py,sha256=AAAA,1\n"
    assert _members(make_wheel("evil", "1.0", record=wrong).data)["evil-1.0.dist-info/RECORD"] == wrong
