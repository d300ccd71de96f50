"""Follow-ups of the question sets, searched as an answer searches them and as `rag eval` does.

For every question with a `history` in eval/*.jsonl: the text an answer searches with (`Answerer.search`:
the message alone, or joined with the earlier question), whether the model is given the earlier question,
and the rank of the first passage holding an evidence quote, both through `RAG.retrieve(question,
history=...)` (the product's path) and through the evaluation's joined text (`retrieval_query`, what
`rag eval --retrieval-only` scores). Then hit@5 and MRR of both over the answerable follow-ups. No model.

    python benchmarks/follow_ups.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import RAG, Settings  # noqa: E402
from rag.evaluation import metrics  # noqa: E402
from rag.evaluation.questions import load_question_sets, retrieval_query  # noqa: E402

SETS = ["eval/questions.jsonl", "eval/questions_extra.jsonl", "eval/answer_set.jsonl"]
K = 5


def main() -> None:
    questions: dict = {}
    for name in SETS:  # the answer set repeats questions of the other two: one row per id
        for q in load_question_sets([ROOT / name]):
            if q.history:
                questions.setdefault(q.id, q)
    with tempfile.TemporaryDirectory() as data:
        rag = RAG(Settings(data_dir=Path(data), ollama_host="http://127.0.0.1:1"))
        rag.ingest(ROOT / "seeds")
        answerer = rag._answerer(None)
        opts = rag._options(K, None, None, False)
        product, joined = [], []
        for q in questions.values():
            history = [dict(t) for t in q.history]
            found = answerer.search(q.question, rag.detector.detect(q.question), opts, history)
            ranks = []
            for passages in (rag.retrieve(q.question, top_k=K, history=history), rag.retrieve(retrieval_query(q),
                                                                                           top_k=K)):
                relevance = [any(metrics.evidence_in_passage(ev, p.source, p.text, p.start, p.end) for ev in q.evidence)
                             for p in passages[:K]]
                ranks.append(relevance)
            if q.answerable:
                product.append(ranks[0])
                joined.append(ranks[1])
            searched = "joined" if found.query != q.question else "alone"
            shown = [metrics.first_relevant_rank(r) for r in ranks] if q.answerable else ["-", "-"]
            print(f"{q.id} {q.lang} {q.question!r}: searched {searched}, earlier question given: "
                  f"{bool(found.context)}, gate refuses: {found.unanswerable}, first relevant rank "
                  f"{shown[0]} (as `rag eval` joins it: {shown[1]})")
        for label, rows in (("product path (RAG.retrieve with history)", product),
                            ("rag eval's joined text", joined)):
            hit = sum(metrics.hit_at(r, K) for r in rows) / len(rows)
            mrr = sum(metrics.reciprocal_rank(r) for r in rows) / len(rows)
            print(f"{label}: {len(rows)} answerable follow-ups, hit@{K} {hit:.3f}, MRR {mrr:.3f}")


if __name__ == "__main__":
    main()
