"""The benchmark's Markdown table, PNG chart and raw JSON."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["markdown", "write_report"]


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _pair(values: tuple, fmt) -> str:
    a, b = values
    return f"{fmt(a)} / {fmt(b)}"


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value / 1e6:.2f}"


def _n(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def _first_words(error: str, limit: int = 90) -> str:
    text = error.splitlines()[0].replace("|", "\\|")
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def _note(line: dict) -> str:
    notes = [line["note"]] if line.get("note") else []
    if line["skipped"]:
        return "skipped: micropkg could not make or install a lock"
    if line["kind"] == "lock" and line["limit_ms"] and line["micropkg_ms"] is not None:
        notes.append(f"micropkg = {line['micropkg_ms'] / line['limit_ms']:.1f}× the physical limit")
    if line["errors"]["micropip"]:
        notes.append("micropip failed: " + _first_words(line["errors"]["micropip"][0]))
    if line["errors"]["micropkg"]:
        notes.append("micropkg failed: " + _first_words(line["errors"]["micropkg"][0]))
    if line["unpack_ms"] is not None and line["micropkg_ms"] is not None:
        notes.append(
            f"unpack-only {_ms(line['unpack_ms'])} ms → micropkg ×{line['micropkg_ms'] / line['unpack_ms']:.2f}"
        )
    if line["kind"] == "import":
        notes.append(
            f"tool loadPackage {_ms(line['micropkg_load_ms'])} / {_ms(line['micropip_load_ms'])} ms"
        )
    if line["upstream_fetches"]:
        notes.append(f"{line['upstream_fetches']} upstream fetches during runs")
    return "; ".join(notes)


def markdown(meta: dict, lines: list[dict]) -> str:
    bandwidth = f"{meta['bandwidth_mb_s']} MB/s" if meta["bandwidth_mb_s"] else "no bandwidth cap"
    out = [
        f"micropkg vs micropip 0.11.1 — {meta['date']}, Pyodide {meta['pyodide']}, "
        f"{meta['latency_ms']:.0f} ms latency per request, {bandwidth}, "
        f"median of {meta['pairs']} pair(s){' (--quick)' if meta['quick'] else ''}.  ",
        f"Machine: {meta['machine']}.",
        "",
        "| runtime | scenario | micropkg ms | micropip ms | ratio (median of pairs) | requests | MB | sequential round trips | physical limit ms | notes |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for line in lines:
        ratio = "–" if line["ratio"] is None else f"**{line['ratio']:.2f}×**"
        out.append(
            "| " + " | ".join([
                line["runtime"],
                line["title"],
                _ms(line["micropkg_ms"]),
                _ms(line["micropip_ms"]),
                ratio,
                _pair(line["requests"], _n),
                _pair(line["bytes"], _mb),
                _pair(line["critical_path"], _n),
                _ms(line["limit_ms"]),
                _note(line),
            ]) + " |"
        )
    out += [
        "",
        "Times: `import <installer>` + `install(...)` inside a fresh Pyodide (the installer's own "
        "`loadPackage` is not included). Pairs of columns read micropkg / micropip. Sequential round "
        "trips: the longest chain of requests each sent after the previous answer (from the mirror's log). "
        "Physical limit: (2 × dependency depth + 1 round trips cold, 1 from a lock, 0 warm) × latency "
        "+ largest file ÷ bandwidth.",
    ]
    return "\n".join(out) + "\n"


def chart(meta: dict, lines: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [l for l in lines if l["micropkg_ms"] is not None or l["micropip_ms"] is not None]
    runtimes = sorted({l["runtime"] for l in shown}, key=["node", "chrome"].index)
    fig, axes = plt.subplots(1, len(runtimes), figsize=(6.5 * len(runtimes), 4.8), squeeze=False)
    for ax, runtime in zip(axes[0], runtimes):
        rows = [l for l in shown if l["runtime"] == runtime]
        labels = [l["scenario"] for l in rows]
        x = range(len(rows))
        a = [l["micropkg_ms"] or 0 for l in rows]
        b = [l["micropip_ms"] or 0 for l in rows]
        ax.bar([i - 0.2 for i in x], a, 0.4, label="micropkg", color="#2a7ab9")
        ax.bar([i + 0.2 for i in x], b, 0.4, label="micropip 0.11.1", color="#c9792c")
        for i, l in enumerate(rows):
            if l["micropip_ms"] is None and l["errors"]["micropip"]:
                ax.text(i + 0.2, max(a) * 0.02 + 1, "failed", rotation=90, ha="center", va="bottom", fontsize=8)
            if l["limit_ms"]:
                ax.plot([i - 0.4, i + 0.4], [l["limit_ms"]] * 2, color="black", lw=1.2,
                        label="physical limit" if "physical limit" not in ax.get_legend_handles_labels()[1] else None)
            if l["ratio"] is not None:
                ax.text(i, max(a[i], b[i]) * 1.02, f"{l['ratio']:.2f}×", ha="center", va="bottom", fontsize=8)
            if l["unpack_ms"]:
                ax.plot([i - 0.4, i + 0.4], [l["unpack_ms"]] * 2, color="black", lw=1.2, ls="--",
                        label="unpack + load, no network" if "unpack + load, no network" not in ax.get_legend_handles_labels()[1] else None)
        ax.set_ylim(0, max(a + b) * 1.12)
        ax.set_xticks(list(x))
        ax.set_xticklabels(labels, rotation=20)
        ax.set_ylabel("ms (median), import + install")
        ax.set_title(f"{runtime}, {meta['latency_ms']:.0f} ms latency")
        ax.legend(fontsize=8)
    fig.suptitle(f"micropkg vs micropip — {meta['date']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(directory: Path, name: str, meta: dict, lines: list[dict], rows: list[dict]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    md = directory / f"{name}.md"
    md.write_text(markdown(meta, lines))
    raw = directory / f"{name}.json"
    raw.write_text(json.dumps({"meta": meta, "summary": lines, "runs": rows}, indent=1))
    paths = [md, raw]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("[bench] matplotlib is not installed: no chart (benchmarks/run installs it)")
    else:
        png = directory / f"{name}.png"
        chart(meta, lines, png)
        paths.append(png)
    return paths
