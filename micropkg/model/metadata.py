"""Core metadata (the ``METADATA`` file, PEP 566/643), the part an installer needs.

Parsed from bytes, whether they came from a PEP 658 ``.metadata`` file or out
of the wheel itself: name, version, Requires-Dist, Requires-Python and
Provides-Extra.
"""

from __future__ import annotations

from packaging.requirements import InvalidRequirement as _PackagingInvalidRequirement
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import IndexFormatError
from ..value import Value
from .headers import parse_headers

__all__ = ["CoreMetadata", "parse_metadata"]


class CoreMetadata(Value):
    """The fields of a METADATA file an installer reads. Immutable by convention."""

    __slots__ = ("name", "display_name", "version", "requires_dist", "requires_python", "provides_extra")

    def __init__(
        self,
        name: NormalizedName,
        display_name: str,
        version: Version,
        requires_dist: tuple[Requirement, ...],
        requires_python: SpecifierSet | None,
        provides_extra: frozenset[str],
    ) -> None:
        self.name = name
        self.display_name = display_name
        self.version = version
        self.requires_dist = requires_dist
        self.requires_python = requires_python
        self.provides_extra = provides_extra


def parse_metadata(data: bytes, *, source: str) -> CoreMetadata:
    """Parse METADATA bytes; ``source`` (a URL or file name) goes into error messages."""
    # Core metadata is UTF-8. A stray invalid byte (old tools, a Description in latin-1) is
    # replaced, and fields that matter are validated below anyway.
    message = parse_headers(data.decode("utf-8", errors="replace"))
    # Values come as the email parser gives them (folded lines and trailing spaces kept).
    name = (message.get("Name") or "").strip()
    raw_version = (message.get("Version") or "").strip()
    if not name or not raw_version:
        raise IndexFormatError(
            f"Metadata from {source} lacks a Name or Version field; it is not core metadata",
            url=source,
        )
    try:
        version = Version(raw_version)
    except InvalidVersion as exc:
        raise IndexFormatError(
            f"Metadata from {source} has an invalid Version {raw_version!r}: {exc}", url=source
        ) from exc
    requires = []
    for line in message.get_all("Requires-Dist") or []:
        try:
            requires.append(Requirement(line.strip()))
        except _PackagingInvalidRequirement as exc:
            raise IndexFormatError(
                f"Metadata from {source} has an invalid Requires-Dist {line!r}: {exc}", url=source
            ) from exc
    requires_python = None
    raw_python = message.get("Requires-Python")
    if raw_python and raw_python.strip():
        try:
            requires_python = SpecifierSet(raw_python.strip())
        except InvalidSpecifier as exc:
            raise IndexFormatError(
                f"Metadata from {source} has an invalid Requires-Python {raw_python!r}", url=source
            ) from exc
    extras = frozenset(
        canonicalize_name(e.strip()) for e in message.get_all("Provides-Extra") or []
    )
    return CoreMetadata(
        name=canonicalize_name(name),
        display_name=name,
        version=version,
        requires_dist=tuple(requires),
        requires_python=requires_python,
        provides_extra=extras,
    )
