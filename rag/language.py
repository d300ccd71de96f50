"""Language identification with lingua, offline, among a configurable set of languages."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cached_property

from rag.errors import ConfigError

log = logging.getLogger(__name__)


class LanguageDetector:
    """Detects the ISO 639-1 code of a text. The model loads on first use, not at import."""

    def __init__(self, languages: Sequence[str], fallback: str = "en") -> None:
        from lingua import IsoCode639_1

        codes = []
        for code in languages:
            try:
                codes.append(getattr(IsoCode639_1, code.upper()))
            except AttributeError as exc:
                raise ConfigError(
                    f"unknown language code {code!r} in RAG_LANGUAGES (use ISO 639-1, e.g. `el`)"
                ) from exc
        if len(codes) < 2:
            raise ConfigError("RAG_LANGUAGES needs at least two languages for detection")
        self._codes = codes
        self.fallback = fallback

    @cached_property
    def _detector(self):  # noqa: ANN202 - lingua's type
        from lingua import LanguageDetectorBuilder

        return LanguageDetectorBuilder.from_iso_codes_639_1(*self._codes).build()

    def detect(self, text: str) -> str:
        """The most likely language, or ``fallback`` when the text gives no signal (digits, names)."""
        lang = self._detector.detect_language_of(text)
        if lang is None:
            return self.fallback
        return lang.iso_code_639_1.name.lower()
