"""Plot query latency and re-ingest time against corpus size from ``benchmarks/results/*.json``.

    python benchmarks/plot.py [--results benchmarks/results] [--out docs/img/latency_vs_size.png]

Uses the latest run of each (corpus size, store mode) with precomputed embeddings (the only ones that reach
10k and 100k chunks); runs with real embeddings are drawn as single points when present.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def load_runs(folder: Path) -> list[dict]:
    runs = []
    for f in sorted(folder.glob("*.json")):
        data = json.loads(f.read_text())
        runs += data if isinstance(data, list) else [data]
    return runs


def latest(runs: list[dict]) -> dict[tuple[str, str, int], dict]:
    """The latest run per (mode, embeddings, target size)."""
    out: dict[tuple[str, str, int], dict] = {}
    for r in sorted(runs, key=lambda r: r["started"]):
        if not r.get("invalid"):  # a run marked by hand as not measuring what it says
            out[(r["mode"], r["embeddings"], r["chunks_target"])] = r
    return out


def main(argv: list[str] | None = None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, default=HERE / "results")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "latency_vs_size.png")
    args = ap.parse_args(argv)

    runs = latest(load_runs(args.results))
    if not runs:
        raise SystemExit(f"no results in {args.results}: run benchmarks/bench.py first")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    colors = {"embedded": "tab:blue", "server": "tab:orange"}
    for mode in ("embedded", "server"):
        pts = sorted((r["stats"]["chunks"], r) for (m, e, _), r in runs.items() if m == mode and e == "precomputed")
        if not pts:
            continue
        xs = [x for x, _ in pts]
        for key, style, label in (("queries", "-", "top_k 5"), ("queries_filtered", "--", "top_k 5 + language filter")):
            p50 = [r[key]["ms"]["retrieval"]["p50_ms"] for _, r in pts]
            p95 = [r[key]["ms"]["retrieval"]["p95_ms"] for _, r in pts]
            ax1.plot(xs, p50, style, marker="o", color=colors[mode], label=f"{mode}, {label}, p50")
            ax1.fill_between(xs, p50, p95, color=colors[mode], alpha=0.08 if style == "-" else 0.04)
            if style == "-":
                ax1.plot(xs, p95, ":", marker=".", color=colors[mode], label=f"{mode}, {label}, p95")
        re_x = [x for x, r in pts if r.get("reingest")]
        ax2.plot(re_x, [r["reingest"]["seconds"] for _, r in pts if r.get("reingest")], "-", marker="o",
                 color=colors[mode], label=f"{mode}: unchanged re-ingest")
        ax2.plot(re_x, [r["changed"]["seconds"] for _, r in pts if r.get("changed")], "--", marker="s",
                 color=colors[mode], label=f"{mode}: one file changed")
    ax1.scatter([10_000, 100_000], [50, 150], marker="_", s=400, color="red", zorder=5, label="target p50")
    ax1.set(xscale="log", yscale="log", xlabel="chunks in the index",
            ylabel="ms (retrieval after the query embedding)", title="Query latency (precomputed vectors)")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=7)
    ax2.scatter([100_000], [10], marker="_", s=400, color="red", zorder=5, label="target (100k, unchanged)")
    ax2.set(xscale="log", yscale="log", xlabel="chunks in the index", ylabel="seconds",
            title="Re-ingest of the corpus")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.legend(fontsize=7)
    fig.suptitle("polyglot-news-rag on 2 CPU cores", fontsize=10)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
