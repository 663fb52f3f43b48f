"""A wheel's METADATA read with HTTP range requests, without downloading the wheel.

When an index serves no PEP 658 ``.metadata`` file, the metadata is inside the
wheel, and a resolver that backtracks may want it for hundreds of versions of
a 4-20 MB wheel. A zip file keeps its table of contents at its end, so a few
small reads suffice (as in pip's "lazy wheel" and uv):

1. the tail of the file (:data:`TAIL_SIZE`, or the whole file if smaller),
   holding the End Of Central Directory record (and the ZIP64 locator and
   record, if any);
2. the central directory, when the tail does not hold it all. This request
   also reaches back before the directory by as many bytes as the directory
   has (at most :data:`DIRECTORY_LEAD`): the common wheel builders write the
   ``.dist-info`` files last, RECORD last of all, and RECORD lists the same
   files as the directory, so METADATA nearly always arrives with it;
3. METADATA's local header and compressed data, when not held already
   (bounded by the next member's header, or the directory).

So a wheel with few files costs 1 request, a big one usually 2, at most 3
(4 for a ZIP64 record outside the tail, 5 with a locator outside it too).
From PyPI on 2026-12-04: botocore 1.44.8 (16.9 MB, 2,061 members) took 2
requests and 0.42 MB, torch 2.15.0 (538 MB) 2 requests and 2.3 MB; without
reaching back, 3 requests and 0.21 MB and 1.25 MB.

**Browsers.** Only a single range ``bytes=START-END`` is CORS-safelisted; a
suffix range (``bytes=-N``) needs a preflight that PyPI's file host does not
answer. So every range is absolute, computed from the file's size (PEP 691's
``size``), and without a size nothing is fetched (``how == "no-size"``).
``Content-Range`` is not a CORS-safelisted response header either, so a
browser may hide it: a 206 is then checked by its length alone.

**How the caller uses it**::

    read = await fetch_wheel_metadata(transport, file.url, file.filename,
                                      size=file.size, headers=..., hashes=file.hashes)
    if read.how == "no-size":         # no size to compute ranges from: download the whole wheel
        ...
    else:
        data = read.metadata          # METADATA's bytes, for parse_metadata(data, source=file.url)
        if read.wheel is not None:    # the whole file came (a 200, or a wheel no bigger than the
            ...                       # tail), checked against hashes and size: keep it, e.g. in the
                                      # cache, so the install does not download it again
    count(read.requests, read.bytes_received)

Metadata read through ranges cannot be hash-checked (only the whole file has
a hash); the installer compares the installed wheel's own METADATA with what
the resolver used (``micropkg.installation.installer.check_metadata_agrees``), as for PEP 658.

**Errors.** Nothing is retried or downloaded whole here: each error means the
server or the file is not what the index described, and a whole download
would fail its size or hash check (a caller may still catch
:class:`FetchError` and try one).

* :class:`HTTPStatusError` for a status other than 200 or 206, 416 included
  (the file is shorter than the index's size: it changed, or the size is wrong);
* :class:`FetchError` for a 206 that is not the range asked (its length, or a
  ``Content-Range`` naming other bytes or another total size), or a 200 whose
  length is not the size; :class:`IntegrityError` for a whole file whose hash differs;
* :class:`IndexFormatError` for a zip that is damaged or hostile: records
  pointing outside the file or into each other, a directory larger than
  :data:`MAX_DIRECTORY_SIZE`, no or several top-level ``.dist-info``
  directories (the rule of ``Wheel.open``), a METADATA declaring more than
  :data:`MAX_METADATA_SIZE` bytes, encrypted, compressed other than stored or
  deflate, or inflating to other bytes than declared (inflating stops at the
  declared size plus one byte, so a deflate bomb costs nothing).

The zip reading itself is :mod:`micropkg.model.zip_directory`, whose
:func:`~micropkg.model.zip_directory.metadata_from_wheel` reads METADATA the same way out of a whole
wheel's bytes, so both paths accept and refuse the same files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ..errors import FetchError, HTTPStatusError
from ..model.hashes import check_hashes
from ..model.zip_directory import (
    DIRECTORY_LEAD,
    EOCD_SIZE,
    MAX_METADATA_SIZE,
    TAIL_SIZE,
    ZIP64_LOCATOR_SIZE,
    read_metadata,
)
from ..net.transport import Request, Transport, redact_url

__all__ = ["MetadataRead", "fetch_wheel_metadata"]

Range = tuple[int, int]  # [start, end) of the file


@dataclass(frozen=True)
class MetadataRead:
    """What :func:`fetch_wheel_metadata` got, and what it cost.

    ``how`` is ``"ranges"`` (METADATA read with range requests; ``wheel`` is
    None), ``"whole-file"`` (the whole wheel arrived, because the server
    ignored the range or the wheel is no bigger than the tail; ``wheel`` holds
    it, checked against the hashes and size given) or ``"no-size"`` (nothing
    fetched: without the file's size no CORS-safe range can be asked;
    ``metadata`` and ``member`` are None and the caller downloads the wheel).
    """

    how: Literal["ranges", "whole-file", "no-size"]
    metadata: bytes | None
    wheel: bytes | None
    member: str | None  # e.g. "botocore-1.44.8.dist-info/METADATA"
    requests: int
    bytes_received: int  # response bodies, in all


async def fetch_wheel_metadata(
    transport: Transport,
    url: str,
    filename: str,
    *,
    size: int | None,
    headers: Mapping[str, str] | None = None,
    hashes: Mapping[str, str] | None = None,
    tail_size: int = TAIL_SIZE,
    directory_lead: int = DIRECTORY_LEAD,
    max_metadata_size: int = MAX_METADATA_SIZE,
) -> MetadataRead:
    """METADATA of the wheel ``filename`` at ``url``, ``size`` bytes long, by range requests.

    ``headers`` go with every request (a ``Range`` header is added to them);
    ``hashes`` check the whole file, should it arrive. See the module's docstring.
    """
    if size is None:
        return MetadataRead("no-size", None, None, None, requests=0, bytes_received=0)
    if tail_size < EOCD_SIZE + ZIP64_LOCATOR_SIZE:
        # Smaller, the ZIP64 locator (just before the end record) would cost a request of its own.
        raise ValueError(f"tail_size must be at least {EOCD_SIZE + ZIP64_LOCATOR_SIZE}, got {tail_size!r}")
    shown = redact_url(url)
    steps = read_metadata(filename, size, shown, tail_size, directory_lead, max_metadata_size)
    whole: bytes | None = None  # the whole file, once it arrived
    requests = received = 0
    try:
        start, end = next(steps)
        while True:
            if whole is None:
                body, is_whole = await _fetch_range(transport, url, shown, filename, (start, end), size, headers or {})
                requests += 1
                received += len(body)
                if is_whole or end - start == size:
                    whole = body
                    check_hashes(whole, hashes or {}, shown, size=size)
            start, end = steps.send(whole[start:end] if whole is not None else body)
    except StopIteration as done:
        member, metadata = done.value
    how: Literal["ranges", "whole-file"] = "ranges" if whole is None else "whole-file"
    return MetadataRead(how, metadata, whole, member, requests=requests, bytes_received=received)


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.ASCII)


async def _fetch_range(
    transport: Transport,
    url: str,
    shown: str,
    filename: str,
    wanted: Range,
    size: int,
    headers: Mapping[str, str],
) -> tuple[bytes, bool]:
    """The bytes of ``wanted`` and False; or the whole file and True (the server ignored the range)."""
    start, end = wanted
    asked = f"bytes={start}-{end - 1}"
    response = await transport.fetch(Request(url, {**headers, "Range": asked}))
    body = response.body
    if response.status == 200:
        if len(body) != size:
            raise FetchError(
                f"Asked {shown} for {asked} of {filename}; it answered 200 with the whole file, "
                f"{len(body)} bytes, but the index says {size}: the file changed or the transfer "
                "was cut short. Try again.",
                url=shown,
            )
        return body, True
    if response.status == 416:
        raise HTTPStatusError(
            f"Asked {shown} for {asked} of {filename}, which the index says has {size} bytes; it "
            f"answered 416, range not satisfiable (Content-Range {response.headers.get('content-range')!r}): "
            "the file is shorter than the index says. Ask the index's owner to correct its listing.",
            url=shown,
            status=416,
        )
    if response.status != 206:
        response.raise_for_status(f"Metadata of {filename} ({asked})")
        raise FetchError(
            f"Asked {shown} for {asked} of {filename}; it answered {response.status}, expected 206 "
            "(the range) or 200 (the whole file).",
            url=shown,
        )
    # Browsers hide Content-Range from cross-origin pages unless the server exposes it.
    got = response.headers.get("content-range")
    match = _CONTENT_RANGE.fullmatch(got.strip()) if got is not None else None
    if (
        len(body) != end - start
        or (got is not None and match is None)
        or (match is not None and (
            (int(match[1]), int(match[2])) != (start, end - 1) or match[3] not in (str(size), "*")
        ))
    ):
        raise FetchError(
            f"Asked {shown} for {asked} of {filename} (the index says {size} bytes); it answered 206 "
            f"with {len(body)} bytes and Content-Range {got!r}. The server does not serve ranges "
            "correctly, or the file changed since the index listed it.",
            url=shown,
        )
    return body, False


