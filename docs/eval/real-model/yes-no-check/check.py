"""Experiment: P(yes) of a yes/no check, before (does the evidence answer?) and after (is the answer stated?)."""
import json, math, sys, time, urllib.request
from rag import RAG
from rag.prompts import answer_messages, is_refusal, new_fence
from rag.evaluation.metrics import normalise

URL = "http://127.0.0.1:8011/v1/chat/completions"
MODEL = "qwen2.5-coder-1.5b-instruct"

def call(msgs, max_tokens, logprobs=False):
    body = {"model": MODEL, "messages": msgs, "temperature": 0.1, "max_tokens": max_tokens}
    if logprobs:
        body.update(logprobs=True, top_logprobs=10, temperature=0.0)
    req = urllib.request.Request(URL, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=300))["choices"][0]

def p_yes(choice):
    tops = choice["logprobs"]["content"][0]["top_logprobs"]
    y = sum(math.exp(t["logprob"]) for t in tops if t["token"].strip().lower().startswith("yes"))
    n = sum(math.exp(t["logprob"]) for t in tops if t["token"].strip().lower().startswith("no"))
    return y / (y + n) if y + n else float("nan"), tops[0]["token"]

rag = RAG()
for line in open(sys.argv[1], encoding="utf-8"):
    q = json.loads(line)
    t0 = time.time()
    s = rag.stream(q["question"], history=q.get("history", []))
    ev = s.evidence
    s.cancel()
    ctx = next((t["content"] for t in reversed(q.get("history", [])) if t["role"] == "user"), "")
    if not ev.citations:
        print(json.dumps(dict(id=q["id"], gate=True)), flush=True); continue
    fence = new_fence()
    msgs = answer_messages(q["question"], ev.citations, ev.question_language, context=ctx, fence=fence, refusal=False)
    # A: before answering, same prefix up to the question, then a yes/no question.
    pre = [msgs[0], {"role": "user", "content": msgs[1]["content"].rsplit("\n", 1)[0]
                     + "\nDo the quoted sentences contain the answer to this question? Reply yes or no."}]
    t1 = time.time(); pa, ta = p_yes(call(pre, 1, True)); ta_s = time.time() - t1
    t1 = time.time(); text = call(msgs, 120)["message"]["content"]; ans_s = time.time() - t1
    post = [*msgs, {"role": "assistant", "content": text},
            {"role": "user", "content": "Is every fact in that answer stated in the quoted sentences? Reply yes or no."}]
    t1 = time.time(); pb, tb = p_yes(call(post, 1, True)); tb_s = time.time() - t1
    correct = all(any(normalise(a) in normalise(text) for a in g) for g in q.get("must_include", []))
    print(json.dumps(dict(id=q["id"], lang=q["lang"], answerable=q["answerable"], pa=round(pa, 4), ta=ta,
                          pb=round(pb, 4), tb=tb, correct=correct if q["answerable"] else None,
                          secs=[round(ta_s, 1), round(ans_s, 1), round(tb_s, 1)], text=text[:200]),
                     ensure_ascii=False), flush=True)
