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
import urllib.parse

__all__ = ["filename_of", "is_absolute", "join_location"]


def join_location(base: str, relative: str) -> str:
    """``relative`` resolved against the location ``base``, as a browser resolves a link.

    An absolute ``relative`` (a URL with a scheme) is returned as it is.
    """
    if urllib.parse.urlsplit(relative).scheme:
        return relative
    scheme = urllib.parse.urlsplit(base).scheme.lower()
    if scheme in ("http", "https", "file"):
        return urllib.parse.urljoin(base, relative)
    # emfs: and plain paths: urljoin leaves schemes it does not know alone.
    prefix = base[: len(scheme) + 1] if scheme else ""
    path = base[len(prefix):]
    return prefix + posixpath.normpath(posixpath.join(posixpath.dirname(path), relative))


def is_absolute(location: str) -> bool:
    """Whether ``location`` needs no base: a URL with a scheme, or a path from ``/``."""
    return bool(urllib.parse.urlsplit(location).scheme) or location.startswith("/")


def filename_of(url: str) -> str:
    """The last path segment of ``url``, percent-decoded (a wheel's filename)."""
    path = urllib.parse.urlsplit(url).path
    return urllib.parse.unquote(path.rsplit("/", 1)[-1])
