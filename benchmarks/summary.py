"""One line per (runtime, scenario, deployment) of a race: medians, floors, ratios, traffic,
and the timeline of the row's median run; the geometric means of micropkg/micropip."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .scenarios import GEOMEAN, Scenario

if TYPE_CHECKING:
    from .bench import Bench

__all__ = ["summarize"]

TOOLS = ("micropkg", "micropip")


def _geomean(values: Sequence[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def _representative(rows: list[dict]) -> dict | None:
    """The run whose time is the median (the lower middle one of an even count)."""
    ok = sorted((r for r in rows if not r["error"] and r["total_ms"] is not None), key=lambda r: r["total_ms"])
    return ok[(len(ok) - 1) // 2] if ok else None


def summarize(bench: Bench, scenarios: Sequence[Scenario], runtimes: Sequence[str], latency: float) -> dict:
    """One line per (runtime, scenario, deployment): medians, floors, ratios, traffic, timeline."""
    lines = []
    bandwidth = bench.args.bandwidth_bytes
    for runtime in runtimes:
        for scenario in scenarios:
            floors = [r["total_ms"] for r in bench.rows if r["runtime"] == runtime and r["scenario"] == scenario.name
                      and r["tool"] == "local-floor" and r["total_ms"] is not None and not r["error"]]
            local = statistics.median(floors) if floors else None
            network = bench.network_floor_ms(scenario, latency, bandwidth)
            for deployment in bench.deployments:
                rows = [r for r in bench.rows if r["runtime"] == runtime and r["scenario"] == scenario.name
                        and r["deployment"] == deployment]
                if not rows:
                    continue
                by_tool = {t: [r for r in rows if r["tool"] == t] for t in TOOLS}

                def ok(tool, by_tool=by_tool):
                    return [r for r in by_tool[tool] if not r["error"] and r["total_ms"] is not None]

                def med(tool, key, ok=ok):
                    values = [r[key] for r in ok(tool) if r.get(key) is not None]
                    return statistics.median(values) if values else None

                def med_traffic(tool, key, ok=ok):
                    values = [r["traffic"][key] for r in ok(tool) if r["traffic"]]
                    return statistics.median(values) if values else None

                pairs: dict[int, dict] = {}
                for r in rows:
                    pairs.setdefault(r["pair"], {})[r["tool"]] = r
                ratios = [
                    p["micropkg"]["total_ms"] / p["micropip"]["total_ms"]
                    for p in pairs.values()
                    if all(t in p and not p[t]["error"] and p[t]["total_ms"] for t in TOOLS)
                ]
                micropkg_ms = med("micropkg", "total_ms")
                floors_ms = (network or 0.0) + local if local is not None and network is not None else None
                lines.append({
                    "runtime": runtime,
                    "deployment": deployment,
                    "scenario": scenario.name,
                    "title": scenario.title,
                    "kind": scenario.kind,
                    "note": scenario.note,
                    "micropkg_ms": micropkg_ms,
                    "micropip_ms": med("micropip", "total_ms"),
                    "micropkg_import_ms": med("micropkg", "import_ms"),
                    "micropip_import_ms": med("micropip", "import_ms"),
                    "micropkg_load_ms": med("micropkg", "load_ms"),
                    "micropip_load_ms": med("micropip", "load_ms"),
                    "ratio": statistics.median(ratios) if ratios else None,
                    "ratios": ratios,
                    "pairs": len(pairs),
                    "network_floor_ms": network,
                    "local_floor_ms": local,
                    "to_floors": micropkg_ms / floors_ms if micropkg_ms and floors_ms else None,
                    "requests": (med_traffic("micropkg", "requests"), med_traffic("micropip", "requests")),
                    "bytes": (med_traffic("micropkg", "bytes"), med_traffic("micropip", "bytes")),
                    "critical_path": (med_traffic("micropkg", "critical_path"), med_traffic("micropip", "critical_path")),
                    "errors": {t: sorted({r["error"] for r in by_tool[t] if r["error"]}) for t in TOOLS},
                    "upstream_fetches": sum(r.get("upstream_fetches", 0) for r in rows),
                    "facts": {k: v for k, v in bench.facts.get(scenario.name, {}).items() if k not in ("lock", "files")},
                    "timeline": {t: _timeline(_representative(by_tool[t])) for t in TOOLS},
                    "skipped": not by_tool["micropkg"],
                })
    geomeans = {}
    for runtime in runtimes:
        for deployment in bench.deployments:
            ratios = [l["ratio"] for l in lines if l["runtime"] == runtime and l["deployment"] == deployment
                      and l["scenario"] in GEOMEAN and l["ratio"]]
            if ratios:
                geomeans[f"{runtime}/{deployment}"] = {"geomean": _geomean(ratios), "of": len(ratios)}
    return {"lines": lines, "geomeans": geomeans}


def _timeline(row: dict | None) -> dict | None:
    if row is None:
        return None
    return {"pair": row["pair"], "total_ms": row["total_ms"], "marks": row.get("marks", []),
            "network": row.get("network"), "settled_ms": row.get("settled_ms")}
