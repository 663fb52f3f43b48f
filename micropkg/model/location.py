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
# The forms locks and indexes write, which the fast paths below take without urllib.parse
# (tests/host/test_location.py checks them against urljoin and urlsplit): an http(s) URL of
# plain characters, a path of plain segments. Anything else goes to urllib.parse.
_PLAIN_URL = re.compile(r"(https?://[A-Za-z0-9.:\[\]@_~-]*)(/[A-Za-z0-9._~!$&'()*+,=:@/-]*)?")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._~!$&'()*+,=@-][A-Za-z0-9._~!$&'()*+,=:@/-]*")


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
        plain_base = _plain_url(base)
        if plain_base is not None and _PLAIN_PATH.fullmatch(relative) and not relative.startswith("//"):
            # A relative path onto an http(s) URL, merged as urljoin merges it, without importing
            # urllib.parse (~70 ms in a fresh Pyodide).
            return plain_base.group(1) + _merged(plain_base.group(2) or "", relative)
        import urllib.parse

        return urllib.parse.urljoin(base, relative)
    # emfs: and plain paths: urljoin leaves schemes it does not know alone.
    prefix = base[: len(scheme) + 1] if scheme else ""
    path = base[len(prefix):]
    return prefix + posixpath.normpath(posixpath.join(posixpath.dirname(path), relative))


def is_absolute(location: str) -> bool:
    """Whether ``location`` needs no base: a URL with a scheme, or a path from ``/``."""
    return bool(scheme_of(location)) or location.startswith("/")


def _plain_url(url: str) -> re.Match[str] | None:
    """``url`` without its query and fragment, as (origin, path) groups, if it has the plain form."""
    return _PLAIN_URL.fullmatch(url.split("#", 1)[0].split("?", 1)[0])


def _merged(base_path: str, relative: str) -> str:
    """urljoin's path merge (RFC 3986 5.2, and its own rule that empty inner segments go)."""
    base_parts = base_path.split("/")
    if base_parts[-1] != "":
        del base_parts[-1]  # the base's last segment is a file: not part of the directory
    segments = base_parts + relative.split("/")
    segments[1:-1] = [segment for segment in segments[1:-1] if segment]
    resolved: list[str] = []
    for segment in segments:
        if segment == "..":
            if resolved:
                resolved.pop()  # never above the root
        elif segment != ".":
            resolved.append(segment)
    if segments[-1] in (".", ".."):
        resolved.append("")  # "a/.." is a directory: it keeps its slash
    path = "/".join(resolved)
    return path if path.startswith("/") else "/" + path


def filename_of(url: str) -> str:
    """The last path segment of ``url``, percent-decoded (a wheel's filename)."""
    plain = _plain_url(url)
    if plain is not None:
        return (plain.group(2) or "").rsplit("/", 1)[-1]  # nothing to decode: no "%" in it
    if not scheme_of(url) and _PLAIN_PATH.fullmatch(url):
        # A relative name, as Pyodide's lockfile gives each file: its path is itself.
        return url.rsplit("/", 1)[-1]
    import urllib.parse

    path = urllib.parse.urlsplit(url).path
    return urllib.parse.unquote(path.rsplit("/", 1)[-1])
