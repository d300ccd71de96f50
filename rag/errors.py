"""The package's exceptions. Every message says what the user can do about it.

``RagError`` is the one base class: the CLI turns it into one line and a non-zero exit,
the chat page into a readable message. Causes are chained (``raise ... from exc``).
"""

from __future__ import annotations


class RagError(Exception):
    """Base class for errors meant to be shown to the user as they are."""


class ConfigError(RagError):
    """A setting or argument is invalid."""


class IngestError(RagError):
    """A document folder or file cannot be ingested at all."""


class StoreError(RagError):
    """The vector store cannot be opened or reached."""


class EmbedderMismatchError(StoreError):
    """The index was built with another embedding model; vectors must never be mixed."""


class EmptyIndexError(RagError):
    """A question was asked before anything was ingested."""


class LLMError(RagError):
    """The language model cannot be used (not running, model missing, timeout, dropped stream)."""


class QuestionSetError(RagError):
    """An evaluation question set is invalid; the message lists ``file:line: problem`` entries."""


class QuestionTooLongError(RagError, ValueError):
    """A question longer than ``RAG_MAX_QUESTION_CHARS``; refused before any embedding."""
