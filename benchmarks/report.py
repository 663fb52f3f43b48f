"""The fair race's Markdown table, timelines and raw JSON."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["compact", "markdown", "write_report"]

# Issue 17's goals, reported against (not enforced).
GOALS = (
    "cold ≤ 0.6× micropip and ≤ 1.5× (network floor + local floor); first request ≤ 20 ms after install(); "
    "warm ≤ 0.5× local floor; lock ≤ 1.2× the floors"
)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _x(value: float | None, bold: bool = False) -> str:
    if value is None:
        return "–"
    return f"**{value:.2f}×**" if bold else f"{value:.2f}×"


def _pair(values, fmt) -> str:
    a, b = values
    return f"{fmt(a)} / {fmt(b)}"


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value / 1e6:.2f}"


def _n(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def _first_words(error: str, limit: int = 90) -> str:
    text = error.splitlines()[0].replace("|", "\\|") if error else ""
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def _note(line: dict) -> str:
    notes = [line["note"]] if line.get("note") else []
    if line["skipped"]:
        return "skipped: micropkg could not make or install a lock"
    for tool in ("micropip", "micropkg"):
        if line["errors"][tool]:
            notes.append(f"{tool} failed: " + _first_words(line["errors"][tool][0]))
    if line["kind"] == "import":
        notes.append(f"tool loadPackage {_ms(line['micropkg_load_ms'])} / {_ms(line['micropip_load_ms'])} ms")
    if line["upstream_fetches"]:
        notes.append(f"{line['upstream_fetches']} upstream fetches during runs")
    return "; ".join(notes)


def _first_request(line: dict) -> str:
    """ms from install() to micropkg's first request (its ``request`` phase)."""
    timeline = line["timeline"]["micropkg"]
    if not timeline:
        return "–"
    marks = dict((name, at) for name, at in reversed(timeline["marks"]))  # first occurrence wins
    if "request" in marks and "install()" in marks:
        return f"{marks['request'] - marks['install()']:.0f}"
    return "–"


def _timeline_text(timeline: dict | None) -> str:
    if not timeline:
        return "–"
    marks = " → ".join(f"{name} {at:.0f}" for name, at in timeline["marks"])
    if timeline.get("settled_ms") is not None:  # micropkg's keeping for the next page load, after the timer
        marks += f" (then kept for the next page load in {timeline['settled_ms']:.0f} more)"
    network = timeline.get("network")
    if network:
        parts = [f"first request {network['first_request']:.0f}"]
        if network.get("last_index_answer") is not None:
            parts.append(f"last page/metadata answer {network['last_index_answer']:.0f}")
        if network.get("last_wheel_answer") is not None:
            parts.append(f"wheels {network['first_wheel_request']:.0f}–{network['last_wheel_answer']:.0f}")
        marks += f" (mirror: {', '.join(parts)})"
    return marks


def compact(summary: dict) -> list[str]:
    """The README's table: one line per (runtime, scenario), the fair race with the source ratio beside."""
    out = [
        "| runtime | scenario | micropkg ms | micropip ms | micropkg/micropip | from source | network floor ms "
        "| local floor ms | micropkg / floors | first request ms |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    lines = summary["lines"]
    for line in lines:
        if line["deployment"] != "bytecode":
            continue
        source = next((l for l in lines if l["deployment"] == "source" and l["runtime"] == line["runtime"]
                       and l["scenario"] == line["scenario"]), None)
        failed = [t for t in ("micropkg", "micropip") if line["errors"][t] and line[f"{t}_ms"] is None]
        out.append("| " + " | ".join([
            line["runtime"], line["title"] + (f" ({', '.join(failed)} failed)" if failed else ""),
            _ms(line["micropkg_ms"]), _ms(line["micropip_ms"]), _x(line["ratio"], bold=True),
            _x(source["ratio"]) if source else "", _ms(line["network_floor_ms"]), _ms(line["local_floor_ms"]),
            _x(line["to_floors"]), _first_request(line),
        ]) + " |")
    for key, value in summary["geomeans"].items():
        runtime, deployment = key.split("/")
        out.append("")
        out.append(f"Geometric mean of micropkg/micropip over six, click, rich, httpx, luau-wasm and pydantic, "
                   f"{runtime}, {deployment}: **{value['geomean']:.2f}×**.")
    return out


def markdown(meta: dict, summary: dict) -> str:
    lines = summary["lines"]
    bandwidth = f"{meta['bandwidth_mb_s']} MB/s" if meta["bandwidth_mb_s"] else "no bandwidth cap"
    where = ("live PyPI (latency: a measured round trip to pypi.org)" if meta.get("network") == "pypi"
             else f"the loopback mirror, {meta['latency_ms']:.0f} ms added per request")
    out = [
        f"micropkg vs micropip 0.11.1, a fair race — {meta['date']} ({meta.get('minutes', '?')} min), "
        f"Pyodide {meta['pyodide']}, {where} ({meta['latency_ms']:.0f} ms), {bandwidth}, "
        f"median of {meta['pairs']} pair(s){' (--quick)' if meta['quick'] else ''}.  ",
        f"Machine: {meta['machine']}; load average before/after {meta['load_average']['before']} / "
        f"{meta['load_average']['after']}.  ",
        f"Command: `{meta.get('command', 'benchmarks/run')}`",
        "",
        "| runtime | scenario | deployment | micropkg ms | micropip ms | micropkg/micropip | network floor ms "
        "| local floor ms | micropkg / floors | first request ms | requests | MB | sequential round trips | notes |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for line in lines:
        out.append("| " + " | ".join([
            line["runtime"], line["title"], line["deployment"],
            _ms(line["micropkg_ms"]), _ms(line["micropip_ms"]), _x(line["ratio"], bold=True),
            _ms(line["network_floor_ms"]), _ms(line["local_floor_ms"]), _x(line["to_floors"]),
            _first_request(line),
            _pair(line["requests"], _n), _pair(line["bytes"], _mb), _pair(line["critical_path"], _n),
            _note(line),
        ]) + " |")
    out.append("")
    for key, value in summary["geomeans"].items():
        runtime, deployment = key.split("/")
        out.append(f"- Geometric mean of micropkg/micropip, {runtime}, {deployment} deployment, over "
                   f"{value['of']} single requests (six, click, rich, httpx, luau-wasm, pydantic): "
                   f"**{value['geomean']:.2f}×**")
    out += [
        "",
        "Columns. Times are `import <installer>` + `install(...)` inside a fresh Pyodide with an empty cache "
        "(each installer loaded with `loadPackage` before the timer). Deployment `bytecode` is the fair race: "
        "micropkg, micropip, packaging and resolvelib all carry CPython 3.14 bytecode compiled in Pyodide "
        "(checked-hash pycs); `source`: none of them does. micropkg/micropip: median of the per-pair ratios. "
        "Network floor: round trips no installer can avoid (2 per level of dependency depth cold, 1 from a "
        "lock, 0 warm) × latency + bytes ÷ bandwidth cap. Local floor: Pyodide's `loadPackage` of the same "
        "wheels from local files in a fresh runtime (unpack, load native code), median. micropkg / floors: "
        "micropkg ÷ (network floor + local floor). First request: ms from `install()` to micropkg's first "
        "request on its way. Requests, MB, sequential round trips (the longest chain of requests each sent "
        "after the previous answer, from the mirror's log): micropkg / micropip.",
        "",
        f"Goals (issue 17): {GOALS}.",
        "",
        "## For the README",
        "",
        *compact(summary),
        "",
        "## Timelines (the median run of each row, ms since `import <installer>` began)",
        "",
        "micropkg's marks are its `Reporter.phase` hooks (each the start of a phase); micropip's are its "
        "`Transaction.gather_requirements` (resolving, with its downloads) and first `WheelInfo.install` "
        "(verify, unpack, load), wrapped by the benchmark. `imported`: `import <installer>` returned; "
        "`install()`: `install` called (micropkg's `micropkg.api` loads between the two); `returned`: it returned. The mirror's log gives both the same network view.",
        "",
    ]
    for line in lines:
        if line["kind"] == "import":
            continue
        out.append(f"- **{line['runtime']}, {line['scenario']}, {line['deployment']}**")
        for tool in ("micropkg", "micropip"):
            out.append(f"  - {tool}: {_timeline_text(line['timeline'][tool])}")
    return "\n".join(out) + "\n"


def write_report(directory: Path, name: str, meta: dict, summary: dict, rows: list[dict]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    md = directory / f"{name}.md"
    md.write_text(markdown(meta, summary))
    raw = directory / f"{name}.json"
    raw.write_text(json.dumps({"meta": meta, "summary": summary, "runs": rows}, indent=1))
    return [md, raw]
