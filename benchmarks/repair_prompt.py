"""The prompt sizes of an answer and of its language repair (tokens = UTF-8 bytes / 4), default settings.

The in-process fake model of the tests (`tests/fake_llm.py`) answers every question in English, so each
Greek, Italian and Turkish question is answered, found in the wrong language and asked again: once with a
typical reply (88 characters), once with a long one (2,409). Prints both prompts' sizes per question.

    python benchmarks/repair_prompt.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fake_llm import FakeLLM  # noqa: E402

from rag import RAG, Settings  # noqa: E402
from rag.evidence import prompt_tokens  # noqa: E402

QUESTIONS = {
    "el": "Πότε συναντήθηκε ο Λαβρόφ με τον Κιμ Γιονγκ Ουν;",
    "it": "Quando ha incontrato Lavrov Kim Jong Un?",
    "tr": "Lavrov Kim Jong Un ile ne zaman görüştü?",
    # the longest Greek question of the news sets
    "el, long": "Πότε επιβεβαίωσαν επίσημα οι δύο χώρες για πρώτη φορά την ανάπτυξη βορειοκορεατικών στρατευμάτων "
                "στη Ρωσία;",
}
SHORT = "Lavrov met Kim Jong Un in the coastal city of Wonsan in North Korea during his visit [1]."
LONG = SHORT + " " + " ".join(["He also spoke about Russia and North Korea at length [2]."] * 40)


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(data_dir=Path(data), ollama_host="http://127.0.0.1:1", llm_model="fake")
        RAG(settings).ingest(ROOT / "seeds")
        for label, reply in ((f"typical reply ({len(SHORT)} chars)", SHORT), (f"long reply ({len(LONG)} chars)", LONG)):
            for language, question in QUESTIONS.items():
                llm = FakeLLM(model="fake", default=reply)
                RAG(settings, llm=llm).ask(question)
                answer, *repair = [sum(prompt_tokens(m["content"]) for m in r) for r in llm.requests]
                print(f"{label:26s} {language:9s} answer prompt {answer}, repair prompt {repair[0] if repair else '-'}")


if __name__ == "__main__":
    main()
