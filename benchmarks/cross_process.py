"""What a long-lived reader pays when another process writes to the index (docs/reliability.md).

    python benchmarks/cross_process.py --chunks 10000

Builds (or reuses, under --workdir) an embedded index of the benchmark corpus with the precomputed stand-in
embedder, opens a reader, and measures:
- question latency while nothing changes (p50/p95 of --queries questions);
- the first question after another writer changed one file: it loads the BM25 the writer saved and starts
  opening a fresh embedded Chroma client in the background (what the consistency design costs a question);
- how long until the reader uses the fresh client (the writer's changes are then visible to dense search);
- the questions asked meanwhile and after (p50/p95);
- for a reader that asks without a pause (the page during a chat), how long after the write ended it uses a
  fresh client and BM25 at the new version (the write is then seen by dense search and BM25): the up-to-a-second
  look at the version plus the reopen. The tests check that the reader gets there, not how soon.
The writer is a second ``RAG`` object: its store versions are foreign to the reader, exactly as another
process's would be. Prints the numbers; writes nothing outside --workdir.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import corpus  # noqa: E402
from bench import precomputed_embedder  # noqa: E402

from rag.pipeline import RAG  # noqa: E402
from rag.settings import Settings  # noqa: E402


def timed(fn, *args, **kwargs) -> float:  # noqa: ANN001
    started = time.perf_counter()
    fn(*args, **kwargs)
    return (time.perf_counter() - started) * 1000


def percentiles(ms: list[float]) -> str:
    ms = sorted(ms)
    return (f"p50 {statistics.median(ms):.1f} ms, p95 {ms[int(len(ms) * 0.95) - 1]:.1f} ms, "
            f"max {ms[-1]:.1f} ms (n={len(ms)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=10000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5, help="foreign writes measured")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/rag-cross-process"))
    ap.add_argument("--corpora", type=Path, default=HERE / "corpora")
    args = ap.parse_args()

    folder = args.workdir / "corpus"
    cached = args.corpora / f"chunks{args.chunks}_seed0"
    if not cached.exists():
        corpus.write_corpus(cached, args.chunks, 0)
    if not folder.exists():
        shutil.copytree(cached, folder)
    settings = Settings(_env_file=None, data_dir=args.workdir / "data", docs_dir=folder)
    embedder = precomputed_embedder(settings.embed_batch_size)
    writer = RAG(settings, embedder=embedder)
    started = time.perf_counter()
    report = writer.ingest(folder)
    print(f"index: {report.chunks_total} chunks ({time.perf_counter() - started:.0f} s to ingest or check)")

    reader = RAG(settings, embedder=embedder)
    words = [w for w in (folder / sorted(p.name for p in folder.iterdir())[0]).read_text().split() if w.isalpha()]
    rng = random.Random(0)
    questions = [" ".join(rng.sample(words, 5)) for _ in range(args.queries)]
    reader.retrieve(questions[0])  # load BM25 and the vector index
    quiet = [timed(reader.retrieve, q) for q in questions]
    print(f"reader, nothing changes: {percentiles(quiet)}")

    first, after, visible, seen = [], [], [], []
    target = sorted(folder.iterdir())[1]
    original = target.read_text(encoding="utf-8")
    try:
        for i in range(args.rounds):
            target.write_text(original + f"\nUna frase nuova numero {i}.\n", encoding="utf-8")
            writer.ingest(folder)  # another writer: its versions are foreign to the reader
            time.sleep(1.05)  # the reader looks at the store version at most once a second
            version = reader.store.version
            first.append(timed(reader.retrieve, questions[i % len(questions)]))
            started = time.perf_counter()
            while reader.store._seen_version != version:  # the fresh client is swapped in
                after.append(timed(reader.retrieve, questions[len(after) % len(questions)]))
            visible.append(time.perf_counter() - started)
            after += [timed(reader.retrieve, q) for q in questions[:20]]
        for i in range(args.rounds):  # the reader asks without a pause from the moment the write ends
            target.write_text(original + f"\nUn'altra frase nuova numero {i}.\n", encoding="utf-8")
            writer.ingest(folder)
            version, started = reader.store.version, time.perf_counter()
            while reader.store.seen_version != version or reader.lexical.version != version:
                reader.retrieve(questions[i % len(questions)])
            seen.append(time.perf_counter() - started)
    finally:
        target.write_text(original, encoding="utf-8")
    print(f"reader, first question after a foreign write (BM25 load, background reopen started): "
          f"{percentiles(first)}; each: {', '.join(f'{m:.0f}' for m in first)} ms")
    print(f"fresh client in use after: {', '.join(f'{s:.2f}' for s in visible)} s (after the first question)")
    print(f"reader, questions during the reopen and after it: {percentiles(after)}")
    print(f"a reader asking without a pause sees the write (fresh client and BM25 in use) after: "
          f"{', '.join(f'{s:.2f}' for s in seen)} s (from the end of the write)")


if __name__ == "__main__":
    main()
