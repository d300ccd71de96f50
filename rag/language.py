"""Language identification with lingua, offline, among a configurable set of languages."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, cached_property

import lingua
from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

from rag.errors import ConfigError

# Snowball has one Norwegian stemmer; lingua names the two written standards.
LanguageDetector_ = lingua.LanguageDetector  # lingua's detector (this module's class has the same name)

_SNOWBALL_ALIASES = {"nb": "norwegian", "nn": "norwegian", "no": "norwegian"}


@cache
def language_name(code: str) -> str:
    """The English name of an ISO 639-1 code (``el`` -> ``Greek``), from lingua; the code when unknown."""
    iso = getattr(IsoCode639_1, code.upper(), None)
    return Language.from_iso_code_639_1(iso).name.title() if iso is not None else code


@cache
def snowball_algorithm(code: str) -> str | None:
    """PyStemmer's Snowball algorithm for an ISO 639-1 code (``el`` -> ``greek``), or None without one."""
    import Stemmer

    name = _SNOWBALL_ALIASES.get(code) or language_name(code).lower()
    return name if name in Stemmer.algorithms() else None


class LanguageDetector:
    """Detects the ISO 639-1 code of a text. The model loads on first use, not at import."""

    def __init__(self, languages: Sequence[str], fallback: str = "en") -> None:
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
    def _detector(self) -> LanguageDetector_:
        return LanguageDetectorBuilder.from_iso_codes_639_1(*self._codes).build()

    def warm_up(self) -> None:
        """Load the models of the Latin, Greek and Cyrillic scripts' languages now (about 3 s), not during
        the first question; other scripts' languages load when first met (0.6 s). lingua loads longer n-gram
        models only for texts long enough to use them, so the samples are sentences."""
        for sample in ("Where did the meeting happen yesterday?", "Πού έγινε η συνάντηση χθες;",
                       "Где состоялась встреча вчера?"):
            self._detector.detect_language_of(sample)

    def detect(self, text: str) -> str:
        """The most likely language, or ``fallback`` when the text gives no signal (digits, names)."""
        lang = self._detector.detect_language_of(text)
        if lang is None:
            return self.fallback
        return lang.iso_code_639_1.name.lower()
