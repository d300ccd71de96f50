"""Calibrate the no-answer gate: the best question-sentence similarity of every question in eval/*.jsonl.

Prints, per question set, the similarity of the best evidence sentence for answerable and unanswerable
questions, and for each candidate threshold the false refusals (answerable questions the gate would
refuse) and the unanswerable questions it catches. Follow-ups are searched as answers search them
(with their history). No model is needed.

    python benchmarks/no_answer_calibration.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import RAG, Settings  # noqa: E402

SETS = ["eval/questions.jsonl", "eval/questions_extra.jsonl"]
THRESHOLDS = [0.80, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87]


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        # No model (port 1): the gate must work in retrieval-only mode; the threshold 0 turns it off here.
        rag = RAG(Settings(data_dir=Path(data), ollama_host="http://127.0.0.1:1", no_answer_threshold=0.0))
        rag.ingest(ROOT / "seeds")
        rows = []
        for name in SETS:
            for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
                q = json.loads(line)
                answerer = rag._answerer(None)
                opts = rag._options(None, None, None, False)
                found = answerer.search(q["question"], rag.detector.detect(q["question"]), opts, q.get("history", []))
                rows.append((name, q["id"], q["answerable"], found.scores.best_similarity, q["question"]))
        for answerable in (True, False):
            sims = sorted(r[3] for r in rows if r[2] == answerable)
            label = "answerable" if answerable else "unanswerable"
            print(f"{label:>12}: n={len(sims)} min={sims[0]:.3f} median={sims[len(sims) // 2]:.3f} max={sims[-1]:.3f}")
        print(f"{'threshold':>9} {'false refusals':>15} {'unanswerable caught':>20}")
        n_ans = sum(r[2] for r in rows)
        n_un = len(rows) - n_ans
        for t in THRESHOLDS:
            false = sum(1 for r in rows if r[2] and r[3] < t)
            caught = sum(1 for r in rows if not r[2] and r[3] < t)
            print(f"{t:>9.2f} {false:>7}/{n_ans:<7} {caught:>12}/{n_un:<7}")
        print("\nlowest answerable and all unanswerable:")
        for r in sorted(rows, key=lambda r: r[3]):
            if not r[2] or r[3] < 0.86:
                print(f"  {r[3]:.3f} {'A' if r[2] else 'U'} {r[1]} {r[4][:70]}")
        for q in ("What is the capital of Australia?", "Who won the 2022 FIFA World Cup?"):
            found = rag._answerer(None).search(q, "en", rag._options(None, None, None, False))
            print(f"  {found.scores.best_similarity:.3f} U (probe) {q}")


if __name__ == "__main__":
    main()
