"""Whether what is installed already satisfies a request: no index, no resolver.

``install("packaging")`` with packaging installed should answer as pip's
"Requirement already satisfied" does, at once: no index request, and none of
the resolver's imports (resolvelib, micropkg.resolution), which a fresh
Pyodide compiles from source. :func:`already_satisfied` answers it from
site-packages alone: every requirement of the request, and recursively every
dependency the installed METADATA declares for this runtime (markers
evaluated, extras followed), must be met by an installed version. It makes
the same judgement the resolver makes of installed distributions (an
installed version that fits stays, see ``Provider._index_candidates``), so
where it answers, a resolution would have planned nothing; where it cannot
tell, or anything is unmet, it answers None and the install resolves as usual
(which reports what is wrong).

It is on every install's critical path, so it first looks without
``packaging``: a plainly named requirement whose project has no ``.dist-info``
directory means "not satisfied" after one directory listing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..value import Value

if TYPE_CHECKING:
    from packaging.requirements import Requirement

    from ..model.metadata import CoreMetadata
    from ..model.target import Target
    from .environment import InstalledDistribution

__all__ = ["Satisfied", "already_satisfied"]

# A project name at the start of a requirement (PEP 508); what follows is checked by packaging.
_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_SEPARATORS = re.compile(r"[-_.]+")


class Satisfied(Value):
    """The request needs nothing: what satisfies it, and what it asked for elsewhere.
    Immutable by convention."""

    __slots__ = ("kept", "ignored")

    def __init__(self, kept: tuple[tuple[str, str], ...], ignored: tuple[Requirement, ...]) -> None:
        self.kept = kept  # (name, version) of each installed distribution it needs
        self.ignored = ignored  # the request's requirements whose markers are false here


def already_satisfied(
    requirements: str | Iterable[object],
    root: Path,
    target: Callable[[], Target],
    *,
    deps: bool = True,
) -> Satisfied | None:
    """What satisfies ``requirements`` in the site-packages ``root``, or None when something
    must be resolved (a requirement unmet, a URL, anything this cannot tell).

    ``target`` makes the runtime's :class:`~micropkg.model.target.Target` (only
    called when every name is installed). ``deps=False`` checks the requirements
    alone, as ``install(..., deps=False)`` resolves them. Raises
    :class:`~micropkg.InvalidRequirement` for a requirement that is not PEP 508 or
    whose marker cannot be evaluated, :class:`~micropkg.ResolutionError` for such a
    marker in an installed distribution's Requires-Dist.
    """
    given = [requirements] if isinstance(requirements, str) else list(requirements)
    texts = [t for t in given if isinstance(t, str)]
    if len(texts) != len(given) or not _may_be_installed(texts, root):
        return None  # the resolution reports what is not a requirement
    return _check(texts, root, target(), deps=deps)


def _may_be_installed(texts: list[str], root: Path) -> bool:
    """False when a requirement surely needs resolving, read without packaging: a URL or
    path, or a plain requirement (no marker) whose project has no ``.dist-info`` here."""
    try:
        entries = os.listdir(root)
    except OSError:
        return False  # no site-packages yet: nothing is installed
    present = {
        _canonical(entry[: -len(".dist-info")].rpartition("-")[0])
        for entry in entries if entry.endswith(".dist-info")
    }
    for text in texts:
        match = _NAME.match(text)
        if match is None or "/" in text or text.lower().endswith(".whl"):
            return False  # a URL, a path or a wheel's file name: a direct reference
        if ";" in text:
            continue  # a marker may make it not apply here: packaging decides
        if _canonical(match.group(1)) not in present:
            return False
    return True


def _canonical(name: str) -> str:
    return _SEPARATORS.sub("-", name).lower()


def _check(texts: list[str], root: Path, target: Target, *, deps: bool) -> Satisfied | None:
    from packaging.utils import canonicalize_name

    from ..model.requirements import parse_requirements
    from .environment import distributions

    requested = parse_requirements(texts)
    if any(r.url for r in requested):
        return None
    installed = {dist.name: dist for dist in distributions([root])}
    metadata: dict[str, CoreMetadata] = {}
    ignored = tuple(r for r in requested if not target.applies(r))
    todo: list[Requirement] = [r for r in requested if r not in ignored]
    seen: set[tuple[str, str]] = set()  # (project, extra) whose requirements are queued
    kept: dict[str, str] = {}
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        dist = installed.get(name)
        if req.url or dist is None or not req.specifier.contains(dist.version, prereleases=True):
            return None
        kept[name] = str(dist.version)
        if not deps:
            continue
        extras = [e for e in ("", *sorted(canonicalize_name(e) for e in req.extras)) if (name, e) not in seen]
        if not extras:
            continue
        seen.update((name, e) for e in extras)
        if name not in metadata:
            metadata[name] = _metadata(dist)
        meta = metadata[name]
        if not target.python_ok(meta.requires_python):
            return None  # the resolution explains it
        todo.extend(_requires(meta, dist, extras, target))
    return Satisfied(kept=tuple(sorted(kept.items())), ignored=ignored)


def _metadata(dist: InstalledDistribution) -> CoreMetadata:
    from ..model.metadata import parse_metadata

    path = Path(dist.dist_info_path) / "METADATA"
    return parse_metadata(path.read_bytes(), source=str(path))


def _requires(meta: CoreMetadata, dist: InstalledDistribution, extras: list[str], target: Target) -> list[Requirement]:
    """The Requires-Dist of ``dist`` that apply here for each of ``extras`` ("" for the base)."""
    from ..model.target import UnevaluableMarker

    wanted = []
    for req in meta.requires_dist:
        try:
            applies = any(target.marker_ok(req.marker, extra) for extra in extras)
        except UnevaluableMarker as exc:
            raise exc.in_dependency(dist.name, dist.version, req, installed=True) from exc
        if applies:
            wanted.append(req)
    return wanted
