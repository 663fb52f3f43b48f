"""The sweep's comparison of two runs, its summary and its Markdown table.

A run is the row :func:`benchmarks.sweep.run_install` makes: ``outcome``,
``install_ms``, ``installed`` (``name==version`` the install added),
``present`` (every distribution afterwards) and the error's type and first line.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

__all__ = ["OUTCOMES", "compare", "render", "summarize", "update_readme"]

OUTCOMES = ("installed", "refused", "timeout", "crash")
README_BEGIN = "<!-- sweep:begin -->"
README_END = "<!-- sweep:end -->"


def _versions(pins: list[str]) -> dict[str, str]:
    return dict(pin.split("==", 1) for pin in pins)


def compare(micropkg: dict, micropip: dict) -> dict:
    """Whether both installs left the same versions of what either one added.

    Each runtime starts with its installer's own distributions (micropkg,
    packaging and resolvelib; micropip), so a project both add is compared by
    what is *present* afterwards: a dependency one installer found already
    there and the other installed counts as the same if the versions agree.
    ``same_versions`` is None unless both installed.
    """
    if micropkg["outcome"] != "installed" or micropip["outcome"] != "installed":
        return {"same_versions": None, "differences": []}
    added = {"micropkg": _versions(micropkg["installed"]), "micropip": _versions(micropip["installed"])}
    present = {"micropkg": micropkg["present"], "micropip": micropip["present"]}
    differences = []
    for name in sorted(added["micropkg"].keys() | added["micropip"].keys()):
        found = {tool: present[tool].get(name) for tool in added}
        if found["micropkg"] != found["micropip"]:
            differences.append({
                "name": name,
                **found,
                # Present but not added by this install: it was there before.
                "preinstalled": [t for t in added if found[t] is not None and name not in added[t]],
            })
    return {"same_versions": not differences, "differences": differences}


def summarize(rows: list[dict]) -> dict:
    """Counts of each outcome per installer, and of agreement between them."""
    both = [r for r in rows if r["same_versions"] is not None]
    return {
        "projects": len(rows),
        **{tool: {o: sum(r[tool]["outcome"] == o for r in rows) for o in OUTCOMES} for tool in ("micropkg", "micropip")},
        "both_installed": len(both),
        "same_versions": sum(bool(r["same_versions"]) for r in both),
        "versions_differ": sum(not r["same_versions"] for r in both),
        "outcomes_differ": sum(r["micropkg"]["outcome"] != r["micropip"]["outcome"] for r in rows),
        "error_types": {
            tool: dict(Counter(r[tool]["error_type"] or r[tool]["outcome"] for r in rows if r[tool]["outcome"] != "installed"))
            for tool in ("micropkg", "micropip")
        },
    }


def summary_line(summary: dict) -> str:
    def counts(tool: str) -> str:
        return ", ".join(f"{summary[tool][o]} {o}" for o in OUTCOMES)

    return (
        f"**{summary['projects']} projects.** micropkg: {counts('micropkg')}. micropip: {counts('micropip')}. "
        f"Both installed: {summary['both_installed']} (same versions {summary['same_versions']}, "
        f"versions differ {summary['versions_differ']}). Outcomes differ: {summary['outcomes_differ']}."
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _shorten(text: str, limit: int = 140) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _seconds(run: dict) -> float | None:
    """From just before ``import <installer>`` to ``install`` returning, as benchmarks/bench.py times."""
    if run["import_ms"] is None or run["install_ms"] is None:
        return None
    return (run["import_ms"] + run["install_ms"]) / 1000


def _outcome(run: dict, times: bool) -> str:
    if run["outcome"] == "timeout":
        return "**timeout**"
    seconds = _seconds(run) if times else None
    text = run["outcome"] if run["outcome"] == "installed" else f"**{run['outcome']}**"
    if seconds is not None:
        text += f" {seconds:.1f} s"
    if run["outcome"] == "installed":
        text += f" (+{len(run['installed'])})"
    return text


def _difference(d: dict) -> str:
    def version(tool: str) -> str:
        v = d[tool] or "–"
        return f"{v} (pre)" if tool in d["preinstalled"] else v

    return f"{d['name']} {version('micropkg')} / {version('micropip')}"


def _errors(row: dict) -> str:
    parts = []
    for tool in ("micropkg", "micropip"):
        run = row[tool]
        if run["outcome"] != "installed" and run["error"]:
            kind = f"{run['error_type']}: " if run["error_type"] else ""
            message = _shorten(kind + run["error"]).replace("`", "'")
            parts.append(f"{tool}: `{message}`")
    return "<br>".join(parts)


def render(meta: dict, rows: list[dict], *, times: bool = True) -> str:
    """The Markdown: a heading line, the summary, the table, what the columns mean. Without
    ``times``, outcomes only: the README's copy, since a sweep is no fair race for speed."""
    same = {True: "yes", False: "**no**", None: "–"}
    status = "" if meta.get("complete", True) else " (incomplete: still running or interrupted)"
    lines = [
        (f"micropkg vs micropip: `install(name)` from live PyPI in fresh Pyodide {meta['pyodide']} runtimes "
        f"under Node, one per installer and project — {meta['started']}, {len(rows)} of {meta['projects']} "
        f"projects{status}, {meta['timeout_s']:g} s timeout, {meta['jobs']} job(s), "
        f"{meta.get('elapsed_s', 0) / 60:.1f} min in all.  "),
        f"{meta['micropkg']}, {meta['micropip']}; {meta['machine']}.",
        "",
        summary_line(summarize(rows)),
        "",
        "| # | project | micropkg | micropip | same versions | differences (micropkg / micropip) | errors |",
        "|--:|---|---|---|---|---|---|",
    ]
    for i, row in enumerate(rows, 1):
        lines.append("| " + " | ".join(_cell(c) for c in (
            str(i),
            row["project"],
            _outcome(row["micropkg"], times),
            _outcome(row["micropip"], times),
            same[row["same_versions"]],
            "; ".join(_difference(d) for d in row["differences"]),
            _errors(row),
        )) + " |")
    lines += [
        "",
        ("Each cell: the outcome (installed, refused: `install` raised, timeout: the Node process was killed, "
        "crash: the runtime died)" + (
            " and the time inside Pyodide from just before `import <installer>` to `install` returning (the JSON "
            "has the two apart, and the whole Node process's time)" if times else
            " (the times are in `benchmarks/results/sweep.md`; they are no speed comparison (live PyPI, a shared "
            "machine, one run each): the fair race is under Benchmarks)"
        ) + ", with (+n) the distributions it added. Same versions: "
        "whether every distribution either install added is present at the same version after both; (pre) "
        "marks one that was already in that runtime (micropkg's runtime starts with micropkg, packaging and "
        "resolvelib; micropip's with micropip). Errors: the exception's type and first line."
        + (" Live PyPI: times vary with the network and the load on the machine." if times else "")
        + " Regenerate with `python3 -m benchmarks.sweep`."),
        "",
    ]
    return "\n".join(lines)


def update_readme(readme: Path, table: str) -> None:
    """Replace what stands between the sweep markers in ``readme`` with ``table``."""
    text = readme.read_text()
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        raise SystemExit(
            f"{readme} has no {README_BEGIN} ... {README_END} section: add the two markers where the sweep's "
            "table belongs, then run again"
        )
    readme.write_text(text[: begin + len(README_BEGIN)] + "\n" + table + "\n" + text[end:])
