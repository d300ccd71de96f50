"""The report's two PNG plots: hits by question language, and the latency distributions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rag.evaluation.metrics import percentile
from rag.evaluation.model import EvalReport


def _figure(width: float = 7.0, height: float = 3.6) -> Figure:
    # An explicit Agg canvas: no pyplot, no global backend state, works without a display.
    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def plot_hits(report: EvalReport, path: Path) -> None:
    """Grouped bars: hit@1, hit@3 and hit@k for every question language (and all)."""
    r = report.retrieval
    groups = [("all", r.overall), *r.by_question_language.items()]
    fig = _figure(max(5.0, 1.2 * len(groups) + 2))
    ax = fig.add_subplot()
    width = 0.26
    for i, (label, attr) in enumerate((("hit@1", "hit1"), ("hit@3", "hit3"), (f"hit@{r.k}", "hitk"))):
        xs = [j + (i - 1) * width for j in range(len(groups))]
        ys = [0 if math.isnan(getattr(s, attr)) else getattr(s, attr) for _, s in groups]
        bars = ax.bar(xs, ys, width, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(range(len(groups)), [f"{g}\n(n={s.n})" for g, s in groups])
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("share of questions")
    ax.set_title("Retrieval hits by question language")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def plot_latency(report: EvalReport, path: Path) -> None:
    """Histograms of retrieval time and, when answers were scored, first-token and total time."""
    series = [("retrieval", [rec.retrieve_ms for rec in report.retrieval.records])]
    if report.answers is not None and report.answers.available:
        recs = report.answers.records
        series += [("first token", [a.first_token_ms for a in recs if a.first_token_ms is not None]),
                   ("total", [a.total_ms for a in recs])]
    series = [(name, xs) for name, xs in series if xs]
    fig = _figure(3.2 * max(1, len(series)) + 1)
    if not series:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "nothing timed", ha="center", va="center")
        ax.set_axis_off()
    for i, (name, xs) in enumerate(series, start=1):
        ax = fig.add_subplot(1, len(series), i)
        n_bins = min(30, max(5, len(xs) // 4))
        lo, hi = max(min(xs), 0.1), max(xs)
        if hi / lo > 20:  # a long tail (a cold start, a busy machine): log bins keep the bulk readable
            ax.hist(xs, bins=np.geomspace(lo, hi, n_bins + 1).tolist(), color=f"C{i - 1}")
            ax.set_xscale("log")
        else:
            ax.hist(xs, bins=n_bins, color=f"C{i - 1}")
        for q, style in ((50, "--"), (95, ":")):
            v = percentile(xs, q)
            ax.axvline(v, color="black", linestyle=style, linewidth=1, label=f"p{q} {v:.0f} ms")
        ax.set_title(name)
        ax.set_xlabel("ms")
        ax.legend(fontsize=7)
    fig.suptitle("Latency")
    fig.tight_layout()
    fig.savefig(path)
