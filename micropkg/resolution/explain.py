"""``micropkg.explain(name)``: every file the sources offer for one project, and why
each one was taken or refused.

The verdicts are the resolver's own: :func:`~._candidates.judge_files` says
which files cannot run here (tags, ABI, Python, requires-python, sdists),
and :class:`~._candidates.Releases` picks among the rest exactly as a
resolution would (newest version the request allows, yanked files only for
an ``==`` pin, pre-releases only when asked or when nothing else fits, the
best tag of a version, the index's file on a tie with the Pyodide distribution). Printing
an :class:`Explanation` gives a table::

    msgpack>=1: 4 files for cp314 pyemscripten_2026_0, from https://pypi.org/simple
      taken    msgpack-1.2.4-cp314-cp314-pyemscripten_2026_0_wasm32.whl  newest version that fits
      refused  msgpack-1.2.4-cp313-cp313-pyemscripten_2025_0_wasm32.whl  tags cp313 pyemscripten_2025_0 do not fit ...
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.utils import canonicalize_name

from ..model.candidates import Candidate, Releases, Verdict, judge_files
from ..model.requirements import parse_requirement
from ..model.target import Target
from .catalog import Catalog
from .provider import Req

__all__ = ["Explanation", "FileReport", "explain_project"]


@dataclass(frozen=True)
class FileReport:
    """One file a source offers, and the verdict on it."""

    filename: str
    version: str | None
    source: str  # the index or distribution that listed it
    taken: bool
    reason: str


@dataclass(frozen=True)
class Explanation:
    """What :func:`micropkg.explain` returns; ``str()`` is the table."""

    requirement: str
    project: str
    target: str  # the runtime's best tag, e.g. "cp314 pyemscripten_2026_0"
    sources: tuple[str, ...]  # the sources that listed the project, in order
    files: tuple[FileReport, ...]
    # What resolving the requirement with its dependencies says, where that differs from the
    # newest file that fits: a walk-back ("installed x 1.2, not 2.0: ...") or why it fails.
    resolution: tuple[str, ...] = ()

    @property
    def taken(self) -> FileReport | None:
        return next((f for f in self.files if f.taken), None)

    def __str__(self) -> str:
        count = f"{len(self.files)} file{'s' if len(self.files) != 1 else ''}"
        lines = [f"{self.requirement}: {count} for {self.target}, from {', '.join(self.sources)}"]
        several = len(self.sources) > 1
        width = max((len(f.filename) for f in self.files), default=0)
        for f in self.files:
            where = f" [{f.source}]" if several else ""
            lines.append(f"  {'taken' if f.taken else 'refused':<8} {f.filename:<{width}}  {f.reason}{where}")
        if self.taken is None:
            lines.append(f"  nothing fits: {self.requirement} cannot be installed on {self.target}")
        lines.extend(f"  with its dependencies: {note}" for note in self.resolution)
        return "\n".join(lines)


async def explain_project(requirement: str, catalog: Catalog, target: Target, *, pre: bool = False) -> Explanation:
    """Fetch the project's page(s) and judge every file; raises ProjectNotFound if no source has it."""
    parsed = parse_requirement(requirement)
    name = canonicalize_name(parsed.name)
    await catalog.fetch_page(name)
    page, first = catalog.page(name)
    verdicts = catalog.ranked(judge_files(page, target, sdists=catalog.builds is not None))
    req = Req.from_requirement(parsed)
    releases = Releases(name, verdicts, sources=catalog.sources)
    chosen = releases.select([req.specifier], pinned=req.pinned, pre=pre, source=first.source)
    best = chosen[0] if chosen else None
    allowed = {c.version for c in chosen}
    source_of = lambda file: str(catalog.sources.get(file.url, first.source))  # noqa: E731
    # The taken file first, then the other usable ones, then the refused; each group as listed.
    ordered = sorted(verdicts, key=lambda v: (best is None or v.file is not best.file, v.refused is not None))
    reports = [
        FileReport(
            filename=v.file.filename,
            version=str(v.version) if v.version is not None else None,
            source=source_of(v.file),
            taken=best is not None and v.file is best.file,
            reason=_reason(v, best, allowed, req, pre, catalog),
        )
        for v in ordered
    ]
    sources = tuple(dict.fromkeys(source_of(f) for f in page.files)) or (first.url,)
    return Explanation(str(parsed), name, target.describe(), sources, tuple(reports))


def _reason(
    verdict: Verdict, best: Candidate | None, allowed: set, req: Req, pre: bool, catalog: Catalog,
) -> str:
    if verdict.refused is not None:
        return verdict.refused
    file, version = verdict.file, verdict.usable_version
    if best is not None and file is best.file:
        origin = " (the Pyodide distribution's build)" if catalog.from_distribution(best) else ""
        if not file.is_wheel:
            origin = " (no release has a wheel that fits: its sdist is built here)"
        return f"newest version that fits{origin}"
    if not req.specifier.contains(version, prereleases=True):
        return f"version {version} is excluded by {req.specifier}"
    if file.yanked is not None and not req.pinned:
        why = f": {file.yanked}" if file.yanked else ""
        return f"yanked{why} (only an == pin selects a yanked file)"
    if version not in allowed and version.is_prerelease and not pre:
        return "a pre-release (pass pre=True, or pin it)"
    if best is not None and version == best.version:
        distribution = catalog.distribution
        if distribution is not None and catalog.sources.get(file.url) == distribution.source:
            return f"the index's file of {version} is preferred on a tie with the Pyodide distribution's build"
        return f"another file of {version} fits this runtime better ({best.file.filename if best.file else best})"
    if best is not None and version < best.version:
        return f"older than {best.version}"
    if best is not None and not file.is_wheel and best.file is not None and best.file.is_wheel:
        return f"an sdist; {best.version} has a wheel, which is preferred (pin {version} to build this)"
    return "not selected"
