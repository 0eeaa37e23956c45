"""Keyword extraction text processing: spaCy tokenisation plus a rule lemmatiser.

No trained spaCy pipeline (nor ``spacy-lookups-data``) is available offline, so
lemmas come from a small rule lemmatiser (irregular forms + suffix rules) run as
a spaCy component on ``spacy.blank("en")``. It only has to make keyword counts
merge inflections ("cards"/"card", "charged"/"charge"); labels stay readable.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

_IRREGULAR = {
    "was": "be", "were": "be", "is": "be", "are": "be", "been": "be", "am": "be",
    "has": "have", "had": "have", "did": "do", "does": "do", "done": "do",
    "went": "go", "gone": "go", "got": "get", "gotten": "get", "made": "make",
    "paid": "pay", "sent": "send", "spent": "spend", "lost": "lose", "stolen": "steal",
    "stole": "steal", "took": "take", "taken": "take", "gave": "give", "given": "give",
    "bought": "buy", "received": "receive", "left": "leave", "came": "come",
    "saw": "see", "seen": "see", "told": "tell", "said": "say", "kept": "keep",
    "children": "child", "people": "person", "men": "man", "women": "woman",
    "fees": "fee", "charges": "charge", "charged": "charge", "declined": "decline",
    "refunds": "refund", "refunded": "refund", "froze": "freeze", "frozen": "freeze",
}
# Words the suffix rules would damage.
_KEEP = {"this", "his", "is", "was", "has", "does", "yes", "bus", "news", "less", "process",
         "address", "access", "business", "success", "status", "always", "us", "plus",
         "bonus", "series", "analysis", "its", "as", "thus", "gas", "virus", "focus",
         "during", "thing", "something", "nothing", "anything", "everything", "morning",
         "evening", "king", "ring", "bring", "string", "spring", "sing", "wing", "ceiling",
         "pending", "ping", "banking", "need", "feed", "speed", "seed", "bed", "red", "used",
         "based", "interested"}

# Extra stop words for customer feedback: filler that would crowd out topic words.
FEEDBACK_STOP_WORDS = frozenset(ENGLISH_STOP_WORDS | {
    "hi", "hello", "hey", "thanks", "thank", "thx", "pls", "please", "just", "ve", "ll",
    "don", "doesn", "didn", "isn", "wasn", "won", "can", "could", "would", "want", "need",
    "like", "know", "help", "tell", "let", "ok", "okay", "really", "im", "dont", "cant",
    "got", "get", "make", "use", "way", "today", "yesterday", "still", "yet", "also",
})

_PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")  # redaction placeholders such as [EMAIL]
_TOKEN = re.compile(r"[a-z][a-z0-9'\-]*[a-z0-9]|[a-z]")


@lru_cache(maxsize=50_000)
def lemmatize(word: str) -> str:
    """Rule lemma of one lower-case word ("cards" -> "card", "charging" -> "charge")."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or word in _KEEP:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            if len(stem) >= 2 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                return stem[:-1]  # "stopped" -> "stop"
            if stem.endswith(("at", "iz", "bl", "rg", "ng", "rc", "ceiv", "lv", "rv", "uc",
                              "ang", "harg", "clin", "ur", "ir", "dg", "as", "os", "us")):
                return stem + "e"  # "charged" -> "charge", "declined" -> "decline"
            return stem
    return word


class _Lemmatizer:
    """spaCy blank English tokeniser with the rule lemmas above (built once per process)."""

    _nlp = None
    _lock = threading.Lock()

    @classmethod
    def nlp(cls):  # noqa: ANN206
        with cls._lock:
            if cls._nlp is None:
                import spacy

                cls._nlp = spacy.blank("en")
        return cls._nlp


def lemma_tokens(text: str) -> list[str]:
    """Lower-case lemmatised word tokens of ``text`` (placeholders like [EMAIL] dropped)."""
    doc = _Lemmatizer.nlp().make_doc(_PLACEHOLDER.sub(" ", text).lower())
    out = []
    for tok in doc:
        t = tok.text
        if not _TOKEN.fullmatch(t) or t in FEEDBACK_STOP_WORDS:
            continue
        lemma = lemmatize(t)
        if lemma not in FEEDBACK_STOP_WORDS:
            out.append(lemma)
    return out


def make_vectorizer(n_docs: int, language: str | None = None) -> CountVectorizer:
    """The CountVectorizer BERTopic uses for c-TF-IDF keywords (uni- and bigrams).

    English (``language`` None or "en"): lemmas. Other languages: lower-case words without
    that language's stop words (:data:`OTHER_STOP_WORDS`; no lemmatiser for them).
    """
    # min_df scales with the corpus so rare typos do not become keywords in big fits.
    min_df = 1 if n_docs < 500 else 2
    if language in (None, "en"):
        return CountVectorizer(tokenizer=lemma_tokens, lowercase=False, token_pattern=None,
                               ngram_range=(1, 2), min_df=min_df)
    stop = OTHER_STOP_WORDS.get(language, frozenset()) | FEEDBACK_STOP_WORDS
    return CountVectorizer(tokenizer=lambda t: _words(t, stop), lowercase=False,
                           token_pattern=None, ngram_range=(1, 2), min_df=min_df)


_WORD = re.compile(r"[^\W\d_][^\W_]*(?:['’][^\W\d_]+)?")


def _words(text: str, stop: frozenset[str]) -> list[str]:
    """Lower-case words of ``text`` (any script) minus ``stop``; elisions like l'/d' dropped."""
    out = []
    for w in _WORD.findall(_PLACEHOLDER.sub(" ", text).lower()):
        w = re.sub(r"^(?:[cdjlmnst]|qu)['’]", "", w)  # French elision: l'application
        if len(w) > 1 and w not in stop:
            out.append(w)
    return out


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Function words and greeting/closing filler (the feedback equivalent of "hi", "thanks").
OTHER_STOP_WORDS: dict[str, frozenset[str]] = {
    "de": _wordset("""
        aber alle allem als also am an auch auf aus bei beim bin bis bitte bzw da damit dann
        das dass dem den denn der des die dies diese diesem dieser doch dort du durch ein eine
        einem einen einer eines er es etwas euch für gegen hab habe haben hat hatte hier ich
        ihr ihre im immer in ist ja jetzt kann kein keine keinen man mehr mein meine meinem
        meinen meiner mich mir mit nach nicht nichts noch nun nur ob oder ohne schon sehr
        sein seit sich sie sind so soll über um und uns unser von vor war waren was weil
        wenn wer wie wieder wir wird wo zu zum zur zwar hallo guten tag moin zusammen danke
        vielen dank grüße viele gruß bitte hilfe echt ärgerlich einfach mal gibt
    """),
    "fr": _wordset("""
        à au aux avec ce ces cette c ça dans de des du elle en est et être eu il ils je la le
        les leur lui ma mais me même mes moi mon ne nos notre nous on ou où par pas pour qu
        que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous y été ai as a
        avons avez ont suis es sommes êtes sont était fait faire plus très tout tous toujours
        encore rien alors bonjour salut merci avance cordialement vraiment pénible aide svp
        car donc si depuis quand comme
    """),
    "es": _wordset("""
        a al algo como con de del el ella en era es esa ese eso esta este esto está están ha
        han hay la las le les lo los me mi mis muy más nada ni no nos o para pero por porque
        que qué se ser si sí sin sobre su sus también te tengo tiene todo todos tu un una uno
        unos y ya yo hola buenas buenos días equipo gracias saludos favor ayuda frustrante
        desde cuando hace
    """),
}
