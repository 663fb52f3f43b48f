"""A lock's conditions -- ``environments``, ``marker``, ``requires-python`` -- without packaging's parsers.

In a fresh Pyodide, ``packaging.markers`` and ``packaging.specifiers`` are
compiled on first import (tens of milliseconds each), and an install from a
lock (issue 17) has nothing else to ask of them. The conditions locks
actually carry are simple: micropkg writes ``environments`` as
``sys_platform == "emscripten" and ... and platform_release == "5.0.3"``
(:func:`~.lock.environment_marker`) and ``requires-python`` as ``==3.14.*``;
indexes give ``>=3.9`` and the like. For exactly those forms this module
answers what packaging would answer (``tests/host/test_lock_conditions.py``
checks it against packaging over a grid); anything else is handed to
packaging, imported then:

* :func:`lock_marker` gives a :class:`SimpleMarker` for a conjunction of
  ``name == "value"`` comparisons (written as packaging writes them), else a
  ``packaging.markers.Marker``. A :class:`SimpleMarker` whose values all equal
  the environment's is true; otherwise packaging decides (version-like
  values compare as versions there: ``"3.14"`` equals ``"3.14.0"``).
* :func:`lock_specifier` gives a :class:`SimpleSpecifierSet` for clauses of
  release-only versions (``>=3.9``, ``==3.14.*``, ``~=3.10``), else a
  ``packaging.specifiers.SpecifierSet``; a :class:`SimpleSpecifierSet`
  decides alone for a final-release Python (``3.14.2``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from packaging.markers import Marker
    from packaging.specifiers import SpecifierSet

__all__ = ["InvalidCondition", "SimpleMarker", "SimpleSpecifierSet", "lock_marker", "lock_specifier"]


class InvalidCondition(Exception):
    """A marker or specifier set packaging refuses; ``reason`` is packaging's word. The lock
    reader raises it again as a ``LockError`` naming the lock and the entry."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"{text!r}: {reason}")

# Marker names whose comparison is plain: ``extra`` is normalised by packaging, so not here.
_NAMES = frozenset({
    "implementation_name", "implementation_version", "os_name", "platform_machine",
    "platform_python_implementation", "platform_release", "platform_system", "python_full_version",
    "python_version", "sys_platform",
})
# Values that compare equal to themselves both as strings and as versions (no "*", "+", "-", spaces).
_COMPARISON = re.compile(r'([a-z_]+) == "([A-Za-z0-9._]+)"')
_CLAUSE = re.compile(r"\s*(==|!=|>=|<=|~=|>|<)\s*([0-9]+(?:\.[0-9]+)*)(\.\*)?\s*")
_FINAL = re.compile(r"[0-9]+(?:\.[0-9]+)*")


class SimpleMarker:
    """``name == "value" and ...``: true where every value is the environment's (see the module)."""

    __slots__ = ("_packaging", "_text", "comparisons")

    def __init__(self, text: str, comparisons: tuple[tuple[str, str], ...]) -> None:
        self._text = text
        self.comparisons = comparisons
        self._packaging: Marker | None = None

    def evaluate(self, environment: Mapping[str, Any] | None = None) -> bool:
        if environment is not None and all(environment.get(name) == value for name, value in self.comparisons):
            return True
        # A value differs as a string: as versions it may not (python_version "3.14" is "3.14.0").
        if self._packaging is None:
            from packaging.markers import Marker

            self._packaging = Marker(self._text)
        return self._packaging.evaluate(environment)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"<Marker('{self._text}')>"

    def __eq__(self, other: object) -> bool:
        return type(other).__name__ in ("SimpleMarker", "Marker") and str(other) == self._text

    def __hash__(self) -> int:
        return hash(self._text)


def lock_marker(text: str) -> SimpleMarker | Marker:
    """The marker ``text``: a :class:`SimpleMarker` when it has the simple form, else packaging's
    (:class:`InvalidCondition` for a malformed one)."""
    parts = text.split(" and ")
    matches = [_COMPARISON.fullmatch(part) for part in parts]
    if all(m is not None and m.group(1) in _NAMES for m in matches):
        return SimpleMarker(text, tuple((m.group(1), m.group(2)) for m in matches if m is not None))
    from packaging.markers import InvalidMarker, Marker

    try:
        return Marker(text)
    except InvalidMarker as exc:
        raise InvalidCondition(text, str(exc)) from exc


def _padded(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    size = max(len(a), len(b))
    return a + (0,) * (size - len(a)), b + (0,) * (size - len(b))


def _holds(operator: str, spec: tuple[int, ...], wildcard: bool, version: tuple[int, ...]) -> bool:
    """Whether the final release ``version`` meets one clause (PEP 440's rules, release-only versions)."""
    if wildcard:  # ==3.14.* : the release starts with 3.14 (zeros padding the shorter one)
        prefix = (version + (0,) * len(spec))[: len(spec)]
        return (prefix == spec) == (operator == "==")
    left, right = _padded(version, spec)
    if operator == "~=":  # >= spec, and the same release up to spec's last part
        return left >= right and (version + (0,) * len(spec))[: len(spec) - 1] == spec[:-1]
    return {
        "==": left == right, "!=": left != right, ">=": left >= right, "<=": left <= right,
        ">": left > right, "<": left < right,
    }[operator]


class SimpleSpecifierSet:
    """Comma-separated clauses of release-only versions (see the module)."""

    __slots__ = ("_packaging", "_text", "clauses")

    def __init__(self, text: str, clauses: tuple[tuple[str, tuple[int, ...], bool, str], ...]) -> None:
        self._text = text
        self.clauses = clauses  # (operator, release, wildcard, as written)
        self._packaging: SpecifierSet | None = None

    def contains(self, item: str, prereleases: bool | None = None) -> bool:
        version = str(item)
        if _FINAL.fullmatch(version) and prereleases:
            release = tuple(int(part) for part in version.split("."))
            return all(_holds(op, spec, wild, release) for op, spec, wild, _ in self.clauses)
        if self._packaging is None:
            from packaging.specifiers import SpecifierSet

            self._packaging = SpecifierSet(self._text)
        return self._packaging.contains(item, prereleases=prereleases)

    def __str__(self) -> str:
        # As packaging writes a SpecifierSet: each clause without spaces, sorted, comma-joined.
        return ",".join(sorted(written for *_, written in self.clauses))

    def __repr__(self) -> str:
        return f"<SpecifierSet({str(self)!r})>"

    def __eq__(self, other: object) -> bool:
        return type(other).__name__ in ("SimpleSpecifierSet", "SpecifierSet") and str(other) == str(self)

    def __hash__(self) -> int:
        return hash(str(self))


def _stripped(release: tuple[int, ...]) -> tuple[int, ...]:
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    return release


def lock_specifier(text: str) -> SimpleSpecifierSet | SpecifierSet:
    """The specifier set ``text``: a :class:`SimpleSpecifierSet` when every clause is simple, else
    packaging's (:class:`InvalidCondition` for a malformed one)."""
    clauses: list[tuple[str, tuple[int, ...], bool, str]] = []
    for part in text.split(","):
        match = _CLAUSE.fullmatch(part)
        if match is None or (match.group(3) and match.group(1) not in ("==", "!=")) \
                or (match.group(1) == "~=" and "." not in match.group(2)):
            clauses = []  # not simple: packaging's
            break
        operator, release, wildcard = match.group(1), match.group(2), bool(match.group(3))
        clauses.append((operator, tuple(int(p) for p in release.split(".")), wildcard,
                        operator + release + (".*" if wildcard else "")))
    # Clauses packaging counts as one (>=3.14 and >=3.14.0) are written as one there: left to it.
    keys = {(op, _stripped(release), wild) for op, release, wild, _ in clauses}
    if clauses and len(keys) == len(clauses):
        return SimpleSpecifierSet(text, tuple(clauses))
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(text)
    except InvalidSpecifier as exc:
        raise InvalidCondition(text, str(exc)) from exc
