"""The email-style header blocks of METADATA and WHEEL files (PEP 566, PEP 427).

The stdlib's ``email`` package parses these, but importing it costs about
0.2 s inside Pyodide (a fresh runtime compiles every module from source),
which is more than micropkg's whole resolution of a small request. The format
an installer needs is small: ``Name: value`` lines, continuation lines that
start with whitespace, and a blank line that ends the headers.
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

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"


def parse_headers(text: str) -> Headers:
    """Parse the header block of ``text``; the body after the first blank line is ignored."""
    fields: list[tuple[str, str]] = []
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if not line.strip():
            break  # the blank line that separates headers from the body
        if line[0] in " \t":
            if fields:  # a folded continuation of the previous field
                name, value = fields[-1]
                fields[-1] = (name, f"{value}\n{line}")
            continue
        name, colon, value = line.partition(":")
        if not colon:
            break  # not a header line: as email's parser does, the headers end here
        fields.append((name.strip(), value.strip()))
    return Headers(fields)
