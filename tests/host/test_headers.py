"""micropkg's METADATA/WHEEL header reader against the email parser packaging tools use.

The oracle is ``packaging.metadata.parse_email`` (the stdlib ``email`` parser,
``compat32`` policy), compared on the fields micropkg reads: Metadata-Version,
Name, Version, Requires-Dist, Requires-Python, Provides-Extra, Dynamic, and
WHEEL's Wheel-Version, Root-Is-Purelib and Tag. On top of that the whole
header list is compared with what ``email`` itself parses, every field.

Three sources of input: generated texts (hypothesis; folded values with
whitespace-only continuation lines, CRLF/LF/CR mixes, fields in any order and
case, broken lines, bodies with and without the blank line), a corpus of real
METADATA files from PyPI (tests/host/data/metadata, see fetch.py there), and
the edge cases below written out by hand.
"""

from __future__ import annotations

import collections
import email.parser
import email.policy
import hashlib
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from packaging.metadata import parse_email

from micropkg.model.headers import Headers, parse_headers
from micropkg.model.metadata import parse_metadata

CORPUS = sorted((Path(__file__).parent / "data" / "metadata").glob("*.METADATA"))

# The fields micropkg reads, with parse_email's key for each in its first dict
# (None: not core metadata, so packaging always puts it among the unparsed fields).
USED: dict[str, str | None] = {
    "Metadata-Version": "metadata_version",
    "Name": "name",
    "Version": "version",
    "Requires-Dist": "requires_dist",
    "Requires-Python": "requires_python",
    "Provides-Extra": "provides_extra",
    "Dynamic": "dynamic",
    "Wheel-Version": None,
    "Root-Is-Purelib": None,
    "Tag": None,
}

SCALE = int(os.environ.get("MICROPKG_FUZZ_SCALE", "1"))
EXAMPLES: collections.Counter[str] = collections.Counter()


# CPython 3.12.8, 3.13.1 and later (gh-124452; Pyodide 0.29 and 314) strip a folded value's
# leading line breaks and whitespace; older ones (this host's 3.11 among them) keep them when
# the first line is empty. micropkg reads as the fixed parser does, so on an older Python
# the oracle's values are brought level (the fix is exactly that lstrip on the old value).
_FIXED = email.parser.Parser(policy=email.policy.compat32).parsestr("A:\n b\n")["A"] == "b"


def modern(value: str) -> str:
    return value if _FIXED else value.lstrip(" \t\r\n")


def oracle(data: bytes | str) -> dict[str, list[str] | None]:
    """Every value of each used field as parse_email gives it, in file order (None: absent)."""
    raw, unparsed = parse_email(data)
    found: dict[str, list[str] | None] = {}
    for field, key in USED.items():
        values: list[str] | None = None
        if field.lower() in unparsed:  # unknown, repeated where once is allowed, or not UTF-8
            values = unparsed[field.lower()]
        elif key is not None and key in raw:
            value = raw[key]  # type: ignore[literal-required]
            values = [value] if isinstance(value, str) else list(value)
        found[field] = None if values is None else [modern(v) for v in values]
    return found


def ours(text: str) -> dict[str, list[str] | None]:
    headers = parse_headers(text)
    found = {field: headers.get_all(field) for field in USED}
    for field, values in found.items():
        # Lookups ignore case, and get() is the first of get_all().
        assert headers.get_all(field.upper()) == headers.get_all(field.lower()) == values
        assert headers.get(field.swapcase()) == (values[0] if values else None)
        assert (field in headers) == (values is not None)
    return found


def email_fields(text: str) -> list[tuple[str, str]]:
    """Every header (name, value) the stdlib email parser finds, in order."""
    message = email.parser.Parser(policy=email.policy.compat32).parsestr(text)
    return [(name, modern(str(value))) for name, value in message.items()]


def assert_same(data: bytes) -> None:
    text = data.decode("utf-8")
    assert ours(text) == oracle(data)
    assert parse_headers(text).items() == email_fields(text)


# -- generated texts ---------------------------------------------------------------------------------

_SPECIAL = st.sampled_from(
    [
        " ",
        "  ",
        "\t",
        ":",
        ": ",
        "|",
        ";",
        ",",
        "=",
        ">=1",
        "[x]",
        'extra == "a"',
        "é",
        "中",
        "\x00",
        "\x0b",
        "\x0c",
        "\x1c",
        "\x85",
        "\u2028",
        "\ufeff",
        "From ",
        "Name:",
        "Requires-Dist: z",
    ]
)
_VALUE = st.lists(
    st.one_of(
        _SPECIAL,
        st.text(st.characters(exclude_characters="\r\n", exclude_categories=["Cs"]), max_size=6),
    ),
    max_size=5,
).map("".join)
_NAMES = list(USED) + ["License", "Summary", "Description", "Classifier", "Keywords", "X-Custom"]
# Not field names to email: a space or tab before the colon, non-ASCII, nothing at all.
_BROKEN_NAMES = ["Requires Dist", "Name ", "Version\t", "Versión", "", "From", "Tag "]


@st.composite
def _name(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(_NAMES + _BROKEN_NAMES if draw(st.integers(0, 9)) == 0 else _NAMES))
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.swapcase() if flip else c for c, flip in zip(name, flips))


_FIELD_LINE = st.tuples(_name(), st.sampled_from(["", " ", "   ", "\t", " \t "]), _VALUE).map(
    lambda t: f"{t[0]}:{t[1]}{t[2]}"  # nothing, spaces or tabs after the colon
)
# A continuation line; setuptools writes a licence's blank lines as "        " or "        |".
_CONTINUATION = st.one_of(
    st.tuples(
        st.sampled_from([" ", "\t", "        ", " \t"]), st.sampled_from(["", "|", " "]), _VALUE
    ).map("".join),
    st.sampled_from(["        ", "        |", " ", "\t", "        \t"]),
)
_ANY_LINE = st.one_of(
    _FIELD_LINE,
    _CONTINUATION,
    _VALUE.map(lambda v: "From " + v),
    _VALUE,  # text: the start of a body when it holds no colon after a field name
)
_ENDING = st.sampled_from(["\n", "\n", "\n", "\r\n", "\r\n", "\r"])


@st.composite
def metadata_texts(draw: st.DrawFn) -> str:
    """A header block of fields and continuations (or, one time in four, of any lines),
    then perhaps the blank line, then perhaps a body of any lines."""
    head = (
        _ANY_LINE
        if draw(st.integers(0, 3)) == 0
        else st.one_of(_FIELD_LINE, _FIELD_LINE, _CONTINUATION)
    )
    lines = draw(st.lists(st.tuples(head, _ENDING), max_size=25))
    if draw(st.booleans()):
        lines.append(("", draw(_ENDING)))
    lines += draw(st.lists(st.tuples(_ANY_LINE, _ENDING), max_size=4))
    text = "".join(line + ending for line, ending in lines)
    if draw(st.booleans()) and lines:
        text = text.rstrip("\r\n")  # no line ending at the end of the file
    return text


def _shape(text: str) -> None:
    """Counts what the examples covered, printed at the end (run with -s)."""
    EXAMPLES["texts"] += 1
    found = {name.lower() for name, _ in parse_headers(text).items()} & {f.lower() for f in USED}
    if found:
        EXAMPLES["a used field found"] += 1
    lines = re.split(r"\r\n|\r|\n", text)
    blank = next(
        (i for i, line in enumerate(lines) if i and line[:1] in (" ", "\t") and not line.strip()),
        None,
    )
    if blank is not None and any(
        line.split(":")[0].lower() in found for line in lines[blank + 1 :]
    ):
        EXAMPLES["a used field after a whitespace-only continuation"] += 1
    if "\r\n" in text and "\n" in text.replace("\r\n", ""):
        EXAMPLES["CRLF and LF mixed"] += 1


@settings(
    max_examples=2000 * SCALE,
    deadline=None,
    derandomize=SCALE == 1,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(metadata_texts())
@example("License: Apache\n        \n        |\n  more\nRequires-Dist: a\r\n\r\nbody")
@example("Name: a\r\nVersion: 1\rRequires-Dist: b\n")
@example(" lead: x\nName: a\nName : b\nVersion: 1\n")
def test_reader_equals_parse_email_on_generated_texts(text: str) -> None:
    _shape(text)
    assert ours(text) == oracle(text.encode("utf-8"))
    assert ours(text) == oracle(text)
    assert parse_headers(text).items() == email_fields(text)


_BAD_BYTES = st.sampled_from([b"\x80", b"\xff", b"\xc3", b"\xe4\xb8", b"\xed\xa0\x80", b"\xc0\xaf"])


@st.composite
def undecodable(draw: st.DrawFn) -> bytes:
    data = draw(metadata_texts()).encode("utf-8")
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(_BAD_BYTES) + data[at:]
    return data


def _from_mojibake(value: str) -> str | None:
    """What a value packaging decoded as latin-1 (its fallback) reads as with U+FFFD instead."""
    try:
        return value.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return None  # not latin-1 text, so packaging decoded it as UTF-8


@settings(max_examples=500 * SCALE, deadline=None, derandomize=SCALE == 1, database=None)
@given(undecodable())
def test_undecodable_bytes_are_replaced_and_change_nothing_else(data: bytes) -> None:
    # What the callers hand over (_metadata, _environment): undecodable bytes as U+FFFD.
    text = data.decode("utf-8", "replace")
    EXAMPLES["undecodable"] += 1
    assert ours(text) == oracle(text)
    assert parse_headers(text).items() == email_fields(text)
    # Against the email parser on the bytes themselves: the same fields and values,
    # except that packaging turns a value with a bad byte into latin-1 mojibake.
    theirs = oracle(data)
    for field, values in ours(text).items():
        other = theirs[field]
        assert (values is None) == (other is None), field
        if values is not None and other is not None:
            assert len(values) == len(other), field
            for mine, their in zip(values, other):
                assert mine == their or mine == _from_mojibake(their), (field, mine, their)


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print("\nheader examples: " + ", ".join(f"{k} {v}" for k, v in sorted(EXAMPLES.items())))


# -- real METADATA files -------------------------------------------------------------------------------


def test_corpus_is_as_fetched() -> None:
    # PyPI's bytes, unchanged (a checkout that converted line endings would show here),
    # and the corpus keeps its point: many files, folded licences with blank lines, CRLF.
    sources = (CORPUS[0].parent / "SOURCES.txt").read_text().splitlines()
    digests = dict(line.split()[:2] for line in sources)
    assert sorted(digests) == [path.name for path in CORPUS]
    for path in CORPUS:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digests[path.name], path.name
    assert len(CORPUS) >= 30
    heads = {path.name: path.read_bytes().split(b"\n\n")[0] for path in CORPUS}
    folded = {n for n, head in heads.items() if re.search(rb"\n[ \t]+\r?\n[A-Z]", head)}
    assert {"sglang-0.5.10.post1.METADATA", "scipy-1.18.1.METADATA"} <= folded
    assert "pillow-13.0.0.METADATA" in {n for n, head in heads.items() if b"\r\n" in head}


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_reader_equals_parse_email_on_real_metadata(path: Path) -> None:
    data = path.read_bytes()
    assert_same(data)
    found = parse_headers(data.decode("utf-8"))
    version = path.name.removesuffix(".METADATA").rsplit("-", 1)[1]
    assert found.get("Version") == version


# -- the dependency loss of issue 15 ----------------------------------------------------------------

# The shape setuptools writes: the licence text folded into License, blank lines indented.
SGLANG_STYLE = (
    "Metadata-Version: 2.4\n"
    "Name: sglang\n"
    "Version: 0.5.10.post1\n"
    "License:                                  Apache License\n"
    "                                   Version 2.0, January 2004\n"
    "        \n"
    "           TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION\n"
    "        |\n"
    "        \t\n"
    "           limitations under the License.\n"
    "        \n"
    "Requires-Python: >=3.10\n"
    "Provides-Extra: all\n"
    "Requires-Dist: IPython\n"
    "Requires-Dist: aiohttp\n"
    'Requires-Dist: sglang[tracing]; extra == "all"\n'
    "\n"
    "# SGLang\n"
)


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_fields_after_a_folded_licence_with_blank_lines_are_kept(ending: str) -> None:
    text = SGLANG_STYLE.replace("\n", ending)
    headers = parse_headers(text)
    assert headers.get_all("Requires-Dist") == [
        "IPython",
        "aiohttp",
        'sglang[tracing]; extra == "all"',
    ]
    assert headers.get("Requires-Python") == ">=3.10"
    assert headers.get_all("Provides-Extra") == ["all"]
    licence = headers.get("License")
    assert licence is not None
    assert licence.startswith(
        "Apache License" + ending + "                                   Version 2.0"
    )
    assert licence.endswith("limitations under the License." + ending + "        ")
    assert_same(text.encode())


def test_sglang_keeps_all_its_requirements() -> None:
    path = next(p for p in CORPUS if p.name == "sglang-0.5.10.post1.METADATA")
    metadata = parse_metadata(path.read_bytes(), source=path.name)
    assert len(metadata.requires_dist) == 105
    assert str(metadata.requires_dist[-1]) == 'sglang[tracing]; extra == "all"'
    assert str(metadata.requires_python) == ">=3.10"
    assert "all" in metadata.provides_extra


# -- edge cases, one by one -------------------------------------------------------------------------

EDGES = {
    "trailing spaces are kept": "Name: a  \nVersion: 1 \t\n",
    "a whitespace-only line continues": "Name: a\n   \nVersion: 1\n",
    "a folded value keeps its line endings": "Requires-Dist: a\r\n  >=1\n\t; extra == 'x'\r\nVersion: 1\n",
    "an empty value": "Name:\nVersion: \nRequires-Dist:\t\n",
    "an empty value folded": "Name:\n  a\n",
    "leading whitespace before the first field": "  Metadata-Version: 2.1\n\tx\nName: a\n",
    "a line without a colon starts the body": "Name: a\nnot a header\nVersion: 1\n",
    "a space before the colon starts the body": "Name: a\nVersion : 1\nRequires-Dist: b\n",
    "a non-ASCII name starts the body": "Name: a\nVersión: 1\nRequires-Dist: b\n",
    "a body without the blank line": "Name: a\nVersion: 1\nThe description\nTag: x\n",
    "only an empty line ends the headers": "Name: a\n\nVersion: 1\n",
    "an empty CRLF line ends the headers": "Name: a\r\n\r\nVersion: 1\r\n",
    "a lone CR ends a line": "Name: a\rVersion: 1\rRequires-Dist: b\r\rRequires-Dist: c\n",
    "a CR before CRLF": "Name: a\r\r\nVersion: 1\n",
    "other line separators do not end lines": "Name: a\x0bb\x0cc\x1cd\x85e\u2028f\u2029g\nVersion: 1\n",
    "duplicate fields are all kept": "Name: a\nname: b\nNAME: c\nRequires-Dist: x\nrequires-dist: y\n",
    "a colon with no name is dropped with its continuations": "Name: a\n: x\n  y\nVersion: 1\n",
    "a From line is dropped with its continuations": "From someone\nName: a\nFrom x\n  y\nVersion: 1\nFrom z\n",
    "From: is a field": "From: a\nName: b\n",
    "a colon in the value": "Requires-Dist: a @ https://x.example/a.whl ; python_version >= '3'\n",
    "no line ending at the end": "Name: a\nVersion: 1",
    "nothing": "",
    "a blank line first": "\nName: a\n",
    "a whitespace line first": "   \nName: a\n",
    "a BOM is part of the first name": "\ufeffName: a\nVersion: 1\n",
    "a NUL in a value": "Name: a\x00b\nVersion: 1\n",
    "WHEEL from bdist_wheel": "Wheel-Version: 1.0\nGenerator: setuptools (80.9.0)\nRoot-Is-Purelib: true\nTag: py3-none-any\n\n",
    "WHEEL with several tags, CRLF": "Wheel-Version: 1.0\r\nRoot-Is-Purelib: false\r\nTag: cp314-cp314-pyemscripten_2026_0_wasm32\r\nTag: cp314-abi3-pyemscripten_2026_0_wasm32\r\n",
}


@pytest.mark.parametrize("text", EDGES.values(), ids=EDGES.keys())
def test_edge_cases_match_parse_email(text: str) -> None:
    assert_same(text.encode("utf-8"))


def test_what_the_edge_cases_give() -> None:
    # The oracle agrees (above); these say what it agrees on, so a reader that
    # merely copied a wrong oracle would show here.
    def fields(text: str) -> list[tuple[str, str]]:
        return parse_headers(text).items()

    assert fields(EDGES["trailing spaces are kept"]) == [("Name", "a  "), ("Version", "1 \t")]
    assert fields(EDGES["a whitespace-only line continues"]) == [
        ("Name", "a\n   "),
        ("Version", "1"),
    ]
    assert fields(EDGES["a folded value keeps its line endings"])[0] == (
        "Requires-Dist",
        "a\r\n  >=1\n\t; extra == 'x'",
    )
    assert fields(EDGES["an empty value"]) == [("Name", ""), ("Version", ""), ("Requires-Dist", "")]
    assert fields(EDGES["an empty value folded"]) == [("Name", "a")]  # as CPython 3.13.1+
    assert fields("License:\r\n   \r\n\t\r\n  MIT\r\n  text\r\nName: x") == [
        ("License", "MIT\r\n  text"),
        ("Name", "x"),
    ]
    assert fields(EDGES["leading whitespace before the first field"]) == [("Name", "a")]
    assert fields(EDGES["a space before the colon starts the body"]) == [("Name", "a")]
    assert fields(EDGES["a body without the blank line"]) == [("Name", "a"), ("Version", "1")]
    assert fields(EDGES["only an empty line ends the headers"]) == [("Name", "a")]
    assert fields(EDGES["a lone CR ends a line"]) == [
        ("Name", "a"),
        ("Version", "1"),
        ("Requires-Dist", "b"),
    ]
    assert fields(EDGES["duplicate fields are all kept"]) == [
        ("Name", "a"),
        ("name", "b"),
        ("NAME", "c"),
        ("Requires-Dist", "x"),
        ("requires-dist", "y"),
    ]
    assert fields(EDGES["a From line is dropped with its continuations"]) == [
        ("Name", "a"),
        ("Version", "1"),
    ]
    assert fields(EDGES["a whitespace line first"]) == [("Name", "a")]
    assert fields("") == []
    assert Headers([]).get_all("Name") is None


def test_values_are_handed_over_unstripped_and_callers_strip() -> None:
    data = (
        b"Metadata-Version: 2.1\nName:  Demo-Pkg \nVersion: 1.0 \nRequires-Python: >=3.8 \n"
        b"Provides-Extra: Fast \nRequires-Dist: a>=1 \nRequires-Dist:\n  b\n\n"
    )
    metadata = parse_metadata(data, source="demo")
    assert (metadata.name, metadata.display_name, str(metadata.version)) == (
        "demo-pkg",
        "Demo-Pkg",
        "1.0",
    )
    assert [str(r) for r in metadata.requires_dist] == ["a>=1", "b"]
    assert metadata.provides_extra == {"fast"}
    assert str(metadata.requires_python) == ">=3.8"
