"""Answer latency in llm mode against a fake Ollama that simulates a CPU-bound model.

The fake (tests/fake_ollama.py, ``CpuModel``) reads 50 prompt tokens/s for the part of a prompt not
shared with the previous request, generates 12 tokens/s and serves one request at a time (tokens =
UTF-8 bytes / 4). The seeds are ingested into a temporary folder; each question is asked once, in
order, so the prefix cache sees what a user's session would. Prints, per question: wall time, time to
the evidence (``AnswerStream.evidence``), time to the first answer token, and the largest prompt.

    python benchmarks/answer_latency.py [--translate | --no-translate] [--warm] [--questions N]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fake_ollama import CpuModel, FakeOllama  # noqa: E402

from rag import RAG, Settings  # noqa: E402

MODEL = "qwen2.5-coder:1.5b"
QUESTIONS = [
    "When did Lavrov meet Kim?",
    "Πού συναντήθηκε ο Λαβρόφ με τον Κιμ Γιονγκ Ουν;",
    "Quanto sono durati i colloqui tra Lavrov e Choe Son Hui?",
    "Rusya ile Kuzey Kore arasındaki ilişkiler hakkında Lavrov ne dedi?",
    "What did Shoigu discuss in Pyongyang?",
    "What is the capital of Australia?",
]
# About 40 tokens each: a short cited answer, as a 1.5B model gives one, in the language asked for.
ANSWERS = {
    "English": "Lavrov met Kim Jong Un on Saturday 12 July in the coastal city of Wonsan [1], "
               "during a visit to North Korea [2].",
    "Greek": "Ο Λαβρόφ συναντήθηκε με τον Κιμ Γιονγκ Ουν στην παραθαλάσσια πόλη Γουονσάν [1], "
             "κατά την επίσκεψή του στη Βόρεια Κορέα [2].",
    "Italian": "Lavrov ha incontrato Kim Jong Un sabato 12 luglio nella città costiera di Wonsan [1], "
               "durante una visita in Corea del Nord [2].",
    "Turkish": "Lavrov, Kuzey Kore ziyareti sırasında Kim Jong Un ile 12 Temmuz Cumartesi günü "
               "kıyı kenti Wonsan'da görüştü [1][2].",
}


def reply(request: dict) -> str:
    prompt = FakeOllama.prompt_of(request)
    if "Translate this question" in prompt:  # the old translation call: echo the question per language
        question = prompt.rsplit("Question:", 1)[-1].strip()
        return "{" + ", ".join(f'"{c}": "{question}"' for c in ("el", "it", "tr", "en")) + "}"
    if "Standalone question" in prompt:
        return prompt.rsplit("Last message:", 1)[-1].split("\n")[0].strip()
    asked = re.findall(r"Answer in (\w+)", prompt)  # the last one: the system prompt may say "Answer in the"
    return ANSWERS.get(asked[-1] if asked else "English", ANSWERS["English"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--translate", action=argparse.BooleanOptionalAction, default=None,
                        help="search with the question's translations too (default: the setting)")
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--warm", action="store_true", help="call rag.warm_up() first, as `rag chat` does at start")
    args = parser.parse_args()
    cpu = CpuModel()
    with tempfile.TemporaryDirectory() as data, FakeOllama(models={MODEL: 32768}, default=reply, cpu=cpu) as fake:
        extra = {} if args.translate is None else {"translate": args.translate}
        rag = RAG(Settings(data_dir=Path(data), ollama_host=fake.url, llm_model=MODEL, **extra))
        rag.ingest(ROOT / "seeds")
        rag.retrieve("warm up the embedder and BM25")
        if args.warm and hasattr(rag, "warm_up"):
            rag.warm_up()
        print(f"{'question':<40} {'wall s':>7} {'evidence s':>10} {'1st token s':>11} {'max prompt tok':>14} "
              f"{'read tok':>8} {'calls':>5}")
        for question in QUESTIONS[: args.questions]:
            before = len(cpu.log)
            started = time.perf_counter()
            evidence_s = first_s = None
            stream = rag.stream(question)
            if hasattr(stream, "evidence"):  # the AnswerStream: evidence before the first token
                stream.evidence  # noqa: B018 - the property waits for retrieval
                evidence_s = time.perf_counter() - started
            for item in stream:
                if isinstance(item, str) and item and first_s is None:
                    first_s = time.perf_counter() - started
            wall = time.perf_counter() - started
            calls = cpu.log[before:]
            largest = max((total for total, _, _ in calls), default=0)
            read = sum(total - cached for total, cached, _ in calls)
            fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
            print(f"{question[:40]:<40} {wall:>7.2f} {fmt(evidence_s):>10} {fmt(first_s):>11} {largest:>14} "
                  f"{read:>8} {len(calls):>5}")


if __name__ == "__main__":
    main()
