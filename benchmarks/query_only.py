"""Query latency alone on an index a `bench.py --keep` run left, for comparing versions of the product on one machine.

    PYTHONPATH=<checkout> python <checkout>/benchmarks/query_only.py /tmp/rag-bench/100000_embedded_precomputed_s0 \
        --label after --out /tmp/query_only.jsonl

Runs in the checkout it is started from (its ``rag`` and its ``bench.py``), so two versions are compared by
running each one's copy in turn, on an index that version built (chunk ids differ between versions).
Opens the index as `bench.py` does (same settings, the precomputed embedder), warms up with 10 questions
unfiltered and 10 filtered, then times ``--queries`` questions with ``top_k`` 5 and as many with a language
filter (`bench.py`'s questions and timers; the freshness timer is reset before each question, as there).
Nothing is written to the index. Appends one JSON line: p50/p95 in ms of each part, load averages at the
start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import bench  # noqa: E402
import corpus  # noqa: E402

import rag  # noqa: E402
from rag.pipeline import RAG  # noqa: E402
from rag.settings import Settings  # noqa: E402

PARTS = ["retrieval", "dense", "bm25_search", "fusion", "version_read", "fresh", "detect", "other", "total"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir", type=Path, help="the work folder of a `bench.py --keep` run")
    ap.add_argument("--label", required=True)
    ap.add_argument("--out", type=Path, required=True, help="JSON lines file to append to")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    load_start = os.getloadavg()
    settings = Settings(_env_file=None, data_dir=args.workdir / "data", docs_dir=args.workdir / "corpus")
    app = RAG(settings, embedder=bench.precomputed_embedder(settings.embed_batch_size))
    app.detector.detect("warm up the language models")
    probe = bench.Probe()
    bench.instrument(app, probe)
    n = args.queries
    qs = corpus.questions(2 * n + 10, args.seed)
    bench.timed_queries(app, probe, qs[:10], False, None)  # warm-up, not recorded
    bench.timed_queries(app, probe, qs[:10], True, None)
    plain = bench.timed_queries(app, probe, qs[10 : 10 + n], False, None)
    filtered = bench.timed_queries(app, probe, qs[10 + n :], True, None)

    def parts(result: dict) -> dict:
        return {k: [round(result["ms"][k]["p50_ms"], 2), round(result["ms"][k]["p95_ms"], 2)] for k in PARTS}

    row = {"label": args.label, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "load_start": load_start,
           "load_end": os.getloadavg(), "queries": n, "chunks": app.store.count(),
           "rag": str(Path(rag.__file__).parent),
           "plain_ms_p50_p95": parts(plain), "filtered_ms_p50_p95": parts(filtered)}
    with args.out.open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
