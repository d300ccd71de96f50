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

# A short message is a near tie (see ``LanguageDetector.detect``); these were set on the short messages of
# tests/test_language.py, and leave every question of the news sets and of XQuAD-tr as they were detected.
SURE = 0.6  # lingua's confidence from which a detection stands whatever the conversation's language
KEEP = 0.35  # below it, the conversation's language is kept if at least this share as likely as the first
CLOSE = 0.4  # else the likeliest of English and the article languages, if at least this share as likely


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

    def detect(self, text: str, *, conversation: str | None = None, prefer: Sequence[str] = ()) -> str:
        """The most likely language, or ``fallback`` when the text gives no signal (digits, names).

        A short text is a near tie among the languages of its script ("Who is Shoigu?": German 0.26, English
        0.17; "Chi è Shoigu?": French 0.25, Italian 0.23; "E Putin?": Romanian first, Italian fourth). Unless
        the most likely language is sure (``SURE``), a message keeps the ``conversation``'s language when that
        is nearly as likely (``KEEP``); otherwise, when the most likely language is neither ``fallback`` nor one of
        ``prefer`` (the articles' languages), the likeliest of those is chosen if nearly as likely (``CLOSE``).
        """
        values = self._detector.compute_language_confidence_values(text)
        if not values or values[0].value == 0:
            return conversation or self.fallback
        best = values[0]
        code = best.language.iso_code_639_1.name.lower()
        if best.value >= SURE:
            return code
        confidence = {v.language.iso_code_639_1.name.lower(): v.value for v in values}
        if conversation and confidence.get(conversation, 0.0) >= best.value * KEEP:
            return conversation
        preferred = [lang for lang in dict.fromkeys((self.fallback, *prefer)) if lang in confidence]
        if code in preferred:
            return code
        choice = max(preferred, key=lambda lang: confidence[lang], default=None)
        return choice if choice is not None and confidence[choice] >= best.value * CLOSE else code
