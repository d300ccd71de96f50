"""The report as data and as files: ``report.json`` (every number and per-question record), ``report.md``
and the two plots, written into one folder."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.evaluation.markdown import HIT_PLOT, LATENCY_PLOT, render_markdown
from rag.evaluation.model import Comparison, EvalReport
from rag.evaluation.plots import plot_hits, plot_latency

log = logging.getLogger(__name__)


def check_out_dir(out_dir: str | Path) -> Path:
    """Create the report folder now, so that a bad ``--out`` fails before a long run, not after it."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".rag-eval-write-check"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot write the report there ({exc}); give a writable folder") from exc
    return out


def write_report(report: EvalReport, out_dir: str | Path) -> dict[str, Path]:
    """Write report.json, report.md and the two PNG plots into ``out_dir``; return their paths."""
    out = check_out_dir(out_dir)
    paths = {"json": out / "report.json", "markdown": out / "report.md",
             "hit_plot": out / HIT_PLOT, "latency_plot": out / LATENCY_PLOT}
    paths["json"].write_text(json.dumps(report_dict(report), ensure_ascii=False, indent=1), encoding="utf-8")
    plot_hits(report, paths["hit_plot"])
    plot_latency(report, paths["latency_plot"])
    paths["markdown"].write_text(render_markdown(report), encoding="utf-8")
    log.info("report written to %s", out)
    return paths


def comparison_dict(c: Comparison) -> dict[str, Any]:
    d = asdict(c)
    d["deltas"] = [{**asdict(x), "improved": x.improved} for x in c.deltas]
    return d


def report_dict(report: EvalReport) -> dict[str, Any]:
    """The report as plain JSON-ready data (NaN becomes None)."""
    by_id_r = {r.id: asdict(r) for r in report.retrieval.records}
    by_id_a = {r.id: asdict(r) for r in (report.answers.records if report.answers else [])}
    records = []
    for q in report.questions:
        records.append({
            "id": q.id, "lang": q.lang, "question": q.question, "answerable": q.answerable,
            "history": list(q.history), "reference_answer": q.reference_answer,
            "must_include": [list(g) for g in q.must_include],
            "evidence": [{k: v for k, v in asdict(ev).items() if v is not None} for ev in q.evidence],
            "retrieval": _strip(by_id_r.get(q.id), ("id", "lang", "question")),
            "answer": _strip(by_id_a.get(q.id), ("id", "lang", "question", "answerable")),
        })
    r = report.retrieval
    answers = None
    if report.answers is not None:
        a = report.answers
        answers = {"available": a.available, "reason": a.reason, "judge": a.judge,
                   "overall": asdict(a.overall) if a.overall else None,
                   "by_question_language": {k: asdict(v) for k, v in a.by_question_language.items()}}
    data = {
        "format": 1,
        "timestamp": report.timestamp,
        "partial": report.partial,
        "notes": report.notes,
        "questions_files": report.questions_files,
        "k": report.k,
        "counts": {"questions": len(report.questions), "answerable": report.n_answerable,
                   "unanswerable": len(report.questions) - report.n_answerable,
                   "retrieval_scored": len(r.records),
                   "answers_scored": len(report.answers.records) if report.answers else 0},
        "metrics": report.metrics(),
        "retrieval": {"overall": asdict(r.overall),
                      "by_question_language": {k: asdict(v) for k, v in r.by_question_language.items()},
                      "by_evidence_language": {k: asdict(v) for k, v in r.by_evidence_language.items()}},
        "retrieval_with_translation": None if report.retrieval_with_translation is None else {
            "overall": asdict(report.retrieval_with_translation.overall),
            "by_question_language": {
                k: asdict(v) for k, v in report.retrieval_with_translation.by_question_language.items()
            },
        },
        "answers": answers,
        "embedder": report.embedder,
        "model": report.model,
        "corpus": asdict(report.corpus),
        "git_revision": report.git_revision,
        "seconds": round(report.seconds, 3),
        "settings": report.settings,
        "comparison": comparison_dict(report.comparison) if report.comparison is not None else None,
        "records": records,
    }
    return _json_safe(data)


def _strip(d: dict[str, Any] | None, keys: Sequence[str]) -> dict[str, Any] | None:
    return None if d is None else {k: v for k, v in d.items() if k not in keys}


def _json_safe(x: Any) -> Any:
    if isinstance(x, float):
        return None if x != x or x in (float("inf"), float("-inf")) else round(x, 6)
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x
