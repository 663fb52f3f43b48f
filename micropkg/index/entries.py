"""The ``index_urls`` a user passes: index URLs, each with the headers for its origin.

Accepted: one URL; a list whose entries are URLs or ``(url, headers)`` pairs
(a pair from JSON or JavaScript arrives as a list); or a mapping
``{url: headers}``. Header values (often secrets) never appear in an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .head_start import PYPI

__all__ = ["DEFAULT_INDEX_URLS", "IndexEntry", "index_entries", "index_list"]

DEFAULT_INDEX_URLS = (PYPI,)

IndexEntry = str | tuple[str, Mapping[str, str]]


def index_entries(
    urls: str | Mapping[str, Mapping[str, str]] | Sequence[IndexEntry] | None,
) -> tuple[tuple[str, dict[str, str]], ...]:
    """``index_urls`` as given by a user, as ``(url, headers)`` pairs, in order.

    Accepted: one URL; a list whose entries are URLs or ``(url, headers)``
    pairs; or a mapping ``{url: headers}``. ``headers`` (e.g.
    ``{"Authorization": "Bearer ..."}``) are sent to that index's origin only.
    """
    if urls is None:
        return tuple((url, {}) for url in DEFAULT_INDEX_URLS)
    if isinstance(urls, str):
        return ((urls, {}),)
    if isinstance(urls, Mapping):
        items = list(urls.items())
    else:
        # A pair may arrive as a list (from JSON or JavaScript): treat it as a tuple.
        items = [(entry, {}) if isinstance(entry, str) else tuple(entry) if isinstance(entry, list) else entry
                 for entry in urls]
    entries = []
    for item in items:
        if not (
            isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
            and isinstance(item[1], Mapping)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in item[1].items())
        ):
            raise TypeError(
                "index_urls entries must be URLs or (url, {header: value}) pairs, "
                f"got {type(item).__name__} {_redact(item)!r}"
            )
        entries.append((item[0], dict(item[1])))
    return tuple(entries)


def _redact(item: object) -> object:
    """``item`` for an error message, header values hidden (they are often secrets)."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Mapping):
        return (item[0], dict.fromkeys(item[1], "..."))
    return item


def index_list(urls: str | Mapping[str, Mapping[str, str]] | Sequence[IndexEntry] | None) -> tuple[str, ...]:
    """The URLs of ``index_urls`` (see :func:`index_entries`), without their headers."""
    return tuple(url for url, _ in index_entries(urls))
