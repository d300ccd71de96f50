import json, sys
from rag import RAG
from rag.citations import split_claims, unsupported_numbers
rag = RAG()
rep = json.load(open(sys.argv[1]))
qs = {json.loads(l)["id"]: json.loads(l) for l in open("eval/answer_set.jsonl", encoding="utf-8")}
flag = {"correct": [0, 0], "wrong": [0, 0], "unanswerable": [0, 0]}
for r in rep["records"]:
    a = r["answer"]
    if a["refused"]:
        continue
    q = qs[r["id"]]
    s = rag.stream(q["question"], history=q.get("history", [])); ev = s.evidence; s.cancel()
    given = [q["question"], *(c.sentence for c in ev.citations)]
    bad = [c.text for c in split_claims(a["text"]) if unsupported_numbers(c.text, given)]
    kind = "unanswerable" if not r["answerable"] else ("correct" if a["correct"] else "wrong")
    flag[kind][0] += bool(bad); flag[kind][1] += 1
    print(r["id"], kind, "FLAGGED" if bad else "-", bad[:2], flush=True)
print("flagged / answers:", flag)
