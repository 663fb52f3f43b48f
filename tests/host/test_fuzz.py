"""Fuzzing the parsers: whatever the bytes, only micropkg's documented errors come out.

Every parser that reads something from outside -- wheel filenames and
archives, METADATA, RECORD, PEP 691 JSON, PEP 503 HTML, PyPI's legacy JSON,
requirement strings, lock files, requirements files, response headers and
URLs -- is fed random input two ways: raw (any bytes or text) and shaped
(the format's own keys and syntax, with random values where it hurts), so
examples get past the first check. A parser may accept or refuse; refusing
with anything but its documented :class:`~micropkg.MicropkgError` subclass
(an ``IndexError``, a ``KeyError``, an ``AttributeError`` deep in a parser)
fails the test.

The examples are derandomized, so CI runs the same ones every time; set
``MICROPKG_FUZZ_SCALE=10`` for ten times as many, freshly random.
:data:`EXAMPLES` counts what ran (printed at the end with ``-s``).
"""

from __future__ import annotations

import asyncio
import collections
import importlib
import io
import json
import os
import re
import string
import warnings
import zipfile

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from micropkg.errors import (
    IndexFormatError,
    InsecureURL,
    InvalidRequirement,
    InvalidWheel,
    MicropkgError,
)
from micropkg.index.client import parse_page
from micropkg.model.candidates import judge_file
from micropkg.model.metadata import parse_metadata
from micropkg.model.records import RecordError, parse_record, path_problem
from micropkg.model.requirements import parse_requirement
from micropkg.model.simple import DistFile, parse_json_page
from micropkg.model.simple_html import parse_html_page, parse_legacy_json
from micropkg.model.tags import PlatformInfo
from micropkg.model.target import Target
from micropkg.model.wheel import Wheel
from micropkg.net.retry import parse_retry_after
from micropkg.net.transport import Response, redact_url, require_secure_url, split_credentials
from tests.harness.wheels import make_wheel, record_row

SCALE = int(os.environ.get("MICROPKG_FUZZ_SCALE", "1"))
EXAMPLES: collections.Counter[str] = collections.Counter()


def fuzz(examples: int):
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=SCALE == 1,
        database=None,  # nothing written into the checkout
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def refuses_only(allowed: type[BaseException] | tuple, parse, *args, **kwargs):
    """Call ``parse``; return its result, or the allowed error it raised. Anything else propagates."""
    name = f"{parse.__module__.removeprefix('micropkg.')}.{parse.__qualname__}"
    EXAMPLES[name] += 1
    try:
        return parse(*args, **kwargs)
    except allowed as exc:
        assert str(exc), f"{name} raised {type(exc).__name__} with an empty message"
        return exc


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print(f"\nfuzz examples: {sum(EXAMPLES.values())} in all; " + ", ".join(f"{k} {v}" for k, v in sorted(EXAMPLES.items())))


PAGE_URL = "https://idx.example/simple/demo/"
TARGET = Target.for_platform(PlatformInfo(python_version=(3, 14), abi_version="2026_0", emscripten_version=(4, 0, 9)))

# Pieces that make inputs interesting: separators, escapes, Unicode, control characters.
_NASTY = st.sampled_from(
    ["", " ", "-", "_", ".", "..", "/", "\\", "\x00", "\n", "\r\n", "\t", ";", ",", "=", "==", "@", "#",
     "[", "]", "(", ")", "'", '"', "<", ">", "&", "é", "\u202e", "\ud800", "1.0", "py3", "none", "any",
     "cp314", "pyemscripten_2026_0_wasm32", ".whl", ".tar.gz", "%00", "%2F", "javascript:", "data:", "a" * 300]
)
_TEXT = st.one_of(st.text(max_size=40), st.lists(_NASTY, max_size=8).map("".join))


# -- wheel filenames and archives ------------------------------------------------------------------

_FILENAME = st.one_of(
    _TEXT,
    st.lists(st.one_of(_NASTY, st.text(string.ascii_letters + string.digits + "._", max_size=8)), min_size=1, max_size=6)
    .map(lambda parts: "-".join(parts) + ".whl"),
)
VALID_WHEEL = make_wheel("demo", "1.0", files={"demo/__init__.py": b"VALUE = 1\n", "demo/core.py": b"X = 2\n"}).data


@fuzz(400)
@given(_FILENAME)
def test_wheel_filenames(filename: str) -> None:
    result = refuses_only(InvalidWheel, Wheel.from_bytes, filename, VALID_WHEEL)
    if isinstance(result, InvalidWheel):
        assert result.filename == filename
    # The candidate filter reads the same names from index pages: it judges, never raises.
    verdict = judge_file(DistFile(filename, "https://idx.example/f.whl"), "demo", TARGET)
    assert verdict.refused is not None or verdict.rank is not None


@fuzz(400)
@given(st.lists(st.tuples(st.integers(0, len(VALID_WHEEL) - 1), st.integers(0, 255)), min_size=1, max_size=6),
       st.integers(0, len(VALID_WHEEL)))
def test_wheel_archives_with_flipped_bytes_and_truncation(flips, cut: int) -> None:
    data = bytearray(VALID_WHEEL)
    for position, value in flips:
        data[position] = value
    refuses_only(InvalidWheel, Wheel.from_bytes, "demo-1.0-py3-none-any.whl", bytes(data[: max(cut, 1)]))


_MEMBER = st.one_of(_TEXT, st.lists(st.one_of(_NASTY, st.just("demo")), min_size=1, max_size=4).map("/".join))


@fuzz(300)
@given(st.lists(st.tuples(_MEMBER, st.binary(max_size=20), st.booleans()), max_size=5),
       st.sampled_from([0o100644, 0o120777, 0o040755, 0o010644, 0]))
def test_wheel_archives_with_random_members(members, mode: int) -> None:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # duplicate names are part of the point
        rows = []
        for name, data, recorded in members:
            # zip names are UTF-8: lone surrogates cannot be written, so they become "?"
            info = zipfile.ZipInfo(name.encode("utf-8", "replace").decode().replace("\x00", "") or "x")
            info.external_attr = mode << 16
            archive.writestr(info, data)
            if recorded:
                rows.append(",".join(record_row(info.filename, data)))
        for name, data in (("demo-1.0.dist-info/METADATA", b"Name: demo\nVersion: 1.0\n"),
                           ("demo-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\n")):
            archive.writestr(name, data)
            rows.append(",".join(record_row(name, data)))
        archive.writestr("demo-1.0.dist-info/RECORD", "\n".join([*rows, "demo-1.0.dist-info/RECORD,,"]))
    wheel = refuses_only(InvalidWheel, Wheel.from_bytes, "demo-1.0-py3-none-any.whl", buffer.getvalue())
    if isinstance(wheel, Wheel):  # accepted: every path it would write is safe
        assert all(path_problem(path) is None for path, _ in wheel.members)


# -- RECORD -------------------------------------------------------------------------------------------

_RECORD_FIELD = st.one_of(
    _TEXT, st.sampled_from(["sha256=" + "A" * 43, "md5=abc", "sha256=", "=x", "sha256=!!", "12", "-1", "1e3"])
)


@fuzz(400)
@given(st.one_of(
    st.binary(max_size=200),
    st.lists(st.lists(_RECORD_FIELD, max_size=4), max_size=6).map(
        lambda rows: "\n".join(",".join(row) for row in rows).encode("utf-8", "surrogatepass")),
))
def test_record_files(data: bytes) -> None:
    # RecordError is internal by design: its callers re-raise it naming the file (below).
    entries = refuses_only(RecordError, parse_record, data)
    if isinstance(entries, list):
        assert len({e.path for e in entries}) == len(entries)
    filename, wheel = make_wheel("demo", "1.0", edit_record=lambda rows: [*rows[:-1], [data.decode("utf-8", "replace")]]).file
    refuses_only(InvalidWheel, Wheel.from_bytes, filename, wheel)


# -- METADATA -------------------------------------------------------------------------------------------

_HEADER = st.sampled_from(
    ["Metadata-Version", "Name", "Version", "Requires-Dist", "Requires-Python", "Provides-Extra", "Summary",
     "Dynamic", "name", "X-Unknown", "Requires-Dist ", ""]
)
_VALUE = st.one_of(
    _TEXT,
    st.sampled_from(["demo", "1.0", "1.0.post1.dev2+local", "not a version", "foo>=1; extra == 'x'", "foo[",
                     ">=3.8", ">=3.8,<", "=?utf-8?q?caf=C3=A9?=", "bar @ https://x/y.whl", "  ", "\udcff"]),
)


@fuzz(500)
@given(st.one_of(
    st.binary(max_size=300),
    st.lists(st.tuples(_HEADER, _VALUE), max_size=8).map(
        lambda headers: "".join(f"{k}: {v}\n" for k, v in headers).encode("utf-8", "surrogatepass")),
    st.lists(st.tuples(_HEADER, _VALUE), max_size=8).map(
        lambda headers: "".join(f"{k}: {v}\n" for k, v in headers).encode("latin-1", "replace")),
))
@example(b"Name: \xc2\x80\nVersion: 0\n")  # found: a non-ASCII value came back as an email Header
def test_metadata(data: bytes) -> None:
    meta = refuses_only(IndexFormatError, parse_metadata, data, source="https://idx.example/demo.metadata")
    if not isinstance(meta, IndexFormatError):
        assert meta.name and str(meta.version)


# -- index pages ------------------------------------------------------------------------------------------

_JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), _TEXT)
_JSON = st.recursive(_JSON_LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)), max_leaves=8)
_FILE_KEYS = ["filename", "url", "hashes", "requires-python", "yanked", "core-metadata", "dist-info-metadata",
              "size", "upload-time"]
_FILE_VALUES = {
    "filename": st.one_of(_FILENAME, _JSON),
    "url": st.one_of(st.sampled_from(["https://f.example/demo-1.0-py3-none-any.whl", "../x.whl", "javascript:1",
                                      "data:,x", "//evil.example/x.whl", "http://[::1", "https://h:99999/x"]),
                     _TEXT, _JSON),
    "hashes": st.one_of(st.dictionaries(st.sampled_from(["sha256", "md5", "SHA256", ""]), st.one_of(_TEXT, _JSON)), _JSON),
}
_FILE_ENTRY = st.dictionaries(st.sampled_from(_FILE_KEYS), _JSON, max_size=9).flatmap(
    lambda entry: st.fixed_dictionaries({k: _FILE_VALUES.get(k, _JSON) for k in entry}))
_JSON_PAGE = st.fixed_dictionaries(
    {"meta": st.one_of(st.fixed_dictionaries({"api-version": st.sampled_from(["1.0", "1.1", "2.0", 1])}), _JSON),
     "name": st.one_of(st.sampled_from(["demo", "Demo", "other"]), _JSON),
     "files": st.one_of(st.lists(_FILE_ENTRY, max_size=4), _JSON)},
    optional={"versions": _JSON},
)


def _json_body(document) -> bytes:
    return json.dumps(document, allow_nan=False).encode("utf-8", "surrogatepass")


def _json_page_with_files(body: bytes):
    # A JSON page builds its files when first asked (see ProjectPage): ask both ways.
    page = parse_json_page(PAGE_URL, body, "demo")
    page.wheels_for(frozenset({"any"}))
    page.files
    return page


@fuzz(300)
@given(st.one_of(st.binary(max_size=200), _JSON.map(_json_body), _JSON_PAGE.map(_json_body)))
@example(b'{"meta": true, "name": "demo", "files": []}')  # found: a 'meta' that is not an object
@example(b'{"name": "demo", "files": [{"filename": "x.whl", "url": "http://[::1"}]}')  # found: ValueError
def test_pep691_json_pages(body: bytes) -> None:
    page = refuses_only(IndexFormatError, _json_page_with_files, body)
    if not isinstance(page, IndexFormatError):
        assert page.name == "demo"
        assert all(f.url.split(":", 1)[0].lower() in ("http", "https") for f in page.files)


_ATTRIBUTE = st.sampled_from(["href", "data-requires-python", "data-yanked", "data-core-metadata",
                              "data-dist-info-metadata", "HREF", "data-gpg-sig"])
_ANCHOR = st.tuples(st.dictionaries(_ATTRIBUTE, st.one_of(st.none(), _TEXT, st.sampled_from(
    ["https://f.example/demo-1.0-py3-none-any.whl#sha256=00", "javascript:x", "data:,1", "#", "true", "sha256="]))),
    _TEXT)


def _html(anchors) -> bytes:
    links = []
    for attributes, text in anchors:
        rendered = " ".join(k if v is None else f'{k}="{v}"' for k, v in attributes.items())
        links.append(f"<a {rendered}>{text}</a>")
    return ("<html><body>" + "<br>".join(links) + "</body></html>").encode("utf-8", "surrogatepass")


@fuzz(500)
@given(st.one_of(st.binary(max_size=200), st.lists(_ANCHOR, max_size=4).map(_html), _TEXT.map(
    lambda t: t.encode("utf-8", "surrogatepass"))))
def test_pep503_html_pages(body: bytes) -> None:
    page = refuses_only(IndexFormatError, parse_html_page, PAGE_URL, body, "demo")
    if not isinstance(page, IndexFormatError):
        assert all(f.url.split(":", 1)[0].lower() in ("http", "https") for f in page.files)


_LEGACY = st.fixed_dictionaries({
    "info": st.one_of(st.fixed_dictionaries({"name": st.one_of(st.just("demo"), _JSON)}), _JSON),
    "releases": st.one_of(st.dictionaries(_TEXT, st.one_of(st.lists(_JSON, max_size=2), st.lists(
        st.fixed_dictionaries({"filename": _FILENAME, "url": _FILE_VALUES["url"], "digests": _JSON,
                               "size": _JSON, "yanked": _JSON, "requires_python": _JSON}), max_size=2)), max_size=3),
        _JSON),
})


@fuzz(150)
@given(st.one_of(st.binary(max_size=100), _LEGACY.map(_json_body)))
@example(b'{"info": {"name": "demo"}, "releases": {"1": [{"filename": "", "url": "http://[::1"}]}}')  # found
def test_legacy_json_pages(body: bytes) -> None:
    refuses_only(IndexFormatError, parse_legacy_json, "https://idx.example/pypi/demo/json", body, "demo")


@fuzz(150)
@given(st.sampled_from(["application/vnd.pypi.simple.v1+json", "text/html", "application/json",
                        "application/vnd.pypi.simple.v1+html; charset=x", "text/plain", "", "TEXT/HTML;;"]),
       st.one_of(st.binary(max_size=100), _JSON_PAGE.map(_json_body), _LEGACY.map(_json_body)))
def test_pages_by_content_type(content_type: str, body: bytes) -> None:
    response = Response(PAGE_URL, 200, {"content-type": content_type}, body)
    refuses_only(IndexFormatError, parse_page, response, "demo")


# -- requirements ------------------------------------------------------------------------------------------

_REQUIREMENT = st.one_of(
    _TEXT,
    st.tuples(
        st.sampled_from(["demo", "Demo_Pkg", "a", "-x", "x-", "1"]),
        st.sampled_from(["", "[x]", "[x,y]", "[", "[]"]),
        st.sampled_from(["", ">=1", "==1.*", "~=1", "<2,>1", ">=", "===abc", "!=1.0.dev0"]),
        st.sampled_from(["", " @ https://h/demo-1.0-py3-none-any.whl", " @ ", " @ file:///x.whl"]),
        st.sampled_from(["", "; python_version >= '3.8'", "; extra == 'x'", "; os_name == ", "; and"]),
    ).map("".join),
    st.tuples(st.sampled_from(["https://h/", "emfs:/tmp/", "file:///", "/abs/", "http://u:p@h/"]), _FILENAME).map("".join),
)


@fuzz(600)
@given(_REQUIREMENT)
def test_requirement_strings(text: str) -> None:
    result = refuses_only(InvalidRequirement, parse_requirement, text)
    if isinstance(result, InvalidRequirement):
        assert result.requirement is not None


@fuzz(100)
@given(st.one_of(st.none(), st.integers(), st.binary(max_size=10), st.lists(st.text(max_size=3), max_size=2)))
def test_requirements_that_are_not_strings(value) -> None:
    refuses_only(InvalidRequirement, parse_requirement, value)


# -- lock files and requirements files (parsers written by other modules' owners) ---------------------------------


def _optional(module: str):
    return importlib.import_module(f"micropkg.{module}")


_TOML_VALUE = st.one_of(
    st.sampled_from(['"1.0"', '"2.0"', '"x"', "1", "true", "[]", '["x"]', "{}", '{sha256 = "00"}',
                     "2025-01-01T00:00:00Z", '"sys_platform == \\"emscripten\\""', '"=="', '"https://h/x.whl"']),
    _TEXT.map(json.dumps),
)
_TOML_KEY = st.sampled_from(["lock-version", "created-by", "environments", "requires-python", "name", "version",
                             "index", "url", "path", "hashes", "size", "upload-time", "marker", "wheels", "x"])


def _toml(top, packages) -> str:
    lines = [f"{k} = {v}" for k, v in top]
    for package, wheels in packages:
        lines.append("[[packages]]")
        lines += [f"{k} = {v}" for k, v in package]
        for wheel in wheels:
            lines.append("[[packages.wheels]]")
            lines += [f"{k} = {v}" for k, v in wheel]
    return "\n".join(lines)


_PAIRS = st.lists(st.tuples(_TOML_KEY, _TOML_VALUE), max_size=5, unique_by=lambda p: p[0])


@fuzz(200)
@given(st.one_of(_TEXT, st.builds(_toml, st.lists(st.tuples(_TOML_KEY, _TOML_VALUE), max_size=5, unique_by=lambda p: p[0]),
                                   st.lists(st.tuples(_PAIRS, st.lists(_PAIRS, max_size=2)), max_size=2))))
def test_pylock_toml(text: str) -> None:
    pylock = _optional("lock.pylock")
    errors = _optional("errors")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # newer lock versions and unknown keys only warn
        refuses_only(errors.LockError, pylock.loads, text, source="pylock.toml")


_LOCK_ENTRY = st.fixed_dictionaries(
    {"name": st.one_of(st.just("demo"), _JSON), "version": st.one_of(st.just("1.0"), _JSON),
     "file_name": st.one_of(_FILENAME, _FILE_VALUES["url"], _JSON), "sha256": st.one_of(st.just("00" * 32), _JSON)},
    optional={"depends": _JSON, "imports": _JSON, "install_dir": _JSON, "package_type": _JSON},
)
_PYODIDE_LOCK = st.fixed_dictionaries({
    "info": st.one_of(st.fixed_dictionaries({"abi_version": st.sampled_from(["2026_0", "x", ""]),
                                             "python": st.sampled_from(["3.14.2", "3", "x"]),
                                             "platform": st.sampled_from(["emscripten_4_0_9", "x"]),
                                             "arch": st.just("wasm32")}), _JSON),
    "packages": st.one_of(st.dictionaries(st.one_of(st.just("demo"), _TEXT), st.one_of(_LOCK_ENTRY, _JSON), max_size=3), _JSON),
})


@fuzz(300)
@given(st.one_of(_TEXT, _JSON.map(json.dumps), _PYODIDE_LOCK.map(json.dumps)))
def test_pyodide_lock_json(text: str) -> None:
    lockfile = _optional("lock.pyodide_lock")
    errors = _optional("errors")
    refuses_only(errors.LockError, lockfile.loads, text, source="pyodide-lock.json")


_REQUIREMENTS_LINE = st.one_of(
    _REQUIREMENT,
    st.tuples(st.sampled_from(["-r", "-c", "-i", "--index-url", "--extra-index-url", "--pre", "-e", "--hash",
                               "--requirement=", "-f", "--no-binary", "-"]),
              st.sampled_from(["", " ", " other.txt", " https://h/simple", " ${HOME}", " sha256:00", " \\"])).map("".join),
)


@fuzz(200)
@given(st.lists(st.one_of(_REQUIREMENTS_LINE, st.just("# comment"), st.just("")), max_size=6))
def test_requirements_files(lines: list[str]) -> None:
    requirements_file = _optional("model.requirements_file")
    text = "\n".join(lines)

    async def read(location: str) -> str:
        if location.endswith("requirements.txt"):
            return text
        return "demo>=1\n"

    def load_requirements_file(location: str):
        return asyncio.run(requirements_file.load_requirements_file(location, read))

    # Counted under the parser's own name.
    load_requirements_file.__module__ = requirements_file.__name__
    load_requirements_file.__qualname__ = "load_requirements_file"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ignored options are reported as warnings
        refuses_only(MicropkgError, load_requirements_file, "requirements.txt")


# -- headers and URLs --------------------------------------------------------------------------------------------


@fuzz(300)
@given(st.one_of(st.none(), _TEXT, st.sampled_from(["120", "Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015",
                                                     "99999999999999999999", "Mon, 99 Foo 2015 99:99:99 GMT", "²",
                                                     "\u0663"])))
@example("\u00b2")  # found: "²".isdigit() is true, float("²") fails
def test_retry_after_headers(value) -> None:
    EXAMPLES["_retry.parse_retry_after"] += 1
    seconds = parse_retry_after(value, 1_800_000_000.0)
    assert seconds is None or seconds >= 0


_URL = st.one_of(
    _TEXT,
    st.tuples(st.sampled_from(["http://", "https://", "ftp://", "javascript:", "", "HTTP://"]),
              st.sampled_from(["", "u:p@", "user@", "u:p:q@", "%40:%3A@", "@"]),
              st.sampled_from(["127.0.0.1", "localhost", "[::1]", "example.com", "[::1", "10.0.0.1", "", "h:x"]),
              st.sampled_from(["", ":80", ":99999", ":-1"]),
              _TEXT).map("".join),
)


@fuzz(500)
@given(_URL, st.booleans())
@example("http://u:p@127.0.0.1#@", False)
@example("http://[::1]@[", False)  # found: the URL left is no URL at all
def test_urls_and_credentials(url: str, allow: bool) -> None:
    EXAMPLES["_transport.redact_url"] += 1
    shown = redact_url(url)
    clean, headers = split_credentials(url)
    if headers:  # credentials moved into the header: none left in the URL's authority
        authority = re.split(r"[/?#]", clean.partition("//")[2], maxsplit=1)[0]
        assert "@" not in authority
    refused = refuses_only(InsecureURL, require_secure_url, url, allow_insecure_http=allow)
    if isinstance(refused, InsecureURL):
        assert refused.url == shown or refused.url == redact_url(url)
