"""Turning resolvelib's ResolutionImpossible into an explanation a person can act on.

The provider records every dependency edge it hands to resolvelib
(:class:`EdgeLog`); when resolution fails, the explanation names the
requirements that collide, the chain from the user's request to each, the
other versions of the requiring projects that were tried and asked the same,
and what was available.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ..errors import ConflictError, NoCompatibleFile, ResolutionError
from ..model.candidates import Candidate, describe_files, judge_files
from ..model.target import Target
from ..value import MutableValue
from .catalog import Catalog

__all__ = ["EdgeLog", "explain"]

PYTHON = "<python>"


class EdgeLog(MutableValue):
    """Who required what, as the resolver explored (newest last)."""

    __slots__ = ("by_child", "first_reason", "installed")

    def __init__(
        self,
        by_child: dict[str, list] | None = None,
        first_reason: dict[str, object] | None = None,
        installed: dict[str, str] | None = None,
    ) -> None:
        # dependency name -> [(parent candidate, requirement)]
        self.by_child: dict[str, list] = defaultdict(list) if by_child is None else by_child
        # project name -> first requirement that brought it in (for chains)
        self.first_reason: dict[str, object] = {} if first_reason is None else first_reason
        self.installed: dict[str, str] = {} if installed is None else installed

    def add(self, parent: Candidate | None, req) -> None:
        self.by_child[req.name].append((parent, req))
        self.first_reason.setdefault(req.name, req)

    def chain(self, candidate: Candidate | None, limit: int = 8) -> str:
        """``b 2.1 ← a 2.0 ← your request``: how ``candidate`` came to be needed."""
        links: list[str] = []
        current = candidate
        while current is not None and len(links) < limit:
            links.append(f"{current.name} {current.version}")
            reason = self.first_reason.get(current.name)
            current = getattr(reason, "parent", None)
            if current is not None and f"{current.name} {current.version}" in links:
                break  # a dependency cycle
        links.append("your request")
        return " ← ".join(links)


def _versions_text(versions: Sequence) -> str:
    shown = ", ".join(str(v) for v in versions[:10])
    return shown + (f" and {len(versions) - 10} more" if len(versions) > 10 else "") if versions else "none"


def explain(causes, catalog: Catalog, target: Target, log: EdgeLog) -> ResolutionError:
    """Build the error for ``causes`` (resolvelib RequirementInformation objects)."""
    names = sorted({info.requirement.name for info in causes})
    projects = [n for n in names if n != PYTHON]
    # One line per (requiring project, requirement): "b 2.1 and 2.0 (b ← a 2.0 ← your request) require c<2".
    groups: dict[tuple, list] = defaultdict(list)
    for info in causes:
        req, parent = info.requirement, info.parent
        key = (parent.name if parent is not None else None, req.name, str(req.specifier), str(req))
        if parent is not None and parent not in groups[key]:
            groups[key].append(parent)
        groups.setdefault(key, [])
    lines = []
    for (parent_name, req_name, spec, text), parents in groups.items():
        if parent_name is None:
            lines.append(f"you asked for {text}")
            continue
        # Other versions of the same parent that were tried and asked the same.
        tried = {p.version for p in parents} | {
            p.version for p, r in log.by_child[req_name]
            if p is not None and p.name == parent_name and str(r.specifier) == spec
        }
        versions = sorted(tried, reverse=True)
        plural = len(versions) > 1
        via = log.chain(parents[0])
        who = f"{parent_name} {_versions_text(versions)} ({via})"
        if req_name == PYTHON:
            lines.append(
                f"{who} {'require' if plural else 'requires'} Python {spec}, "
                f"but this runtime has Python {target.python_full_version}"
            )
        else:
            lines.append(f"{who} {'require' if plural else 'requires'} {text}")
    for name in projects:
        if name in log.installed:
            lines.append(
                f"{name} {log.installed[name]} is already installed in this runtime and does not satisfy "
                f"this; pass reinstall=True to let micropkg replace it"
            )
    body = "\n  - ".join([""] + lines)

    if len(projects) == 1 and PYTHON not in names and catalog.has_page(projects[0]) and projects[0] not in log.installed:
        name = projects[0]
        page, _ = catalog.page(name)
        verdicts = judge_files(page, target, sdists=catalog.builds is not None)
        usable = sorted({v.version for v in verdicts if v.refused is None and v.version}, reverse=True)
        if not usable:
            versions = [v.version for v in verdicts if v.version is not None]
            newest = max(versions) if versions else None
            newest_files = [v for v in verdicts if v.version == newest]
            offered = describe_files(newest_files) if newest else "no files"
            # Tag mismatches are summed up by `offered`; other reasons are worth spelling out.
            reasons = sorted({v.refused for v in newest_files if v.refused and not v.refused.startswith(("tags ", "a source"))})
            why = f" ({'; '.join(reasons)})" if reasons else ""
            # With only_binary (no builder), the refusal says that sdists were not built, and why.
            sdists = "" if catalog.builds is not None else ", and only_binary is set, so no sdist is built (without it, a pure-Python sdist would be)"
            return NoCompatibleFile(
                f"No file of {name!r} can be installed on this runtime: {name} {newest} has {offered}{why}; "
                f"this runtime is {target.describe()}{sdists}. "
                f"Use a version or a project that publishes a wheel for {target.describe()} "
                "(or a pure-Python py3-none-any wheel).",
                project=name,
            )
        if all(info.parent is None for info in causes):
            return NoCompatibleFile(
                f"No version of {name!r} satisfies what you asked for:{body}\n"
                f"Versions with a file for this runtime: {_versions_text(usable)}.",
                project=name,
            )
        return ConflictError(
            f"Cannot find a version of {name!r} that satisfies every requirement on it:{body}\n"
            f"Versions of {name} with a file for this runtime: {_versions_text(usable)}.\n"
            "Loosen or remove one of these requirements, or pin the projects that ask for them "
            "to versions that agree.",
            project=name,
        )
    project = projects[0] if projects else PYTHON
    return ConflictError(
        f"These requirements cannot all be met:{body}\n"
        "Loosen or remove one of them, or pin the projects that ask for them to versions that agree.",
        project=project,
    )
