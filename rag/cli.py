"""The ``rag`` command. Errors meant for users print one line and exit 1; no tracebacks."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

if TYPE_CHECKING:
    from rag.pipeline import RAG
    from rag.settings import Settings
    from rag.types import Answer

from rag.errors import ConfigError, RagError
from rag.evaluation.cli import register as register_eval


def _settings(args: argparse.Namespace) -> Settings:
    from rag.settings import Settings

    overrides = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    return Settings(**overrides)


def _rag(args: argparse.Namespace) -> RAG:
    from rag.pipeline import RAG

    return RAG(_settings(args))


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.pipeline import RAG

    # With --rebuild the index may have been built with another embedder, which RAG otherwise refuses
    # to open (and tells the user to run exactly this command): the ingest drops it first.
    rag = RAG(_settings(args), check_embedder=not args.rebuild)
    report = rag.ingest(args.path, rebuild=args.rebuild, progress=sys.stderr.isatty(),
                        allow_removals=args.allow_removals)
    print(report)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from rag.render import render_passage

    rag = _rag(args)
    _check_filters(rag, args.language, args.source or [])
    passages = rag.named(rag.retrieve(args.question, top_k=args.k, language=args.language,
                                      sources=args.source or None))
    if args.json:
        print(json.dumps([asdict(p) for p in passages], ensure_ascii=False, indent=2))
    else:
        for p in passages:
            print(render_passage(p))
    return 0


def _check_filters(rag, language: str | None, sources: list[str]) -> None:  # noqa: ANN001 - RAG
    """Say so when a filter names a language or a document the index does not hold (instead of nothing)."""
    if language:
        held = rag.stats().languages
        if language not in held:
            raise ConfigError(f"no document in the index is in language {language!r}; it holds "
                              f"{', '.join(sorted(held)) or 'nothing'} (ISO 639-1 codes)")
    if sources:
        docs = rag.documents()
        for s in sources:
            tail = "/" + s.strip("/")
            if not any(s in (d.source, d.doc_id) or d.path.endswith(tail) for d in docs):
                raise ConfigError(f"no indexed document matches --source {s!r}: give a file name or its path "
                                  f"relative to the ingested folder; `rag stats --documents` lists them")


def cmd_stats(args: argparse.Namespace) -> int:
    rag = _rag(args)
    stats = rag.stats()
    docs = rag.documents() if args.documents else []
    if args.json:
        data = asdict(stats)
        if args.documents:
            data["documents_list"] = [asdict(d) for d in docs]
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    langs = ", ".join(f"{k}: {v}" for k, v in sorted(stats.languages.items())) or "none"
    print(f"index {rag.settings.collection!r} in {rag.store.address}")
    print(f"documents: {stats.documents}")
    print(f"chunks: {stats.chunks}")
    print(f"languages (documents): {langs}")
    print(f"embedder: {stats.embedder}")
    recorded = rag.store.metadata().get("shape")
    wanted = rag.chunker.shape.describe()
    print(f"chunking: {recorded or 'not recorded (an index older than this version)'}")
    if recorded != wanted and stats.chunks:
        print(f"  the settings now ask for {wanted}: the next `rag ingest` re-chunks the files")
    for d in docs:
        print(f"{d.doc_id}  {d.language}  {d.chunks:>4} chunks  {d.origin:<6}  {d.path}")
    return 0


def _ask_options(args: argparse.Namespace) -> dict:
    return {
        "top_k": args.k,
        "language": args.language,
        "translate": args.translate,
        "model": args.model,
    }


def _stream_answer(
    rag: RAG, question: str, history: list[dict[str, str]], options: dict[str, Any], as_json: bool
) -> Answer:
    """Print the evidence as soon as it is found, then the answer as it streams, then its sources."""
    from rag.render import render_answer_text, render_evidence

    stream = rag.stream(question, history=history, **options)
    if as_json:
        answer = stream.answer
        print(json.dumps(asdict(answer), ensure_ascii=False, indent=2, default=str))
        return answer
    evidence = stream.evidence
    if evidence.citations:
        print(render_evidence(evidence), end="\n\n", flush=True)
    streamed = []
    try:
        for piece in stream:
            print(piece, end="", flush=True)
            streamed.append(piece)
    except KeyboardInterrupt:  # Ctrl-C stops the model, keeps what it said
        stream.cancel()
    answer = stream.answer
    print()
    if answer.text.strip() != "".join(streamed).strip():  # markers repaired, or rewritten in the right language
        print(f"\n{answer.text}")
    if answer.notice:
        print(f"({answer.notice})", file=sys.stderr)
    # Without a model the answer is the evidence itself, already printed with its spans.
    sources = render_answer_text(answer).split("\n\nSources:", 1)
    if len(sources) == 2 and answer.mode == "llm":
        print("\nSources:" + sources[1])
    return answer


def cmd_ask(args: argparse.Namespace) -> int:
    rag = _rag(args)
    _stream_answer(rag, args.question, [], _ask_options(args), args.json)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    import threading

    rag = _rag(args)
    health = rag.health()
    print(f"model: {health.message}. Empty line or Ctrl-D to quit.", file=sys.stderr)
    # The model reads the constant part of the prompt while the user types the first question.
    threading.Thread(target=rag.warm_up, args=(args.model,), daemon=True).start()
    history: list[dict[str, str]] = []
    while True:
        try:
            message = input("> ").strip()
        except EOFError:
            return 0
        if not message:
            return 0
        try:
            answer = _stream_answer(rag, message, history, _ask_options(args), False)
        except RagError as exc:
            print(f"error: {exc}", file=sys.stderr)
            continue
        history += [{"role": "user", "content": message}, {"role": "assistant", "content": answer.text}]


def cmd_ui(args: argparse.Namespace) -> int:
    from rag.web import main as web_main

    web_main(_settings(args))
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.json:
        print(json.dumps({k: v for k, v, _ in settings.describe()}, ensure_ascii=False, indent=2))
        return 0
    rows = settings.describe()
    width = max(len(k) for k, _, _ in rows)
    for name, value, description in rows:
        print(f"RAG_{name.upper():<{width}}  {value}")
        print(f"  {'':<{width}}  {description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Question answering over a multilingual news corpus."
    )
    parser.add_argument("--data-dir", type=Path, help="data folder (default: $RAG_DATA_DIR or ./data)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index a folder or file of articles: .txt, .md, .html, .pdf (incremental)")
    p.add_argument("path", nargs="?", type=Path, help="folder or file (default: $RAG_DOCS_DIR or ./seeds)")
    p.add_argument("--rebuild", action="store_true", help="drop the index and build it from scratch")
    p.add_argument("--allow-removals", action="store_true",
                   help="let this run remove every document under the folder, or most of them, "
                   "when their files are gone")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", help="show the passages retrieved for a question")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=None, help="number of passages (default: $RAG_TOP_K or 5)")
    p.add_argument("--language", help="only passages in this language (ISO 639-1, e.g. el)")
    p.add_argument("--source", action="append", help="only passages of this file name (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_search)

    for name, helptext in (("ask", "answer a question, streamed, with its sources"),
                           ("chat", "a conversation in the terminal (follow-ups use the history)")):
        p = sub.add_parser(name, help=helptext)
        if name == "ask":
            p.add_argument("question")
            p.add_argument("--json", action="store_true", help="print the Answer as JSON")
        p.add_argument("-k", type=int, default=None, help="number of passages (default: $RAG_TOP_K or 5)")
        p.add_argument("--language", help="only passages in this language (ISO 639-1)")
        p.add_argument("--model", help="model for this run (default: $RAG_LLM_MODEL)")
        p.add_argument("--translate", action=argparse.BooleanOptionalAction, default=None,
                       help="also search with the question translated by the model (default: $RAG_TRANSLATE, off)")
        p.set_defaults(func=cmd_ask if name == "ask" else cmd_chat)

    p = sub.add_parser("stats", help="what the index holds: documents, chunks, languages, embedder, chunking")
    p.add_argument("--documents", action="store_true", help="list every document (id, language, chunks, path)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("ui", help="open the chat page")
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("config", help="print the effective settings")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_config)

    register_eval(sub)  # `rag eval` lives with the evaluation package
    return parser


# Control characters (C0 but tab and newline, DEL, C1): an article's text must never move the cursor,
# recolour or retitle the user's terminal, nor hide what is printed after it.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """``text`` without control characters: an escape sequence is left as harmless visible text."""
    return _CONTROL.sub("", text)


class _SafeStream:
    """Wraps stdout so that everything the commands print goes through ``terminal_safe``."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(terminal_safe(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding, ...
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    stdout = sys.stdout
    sys.stdout = _SafeStream(stdout)
    try:
        code = _main(argv)
        stdout.flush()  # here, not at exit: a reader gone by now is handled below
        return code
    except BrokenPipeError:
        # The reader went away (`rag search ... | head -1`): no traceback, and none at exit either.
        with_devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(with_devnull, stdout.fileno())
        except (OSError, ValueError):  # not a real file (tests)
            pass
        return 141  # as if ended by SIGPIPE, like other commands in a pipe
    finally:
        sys.stdout = stdout


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not args.verbose:  # chatty libraries
        for name in ("httpx", "chromadb", "bm25s"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return args.func(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        problems = "; ".join(
            (f"RAG_{'.'.join(map(str, e['loc'])).upper()}: " if e["loc"] else "") + e["msg"] for e in exc.errors()
        )
        print(f"error: invalid settings: {problems}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
