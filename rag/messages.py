"""Whether a chat message asks something of its own or continues the previous question, read from its words.

"And where?" names nothing of its own and is searched with the previous question; "Who is Shoigu?" is a new
topic and keeps its own passages; "And Putin?" asks the previous question again of a new subject.
"""

from __future__ import annotations

from rag.lexical import WORD, strip_accents

# Whether a message asks something of its own or continues the previous question ("And where?") is read
# from its words. A short message's language is often detected wrongly ("Who is Shoigu?" as German), so
# the lists of every language are used together. Words are compared folded (``fold_word``): lower case,
# no accents, Turkish ı as i; a Turkish suffix after an apostrophe ("Pyongyang'da") is a word of its own.

# Words that ask, connect or point back but name nothing: question words, conjunctions, articles,
# prepositions, pronouns, auxiliaries, verbs of saying and happening, and nouns that only ask for a slot
# ("Which year?", "Hangi şehirde?"). A message made only of these has no subject of its own.
_FUNCTION_WORDS = {
    "en": """a about after again also am an and any are as at be been before but by can city could country
        date day did do does done else exactly for from go gone had happen happened has have he her here hers
        him his how i in into is it its just long many may mean meant might month more much must of often ok
        okay on one only or other our place please said say says she should so tell than that the their them
        then there these they this those time to told too us was we went were what when where which who whom
        whose why will with would year yes you your""",
    "el": """άλλο άλλος ακόμα ακόμη ακριβώς αλλά από αυτά αυτή αυτήν αυτής αυτό αυτοί αυτόν αυτός αυτού
        αυτών γιατί για δεν εδώ είναι είπαν είπε είχε εκεί ένα ένας ενώ επίσης έτος έγινε έκανε έχει η ή ήταν
        ημέρα ημερομηνία θα και κατά κι λέει λοιπόν με μέρα μετά μέχρι μήνα μήνας μια μία να ναι ο οι όχι πόλη
        πόσα πόσες πόση πόσο πόσοι πόσους πότε που πού πως πώς ποια ποιας ποιες ποιο ποιοι ποιον ποιος ποιου
        ποιους ποιων σε στα στη στην στης στις στο στον στους συνέβη τα την της τι τις το τον του τους χρονιά
        χώρα ώρα ως""",
    "it": """a agli ai al alla alle allora altri altro anche ancora anno aveva che chi ci ciò città come con
        cosa da dal dalla data degli dei del della delle dello detto di dice disse dove e è ed era erano essa
        esso esattamente fa fatto fra gli giorno ha hanno il in invece la le lei lo loro lui luogo ma mese ne
        nei nel nella nelle no non o ora paese per perché poi quale quali quando quanta quante quanti quanto
        quella quello questa questo si sì sono stata stato su sua sue sui sul sulla suo suoi tra un una uno""",
    "tr": """a ay ayında ayrıca başka bir bu bunu bunun da dan de dedi dediler den dir dır dur dür e evet
        gibi gün günü hakkında hangi hangisi hayır i için ile in ı ki kim kime kimi kimin kiminle kimle kimdi
        kimdir kimler konusunda la le mi mı mu mü miydi mıydı muydu müydü midir mıdır na nasıl ne neden nedir
        neydi nereden nerede neredeydi nereye neresi neyi neye nin nın nun nün niye niçin o olarak oldu olmuş
        olur ona onlar onları onların onu onun peki sonra söyledi söylediler şehir şehirde şu ta tam tan tane
        tarih tarihi tarihte te ten tır tir tur tür u un ü ün var ve veya ya yaptı yer yerde yı yi yıl yılı
        yılında yok yu yü zaman""",
    "de": """am an auch auf aber da das datum dem den denn der des die dort dann ein eine einem einen er es
        für genau gesagt hat haben hatte ihm ihn ihr ihre im in ist jahr land mit nicht noch oder sagte sein
        seine sie sind stadt tag über und viel viele von war waren wann warum was welche welcher welches wem
        wen wer wessen wie wieso wo woher wohin zu zum zur""",
    "fr": """à alors année au aussi aux avait avec ça ce cela cette combien comment d dans date de des dit
        du elle elles en encore est et était exactement fait il ils jour l là le les leur lui mais ne ont ou
        où par pas pays pour pourquoi puis qu quand que quel quelle quelles quels qui quoi sa ses son sont sur
        un une ville y""",
    "es": """a ahí al allí año ciudad con cómo cuál cuáles cuándo cuánta cuántas cuánto cuántos de del día
        dijo donde dónde el él ella ellas ellos en entonces es esa ese eso esta este esto exactamente fecha
        fue ha han hizo la las le lo los no o para país pero por porque qué que quién quiénes sí son su sus
        también un una y""",
}
# Question words: "And who is Shoigu?" asks its own question; "And Putin?" borrows the previous one's.
_QUESTION_WORDS = {
    "en": "how what when where which who whom whose why",
    "el": "γιατί πόσα πόσες πόση πόσο πόσοι πόσους πότε πού πώς ποια ποιας ποιες ποιο ποιοι ποιον ποιος "
          "ποιου ποιους ποιων τι",
    "it": "che chi come cosa dove perché quale quali quando quanta quante quanti quanto",
    "tr": "hangi hangisi kaç kaçta kim kime kimi kimin kiminle kimle kimdi kimdir kimler nasıl ne neden nedir "
          "neydi nereden nerede neredeydi nereye neresi neyi neye niye niçin",
    "de": "wann warum was welche welcher welches wem wen wer wessen wie wieso wo woher wohin",
    "fr": "combien comment où pourquoi quand que quel quelle quelles quels qui quoi",
    "es": "cómo cuál cuáles cuándo cuánta cuántas cuánto cuántos dónde qué quién quiénes",
}
# "And Putin?": a message this short that opens like a continuation and has no question word of its own
# asks the previous question again of a new subject ("When did Putin meet Kim?").
FOLLOW_UP_WORDS = 4
# How a message that continues the previous question opens: "And …?", "What about …?", "Peki …?".
_CONTINUATIONS = ("and", "what about", "how about", "και", "κι", "e", "ed", "peki", "peki ya", "ya", "ve",
                  "und", "et", "y")


def fold_word(word: str) -> str:
    """A word as the message lists compare it: lower case, no accents, ı as i ("Şoygu" -> "soygu")."""
    return strip_accents(word.replace("İ", "i").casefold()).replace("ı", "i")


def _folded(lists: dict[str, str]) -> frozenset[str]:
    return frozenset(fold_word(w) for words in lists.values() for w in words.split())


# Pronouns and adverbs that point back at what the previous question named ("Where did they meet?", "Did he
# sign it?"). Words that are also articles, conjunctions or other common words in another of these
# languages once folded are left out: "le", "της", Italian "il", "là" = "la", "él" = "el", Turkish "o" and
# Italian "o", English "her" and Turkish "her" ("every").
_BACK_REFERENCES = {
    "en": "he she they him them his hers their theirs it its there this that these those",
    "el": "αυτός αυτή αυτό αυτοί αυτές αυτά αυτόν αυτήν αυτού αυτής αυτών εκεί εκείνος εκείνη εκείνο εκείνοι",
    "it": "lui lei loro esso essa essi esse suo sua suoi sue quello quella quelli quelle questo questa",
    "tr": "onu onun ona onunla onlar onları onların onlara onlarla orada orası bu bunu bunun buna",
    "de": "er ihn ihm sein seine seinen ihre dort dies diese dieser",
    "fr": "elle ils elles leur leurs cela ceci",
    "es": "ella ellos ellas sus allí eso esa ese",
}
FUNCTION_WORDS = _folded(_FUNCTION_WORDS)
BACK_REFERENCES = _folded(_BACK_REFERENCES)
QUESTION_WORDS = _folded(_QUESTION_WORDS)
CONTINUATIONS = tuple(tuple(fold_word(w) for w in c.split()) for c in _CONTINUATIONS)


def message_words(text: str) -> list[str]:
    """The folded words of a message."""
    return [fold_word(w) for w in WORD.findall(text)]


def content_words(text: str) -> list[str]:
    """The words of a message that name something: neither a function word nor a question word, nor a
    letter alone (the "l" of "l'accordo", the "s" of "what's")."""
    return [w for w in message_words(text)
            if (len(w) > 1 or w.isdigit()) and w not in FUNCTION_WORDS and w not in QUESTION_WORDS]


def continuation_rest(text: str) -> list[str] | None:
    """The words after an opening "And"/"What about"/"Και"/"E"/"Peki"/…, or None without one."""
    words = message_words(text)
    for opener in sorted(CONTINUATIONS, key=len, reverse=True):
        if tuple(words[: len(opener)]) == opener:
            return words[len(opener):]
    return None


def names_nothing(message: str) -> bool:
    """Whether a message names nothing of its own: only question words, conjunctions, pronouns and the like
    ("And where?", "Και πού;", "E dove?", "Peki nerede?", "Why?", "What did he say?"). In a conversation it
    can only be searched with the previous question."""
    return not content_words(message)


def points_back(message: str) -> bool:
    """Whether a message points back at what the previous question named, with a pronoun or an adverb
    ("Where did they meet?", "What did he say about energy?", "Ne zaman onunla görüştü?")."""
    return any(w in BACK_REFERENCES for w in message_words(message))


def asks_previous_of(message: str) -> bool:
    """Whether a message asks the previous question again of a new subject: a short "And …?" with a name
    and no question word of its own ("And Putin?", "Και ο Πούτιν;", "E Putin?", "Peki Putin?"). A message
    with its own question word ("And who is Shoigu?") asks its own question."""
    rest = continuation_rest(message)
    return (rest is not None and len(message_words(message)) <= FOLLOW_UP_WORDS
            and not any(w in QUESTION_WORDS for w in rest) and bool(content_words(message)))
