"""Markdown tables from ``benchmarks/results/*.json`` (the latest run of each size, mode and embedder).

    python benchmarks/report.py            # every size
    python benchmarks/report.py --chunks 10000
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from plot import latest, load_runs

HERE = Path(__file__).resolve().parent


def _rate(n: int, s: float) -> str:
    return f"{n / s:,.0f}" if s > 0 else "–"


def _top(parts: dict[str, float], k: int = 3) -> str:
    names = {"detect": "lang detect", "scan": "metadata scan", "stats_scan": "stats scan", "parse": "read+parse",
             "bm25_index": "BM25 index", "bm25_refresh_scan": "BM25 row scan", "write": "write",
             "bm25_save": "BM25 save", "bm25_load": "BM25 load", "delete": "delete", "other": "other", "chunk": "chunk"}
    top = sorted(parts.items(), key=lambda kv: -kv[1])[:k]
    listed = ", ".join(f"{names.get(n, n)} {v:.1f}" for n, v in top if v >= 0.05)
    return f" ({listed})" if listed else ""


def indexer_kind(r: dict[str, Any]) -> str:
    """Which product Indexer the run measured: unchanged files parsed again, or recognised by hash first."""
    return "parsed again" if r["reingest"]["parts"].get("detect", 0.0) > 0.01 else "skipped by hash"


def rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    ing = r.get("ingest")
    src = r
    if not ing and r.get("_ingest_run"):
        src = r["_ingest_run"]
        ing = src["ingest"]
    out.append(("chunks (articles)", f"{r['stats']['chunks']:,} ({r['stats']['documents']:,})"))
    emb = r["embeddings"] + (f", upserts of {src['batch_writes']} (shim)" if src.get("batch_writes") else "")
    out.append(("embeddings", emb))
    out.append(("Indexer: unchanged files are", indexer_kind(r)))
    if ing and src is not r:
        out.append(("ingest measured in", f"the {src['started'][11:16]} run ({src['mode']}), index copied"))
    if ing:
        p = ing["parts"]
        n = ing["chunks_embedded"]
        pc = p.get("parse", 0) + p.get("detect", 0) + p.get("chunk", 0)
        out += [
            ("ingest total: s (chunks/s)", f"{ing['seconds']:,.1f} ({_rate(n, ing['seconds'])})"),
            ("· parse+chunk: s (chunks/s)", f"{pc:,.1f} ({_rate(n, pc)})"),
            ("&nbsp;&nbsp;read / lang detect / chunk: s",
             f"{p.get('parse', 0):.1f} / {p.get('detect', 0):.1f} / {p.get('chunk', 0):.1f}"),
            ("· embed: s (chunks/s)", f"{p.get('embed', 0):,.1f} ({_rate(n, p.get('embed', 0))})"),
            ("· write: s (chunks/s)", f"{p.get('write', 0):,.1f} ({_rate(n, p.get('write', 0))})"),
            ("· BM25 full build: s", f"{ing['bm25_rebuild_seconds']:.1f}"),
            ("· metadata scans + stats: s",
             f"{p.get('scan', 0) + p.get('stats', 0) + p.get('stats_scan', 0):.1f}"),
        ]
    else:
        out.append(("ingest", f"not run: index copied from the {Path(r['reused_index_from']).name} run"))
    re_ = r["reingest"]
    out.append(("unchanged re-ingest: s", f"**{re_['seconds']:.1f}**{_top(re_['parts'])}"))
    ch = r["changed"]
    out.append(("one file changed: s", f"{ch['seconds']:.1f}{_top(ch['parts'])}; "
                f"{ch['chunks_embedded']} chunks embedded"))
    out.append(("· BM25 on that change", f"{ch['bm25_rebuild_seconds']:.1f} s, rebuilt: "
                f"{', '.join(ch.get('bm25_languages_rebuilt') or []) or 'none'}"))
    for key, label in (("queries", "top_k 5"), ("queries_filtered", "top_k 5 + language filter")):
        q = r[key]["ms"]
        out.append((f"retrieval p50 / p95, {label}: ms",
                    f"**{q['retrieval']['p50_ms']:.1f}** / {q['retrieval']['p95_ms']:.1f}"))
        suffix = " (filter)" if "filter" in label else ""
        out.append((f"· dense / count() / lang / BM25 / fusion / freshness p50{suffix}",
                    f"{q['dense']['p50_ms']:.1f} / {q['count']['p50_ms']:.1f} / {q['detect']['p50_ms']:.1f} / "
                    f"{q['bm25_search']['p50_ms']:.1f} / {q['fusion']['p50_ms']:.2f} / "
                    f"{q['fresh']['p50_ms'] + q['version_read']['p50_ms']:.1f}"))
    q = r["queries"]["ms"]
    out.append(("query embedding p50 / p95: ms", f"{q['q_embed']['p50_ms']:.1f} / {q['q_embed']['p95_ms']:.1f}"))
    c = r["query_cache"]
    out.append(("repeated question: embedding ms (1st → 2nd)",
                f"{c['first']['q_embed_ms']:.1f} → {c['repeated']['q_embed_ms']:.3f} (cached: {c['cached']})"))
    b = r["bm25"]
    out.append(("BM25 score arrays / on disk / load", f"{b['score_array_bytes'] / 1e6:.1f} MB / "
                f"{b['disk_bytes'] / 1e6:.1f} MB / {b['load_seconds']:.2f} s "
                f"(+{b['load_rss_growth_bytes'] / 1e6:.0f} MB RSS)"))
    m = r["memory"]
    peak = f"**{m['peak_rss_bytes'] / 1e6:,.0f} MB** (models alone {m['baseline_rss_bytes'] / 1e6:,.0f} MB)"
    if m.get("server_peak_bytes"):
        peak += f"; chroma server {m['server_peak_bytes'] / 1e6:,.0f} MB"
    out.append(("peak RSS", peak))
    if src is not r and src.get("ingest", {}).get("peak_rss"):
        out.append(("peak RSS during the ingest run's ingest", f"{src['ingest']['peak_rss'] / 1e6:,.0f} MB"))
    d = r["disk"]
    out.append(("disk: Chroma / BM25", f"{d['chroma_bytes'] / 1e6:,.0f} MB / {d['bm25_bytes'] / 1e6:,.0f} MB"))
    out.append(("`rag stats`: s", f"{r['stats_seconds']:.1f}"))
    out.append(("load average (start → end)", f"{r['loadavg_start'][0]:.1f} → {r['loadavg_end'][0]:.1f}"))
    return out


def table(runs: list[dict[str, Any]]) -> str:
    cols = [rows(r) for r in runs]
    head = "| | " + " | ".join(f"{r['mode']}" for r in runs) + " |"
    sep = "|---|" + "---|" * len(runs)
    lines = [head, sep]
    for label, _ in cols[0]:
        vals = []
        for c in cols:
            match = [v for lab, v in c if lab == label]
            vals.append(match[0] if match else "–")
        lines.append(f"| {label} | " + " | ".join(vals) + " |")
    # rows only some runs have (ingest rows when one run reused the index)
    seen = {lab for lab, _ in cols[0]}
    for c in cols[1:]:
        for label, _ in c:
            if label not in seen:
                seen.add(label)
                vals = [next((v for lab, v in cc if lab == label), "–") for cc in cols]
                lines.append(f"| {label} | " + " | ".join(vals) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, default=HERE / "results")
    ap.add_argument("--chunks", type=int, default=None)
    args = ap.parse_args(argv)
    every = load_runs(args.results)
    runs = latest(every)
    for key, r in runs.items():  # a run that reused an index: show the ingest of the run that built it
        if not r.get("ingest"):
            built = [x for x in every if x.get("ingest") and x["chunks_target"] == key[2]
                     and x["embeddings"] == key[1] and x["started"] < r["started"]]
            if built:
                r["_ingest_run"] = max(built, key=lambda x: x["started"])
    groups: dict[tuple[int, str], list[dict]] = {}
    for (_mode, emb, size), r in sorted(runs.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])):
        if args.chunks and size != args.chunks:
            continue
        groups.setdefault((size, emb), []).append(r)
    for (size, emb), rs in groups.items():
        print(f"\n### {size:,} chunks, {emb} embeddings\n")
        print(table(rs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
