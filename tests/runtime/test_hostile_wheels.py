"""Inside Pyodide: hostile wheels from the loopback index are refused, and nothing changes.

Each hostile wheel is the dependency of an honest project the test asks for,
so a refusal must also keep the honest parent out (all or nothing). The
index serves correct PEP 658 metadata for every wheel, so resolution succeeds
and the wheel itself is what gets refused. The host-side versions of these
refusals, one layer down, are in ``tests/host/test_wheel.py``.
"""

from __future__ import annotations

import stat

import pytest

from tests.harness.wheels import Member, patch_header, record_row
from tests.harness.wheels import make_wheel as make_raw_wheel
from tests.runtime.safety_probe import check, safety_tally  # noqa: F401 - the fixture prints the tally


def _raw(name: str, **kwargs) -> tuple[str, bytes]:
    return make_raw_wheel(name, "1.0", **kwargs).file


def _bad_hash(rows):
    rows[0][1] = "sha256=" + "A" * 43  # the first member's hash, changed
    return rows


def _declares_2_gib(name: str) -> tuple[str, bytes]:
    filename, data = _raw(name, files={f"{name.replace('-', '_')}/__init__.py": b"", "big.bin": b"\0" * 4096})
    return filename, patch_header(data, "big.bin", size=2**31)


def _inflates_past_its_size(name: str) -> tuple[str, bytes]:
    filename, data = _raw(name, files={f"{name.replace('-', '_')}/__init__.py": b"", "big.bin": b"\0" * (1 << 20)})
    return filename, patch_header(data, "big.bin", size=100, fix_crc=True)


def _encrypted(name: str) -> tuple[str, bytes]:
    filename, data = _raw(name)
    return filename, patch_header(data, f"{name.replace('-', '_')}/__init__.py", flag_bits=0x1)


# (id, build(project name) -> (filename, bytes), member named in the refusal or None, reason)
CASES = [
    ("dotdot", lambda n: _raw(n, extra_members=[Member("../evil.py", b"x")]), "../evil.py", "the path has a '..' segment"),
    ("escape-to-home", lambda n: _raw(n, extra_members=[Member("pkg/../../../../home/pyodide/evil.py", b"x")]),
     "pkg/../../../../home/pyodide/evil.py", "the path has a '..' segment"),
    ("absolute", lambda n: _raw(n, extra_members=[Member("/home/pyodide/evil.py", b"x")]), "/home/pyodide/evil.py",
     "the path is absolute"),
    ("absolute-tmp", lambda n: _raw(n, extra_members=[Member("/tmp/evil.py", b"x")]), "/tmp/evil.py", "the path is absolute"),
    ("drive-letter", lambda n: _raw(n, extra_members=[Member("C:/evil.py", b"x")]), "C:/evil.py", "drive letter"),
    ("backslash", lambda n: _raw(n, extra_members=[Member("..\\..\\evil.py", b"x")]), "..\\..\\evil.py", "backslash"),
    ("symlink", lambda n: _raw(n, extra_members=[Member("pkg/passwd", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)]),
     "pkg/passwd", "the member is a symlink"),
    ("fifo", lambda n: _raw(n, extra_members=[Member("pkg/fifo", b"", mode=stat.S_IFIFO | 0o644)]), "pkg/fifo",
     "not a regular file"),
    ("char-device", lambda n: _raw(n, extra_members=[Member("pkg/dev", b"", mode=stat.S_IFCHR | 0o644)]), "pkg/dev",
     "not a regular file"),
    ("duplicate", lambda n: _raw(n, files={"pkg/__init__.py": b"A = 1\n"},
                                 extra_members=[Member("pkg/__init__.py", b"import os\n", recorded=False)]),
     "pkg/__init__.py", "the archive contains this name twice"),
    ("not-in-record", lambda n: _raw(n, extra_members=[Member("pkg/extra.py", b"x", recorded=False)]), "pkg/extra.py",
     "the member is not listed in RECORD"),
    ("record-hash", lambda n: _raw(n, files={"pkg/__init__.py": b"A = 1\n"}, edit_record=_bad_hash),
     "pkg/__init__.py", "RECORD says sha256=AAAA"),
    ("record-ghost", lambda n: _raw(n, edit_record=lambda rows: [record_row("pkg/ghost.py", b"boo"), *rows]),
     "pkg/ghost.py", "RECORD lists this file but the archive has no such member"),
    ("dist-info-other-project", lambda n: _raw(n, dist_info="victim-1.0.dist-info"), None,
     "'victim-1.0.dist-info' is for project 'victim'"),
    ("second-dist-info", lambda n: _raw(n, extra_members=[Member("victim-1.0.dist-info/METADATA", b"Name: victim\n")]), None,
     "expected exactly one .dist-info directory"),
    ("data-plants-dist-info", lambda n: _raw(n, extra_members=[Member(
        f"{n.replace('-', '_')}-1.0.data/purelib/victim-1.0.dist-info/RECORD", b"")]),
     "{n}-1.0.data/purelib/victim-1.0.dist-info/RECORD", "installs into 'victim-1.0.dist-info'"),
    ("metadata-name", lambda n: _raw(n, metadata=b"Metadata-Version: 2.1\nName: victim\nVersion: 1.0\n"),
     "{n}-1.0.dist-info/METADATA", "Name 'victim' does not match"),
    ("wheel-version-2", lambda n: _raw(n, wheel_file=b"Wheel-Version: 2.0\nRoot-Is-Purelib: true\n"),
     "{n}-1.0.dist-info/WHEEL", "Wheel-Version '2.0' is not 1.x"),
    ("encrypted", _encrypted, "{n}/__init__.py", "the member is encrypted"),
    ("zip-bomb-declared", _declares_2_gib, "big.bin",
     "the member declares 2,147,483,648 bytes (2,048.0 MiB) uncompressed, from 20 bytes compressed"),
    # Reading stops one byte past the declared size, so the bomb never goes off: that byte gives it away.
    ("zip-bomb-inflating", _inflates_past_its_size, "big.bin", "the member inflates past its declared size of 100 bytes"),
    ("not-a-zip", lambda n: (f"{n.replace('-', '_')}-1.0-py3-none-any.whl", b"PK\x03\x04" + b"\x00" * 60), None,
     "not a zip archive"),
]


@pytest.mark.parametrize("case_id, build, member, reason", CASES, ids=[c[0] for c in CASES])
def test_hostile_wheel_is_refused_and_nothing_changes(selenium, index_server, make_wheel, case_id, build, member, reason):
    name = f"hw-{case_id}"
    filename, data = build(name)
    # Correct PEP 658 metadata: the resolver is satisfied, the wheel itself must be refused.
    index_server.add_file(filename, data, metadata=f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode())
    index_server.add(make_wheel(f"{name}-parent", "1.0", requires_dist=[name]))
    good = make_wheel(f"{name}-good", "1.0")
    index_server.add(good)
    fragments = [f"Refusing wheel {filename}", reason]
    if member is not None:
        fragments.append(f"(member {member.format(n=name.replace('-', '_'))!r})")
    check(
        selenium,
        {"index_urls": [index_server.simple_url], "requirements": f"{name}-parent",
         "good": {"requirement": good.name, "module": good.name.replace("-", "_")}},
        error="InvalidWheel",
        message=tuple(fragments),
    )


@pytest.mark.parametrize("reinstall", [False, True], ids=["plain", "reinstall"])
def test_a_wheel_overwriting_another_distribution_is_refused(selenium, index_server, make_wheel, reinstall):
    victim = f"hw-victim-{'re' if reinstall else 'plain'}"
    package = victim.replace("-", "_")
    index_server.add(make_wheel(victim, "1.0"))
    intruder = make_wheel(f"{victim}-intruder", "1.0", files={f"{package}/__init__.py": "import os\n"})
    index_server.add(intruder)
    good = make_wheel(f"{victim}-good", "1.0")
    index_server.add(good)
    check(
        selenium,
        {"index_urls": [index_server.simple_url], "setup": [victim], "imports": [package],
         "requirements": intruder.name, "kwargs": {"reinstall": reinstall},
         "good": {"requirement": good.name, "module": good.name.replace("-", "_")}},
        error="InstallError",
        message=(
            f"Cannot install {intruder.filename}: '{package}/__init__.py' belongs to {victim} 1.0",
            "Nothing was written.",
        ),
    )


def test_a_wheel_overwriting_the_installer_itself_is_refused(selenium, index_server, make_wheel):
    intruder = make_wheel("hw-hijack", "1.0", files={"micropkg/__init__.py": "install = None\n"})
    index_server.add(intruder)
    check(
        selenium,
        {"index_urls": [index_server.simple_url], "requirements": "hw-hijack"},
        error="InstallError",
        message=(f"Cannot install {intruder.filename}: 'micropkg/__init__.py' belongs to micropkg",),
    )


def test_a_direct_wheel_url_for_another_platform_is_refused(selenium, index_server, make_wheel, pyodide_info):
    # Not judged by tag while resolving (a URL names one file); the installer judges it.
    wheel = make_wheel("hw-linux-only", "1.0", tag="cp312-cp312-manylinux_2_17_x86_64")
    index_server.add(wheel)
    good = make_wheel("hw-linux-only-good", "1.0")
    index_server.add(good)
    check(
        selenium,
        {"index_urls": [index_server.simple_url], "requirements": index_server.file_url(wheel.filename),
         "good": {"requirement": good.name, "module": good.name.replace("-", "_")}},
        error="InvalidWheel",
        message=(
            f"Refusing wheel {wheel.filename}: its tags (cp312-cp312-manylinux_2_17_x86_64) do not fit this runtime",
            f"pyemscripten_{pyodide_info['abi_version']}",
        ),
    )
