"""Gates on a report: ``--min METRIC=VALUE`` floors, and ``--compare`` against an earlier report.json."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.evaluation.model import Comparison, Delta, EvalReport, lower_is_better, metric_names, retrieval_metric_names
from rag.evaluation.output import report_dict

# -- compare ---------------------------------------------------------------------------------------


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
        bad = [name for name, _ in floors if name not in retrieval_metric_names(k)]
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
            elif name in retrieval_metric_names(report.k):
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
