"""The scheme, host and port of a plain URL, without importing ``urllib.parse``.

A fresh Pyodide 314 compiles ``urllib.parse`` (and the ``ipaddress`` it
imports) from source: ~150 ms under Node, more than a round trip to PyPI, on
an install's path to its first request. The URLs on that path -- an index's,
a project page's -- are nearly always plain: ``https://host[:port]/path``,
ASCII, no user information, no IP-v6 literal. For those the answer is
unambiguous and read here with a regular expression; anything else returns
None and the caller asks ``urllib.parse``, so no unusual URL is judged by
this module. ``tests/host/test_urls.py`` holds the two to the same answers.
"""

from __future__ import annotations

import re

__all__ = ["plain_parts"]

# No byte below "!" (urlsplit strips or removes some of those), no backslash, no "@" (so no
# user information), no "[" (an IP-v6 literal, which urlsplit checks with ipaddress), ASCII.
_PLAIN = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<host>[A-Za-z0-9.-]+)(?::(?P<port>[0-9]{1,5}))?"
    r"(?:[/?#][!-?A-Z\]-~]*)?"
)


def plain_parts(url: str) -> tuple[str, str, int | None] | None:
    """``(scheme, hostname, port)`` as ``urlsplit`` would give them (both lower-case), for a
    plain URL; None for any other, which the caller hands to ``urllib.parse``."""
    match = _PLAIN.fullmatch(url)
    if match is None:
        return None
    port = match.group("port")
    number = None if port is None else int(port)
    if number is not None and number > 65535:
        return None  # urlsplit's .port raises: let it say so
    return match.group("scheme").lower(), match.group("host").lower(), number
