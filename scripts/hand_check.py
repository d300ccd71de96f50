"""A hand-run, end-to-end check of the chat page used the way a person uses it (not a test: read what it prints).

    python scripts/hand_check.py [--keep]

What it does, with timestamps:

1. a temporary folder: the seeds copied to ``docs/``, indexed by ``rag ingest`` into ``data/``;
2. the tests' fake Ollama in its slow CPU-like mode (``CpuModel``: 50 prompt tokens/s, 12 tokens/s, one
   request at a time), answering with the evidence sentences that share most words with the question;
3. ``python ui.py`` in its own process, configured by RAG_* variables only;
4. two tabs in Debian's chromium: tab 1 asks and streams a slow answer; meanwhile one seed is changed and a new
   article added in ``docs/``, and ``rag ingest`` runs in a separate process; tab 2 asks during the ingest and
   after it (about the new article); tab 1 presses Stop, New chat and asks again; the articles view must list
   the new article.

Every step prints what the page showed and how long it took; ``--keep`` leaves the folder (and the page's log).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from fake_ollama import CpuModel, FakeOllama, grounded_reply  # noqa: E402
from helpers import CHROMIUM, CHROMIUM_ARGS, FINISHED_ANSWER, free_port  # noqa: E402

NEW_ARTICLE = """The Orlen valley bridge opens to traffic

The new Orlen valley bridge opened to traffic on 4 April 2025, the regional council said.
The bridge, 640 metres long, was built in three years by the firm Kestrel Works.
"""
NEW_QUESTION = "When did the Orlen valley bridge open to traffic?"
CHANGED_LINE = "\nThe talks in Wonsan were followed by a dinner offered by the Korean side at the Kalma hotel.\n"
CHANGED_QUESTION = "At which hotel did the Korean side offer a dinner after the talks in Wonsan?"

T0 = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f} s] {text}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    root = Path(tempfile.mkdtemp(prefix="rag-hand-check-"))
    docs = root / "docs"
    shutil.copytree(REPO / "seeds", docs)
    cpu = CpuModel()
    fake = FakeOllama(models={"qwen2.5:3b": 32768}, default=grounded_reply, cpu=cpu).start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") and k != "OLLAMA_HOST"}
    env.update(RAG_DATA_DIR=str(root / "data"), RAG_DOCS_DIR=str(docs), RAG_OLLAMA_HOST=fake.url,
               RAG_LLM_MODEL="qwen2.5:3b", RAG_PORT=str(port), PYTHONUNBUFFERED="1")
    rag_cli = [sys.executable, "-m", "rag.cli"] if not shutil.which("rag") else [shutil.which("rag") or "rag"]
    say(f"folder {root}; fake Ollama (CPU-like) at {fake.url}")
    t = time.monotonic()
    out = subprocess.run([*rag_cli, "ingest", str(docs)], env=env, cwd=root, capture_output=True, text=True)
    say(f"rag ingest of the seeds: exit {out.returncode} in {time.monotonic() - t:.1f} s: "
        f"{' '.join(out.stdout.split())[:200]}")
    log = (root / "page.log").open("w")
    server = subprocess.Popen([sys.executable, str(REPO / "ui.py")], env=env, cwd=root, stdout=log,
                              stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            deadline = time.monotonic() + 120
            tabs = []
            for _ in range(2):
                page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
                while True:
                    try:
                        page.goto(url)
                        break
                    except Exception as exc:
                        if time.monotonic() > deadline or server.poll() is not None:
                            tail = (root / "page.log").read_text()[-2000:]
                            raise SystemExit(f"the page did not come up: {tail}") from exc
                        time.sleep(0.5)
                expect(page.locator("#rag-question textarea")).to_be_editable(timeout=60_000)
                tabs.append(page)
            one, two = tabs
            say("page up in two tabs; status: " + " ".join(one.locator("#rag-status").inner_text().split())[:160])

            def ask(page, question: str) -> float:  # noqa: ANN001
                box = page.locator("#rag-question textarea")
                box.fill(question)
                box.press("Enter")
                return time.monotonic()

            shown: dict[str, str] = {}
            changes: list[tuple[float, str, str]] = []  # (when, tab, what it shows from then on)

            def state(page) -> str:  # noqa: ANN001
                """What the tab's last answer shows: queued, searching, sources only, writing, stopped, done."""
                last = page.locator("#rag-chat .rag-answer").last
                if not page.locator("#rag-chat .rag-answer").count():
                    return "empty"
                html = last.evaluate("e => e.outerHTML")
                if "rag-answer-stopped" in html:
                    return "stopped"
                if "rag-pending" in html:
                    return " ".join(last.inner_text().split())[:40]
                if "rag-cursor" in html:
                    written = last.locator(".rag-text").inner_text().strip()
                    return "writing" if written else "sources shown, model silent"
                return "finished"

            def watch(until, timeout: float = 600) -> None:  # noqa: ANN001
                """Poll both tabs every 0.5 s until ``until()``; print each change of what they show."""
                deadline = time.monotonic() + timeout
                while True:
                    for label, page in (("tab 1", one), ("tab 2", two)):
                        now = state(page)
                        if shown.get(label) != now:
                            shown[label] = now
                            changes.append((time.monotonic(), label, now))
                            say(f"  {label} shows: {now}")
                    if until() or time.monotonic() > deadline:
                        return
                    time.sleep(0.5)

            def finished(page, n: int, since: float, label: str, timeout: float = 600) -> str:  # noqa: ANN001
                watch(lambda: page.locator(FINISHED_ANSWER).count() >= n, timeout)
                expect(page.locator(FINISHED_ANSWER)).to_have_count(n, timeout=timeout * 1000)
                tab = "tab 1" if page is one else "tab 2"
                done = next((t for t, who, what in changes if who == tab and what == "finished" and t > since),
                            time.monotonic())
                answer = page.locator(FINISHED_ANSWER).last
                text = " ".join(answer.locator(".rag-text").inner_text().split())
                footer = " ".join(answer.locator(".rag-footer").inner_text().split()) \
                    if answer.locator(".rag-footer").count() else "(no footer)"
                sources = " ".join((answer.locator(".rag-sources").text_content() or "").split()) \
                    if answer.locator(".rag-sources").count() else ""
                say(f"{label}: finished {done - since:.1f} s after it was asked: {text[:160]!r} | {footer[:140]}")
                return sources

            # 1. tab 1 asks; the CPU-like model takes a while
            asked1 = ask(one, "When did Lavrov meet Kim Jong Un?")
            watch(lambda: one.locator("#rag-chat .rag-evidence .rag-source").count() > 0, 120)
            say(f"tab 1: sources shown after {time.monotonic() - asked1:.1f} s, the model is reading the prompt")

            # 2. change a seed and add an article; `rag ingest` in its own process, while tab 1 streams
            changed = sorted(docs.glob("002_*.txt"))[0]
            changed.write_text(changed.read_text(encoding="utf-8") + CHANGED_LINE, encoding="utf-8")
            (docs / "orlen-bridge.txt").write_text(NEW_ARTICLE, encoding="utf-8")
            ingest_started = time.monotonic()
            ingest = subprocess.Popen([*rag_cli, "ingest", str(docs)], env=env, cwd=root, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
            say(f"rag ingest started (pid {ingest.pid}): {changed.name} changed, orlen-bridge.txt added")

            # 3. tab 2 asks during the ingest
            asked2 = ask(two, "Where did Lavrov meet Kim Jong Un?")
            watch(lambda: ingest.poll() is not None)
            ingest_out, _ = ingest.communicate(timeout=600)
            say(f"rag ingest: exit {ingest.returncode} after {time.monotonic() - ingest_started:.1f} s: "
                f"{' '.join(ingest_out.split())[:300]}")

            # 4. tab 1: Stop, New chat, ask again
            say(f"tab 1 shows: {state(one)}; Stop pressed")
            one.locator("#rag-stop").click()
            pressed = time.monotonic()
            try:
                expect(one.locator("#rag-chat .rag-answer-stopped")).to_have_count(1, timeout=10_000)
                expect(one.locator("#rag-question textarea")).to_be_editable(timeout=10_000)
                say(f"tab 1: marked Stopped, question box editable, {time.monotonic() - pressed:.1f} s after Stop")
            except AssertionError:
                say(f"tab 1: NOT marked Stopped within 10 s; it shows: {state(one)}")
            one.locator("#rag-new-chat").click()
            expect(one.locator("#rag-chat .rag-answer")).to_have_count(0, timeout=10_000)
            asked1b = ask(one, "Quanto sono durati i colloqui tra Lavrov e Choe Son Hui?")
            say("tab 1: New chat, then asked again")

            # 5. tab 2's answer (it asked during the ingest), then its question about the new article
            finished(two, 1, asked2, "tab 2, asked during the ingest")
            asked2b = ask(two, NEW_QUESTION)
            sources = finished(two, 2, asked2b, "tab 2, about the new article after the ingest")
            say(f"tab 2: the new article is among the answer's sources: {'orlen-bridge.txt' in sources}")
            asked2c = ask(two, CHANGED_QUESTION)
            sources = finished(two, 3, asked2c, "tab 2, about the changed seed after the ingest")
            say(f"tab 2: the changed seed's new sentence is among the answer's sources: {'Kalma' in sources}")
            finished(one, 1, asked1b, "tab 1, after Stop and New chat")

            # 6. the articles view lists the new article
            two.get_by_role("tab", name="Articles").click()
            table = two.locator("#rag-articles table")
            try:
                expect(table).to_contain_text("The Orlen valley bridge opens to traffic", timeout=30_000)
                say("articles view: the new article is listed: "
                    + " ".join(table.locator("tr", has_text="Orlen").first.inner_text().split()))
            except AssertionError:
                say("articles view: the new article is NOT listed: " + " ".join(table.inner_text().split())[:400])
            rows = table.locator("tr").count() - 1
            say(f"articles view: {rows} articles; status: " + " ".join(two.locator("#rag-status").inner_text().split()))
            say(f"model requests: {len(fake.bodies('/api/chat'))}; (prompt tokens, cached, reply tokens): {cpu.log}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        fake.stop()
        errors = [line for line in (root / "page.log").read_text().splitlines()
                  if re.search(r"ERROR|Traceback|WARNING", line)]
        say(f"page log: {len(errors)} warning/error lines" + "".join(f"\n    {e}" for e in errors[:20]))
        if args.keep:
            say(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
