"""What the user asked for: PEP 508 strings and wheel URLs, parsed.

``install("luau-wasm")``, ``install("msgpack>=1.2; python_version>='3.13'")``,
``install("https://host/x-1.0-py3-none-any.whl")`` and
``install("x @ https://host/x-1.0-py3-none-any.whl")`` all become a
:class:`packaging.requirements.Requirement`; a bare wheel URL is given its
project name from the wheel's filename (PEP 427).
"""

from __future__ import annotations

from collections.abc import Iterable

from packaging.requirements import InvalidRequirement as _PackagingInvalidRequirement
from packaging.requirements import Requirement
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from ..errors import InvalidRequirement
from .location import filename_of, scheme_of

__all__ = ["parse_requirement", "parse_requirements"]

# emfs: is a path in Pyodide's in-memory file system; file: is the host's (Node only).
_URL_SCHEMES = ("http", "https", "emfs", "file")


def _looks_like_url(text: str) -> bool:
    return scheme_of(text) in _URL_SCHEMES or text.startswith("/")


def parse_requirement(text: str) -> Requirement:
    """Parse one requirement; raise :class:`InvalidRequirement` showing where it fails."""
    if not isinstance(text, str):
        raise InvalidRequirement(repr(text), f"expected a string, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise InvalidRequirement(text, "it is empty")
    if _looks_like_url(stripped) and " " not in stripped:
        filename = filename_of(stripped)
        if not filename.endswith(".whl"):
            raise InvalidRequirement(
                text,
                f"a URL must point at a wheel (.whl); {filename!r} is not one "
                "(micropkg builds the pure-Python sdists an index lists, not one named by URL)",
            )
        try:
            name, _, _, _ = parse_wheel_filename(filename)
        except InvalidWheelFilename as exc:
            raise InvalidRequirement(text, f"{filename!r} is not a valid wheel filename: {exc}") from exc
        url = "emfs:" + stripped if stripped.startswith("/") else stripped
        return Requirement(f"{name} @ {url}")
    try:
        return Requirement(stripped)
    except _PackagingInvalidRequirement as exc:
        raise InvalidRequirement(text, str(exc)) from exc


def parse_requirements(requirements: str | Iterable[str]) -> list[Requirement]:
    if isinstance(requirements, str):
        requirements = [requirements]
    return [parse_requirement(r) for r in requirements]
