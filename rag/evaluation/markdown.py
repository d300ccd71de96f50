"""Reports as text: the terminal summary, the comparison lines, and ``report.md`` (reads on GitHub)."""

from __future__ import annotations

import math

from rag.evaluation.model import Comparison, EvalReport, retrieval_metric_names
from rag.evaluation.retrieval import RetrievalSummary

HIT_PLOT = "hit_by_language.png"
LATENCY_PLOT = "latency.png"
_MAX_FAILURES = 60  # failures listed in report.md; report.json has them all


def render_comparison(c: Comparison) -> str:
    """Plain-text lines for the terminal."""
    lines = [f"compared with {c.previous} ({c.previous_timestamp or 'no timestamp'}):"]
    for d in c.deltas:
        if d.change is None:
            continue
        mark = {True: "better", False: "worse", None: "same"}[d.improved]
        if d.metric.endswith(("_ms_p50", "_ms_p95")):
            before, after, change = _fmt(d.previous, True), _fmt(d.current, True), f"{d.change:+.0f} ms"
        else:
            before, after, change = _fmt(d.previous), _fmt(d.current), f"{d.change:+.3f}"
        lines.append(f"  {d.metric:<28} {before:>8} -> {after:>8}  ({change}, {mark})")
    lines.append(f"  hit@{c.k} -> miss: {', '.join(c.hit_to_miss) or 'none'}")
    lines.append(f"  miss -> hit@{c.k}: {', '.join(c.miss_to_hit) or 'none'}")
    return "\n".join(lines)


def _fmt(x: float | None, ms: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.0f} ms" if ms else f"{x:.3f}"


def _summary_rows(report: EvalReport) -> list[tuple[str, str]]:
    rows = []
    for name, value in report.metrics().items():
        is_ms = name.endswith(("_ms_p50", "_ms_p95"))
        if name not in retrieval_metric_names(report.k) and not name.startswith("retrieve_") and (
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

    answers = report.answers.overall if report.answers is not None and report.answers.available else None
    if report.answers is not None and answers is not None:
        md += ["", "## Answers by question language", "",
               "| language | n | correct | refusal accuracy | false refusals | citation precision | "
               "citation recall | language match | faithful | first token p50 | total p50 |",
               "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
        for lang, s in [("all", answers), *report.answers.by_question_language.items()]:
            cells = [lang, str(s.n), _fmt(s.correctness), _fmt(s.refusal_accuracy),
                     _fmt(s.false_refusal_rate), _fmt(s.citation_precision), _fmt(s.citation_recall),
                     _fmt(s.language_match), _fmt(s.faithfulness), _fmt(s.first_token_ms_p50, True),
                     _fmt(s.total_ms_p50, True)]
            md.append("| " + " | ".join(cells) + " |")
        md += ["", "Citation precision: share of cited passages that hold an evidence quote. "
               "Citation recall: share of the relevant passages given to the model that it cited.",
               "", f"The product's own checks flagged, refusals aside: {answers.wrong_language} answers in the wrong "
               f"language, {answers.with_unknown_citations} citing a sentence they were not given, "
               f"{answers.with_unsupported_claims} with a claim no given sentence supports. "
               f"{answers.language_repairs} first replies were in another language and asked again "
               "(a second model call)."]

    md += ["", "## Latency", "", "| stage | p50 | p95 |", "|---|--:|--:|",
           f"| retrieval | {_fmt(r.overall.retrieve_ms_p50, True)} | "
           f"{_fmt(r.overall.retrieve_ms_p95, True)} |"]
    if answers is not None:
        a = answers
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
                f"{_md_cell(str(p.get('snippet', '')))}" for p in rec.retrieved] or ["  nothing"]
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
