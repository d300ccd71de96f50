"""Writing, comparing and gating evaluation reports.

``write_report`` puts ``report.json`` (every number and per-question record), ``report.md`` (tables,
plots, failures; reads on GitHub) and two PNG plots in a folder. ``compare`` computes per-metric
deltas against an earlier ``report.json`` and the questions that went from hit to miss or back.
``parse_floor``/``check_floors`` implement ``--min METRIC=VALUE``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.evaluation.metrics import percentile
from rag.evaluation.retrieval import RetrievalSummary
from rag.evaluation.runner import EvalReport, lower_is_better, metric_names, report_dict

log = logging.getLogger(__name__)

HIT_PLOT = "hit_by_language.png"
LATENCY_PLOT = "latency.png"
_MAX_FAILURES = 60  # failures listed in report.md; report.json has them all


# -- compare ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delta:
    metric: str  # e.g. "hit@5", or "hit@5 [el]" for a question language
    previous: float | None
    current: float | None
    change: float | None  # current - previous
    better: str  # "higher" or "lower": which direction is an improvement

    @property
    def improved(self) -> bool | None:
        if self.change is None or self.change == 0:
            return None
        return (self.change > 0) == (self.better == "higher")


@dataclass
class Comparison:
    """Deltas against an earlier report and the questions whose hit@k flipped."""

    previous: str  # the earlier report's path (or "<dict>")
    previous_timestamp: str | None
    k: int  # the k both reports are judged at: the smaller of the two
    deltas: list[Delta] = field(default_factory=list)
    hit_to_miss: list[str] = field(default_factory=list)
    miss_to_hit: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["deltas"] = [{**asdict(x), "improved": x.improved} for x in self.deltas]
        return d

    def render(self) -> str:
        """Plain-text lines for the terminal."""
        lines = [f"compared with {self.previous} ({self.previous_timestamp or 'no timestamp'}):"]
        for d in self.deltas:
            if d.change is None:
                continue
            mark = {True: "better", False: "worse", None: "same"}[d.improved]
            if d.metric.endswith(("_ms_p50", "_ms_p95")):
                before, after, change = _fmt(d.previous, True), _fmt(d.current, True), f"{d.change:+.0f} ms"
            else:
                before, after, change = _fmt(d.previous), _fmt(d.current), f"{d.change:+.3f}"
            lines.append(f"  {d.metric:<28} {before:>8} -> {after:>8}  ({change}, {mark})")
        lines.append(f"  hit@{self.k} -> miss: {', '.join(self.hit_to_miss) or 'none'}")
        lines.append(f"  miss -> hit@{self.k}: {', '.join(self.miss_to_hit) or 'none'}")
        return "\n".join(lines)


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def compare(current: EvalReport, previous: str | Path | dict[str, Any]) -> Comparison:
    """Per-metric deltas (overall, and retrieval per question language) against an earlier report."""
    if isinstance(previous, dict):
        prev, name = previous, "<dict>"
    else:
        name = str(previous)
        try:
            prev = json.loads(Path(previous).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"--compare {previous}: cannot read the earlier report.json ({exc})") from exc
    if not isinstance(prev, dict) or "metrics" not in prev:
        raise ConfigError(f"--compare {name}: not a report.json written by `rag eval`")
    cur = report_dict(current)
    deltas = [_delta(key, prev["metrics"].get(key), value) for key, value in cur["metrics"].items()
              if key in prev["metrics"]]
    prev_langs = (prev.get("retrieval") or {}).get("by_question_language") or {}
    for lang, summary in cur["retrieval"]["by_question_language"].items():
        for key, field_ in (("hit@{k}", "hitk"), ("mrr", "mrr")):
            if lang in prev_langs and prev.get("k") == current.k:
                label = f"{key.format(k=current.k)} [{lang}]"
                deltas.append(_delta(label, prev_langs[lang].get(field_), summary.get(field_)))
    k = min(current.k, int(prev.get("k") or current.k))
    before = {r["id"]: (r.get("retrieval") or {}).get("first_relevant")
              for r in prev.get("records", []) if r.get("retrieval")}
    now = current.hits()

    def hit(rank: int | None) -> bool:
        return rank is not None and rank <= k

    common = [i for i in now if i in before]
    return Comparison(
        previous=name, previous_timestamp=prev.get("timestamp"), k=k, deltas=deltas,
        hit_to_miss=[i for i in common if hit(before[i]) and not hit(now[i])],
        miss_to_hit=[i for i in common if not hit(before[i]) and hit(now[i])],
    )


def _delta(metric: str, previous: Any, current: Any) -> Delta:
    p, c = _num(previous), _num(current)
    change = round(c - p, 6) if p is not None and c is not None else None
    return Delta(metric, p, c, change, "lower" if lower_is_better(metric.split(" ")[0]) else "higher")


# -- floors ----------------------------------------------------------------------------------------


def parse_floor(text: str, k: int) -> tuple[str, float]:
    """``"hit@5=0.8"`` -> ``("hit@5", 0.8)``; unknown metrics and impossible values are errors."""
    name, sep, value = text.partition("=")
    name = name.strip().lower().replace("hit@k", f"hit@{k}").replace("ndcg@k", f"ndcg@{k}")
    valid = [n for n in metric_names(k) if not lower_is_better(n)]
    if not sep or not name:
        raise ConfigError(f"--min {text!r}: write METRIC=VALUE, e.g. hit@{k}=0.8")
    if name not in valid:
        raise ConfigError(f"--min {text!r}: unknown metric {name!r}; valid with --k {k}: {', '.join(valid)}")
    try:
        floor = float(value)
    except ValueError:
        raise ConfigError(f"--min {text!r}: {value!r} is not a number") from None
    if not 0 <= floor <= 1:
        raise ConfigError(
            f"--min {text!r}: {name} is a share between 0 and 1 (did you mean {floor / 100:g}?)"
        )
    return name, floor


def parse_floors(texts: Sequence[str], k: int, retrieval_only: bool = False) -> list[tuple[str, float]]:
    """Parse every ``--min``; with ``retrieval_only`` an answer metric is an error before anything runs."""
    floors = [parse_floor(t, k) for t in texts]
    if retrieval_only:
        bad = [name for name, _ in floors if name not in _retrieval_metric_names(k)]
        if bad:
            raise ConfigError(f"--min {', '.join(bad)}: answers are not scored with --retrieval-only")
    return floors


def check_floors(report: EvalReport, floors: Sequence[tuple[str, float]]) -> list[str]:
    """One message per floor not met; a metric that was not measured does not meet its floor."""
    values = report.metrics()
    failed = []
    for name, floor in floors:
        value = values.get(name, float("nan"))
        if math.isnan(value):
            if name == "evidence_recall_multi":
                why = "no scored question has evidence in several articles"
            elif name in _retrieval_metric_names(report.k):
                why = "no question was scored"
            elif report.answers is None:
                why = "answers are not scored with --retrieval-only"
            elif not report.answers.available:
                why = report.answers.reason
            else:
                why = "no answer measured it (the judge needs --judge)"
            failed.append(f"{name} (floor {floor:g}) was not measured: {why}")
        elif value < floor:
            failed.append(f"{name} = {value:.3f} is below the floor {floor:g}")
    return failed


def _retrieval_metric_names(k: int) -> set[str]:
    return {"hit@1", "hit@3", f"hit@{k}", "mrr", f"ndcg@{k}", "evidence_recall", "evidence_recall_multi"}


# -- text ------------------------------------------------------------------------------------------


def _fmt(x: float | None, ms: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.0f} ms" if ms else f"{x:.3f}"


def _summary_rows(report: EvalReport) -> list[tuple[str, str]]:
    rows = []
    for name, value in report.metrics().items():
        is_ms = name.endswith(("_ms_p50", "_ms_p95"))
        if name not in _retrieval_metric_names(report.k) and not name.startswith("retrieve_") and (
            report.answers is None or not report.answers.available
        ):
            continue
        rows.append((name, _fmt(value, is_ms)))
    return rows


def summary_table(report: EvalReport) -> str:
    """The headline numbers as aligned plain text, for the terminal."""
    r = report.retrieval
    head = (f"{len(report.questions)} questions ({report.n_answerable} answerable), "
            f"{len(r.records)} retrieval-scored, k={report.k}, corpus {report.corpus.name}")
    if report.partial:
        head += "  [PARTIAL]"
    lines = [head]
    lines += [f"  {name:<22} {value}" for name, value in _summary_rows(report)]
    if report.answers is None:
        lines.append("  answers: not scored (--retrieval-only)")
    elif not report.answers.available:
        lines.append(f"  answers: not available ({report.answers.reason})")
    lines.append("by question language:")
    lines += [f"  {lang:<8} n={s.n:<5} hit@1 {_fmt(s.hit1)}  hit@{r.k} {_fmt(s.hitk)}  MRR {_fmt(s.mrr)}"
              for lang, s in r.by_question_language.items()]
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines)


def _ms(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.0f}"


def _md_cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _retrieval_table(rows: dict[str, RetrievalSummary], k: int, first: str) -> list[str]:
    out = [f"| {first} | n | hit@1 | hit@3 | hit@{k} | MRR | nDCG@{k} | evidence recall | p50 ms |",
           "|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for key, s in rows.items():
        out.append(f"| {key} | {s.n} | {_fmt(s.hit1)} | {_fmt(s.hit3)} | {_fmt(s.hitk)} | {_fmt(s.mrr)} | "
                   f"{_fmt(s.ndcg)} | {_fmt(s.evidence_recall)} | {_ms(s.retrieve_ms_p50)} |")
    return out


def render_markdown(report: EvalReport) -> str:
    """``report.md``: summary, per-language tables, plots, answer scores, changes and failures."""
    r, k = report.retrieval, report.k
    md = ["# Evaluation report", ""]
    if report.partial:
        md += ["> **Partial report**: the run was interrupted or stopped early; see the notes.", ""]
    md += [
        f"- Questions: {len(report.questions)} ({report.n_answerable} answerable) from "
        + ", ".join(f"`{p}`" for p in report.questions_files),
        f"- Corpus: `{report.corpus.name}` ({report.corpus.files} files, fingerprint "
        f"`{report.corpus.fingerprint[:12]}`), collection `{report.corpus.collection}`",
        f"- Embedder: `{report.embedder}`; model: `{report.model or 'none'}`; k = {k}",
        f"- Revision: `{report.git_revision or 'unknown'}`; "
        f"run at {report.timestamp} in {report.seconds:.0f} s",
    ]
    md += [f"- Note: {_md_cell(n)}" for n in report.notes]

    md += ["", "## Summary", ""]
    deltas = {d.metric: d for d in report.comparison.deltas} if report.comparison else {}
    if deltas:
        md += ["| metric | value | previous | change |", "|---|--:|--:|--:|"]
    else:
        md += ["| metric | value |", "|---|--:|"]
    for name, value in _summary_rows(report):
        if deltas:
            d = deltas.get(name)
            change = f"{d.change:+.3f}" if d and d.change is not None else "–"
            md.append(f"| {name} | {value} | {_fmt(d.previous) if d else '–'} | {change} |")
        else:
            md.append(f"| {name} | {value} |")
    if report.answers is None:
        md += ["", "Answers were not scored (`--retrieval-only`)."]
    elif not report.answers.available:
        md += ["", f"Answer metrics are not available: {_md_cell(report.answers.reason)}."]

    md += ["", "## Retrieval by question language", ""]
    md += _retrieval_table(r.by_question_language, k, "language")
    md += ["", f"![hit@1, hit@3 and hit@{k} by question language]({HIT_PLOT})", ""]
    md += ["## Retrieval by question → evidence-article language", "",
           "An English question over a Greek article is `en->el`. A question whose evidence spans "
           "articles in several languages counts in each of their cells.", ""]
    md += _retrieval_table(r.by_evidence_language, k, "question → article")

    wt = report.retrieval_with_translation
    if wt is not None:
        ids = {rec.id for rec in wt.records}
        plain = [rec for rec in r.records if rec.id in ids]
        md += ["", "## Retrieval with and without the model's translations", "",
               f"The same {len(ids)} questions: as asked, and with the question translated by {report.model} "
               "into the index languages and the rankings fused (the passages the answers used).", "",
               f"| | hit@1 | hit@{k} | MRR |", "|---|--:|--:|--:|"]
        for label, recs in (("as asked", plain), ("with translations", wt.records)):
            n = len(recs) or 1
            md.append(f"| {label} | {sum(x.hit1 for x in recs) / n:.3f} | {sum(x.hitk for x in recs) / n:.3f} "
                      f"| {sum(x.rr for x in recs) / n:.3f} |")

    if report.answers is not None and report.answers.available:
        md += ["", "## Answers by question language", "",
               "| language | n | correct | refusal accuracy | false refusals | citation precision | "
               "citation recall | language match | faithful | first token p50 | total p50 |",
               "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
        for lang, s in [("all", report.answers.overall), *report.answers.by_question_language.items()]:
            cells = [lang, str(s.n), _fmt(s.correctness), _fmt(s.refusal_accuracy),
                     _fmt(s.false_refusal_rate), _fmt(s.citation_precision), _fmt(s.citation_recall),
                     _fmt(s.language_match), _fmt(s.faithfulness), _fmt(s.first_token_ms_p50, True),
                     _fmt(s.total_ms_p50, True)]
            md.append("| " + " | ".join(cells) + " |")
        md += ["", "Citation precision: share of cited passages that hold an evidence quote. "
               "Citation recall: share of the relevant passages given to the model that it cited."]

    md += ["", "## Latency", "", "| stage | p50 | p95 |", "|---|--:|--:|",
           f"| retrieval | {_fmt(r.overall.retrieve_ms_p50, True)} | "
           f"{_fmt(r.overall.retrieve_ms_p95, True)} |"]
    if report.answers is not None and report.answers.available:
        a = report.answers.overall
        md += [f"| first token | {_fmt(a.first_token_ms_p50, True)} | {_fmt(a.first_token_ms_p95, True)} |",
               f"| total | {_fmt(a.total_ms_p50, True)} | {_fmt(a.total_ms_p95, True)} |"]
    md += ["", f"![latency distribution]({LATENCY_PLOT})"]

    if report.comparison is not None:
        c = report.comparison
        md += ["", "## Changes since the previous report", "",
               f"Compared with `{c.previous}` ({c.previous_timestamp or 'no timestamp'}), "
               f"hits judged at k = {c.k}.",
               "", f"- hit → miss: {', '.join(f'`{i}`' for i in c.hit_to_miss) or 'none'}",
               f"- miss → hit: {', '.join(f'`{i}`' for i in c.miss_to_hit) or 'none'}"]
        by_lang = [d for d in c.deltas if "[" in d.metric and d.change is not None]
        if by_lang:
            md += ["", "| metric | previous | current | change |", "|---|--:|--:|--:|"]
            md += [f"| {d.metric} | {_fmt(d.previous)} | {_fmt(d.current)} | {d.change:+.3f} |"
                   for d in by_lang]

    md += ["", "## Failures", ""] + _failures(report)
    return "\n".join(md) + "\n"


def _failures(report: EvalReport) -> list[str]:
    questions = {q.id: q for q in report.questions}
    misses = [rec for rec in report.retrieval.records if rec.hitk == 0]
    out = [f"### Retrieval misses ({len(misses)}): no relevant passage in the top {report.k}", ""]
    if not misses:
        out += ["None.", ""]
    for rec in misses[:_MAX_FAILURES]:
        q = questions[rec.id]
        out += [f"**{rec.id}** ({rec.lang}): {_md_cell(q.question)}", "", "- expected:"]
        out += [f"  - `{ev.doc}`: “{_md_cell(ev.quote)}”" for ev in q.evidence]
        out += ["- retrieved instead:"]
        out += [f"  {p['rank']}. `{p['source']}` [{p['start']}:{p['end']}] ({p.get('language', '?')}): "
                f"{_md_cell(p.get('snippet', ''))}" for p in rec.retrieved] or ["  nothing"]
        out.append("")
    if len(misses) > _MAX_FAILURES:
        out += [f"… and {len(misses) - _MAX_FAILURES} more: see `report.json`.", ""]
    if report.answers is not None and report.answers.available:
        wrong = [a for a in report.answers.records
                 if a.correct is False or a.refusal_ok is False or a.verdict == "unfaithful"]
        out += [f"### Answer failures ({len(wrong)})", ""]
        if not wrong:
            out += ["None.", ""]
        for a in wrong[:_MAX_FAILURES]:
            q = questions[a.id]
            if a.refusal_ok is False:
                what = "answered a question the articles do not answer"
            elif a.refused:
                what = "refused an answerable question"
            elif a.correct is False:
                what = "missing " + " / ".join(
                    "(" + " or ".join(g) + ")" for g in q.must_include) if q.must_include else "incorrect"
            else:
                what = "judged unfaithful"
            out += [f"**{a.id}** ({a.lang}): {_md_cell(q.question)} — {what}", "",
                    f"> {_md_cell(a.text)[:400]}", ""]
            if q.reference_answer:
                out += [f"Reference: {_md_cell(q.reference_answer)}", ""]
    return out


# -- plots -----------------------------------------------------------------------------------------


def _figure(width: float = 7.0, height: float = 3.6):  # noqa: ANN202 - matplotlib Figure
    # An explicit Agg canvas: no pyplot, no global backend state, works without a display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

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
            import numpy as np

            ax.hist(xs, bins=np.geomspace(lo, hi, n_bins + 1), color=f"C{i - 1}")
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


# -- writing ---------------------------------------------------------------------------------------


def write_report(report: EvalReport, out_dir: str | Path) -> dict[str, Path]:
    """Write report.json, report.md and the two PNG plots into ``out_dir``; return their paths."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot create the report folder ({exc})") from exc
    paths = {"json": out / "report.json", "markdown": out / "report.md",
             "hit_plot": out / HIT_PLOT, "latency_plot": out / LATENCY_PLOT}
    paths["json"].write_text(json.dumps(report_dict(report), ensure_ascii=False, indent=1), encoding="utf-8")
    plot_hits(report, paths["hit_plot"])
    plot_latency(report, paths["latency_plot"])
    paths["markdown"].write_text(render_markdown(report), encoding="utf-8")
    log.info("report written to %s", out)
    return paths
