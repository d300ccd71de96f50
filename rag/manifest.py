"""What the index holds per file, saved beside it so that a re-ingest need not read every row back.

Deciding which files changed needs, per indexed file, its content hash, chunk count, language(s) and
chunk ids. Reading them from Chroma means reading every row's metadata (7-10 s and +600 MB at 100k chunks);
the manifest is the same facts in one JSON file (about 6 MB at 100k), written at the end of every ingest:

    {"version": <store version>, "docs": {"<absolute path>": {"sha256": "...", "n_chunks": 3,
                                                              "language": "el", "ids": ["...", ...],
                                                              "shape": "...", "source": "a.txt",
                                                              "title": "...", "added": 1764600000.0}}}

It is trusted only while the store's ``version`` is the one it records: every write to the collection, from
any process or machine, changes the version first, so a manifest that another writer (or a ``--rebuild``)
made stale is never believed; the ingest then reads the collection as before and writes a new one. With a
Chroma server, each machine keeps its own manifest in its own data folder, and the version check covers that.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocEntry:
    """One indexed file: enough to tell whether it changed and what to remove when it did."""

    sha256: str | None  # None when the stored chunks are not all from one content (a change cut short)
    n_chunks: int  # how many chunks that content has
    languages: tuple[str, ...]  # of its stored chunks: one, except after a change cut short
    ids: tuple[str, ...]  # the stored chunk ids
    shape: str = ""  # ``IndexShape.key`` the chunks were cut with ("" in an index older than shapes)
    source: str = ""  # file name shown to users
    title: str = ""
    added: float | None = None  # epoch seconds when this content was indexed

    @property
    def language(self) -> str:
        """The file's language, as ``rag stats`` counts documents."""
        return self.languages[0] if self.languages else ""

    def is_complete(self, sha256: str | None, shape: str) -> bool:
        """Every chunk of exactly this content, cut with this shape, is in the store: the file need not be
        read again."""
        return sha256 is not None and self.sha256 == sha256 and self.shape == shape and len(self.ids) == self.n_chunks


def entries_from_rows(rows: Iterable[tuple[str, dict, str]]) -> dict[str, DocEntry]:
    """path -> ``DocEntry`` from the store's (id, metadata, text) rows, holding no row longer than needed."""
    ids: dict[str, list[str]] = {}
    facts: dict[str, set[tuple[str, int, str]]] = {}  # (doc_sha256, n_chunks, shape) seen for the path
    languages: dict[str, dict[str, None]] = {}  # ordered sets
    shown: dict[str, tuple[str, str, float | None]] = {}  # source, title, added
    for cid, meta, _ in rows:
        if not meta:  # a row deleted while the scan ran
            continue
        path = str(meta.get("path"))
        ids.setdefault(path, []).append(cid)
        facts.setdefault(path, set()).add(
            (str(meta.get("doc_sha256")), int(meta.get("n_chunks", -1)), str(meta.get("shape", "")))
        )
        languages.setdefault(path, {})[str(meta.get("language", ""))] = None
        added = meta.get("added")
        shown.setdefault(path, (str(meta.get("source", "")), str(meta.get("title", "")),
                                float(added) if added else None))
    out = {}
    for path, cids in ids.items():
        sha256, n_chunks, shape = next(iter(facts[path])) if len(facts[path]) == 1 else (None, -1, "")
        out[path] = DocEntry(sha256, n_chunks, tuple(languages[path]), tuple(cids), shape, *shown[path])
    return out


def load(path: Path, version: int) -> dict[str, DocEntry] | None:
    """The entries saved at ``path`` if they describe the store at ``version``; None means: read the store."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("manifest %s is unreadable (%s); reading the index instead", path, exc)
        return None
    try:
        if data["version"] != version:
            log.info("manifest %s is for store version %s, the store is at %s: reading the index instead",
                     path, data["version"], version)
            return None
        return {p: _entry(e) for p, e in data["docs"].items()}
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        log.warning("manifest %s is malformed (%s: %s); reading the index instead", path, type(exc).__name__, exc)
        return None


def save(path: Path, version: int, entries: dict[str, DocEntry]) -> None:
    """Write the manifest atomically: readers in other processes see the old file or the new one, whole.

    A failure is logged, not raised: the index is complete without it, and the next ingest reads the store.
    """
    data = {"version": version, "docs": {p: _record(e) for p, e in entries.items()}}
    # One temporary name per process and thread, so that two writers never write into the same file.
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="ascii")  # ASCII: any file name fits
        os.replace(tmp, path)
    except (OSError, ValueError) as exc:
        log.warning("could not write the manifest %s (%s); the next ingest will read the index", path, exc)
        tmp.unlink(missing_ok=True)


def _record(entry: DocEntry) -> dict[str, Any]:
    # "language" is a string, or a list in the rare case of chunks in several (a change cut short).
    language: str | list[str] = entry.languages[0] if len(entry.languages) == 1 else list(entry.languages)
    return {"sha256": entry.sha256, "n_chunks": entry.n_chunks, "language": language, "ids": list(entry.ids),
            "shape": entry.shape, "source": entry.source, "title": entry.title, "added": entry.added}


def _entry(record: dict[str, Any]) -> DocEntry:
    language = record["language"]
    languages = (language,) if isinstance(language, str) else tuple(str(x) for x in language)
    sha256 = record["sha256"]
    if sha256 is not None and not isinstance(sha256, str):
        raise TypeError(f"sha256 {sha256!r} is not a string")
    ids = record["ids"]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise TypeError("ids is not a list of strings")
    added = record.get("added")
    return DocEntry(sha256, int(record["n_chunks"]), languages, tuple(ids), str(record.get("shape", "")),
                    str(record.get("source", "")), str(record.get("title", "")),
                    float(added) if added is not None else None)
