"""Evidence recall (the question set's quote inside the evidence given to the model) for sentence-embedding variants:
base, prev (the sentence with the one before it), title (the article title, then the sentence)."""
import json, sys
import rag.evidence as E
import rag.answering as A
from rag import RAG
from rag.evaluation.metrics import normalise
qs = [json.loads(l) for f in sys.argv[2:] for l in open(f, encoding="utf-8")]
qs = [q for q in qs if q.get("answerable", True) and q.get("evidence")]
orig = E.score_sentences
def variant(kind):
    def score(question, question_language, passages, embed_query, embed_sentences):
        if kind == "base":
            return orig(question, question_language, passages, embed_query, embed_sentences)
        spans = [E.sentence_spans(p.text) for p in passages]
        ctx = {}
        for pi, sp in enumerate(spans):
            for si, (s, e) in enumerate(sp):
                t = passages[pi].text[s:e]
                if kind == "prev" and si > 0:
                    ctx[t] = passages[pi].text[sp[si-1][0]:e]
                elif kind == "title":
                    ctx[t] = f"{passages[pi].title}. {t}"
        def emb2(texts):
            return embed_sentences([ctx.get(t, t) for t in texts])
        return orig(question, question_language, passages, embed_query, emb2)
    return score
rag = RAG()
for kind in sys.argv[1].split(","):
    A.score_sentences = variant(kind)
    hits = 0
    for q in qs:
        s = rag.stream(q["question"], history=q.get("history", [])); ev = s.evidence; s.cancel()
        text = normalise(" ".join(c.sentence for c in ev.citations))
        hits += any(normalise(e["quote"]) in text for e in q["evidence"])
    print(f"{kind}: quote in evidence {hits}/{len(qs)}", flush=True)
