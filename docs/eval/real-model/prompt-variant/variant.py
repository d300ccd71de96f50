# Diagnostic for docs/evaluation.md ("Answers with the real model"): run with PYTHONPATH at a checkout of
# branch t12 (595fa20; needs RAG.stream -> AnswerStream), RAG_* pointing at the real-model server and an ingested
# RAG_DATA_DIR: python variant.py eval/answer_set.jsonl > results.txt
"""Diagnostic: t12's evidence, one prompt variant that makes refusal less salient; refusals and must_include."""
import json, sys, time, urllib.request
from rag import RAG
from rag.prompts import SYSTEM_PROMPT, evidence_block, new_fence, language_name, refusal_sentence, is_refusal, quote
from rag.evaluation.metrics import normalise

SYS = SYSTEM_PROMPT.replace(
    "6. If the sentences do not contain the answer, reply only with the refusal sentence given after the question.",
    "6. The sentences usually contain the answer, often in another language than the question: translate it. "
    "Only if no sentence gives what the question asks, reply with the refusal sentence given after the question.")
assert SYS != SYSTEM_PROMPT

def messages(question, evidence, language, context):
    fence = new_fence()
    parts = [f"Sentences quoted from the articles, between the two {fence} lines:", evidence_block(evidence, fence)]
    if context:
        parts.append(f"Earlier in this conversation the user asked: {quote(context, fence)}")
    parts.append(f"Question: {quote(question, fence)}")
    parts.append(f"Answer in {language_name(language)}, with the sentence numbers. "
                 f"(Refusal sentence, only if no sentence answers: {refusal_sentence(language)})")
    return [{"role": "system", "content": SYS}, {"role": "user", "content": "\n".join(parts)}]

def chat(msgs):
    body = json.dumps({"model": "qwen2.5-coder-1.5b-instruct", "messages": msgs, "temperature": 0.1,
                       "max_tokens": 300}).encode()
    req = urllib.request.Request("http://127.0.0.1:8011/v1/chat/completions", body,
                                 {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=300))["choices"][0]["message"]["content"]

rag = RAG()
out = []
for line in open(sys.argv[1], encoding="utf-8"):
    q = json.loads(line)
    t0 = time.time()
    s = rag.stream(q["question"], history=q.get("history", []))
    ev = s.evidence
    s.cancel()
    ctx = next((t["content"] for t in reversed(q.get("history", [])) if t["role"] == "user"), "")
    if ev.unanswerable or not ev.citations:
        text, gate = refusal_sentence(ev.question_language), True
    else:
        text, gate = chat(messages(q["question"], ev.citations, ev.question_language, ctx)), False
    refused = gate or is_refusal(text)
    correct = (not refused) and all(any(normalise(a) in normalise(text) for a in g) for g in q.get("must_include", []))
    rec = dict(id=q["id"], lang=q["lang"], answerable=q["answerable"], gate=gate, refused=refused,
               correct=correct if q["answerable"] else None, secs=round(time.time() - t0, 1), text=text)
    out.append(rec)
    print(json.dumps(rec, ensure_ascii=False), flush=True)
A = [r for r in out if r["answerable"]]; U = [r for r in out if not r["answerable"]]
print(f"SUMMARY correctness {sum(r['correct'] for r in A)}/{len(A)} false_refusals {sum(r['refused'] for r in A)}/{len(A)} "
      f"refusal_accuracy {sum(r['refused'] for r in U)}/{len(U)} gate_refusals {sum(r['gate'] for r in out)}")
