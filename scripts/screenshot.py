"""Regenerate docs/img/chat.png and docs/img/chat-dark.png: the chat page answering a question, sources open,
in the light and the dark theme.

    python scripts/screenshot.py                # the seeds in a temporary index, the tests' fake Ollama
    python scripts/screenshot.py --real-ollama  # the Ollama of the settings (retrieval-only when it is down)

The page is served in-process and photographed by Debian's chromium through playwright. With the fake
Ollama (the default, and what the committed image shows) the answer text is a fixed English sentence
citing the passages that mention Wonsan; the citations, the highlighted sentences and the rest of the
page are the product's own. Say which mode was used in the image's caption.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from fake_ollama import EVIDENCE_LINE, FakeOllama  # noqa: E402 - the tests' protocol-faithful fake Ollama server
from helpers import CHROMIUM, CHROMIUM_ARGS, FINISHED_ANSWER  # noqa: E402

QUESTION = "When did Lavrov meet Kim?"


def demo_reply(request: dict) -> str | list[str]:
    """What the fake model says: translations as JSON; the answer cites the evidence sentences naming Wonsan."""
    prompt = FakeOllama.prompt_of(request)
    if "Translate this question" in prompt:
        codes = re.findall(r'"([a-z]{2})" \(', prompt)
        return [json.dumps({c: prompt.rsplit("Question:", 1)[1].strip() for c in codes})]
    evidence = EVIDENCE_LINE.findall(FakeOllama.last_user_message(request))
    cited = [n for n, sentence in evidence if re.search(r"Wonsan|Γουονσάν|Ουόνσαν", sentence)][:2] or ["1"]
    markers = "".join(f"[{n}]" for n in cited)
    return (f"Sergey Lavrov met Kim Jong Un in Wonsan, on North Korea's east coast, during a visit that "
            f"Russia's foreign ministry announced on Saturday {markers}.")


def photograph(url: str, question: str, out: Path, theme: str = "light") -> None:
    """Ask ``question`` on the page at ``url`` in ``theme``; save the page with the answer's sources open."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1050}, device_scale_factor=1,
                                color_scheme="dark" if theme == "dark" else "light")
        page.goto(f"{url}?__theme={theme}")
        expect(page.locator("#rag-status")).to_contain_text("Index", timeout=30_000)
        time.sleep(1.5)  # let the first status refresh land
        box = page.locator("#rag-question textarea")
        box.fill(question)
        box.press("Enter")
        answer = page.locator(FINISHED_ANSWER)
        expect(answer).to_have_count(1, timeout=180_000)
        # Open the sources and bring the question to the top of the chat.
        page.locator("#rag-chat details.rag-sources").evaluate_all("ds => ds.forEach(d => d.open = true)")
        page.locator("#rag-chat .message-row").first.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.evaluate("window.scrollTo(0, 0)")
        time.sleep(0.5)
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))
        browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "chat.png")
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--real-ollama", action="store_true", help="use the configured Ollama, not the fake")
    args = parser.parse_args(argv)

    from rag import RAG, Settings
    from rag.web import build_app

    with tempfile.TemporaryDirectory() as tmp:
        fake = None
        overrides: dict = {"data_dir": Path(tmp) / "data", "docs_dir": REPO / "seeds"}
        if not args.real_ollama:
            fake = FakeOllama(models={"gemma3:4b": 32768}, default=demo_reply, chunk_delay=0.02).start()
            overrides["ollama_host"] = fake.url
        rag = RAG(Settings(**overrides))
        print(rag.ingest(), file=sys.stderr)
        app = build_app(rag)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        app.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
        try:
            photograph(f"http://127.0.0.1:{port}/", args.question, args.out)
            dark = args.out.with_name(f"{args.out.stem}-dark{args.out.suffix}")
            photograph(f"http://127.0.0.1:{port}/", args.question, dark, theme="dark")
        finally:
            app.close()
            if fake is not None:
                fake.stop()
    print(f"wrote {args.out} and its -dark twin", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
