"""The runtime being installed for: its wheel tags, marker values and Python.

Inside Pyodide the target is the running interpreter
(:func:`micropkg.runtime.detect.current_target`);
on the host, locking for a browser, it is built from a Pyodide version or an
explicit platform (:func:`Target.for_platform`). Nothing here reads global
state.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..errors import InvalidRequirement, ResolutionError
from ..value import Value
from .tags import PlatformInfo, describe, wheel_tags

if TYPE_CHECKING:  # packaging's markers and specifiers load when a condition needs them
    from packaging.markers import Marker
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.tags import Tag

    from .lock_conditions import SimpleMarker, SimpleSpecifierSet

__all__ = ["Target", "UnevaluableMarker"]


class UnevaluableMarker(Exception):
    """A marker that parses but cannot be evaluated here, e.g. ``python_version ~= 'abc'``.

    Raised by :meth:`Target.marker_ok`, which does not know where the marker was
    written; whoever does turns it into that place's error: :meth:`in_request`
    for the user's own requirement, :meth:`in_dependency` for a Requires-Dist.
    Like the resolver's ``Missing``, it is not meant to reach users as such.
    """

    def __init__(self, marker: Marker | SimpleMarker, cause: str) -> None:
        self.marker = str(marker)
        self.cause = cause.rstrip(".")
        super().__init__(f"the marker {self.marker!r} cannot be evaluated on this runtime ({cause})")

    def in_request(self, requirement: str) -> InvalidRequirement:
        return InvalidRequirement(
            requirement, f"{self}. Correct the marker, or drop it if the requirement is meant for this runtime."
        )

    def in_dependency(self, project: str, version: object, requirement: object, *, installed: bool) -> ResolutionError:
        where = f"the installed {project} {version}" if installed else f"{project} {version}"
        advice = (
            f"Reinstall or uninstall {project}" if installed
            else f"Exclude this release (e.g. '{project}!={version}') or pin another version of {project}"
        )
        return ResolutionError(
            f"{where} declares 'Requires-Dist: {requirement}', and {self}: micropkg cannot tell whether"
            f" {project} needs it here. {advice}, and ask {project}'s maintainers to fix the marker."
        )


class Target(Value):
    """A runtime's wheel tags (best first), marker values and Python. Immutable by convention."""

    __slots__ = ("info", "python_full_version", "tags", "markers", "_parts", "_rank")
    _fields = ("info", "python_full_version", "tags", "markers")  # _parts and _rank are derived from tags

    def __init__(
        self,
        info: PlatformInfo,
        python_full_version: str,
        tags: tuple[Tag, ...],
        markers: Mapping[str, str],
        _rank: Mapping[Tag, int] | None = None,
        _parts: tuple[frozenset[str], ...] = (),
    ) -> None:
        self.info = info
        self.python_full_version = python_full_version
        self.tags = tags
        self.markers = markers
        self._rank: Mapping[Tag, int] = {} if _rank is None else _rank
        # Each tag part seen in ``tags``: a filename whose parts miss one set cannot fit.
        self._parts = _parts

    @classmethod
    def build(cls, info: PlatformInfo, python_full_version: str, markers: Mapping[str, str]) -> Target:
        tags = tuple(wheel_tags(info))
        return cls(
            info=info,
            python_full_version=python_full_version,
            tags=tags,
            markers=dict(markers),
            _rank={tag: i for i, tag in enumerate(tags)},
            _parts=tuple(frozenset(getattr(t, part) for t in tags) for part in ("interpreter", "abi", "platform")),
        )

    @classmethod
    def for_platform(cls, info: PlatformInfo, python_full_version: str | None = None) -> Target:
        """A Pyodide runtime described by ``info``, seen from any host."""
        major, minor = info.python_version
        full = python_full_version or f"{major}.{minor}.0"
        em = ".".join(map(str, info.emscripten_version)) if info.emscripten_version else "0.0.0"
        markers = {
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": "posix",
            "platform_machine": "wasm32",
            "platform_python_implementation": "CPython",
            "platform_release": em,
            "platform_system": "Emscripten",
            "platform_version": "#1",
            "python_full_version": full,
            "python_version": f"{major}.{minor}",
            "sys_platform": "emscripten",
        }
        return cls.build(info, full, markers)

    @property
    def platforms(self) -> frozenset[str]:
        """The platform tags of :attr:`tags` (``any``, ``pyemscripten_2026_0_wasm32``...)."""
        return self._parts[2] if self._parts else frozenset(t.platform for t in self.tags)

    def may_fit(self, filename: str) -> bool:
        """False when a wheel's file name alone shows none of its tags fits (no parsing).

        True is only "maybe": the full check is :meth:`tag_rank` on the parsed tags.
        Names too odd for this quick look are left to the full parse to explain.
        """
        if not self._parts:
            return True
        # The platform part first, alone: it rules out most files of a big page.
        platform = filename[filename.rfind("-") + 1:-4].lower()
        if "." not in platform and platform not in self._parts[2] and filename.count("-") >= 4:
            return False
        parts = filename[:-4].lower().split("-")
        if len(parts) < 5:
            return True
        return all(
            not known.isdisjoint(value.split(".")) for known, value in zip(self._parts, parts[-3:])
        )

    def tag_rank(self, tags: frozenset[Tag]) -> int | None:
        """Rank of the best of ``tags`` for this target (0 is best), None if none fits."""
        ranks = [self._rank[t] for t in tags if t in self._rank]
        return min(ranks) if ranks else None

    def python_ok(self, requires_python: SpecifierSet | SimpleSpecifierSet | str | None) -> bool:
        if requires_python is None:
            return True
        if isinstance(requires_python, str):
            return _python_fits(requires_python, self.python_full_version)
        # A SpecifierSet, or a lock's SimpleSpecifierSet (which needs no packaging for this)
        return requires_python.contains(self.python_full_version, prereleases=True)

    def marker_ok(self, marker: Marker | SimpleMarker | None, extra: str = "") -> bool:
        """Whether ``marker`` holds on this runtime, ``extra`` requested; raises
        :class:`UnevaluableMarker` for a marker packaging parses but cannot evaluate."""
        if marker is None:
            return True
        try:
            return marker.evaluate({**self.markers, "extra": extra})
        except Exception as exc:
            # Imported only here: a lock's simple markers are evaluated without packaging.
            from packaging.markers import UndefinedComparison, UndefinedEnvironmentName

            if not isinstance(exc, (UndefinedComparison, UndefinedEnvironmentName)):
                raise
            raise UnevaluableMarker(marker, str(exc)) from exc

    def applies(self, requirement: Requirement) -> bool:
        """Whether the user's own ``requirement`` is meant for this runtime: its marker, if
        any, holds (no extra requested). Raises :class:`~micropkg.InvalidRequirement` for a
        marker that cannot be evaluated here."""
        try:
            return self.marker_ok(requirement.marker)
        except UnevaluableMarker as exc:
            raise exc.in_request(str(requirement)) from exc

    def describe(self) -> str:
        return describe(self.tags)


@functools.lru_cache(maxsize=1024)
def _python_fits(requires_python: str, python_full_version: str) -> bool:
    # A page repeats a handful of Requires-Python strings over hundreds of files;
    # parsing each again was a tenth of a 23-package resolution in Pyodide.
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    return SpecifierSet(requires_python).contains(Version(python_full_version), prereleases=True)
