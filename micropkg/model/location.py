"""Locations: URLs, ``emfs:`` paths in Pyodide's file system, and plain paths.

A location names where a file is read from. ``https:`` and ``http:`` URLs go
over the network; ``file:`` URLs are the host's files (Node only); ``emfs:``
and paths starting with ``/`` are Pyodide's in-memory file system. urllib
joins only the schemes it knows, so joining a relative name onto an ``emfs:``
base needs a rule of its own: this module holds the one rule every reader
uses (locks, requirements files, the Pyodide distribution, freeze).
"""

from __future__ import annotations

import posixpath
import re

__all__ = ["filename_of", "is_absolute", "join_location", "scheme_of"]

# urllib.parse.urlsplit's scheme rule (tests/host/test_location.py checks it against urlsplit):
# a letter, then letters, digits, "+", "-" or "."; before it, C0 controls and spaces are
# dropped, and tabs and line breaks anywhere.
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_C0_OR_SPACE = "".join(map(chr, range(0x21)))


def scheme_of(location: str) -> str:
    """``urllib.parse.urlsplit(location).scheme``, without importing ``urllib.parse``:
    a fresh Pyodide compiles it and ``ipaddress`` (~70 ms) on first import, and every
    requirement is asked this."""
    match = _SCHEME.match(location.lstrip(_C0_OR_SPACE).replace("\t", "").replace("\r", "").replace("\n", ""))
    return match.group(1).lower() if match is not None else ""


def join_location(base: str, relative: str) -> str:
    """``relative`` resolved against the location ``base``, as a browser resolves a link.

    An absolute ``relative`` (a URL with a scheme) is returned as it is.
    """
    if scheme_of(relative):
        return relative
    scheme = scheme_of(base)
    if scheme in ("http", "https", "file"):
        import urllib.parse

        return urllib.parse.urljoin(base, relative)
    # emfs: and plain paths: urljoin leaves schemes it does not know alone.
    prefix = base[: len(scheme) + 1] if scheme else ""
    path = base[len(prefix):]
    return prefix + posixpath.normpath(posixpath.join(posixpath.dirname(path), relative))


def is_absolute(location: str) -> bool:
    """Whether ``location`` needs no base: a URL with a scheme, or a path from ``/``."""
    return bool(scheme_of(location)) or location.startswith("/")


def filename_of(url: str) -> str:
    """The last path segment of ``url``, percent-decoded (a wheel's filename)."""
    import urllib.parse

    path = urllib.parse.urlsplit(url).path
    return urllib.parse.unquote(path.rsplit("/", 1)[-1])
