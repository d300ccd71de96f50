"""What an evaluation searches: the configured index, or a question set's own articles indexed apart.

A set's own corpus is indexed into ``<data_dir>/eval-<folder>-<hash>``, cached between runs; the hash
covers its files and the settings that shape an index, so nothing made another way is reused.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from pathlib import Path

from rag.errors import EmptyIndexError
from rag.evaluation.metrics import doc_key
from rag.evaluation.model import CorpusInfo
from rag.pipeline import RAG
from rag.settings import Settings

log = logging.getLogger(__name__)

Chunk = tuple[str, str, int, int]  # source, text, start, end


def fingerprint(entries: Sequence[tuple[str, str]]) -> str:
    """sha256 over sorted ``name<TAB>sha256`` lines: the same files give the same fingerprint."""
    h = hashlib.sha256()
    for name, digest in sorted(entries):
        h.update(f"{name}\t{digest}\n".encode())
    return h.hexdigest()


def corpus_files(folder: Path) -> list[tuple[str, str]]:
    """(path relative to ``folder``, sha256 of its bytes) for every file ingest would read."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EmptyIndexError(f"--corpus {folder}: not a folder; give the folder of the set's articles")
    return [(p.relative_to(folder).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
            for p in RAG.files_to_ingest(folder)]


def corpus_data_dir(settings: Settings, folder: Path, files: Sequence[tuple[str, str]]) -> Path:
    """``<data_dir>/eval-<folder name>-<short hash>`` for a set's own corpus."""
    shape = {key: getattr(settings, key) for key in
             ("embedder", "chunk_size", "chunk_overlap", "boilerplate_patterns", "languages")}
    digest = hashlib.sha256((fingerprint(files) + repr(sorted(shape.items()))).encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(folder).resolve().name) or "corpus"
    return Path(settings.data_dir) / f"eval-{name}-{digest}"


def corpus_rag(rag: RAG, folder: Path, progress: bool) -> tuple[RAG, CorpusInfo]:
    """A RAG over the set's own corpus, in its own cached data folder (never the news index)."""
    files = corpus_files(folder)
    if not files:
        raise EmptyIndexError(f"--corpus {folder}: no files to index")
    data_dir = corpus_data_dir(rag.settings, folder, files)
    # chroma_host unset: a server would hold every corpus in one namespace, next to the news index.
    settings = rag.settings.model_copy(update={"data_dir": data_dir, "collection": "eval", "chroma_host": None})
    eval_rag = rag.with_settings(settings)
    log.info("indexing %s into %s (cached between runs)", folder, data_dir)
    eval_rag.ingest(folder, progress=progress)  # incremental: a cached index embeds nothing
    return eval_rag, CorpusInfo(str(folder), fingerprint(files), len(files), str(data_dir), "eval")


def index_contents(rag: RAG) -> tuple[list[Chunk], dict[str, str], CorpusInfo]:
    """Every chunk as (source, text, start, end), each doc's language, and the index's fingerprint."""
    chunks: list[Chunk] = []
    languages: dict[str, str] = {}
    for p in rag.corpus_passages():
        chunks.append((p.source, p.text, p.start, p.end))
        languages[doc_key(p.source)] = p.language
    docs = rag.document_hashes()
    s = rag.settings
    return chunks, languages, CorpusInfo("index", fingerprint(list(docs.items())), len(docs), str(s.data_dir),
                                         s.collection)
