"""The email-style header blocks of METADATA and WHEEL files (PEP 566, PEP 427).

Packaging tools read these with the stdlib's ``email`` parser (``packaging``'s
``parse_email`` uses it with the ``compat32`` policy), and that parser is what
the core metadata specification points to. Importing that parser costs
tenths of a second inside Pyodide, where a fresh runtime compiles every module
from source (``email.parser`` and ``email.policy``: 0.26-0.35 s in Pyodide 314
under Node, ``packaging.metadata``: 0.46-0.49 s; this module: 3 ms; measured
2026-12-04). That is more than micropkg's whole resolution of a small request,
so this module reads the header block itself, the same way that parser does:

- Lines end at ``\\r\\n``, ``\\n`` or a lone ``\\r``; no other character ends
  a line.
- A line that starts with a space or a tab continues the field before it,
  even when it holds nothing but whitespace (setuptools folds a whole licence
  text into ``License:`` and writes its blank lines as indented ones). A
  continuation with no field to continue (before the first field, or after a
  line dropped as below) is dropped.
- A field line is a name of printable ASCII characters other than space and
  colon, then a colon. Names compare case-insensitively.
- The headers end at the first line that is neither: an empty line (the
  separator, consumed) or anything else (a body that starts without a blank
  line, e.g. ``Name : x`` or plain text). A whitespace-only line is a
  continuation, not the end.
- Dropped without ending the headers, as the ``email`` parser drops them: a
  line with nothing before its colon and a line that starts with ``From ``
  (a Unix mailbox envelope line).
- A value is what follows the colon plus each continuation line verbatim,
  line endings included, minus leading spaces, tabs and line breaks and
  trailing line breaks: folded values keep their inner line breaks, and
  trailing spaces are kept. Callers strip. (That is the parser of CPython
  3.12.8, 3.13.1 and later, gh-124452, so Pyodide 0.29 and 314. Older ones,
  Pyodide 0.27's 3.12.7 among them, keep the leading line breaks and
  whitespace of a value whose first line is empty: "Name:\\n  x" is
  "\\n  x" there, "x" here.)
- Every occurrence of a field is kept, in file order.

Text in, text out: the callers turn bytes into text first. ``_wheel`` refuses
a METADATA or WHEEL file that is not UTF-8; ``_metadata`` and ``_environment``
replace undecodable bytes with U+FFFD. That cannot move a line or field
boundary (UTF-8 writes CR, LF, space, tab and colon only as themselves, and
U+FFFD is none of them), so the fields found are the ones the ``email`` parser
finds in the bytes; a value holding an undecodable byte differs only in that
byte, where ``packaging`` gives latin-1 mojibake among its unparsed fields.

tests/host/test_headers.py holds this reader to ``packaging.metadata.parse_email``
on generated texts and on a corpus of real METADATA files.
"""

from __future__ import annotations

__all__ = ["Headers", "parse_headers"]


class Headers:
    """Header fields in file order; names compare case-insensitively."""

    __slots__ = ("_fields",)

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields

    def get(self, name: str, default: str | None = None) -> str | None:
        key = name.lower()
        return next((value for field, value in self._fields if field.lower() == key), default)

    def get_all(self, name: str) -> list[str] | None:
        key = name.lower()
        values = [value for field, value in self._fields if field.lower() == key]
        return values or None  # the email.message.Message convention

    def items(self) -> list[tuple[str, str]]:
        """Every (name, value) pair in file order, names as written."""
        return list(self._fields)

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"


def _is_field_name(name: str) -> bool:
    # email's headerRE: [\041-\071\073-\176]+ (the colon is the first one, so never inside)
    return name.isascii() and name.isprintable() and " " not in name


def parse_headers(text: str) -> Headers:
    """Parse the header block at the start of ``text``; the body after it is not read."""
    # The headers end at the first empty line at the latest, so the body is never split:
    # "\n\n" ends a line and starts an empty one, and so do "\n\r" and "\r\r".
    cut = text.find("\n\n")
    head = text if cut < 0 else text[: cut + 1]
    if "\r" in head:
        for pair in ("\n\r", "\r\r"):
            cut = head.find(pair)
            head = head if cut < 0 else head[: cut + 1]
        lines, breaks = _lines_and_breaks(head)
    else:  # the common case: LF only, so str.split finds the lines
        lines, breaks = head.split("\n"), None
    # Each field as (name, index of its line, index after its continuation lines, colon).
    spans: list[tuple[str, int, int, int]] = []
    name: str | None = None
    start = colon = 0
    end = len(lines)
    for index, line in enumerate(lines):
        if not line:
            end = index  # the empty line that separates headers from the body
            break
        if line[0] in " \t":
            continue  # a continuation: part of the open field's span, if any
        found = line.find(":")
        envelope = line.startswith("From ")
        if not envelope and (found < 0 or not _is_field_name(line[:found])):
            end = index  # a body that starts without the blank line
            break
        if name is not None:
            spans.append((name, start, index, colon))
        if envelope or found == 0:
            name = None  # dropped, and so are the continuations that follow
        else:
            name, start, colon = line[:found], index, found
    if name is not None:
        spans.append((name, start, end, colon))
    fields = []
    for field, first, stop, at in spans:
        rest = lines[first][at + 1 :]
        if breaks is None:
            value = "\n".join([rest, *lines[first + 1 : stop]]).lstrip(" \t\n")
        else:  # each line keeps its own break; then leading and trailing breaks go
            parts = [rest, breaks[first]]
            for index in range(first + 1, stop):
                parts += (lines[index], breaks[index])
            value = "".join(parts).lstrip(" \t\r\n").rstrip("\r\n")
        fields.append((field, value))
    return Headers(fields)


def _lines_and_breaks(head: str) -> tuple[list[str], list[str]]:
    """The lines of ``head`` and the break after each: CRLF, CR or LF ("" after the last)."""
    lines: list[str] = []
    breaks: list[str] = []
    chunks = head.split("\n")
    for number, chunk in enumerate(chunks):
        pieces = chunk.split("\r")
        last = number == len(chunks) - 1
        crlf = len(pieces) > 1 and not pieces[-1] and not last
        if crlf:
            pieces.pop()  # "x\r" before "\n" is one line "x" and a CRLF, not an empty line
        lines += pieces
        breaks += ["\r"] * (len(pieces) - 1)
        breaks.append("\r\n" if crlf else "" if last else "\n")
    return lines, breaks
