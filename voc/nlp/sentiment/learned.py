"""The ``learned`` backend: a classifier fitted on this organisation's own feedback.

Weak labels come from survey CSAT (1-2 negative, 3 neutral, 4-5 positive). Features:

- the stored sentence embedding (all-MiniLM-L6-v2, shared with topics);
- TF-IDF of word 1-2-grams and character 2-5-grams (vocabularies fitted on the training
  texts): domain words the embedding blurs;
- VADER's four polarity scores (negation and intensity rules) of the whole text;
- (if cross-validation prefers it, ``WEIGHT_GRID``) VADER per sentence, summarised
  (min, max, mean, spread, share positive / negative sentences): a mixed review ("tastes
  great, but arrived crushed") is the typical neutral item; one whole-text score hides it;
- cues (:func:`cue_features`): sums and extremes of VADER lexicon valences (emoticons
  included), "!", "?", shouting, elongations ("sooo"), negations, length.

The lexical blocks are computed from the item's (redacted) text, which the enrich step
passes with the stored embedding, after :func:`normalise_text` (export artefacts such as
``don\\u2019t`` or ``&amp;`` hide words from VADER and the vocabularies; the embedding
stays that of the stored text). A multinomial logistic regression is fitted on them;
``C`` and the block weights (how strongly the embedding counts against the lexical
blocks, with or without the sentence block) are picked by stratified cross-validation on
the training data only (``WEIGHT_GRID`` x ``C_GRID``, scored by out-of-fold macro recall
of the decision rule below; never on held-out or test items). The out-of-fold logits of
the chosen configuration fit a temperature ``T`` (probabilities = softmax(logits / T)) so
that the probabilities are calibrated (the fit's ECE and Brier score are stored in
``metrics``).

Decision rule: argmax over classes of p(c | x) / prior(c). For calibrated probabilities this
is the rule that maximises macro recall (it equals argmax p(x | c)), whatever the class mix
of the items scored, so it needs no tuning. Models stored before this rule was adopted keep
their stored decision offsets (:meth:`LearnedModel.decision_bias`). The stored score is
the calibrated P(pos) - P(neg), so a borderline item's label and score sign can disagree.

The model is exported as plain arrays (:meth:`LearnedModel.to_bytes`, ``np.savez`` without
pickle), so prediction needs only numpy/scipy/scikit-learn and a stored model can never
run code on load; every earlier stored format still loads, and a blob whose arrays do not
fit together is refused with :class:`IncompatibleModel`.
Languages: the model supports the languages with at least ``min_language_rows`` training
items (and unknown language); others are "unsupported".
"""

from __future__ import annotations

import html
import io
import json
import logging
import re
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from voc.nlp.sentiment.base import (
    LABELS,
    UNSUPPORTED_RESULT,
    SentimentResult,
)

log = logging.getLogger(__name__)

C_GRID = (0.3, 1.0, 2.0)
_LEXICAL = {"word": 1.0, "char": 1.0, "vader": 0.5, "cues": 1.0}
#: Relative weights of the feature blocks (embedding rows and TF-IDF rows are unit-norm).
#: Cross-validation picks one (with ``C``); the grid is generic, not tuned per evaluation
#: set: the embedding at weight 1 or 2 (2 is less regularised against the lexical blocks,
#: what short texts with few known words need), with or without the sentence block.
WEIGHT_GRID = tuple({"embedding": e, **_LEXICAL, "sentences": s}
                    for e in (1.0, 2.0) for s in (1.0, 0.0))
BLOCK_WEIGHTS = WEIGHT_GRID[0]
#: Order of the blocks in the feature matrix (and in ``coef``); new blocks go last.
BLOCKS = ("embedding", "word", "char", "vader", "sentences", "cues")
_BLOCK_WIDTH = {"vader": 4, "sentences": 6, "cues": 10}
#: Weights of models stored before ``weights`` was part of the stored metadata.
_LEGACY_WEIGHTS = {"embedding": 1.0, "word": 1.0, "char": 1.0, "vader": 0.5}
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|<br\s*/?>|\n+")
_ESCAPED_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)
_ESCAPED = re.compile(r"\\u([0-9a-fA-F]{4})")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_TOKEN = re.compile(r"[\w']+|[^\w\s]+")
_ELONGATED = re.compile(r"(\w)\1{2,}")
_NEGATIONS = frozenset({"not", "no", "never", "nothing", "nobody", "none", "nor", "cannot",
                        "without", "neither", "nowhere"})
MIN_TRAIN = 30


class IncompatibleModel(ValueError):
    """A stored model blob that this code cannot use (retrain with ``voc sentiment train``)."""


def csat_to_label(csat: int) -> int | None:
    """CSAT 1-5 -> 0 negative, 1 neutral, 2 positive (None outside 1-5)."""
    if csat is None or not 1 <= csat <= 5:
        return None
    return 0 if csat <= 2 else 1 if csat == 3 else 2


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def macro_recall(y: np.ndarray, pred: np.ndarray, n_classes: int = 3) -> float:
    """Mean over classes present in ``y`` of the share of that class predicted correctly."""
    recalls = [float((pred[y == c] == c).mean()) for c in range(n_classes) if (y == c).any()]
    return float(np.mean(recalls)) if recalls else 0.0


def ece(y: np.ndarray, probs: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the top-class confidence (equal-width bins)."""
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(total)


def brier(y: np.ndarray, probs: np.ndarray) -> float:
    """Multi-class Brier score (mean squared error of the probability vector)."""
    onehot = np.eye(probs.shape[1])[y]
    return float(((probs - onehot) ** 2).sum(axis=1).mean())


def _unescape(m: re.Match[str]) -> str:
    cp = int(m.group(1), 16)
    return "" if 0xD800 <= cp <= 0xDFFF else chr(cp)  # a lone surrogate is not text


def _unescape_pair(m: re.Match[str]) -> str:
    hi, lo = int(m.group(1), 16), int(m.group(2), 16)
    return chr(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))


def normalise_text(text: str) -> str:
    """Undo export artefacts before the lexical features read a text.

    JSON ``\\uXXXX`` escapes left in the text (surrogate pairs joined), escaped quotes,
    HTML entities and typographic quotes: VADER's negation rule looks for "don't" and
    never sees "don\\u2019t" or "don’t"; the vocabularies would split one word three ways.
    """
    if "\\" in text:
        text = _ESCAPED_PAIR.sub(_unescape_pair, text)
        text = _ESCAPED.sub(_unescape, text).replace('\\"', '"')
    if "&" in text:
        text = html.unescape(text)
    return text.translate(_QUOTES)


def sentence_polarity(texts: Sequence[str]) -> np.ndarray:
    """Per text, VADER compound over its sentences: min, max, mean, std, share >= 0.05,
    share <= -0.05 (float32, shape (n, 6)); a regex split keeps it cheap (no spaCy)."""
    from voc.nlp.sentiment.vader import analyzer

    sia = analyzer()
    out = np.zeros((len(texts), 6), dtype=np.float32)
    for i, text in enumerate(texts):
        parts = [p for p in _SENTENCE_SPLIT.split(text or "") if p and p.strip()]
        c = np.array([sia.polarity_scores(p)["compound"] for p in parts] or [0.0])
        out[i] = (c.min(), c.max(), c.mean(), c.std(), (c >= 0.05).mean(), (c <= -0.05).mean())
    return out


def cue_features(texts: Sequence[str]) -> np.ndarray:
    """Per text (float32, shape (n, 10), each column roughly in [0, 1] or [-1, 1]):

    sum of the positive and of the negative VADER lexicon valences of its tokens
    (emoticons such as ``:(`` are lexicon entries too) over sqrt(token count), the largest
    and the smallest valence, then capped counts of "!", "?", shouted words (all capitals),
    elongated words ("sooo"), negations, and log length. VADER's compound folds these
    into one number; kept apart, the classifier can weigh them for this domain.
    """
    from voc.nlp.sentiment.vader import analyzer

    lexicon = analyzer().lexicon
    out = np.zeros((len(texts), 10), dtype=np.float32)
    for i, text in enumerate(texts):
        text = text or ""
        tokens = _TOKEN.findall(text)
        words = [t.lower() for t in tokens]
        vals = [lexicon[w] for w in words if w in lexicon]
        root = np.sqrt(max(len(words), 1))
        out[i] = (sum(v for v in vals if v > 0) / 4 / root,
                  -sum(v for v in vals if v < 0) / 4 / root,
                  max(vals, default=0.0) / 4, min(vals, default=0.0) / 4,
                  min(text.count("!"), 5) / 5, min(text.count("?"), 5) / 5,
                  min(sum(len(t) > 2 and t.isupper() for t in tokens), 5) / 5,
                  min(len(_ELONGATED.findall(text)), 3) / 3,
                  min(sum(w in _NEGATIONS or w.endswith("n't") for w in words), 3) / 3,
                  np.log1p(len(words)) / 5)
    return out


def lexicon_blocks(texts: Sequence[str], weights: dict[str, float] | None = None
                   ) -> dict[str, np.ndarray]:
    """The text-derived dense blocks ``vader`` (4), ``sentences`` (6) and ``cues`` (10) of
    (already normalised) ``texts``; with ``weights``, only those with a weight above 0."""
    from voc.nlp.sentiment.vader import polarity_features

    def wanted(name: str) -> bool:
        return weights is None or weights.get(name, 0.0) > 0

    makers = {"vader": polarity_features, "sentences": sentence_polarity,
              "cues": cue_features}
    return {name: make(texts) for name, make in makers.items() if wanted(name)}


def _fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood (golden-section on log T)."""
    def nll(log_t: float) -> float:
        p = _softmax(logits / np.exp(log_t))
        return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean())

    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(b)
    return float(np.exp((lo + hi) / 2))


def prior_decision(probs: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Class ids by argmax p(c | x) / prior(c): the macro-recall rule for calibrated p."""
    return (np.log(np.clip(probs, 1e-12, None)) - np.log(prior)).argmax(axis=1)


@dataclass
class Featurizer:
    """Turns (texts, embeddings) into the model's feature matrix; fitted vocabularies inside.

    ``normalise``: apply :func:`normalise_text` before the lexical blocks (False only for
    models stored before it existed, which were fitted on the raw text).
    """

    word_vocab: list[str] = field(default_factory=list)
    word_idf: np.ndarray = field(default_factory=lambda: np.zeros(0))
    char_vocab: list[str] = field(default_factory=list)
    char_idf: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dim: int = 0
    weights: dict[str, float] = field(default_factory=lambda: dict(BLOCK_WEIGHTS))
    normalise: bool = True
    _word: Any = None
    _char: Any = None

    @staticmethod
    def _word_vectorizer(vocab: list[str] | None = None) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_df=0.9, max_features=40000,
                               sublinear_tf=True, strip_accents="unicode",
                               vocabulary={w: i for i, w in enumerate(vocab)} if vocab else None)

    @staticmethod
    def _char_vectorizer(vocab: list[str] | None = None) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, max_df=0.9,
                               max_features=60000, sublinear_tf=True, lowercase=True,
                               vocabulary={w: i for i, w in enumerate(vocab)} if vocab else None)

    def prepare(self, texts: Sequence[str]) -> list[str]:
        """The texts the lexical blocks read (normalised unless an old model says not)."""
        return [normalise_text(t or "") if self.normalise else (t or "") for t in texts]

    def fit(self, texts: Sequence[str], dim: int, *, prepared: bool = False) -> Featurizer:
        """Learn the TF-IDF vocabularies from the training texts (``prepared``: already
        passed through :meth:`prepare`)."""
        texts = list(texts) if prepared else self.prepare(texts)
        self.dim = dim
        self._word = self._word_vectorizer().fit(texts)
        self.word_vocab = _vocab_list(self._word.vocabulary_)
        self.word_idf = self._word.idf_.astype(np.float32)
        if self.weights.get("char", 0.0) > 0:
            self._char = self._char_vectorizer().fit(texts)
            self.char_vocab = _vocab_list(self._char.vocabulary_)
            self.char_idf = self._char.idf_.astype(np.float32)
        return self

    def _vectorizers(self) -> tuple[Any, Any]:
        if self._word is None:  # rebuilt from stored arrays
            self._word = self._word_vectorizer(self.word_vocab)
            self._word.idf_ = self.word_idf.astype(np.float64)
            if self.char_vocab:
                self._char = self._char_vectorizer(self.char_vocab)
                self._char.idf_ = self.char_idf.astype(np.float64)
        return self._word, self._char

    def n_features(self) -> int:
        """Width of :meth:`transform`'s matrix (a stored ``coef`` must have it)."""
        widths = {"embedding": self.dim, "word": len(self.word_vocab),
                  "char": len(self.char_vocab), **_BLOCK_WIDTH}
        return sum(widths[b] for b in BLOCKS if self.weights.get(b, 0.0) > 0)

    def transform(self, texts: Sequence[str], embeddings: np.ndarray,
                  lexicon: dict[str, np.ndarray] | None = None, *,
                  prepared: bool = False) -> sparse.csr_matrix:
        """Feature matrix: the :data:`BLOCKS` in order, block-weighted (weight 0: left out).

        ``lexicon`` may pass precomputed :func:`lexicon_blocks` of the prepared texts and
        ``prepared`` say that ``texts`` went through :meth:`prepare` (cross-validation
        reuses both).
        """
        texts = list(texts) if prepared else self.prepare(texts)
        emb = np.asarray(embeddings, dtype=np.float32)
        if emb.shape != (len(texts), self.dim):
            raise ValueError(f"expected embeddings of shape {(len(texts), self.dim)}, "
                             f"got {emb.shape}")
        w = self.weights
        if lexicon is None:
            lexicon = lexicon_blocks(texts, w)
        word, char = self._vectorizers()
        return combine_blocks({"embedding": emb, "word": word.transform(texts),
                               "char": char.transform(texts) if char is not None else None,
                               **lexicon}, w)


def combine_blocks(blocks: dict[str, Any], weights: dict[str, float]) -> sparse.csr_matrix:
    """Stack the feature blocks in :data:`BLOCKS` order, each scaled by its weight (0 or
    missing: left out), as one CSR matrix."""
    parts = []
    for name in BLOCKS:
        wt = weights.get(name, 0.0)
        block = blocks.get(name)
        if wt > 0 and block is not None and block.shape[1] > 0:
            parts.append(sparse.csr_matrix(block) * wt)
    return sparse.hstack(parts, format="csr", dtype=np.float32)


def _vocab_list(vocabulary: dict[str, int]) -> list[str]:
    out = [""] * len(vocabulary)
    for term, i in vocabulary.items():
        out[i] = term
    return out


@dataclass
class LearnedModel:
    """A fitted model: featurizer, linear weights, temperature, decision offsets."""

    featurizer: Featurizer
    coef: np.ndarray  # (3, n_features)
    intercept: np.ndarray  # (3,)
    temperature: float
    prior: np.ndarray  # class frequencies in the training data
    alpha: float  # decision offsets are -alpha * log(prior) unless ``bias`` is set
    languages: list[str]
    embedding_model: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    n_train: int = 0
    bias: np.ndarray | None = None  # decision offsets on log p (older models tuned them)

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities (n, 3) in the order negative, neutral, positive."""
        if len(texts) == 0:
            return np.zeros((0, 3), dtype=np.float32)
        x = self.featurizer.transform(texts, embeddings)
        logits = np.asarray(x @ self.coef.T) + self.intercept
        return _softmax(logits / self.temperature)

    def decision_bias(self) -> np.ndarray:
        """Offsets added to log p before the argmax (-log prior for models fitted now)."""
        if self.bias is not None:
            return self.bias
        return -self.alpha * np.log(self.prior)

    def decide(self, probs: np.ndarray) -> np.ndarray:
        """Class ids: argmax(log p + :meth:`decision_bias`)."""
        return (np.log(np.clip(probs, 1e-12, None)) + self.decision_bias()).argmax(axis=1)

    def to_bytes(self) -> bytes:
        """Serialise to an ``.npz`` of plain arrays (no pickle)."""
        f = self.featurizer
        buf = io.BytesIO()
        meta = {"temperature": self.temperature, "alpha": self.alpha, "dim": f.dim,
                "weights": f.weights, "normalise": f.normalise,
                "languages": self.languages, "embedding_model": self.embedding_model,
                "params": self.params, "metrics": self.metrics, "n_train": self.n_train}
        np.savez_compressed(
            buf, coef=self.coef.astype(np.float32), intercept=self.intercept.astype(np.float32),
            prior=self.prior.astype(np.float64), bias=self.decision_bias().astype(np.float64),
            word_vocab=np.array(f.word_vocab, dtype=str),
            word_idf=f.word_idf, char_vocab=np.array(f.char_vocab, dtype=str),
            char_idf=f.char_idf, meta=np.array(json.dumps(meta)),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> LearnedModel:
        """Load what :meth:`to_bytes` wrote, in any stored format so far (``allow_pickle=False``:
        arrays only). Raises :class:`IncompatibleModel` when the arrays do not fit together
        (a blob from an unknown format): better refused than scored wrongly."""
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            meta = json.loads(str(arrays["meta"]))
            # blocks a stored model lacks did not exist when it was fitted: weight 0
            weights = {b: 0.0 for b in BLOCKS} | meta.get("weights", _LEGACY_WEIGHTS)
            feat = Featurizer(word_vocab=[str(w) for w in arrays["word_vocab"]],
                              word_idf=arrays["word_idf"],
                              char_vocab=[str(w) for w in arrays["char_vocab"]],
                              char_idf=arrays["char_idf"], dim=int(meta["dim"]),
                              weights=weights, normalise=bool(meta.get("normalise", False)))
            model = cls(featurizer=feat, coef=arrays["coef"], intercept=arrays["intercept"],
                        temperature=float(meta["temperature"]), prior=arrays["prior"],
                        alpha=float(meta["alpha"]), languages=list(meta["languages"]),
                        embedding_model=meta["embedding_model"], params=meta["params"],
                        metrics=meta["metrics"], n_train=int(meta["n_train"]),
                        bias=arrays.get("bias"))
        except (KeyError, TypeError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise IncompatibleModel(f"unreadable learned sentiment model ({exc}); retrain it "
                                    "with `voc sentiment train`") from None
        if model.coef.shape != (3, feat.n_features()) or model.intercept.shape != (3,):
            raise IncompatibleModel(
                f"stored learned sentiment model has {model.coef.shape[-1]} weights per class "
                f"but its features give {feat.n_features()}; it was written by an "
                "incompatible version: retrain it with `voc sentiment train`")
        return model


def _fit_lr(x: sparse.csr_matrix, y: np.ndarray, c: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    # unweighted classes: the probabilities stay calibrated to the training mix and the
    # prior correction in the decision rule takes care of rare classes
    return LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(x, y)


def _fold_blocks(texts: list[str], emb: np.ndarray, lexicon: dict[str, np.ndarray],
                 tr: np.ndarray, te: np.ndarray, with_char: bool
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Unweighted feature blocks of one CV fold (``texts`` already prepared); vocabularies
    fitted on its training part only, so the cross-validated figures are honest."""
    feat = Featurizer(weights={"char": 1.0 if with_char else 0.0})
    feat.fit([texts[i] for i in tr], emb.shape[1], prepared=True)
    word, char = feat._vectorizers()

    def blocks(idx: np.ndarray) -> dict[str, Any]:
        sub = [texts[i] for i in idx]
        return {"embedding": emb[idx], "word": word.transform(sub),
                "char": char.transform(sub) if char is not None else None,
                **{name: block[idx] for name, block in lexicon.items()}}

    return blocks(tr), blocks(te)


def fit_learned(texts: Sequence[str], labels: Sequence[int] | np.ndarray, embeddings: np.ndarray,
                *, embedding_model: str, languages: Sequence[str | None] | None = None,
                min_language_rows: int = 50, seed: int = 0, folds: int = 4,
                c_grid: Sequence[float] = C_GRID,
                weight_grid: Sequence[dict[str, float]] = WEIGHT_GRID) -> LearnedModel:
    """Fit the learned classifier (the function ``voc sentiment train`` and the benchmark use).

    ``labels`` are 0 negative, 1 neutral, 2 positive. Model selection uses only these
    training items: stratified ``folds``-fold cross-validation scores every combination of
    block weights (``weight_grid``) and ``C`` (``c_grid``) by the out-of-fold macro recall of
    the decision rule (argmax p / prior on temperature-calibrated probabilities); the best
    one's out-of-fold logits give the temperature and the stored metrics (macro recall,
    accuracy, ECE, Brier; the whole grid in ``cv_grid``).
    """
    from sklearn.model_selection import StratifiedKFold

    started = time.perf_counter()
    y = np.asarray(labels, dtype=int)
    if len(y) < MIN_TRAIN:
        raise ValueError(f"need at least {MIN_TRAIN} labelled items to train, got {len(y)}")
    counts = np.bincount(y, minlength=3)
    if (counts == 0).any():
        missing = [LABELS[i] for i in range(3) if counts[i] == 0]
        raise ValueError(f"no training items labelled {', '.join(missing)}")
    emb = np.asarray(embeddings, dtype=np.float32)
    prior = counts / counts.sum()
    k = int(max(2, min(folds, counts.min())))
    splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
                  .split(np.zeros(len(y)), y))
    prepared = Featurizer().prepare(texts)
    lexicon = lexicon_blocks(prepared)
    with_char = any(w.get("char", 0.0) > 0 for w in weight_grid)
    fold_blocks = [_fold_blocks(prepared, emb, lexicon, tr, te, with_char) for tr, te in splits]
    grid: list[dict[str, Any]] = []
    best: tuple[float, np.ndarray, float, dict[str, Any]] | None = None
    for wi, weights in enumerate(weight_grid):
        fold_x = [(combine_blocks(b_tr, weights), combine_blocks(b_te, weights))
                  for b_tr, b_te in fold_blocks]
        for c in c_grid:
            oof = np.zeros((len(y), 3))
            for (tr, te), (x_tr, x_te) in zip(splits, fold_x, strict=True):
                oof[te] = _fit_lr(x_tr, y[tr], c, seed).decision_function(x_te)
            temperature = _fit_temperature(oof, y)
            score = macro_recall(y, prior_decision(_softmax(oof / temperature), prior))
            cfg = {"weights": wi, "C": c}
            grid.append({**cfg, "cv_macro_recall": round(score, 4)})
            log.debug("learned sentiment: %s cv macro recall %.3f", cfg, score)
            if best is None or score > best[0]:
                best = (score, oof, temperature, cfg)
    assert best is not None
    _, oof_logits, temperature, cfg = best
    weights, c = dict(weight_grid[cfg["weights"]]), cfg["C"]
    oof_probs = _softmax(oof_logits / temperature)
    pred = prior_decision(oof_probs, prior)
    metrics = {
        "cv_folds": k, "cv_macro_recall": round(macro_recall(y, pred), 4),
        "cv_accuracy": round(float((pred == y).mean()), 4),
        "cv_ece": round(ece(y, oof_probs), 4), "cv_brier": round(brier(y, oof_probs), 4),
        "cv_ece_uncalibrated": round(ece(y, _softmax(oof_logits)), 4),
        "class_counts": {LABELS[i]: int(counts[i]) for i in range(3)},
        "cv_grid": grid,
    }
    feat = Featurizer(weights=weights).fit(prepared, emb.shape[1], prepared=True)
    final = _fit_lr(feat.transform(prepared, emb, lexicon, prepared=True), y, c, seed)
    langs = _supported_languages(languages, min_language_rows)
    metrics["train_seconds"] = round(time.perf_counter() - started, 1)
    bias = -np.log(prior)
    model = LearnedModel(
        featurizer=feat, coef=final.coef_.astype(np.float32),
        intercept=final.intercept_.astype(np.float32), temperature=temperature, prior=prior,
        alpha=1.0, languages=langs, embedding_model=embedding_model, bias=bias,
        params={"C": c, "class_weight": None, "temperature": round(temperature, 4),
                "alpha": 1.0, "bias": [round(float(b), 3) for b in bias],
                "decision": "argmax p/prior", "block_weights": feat.weights,
                "normalise": feat.normalise, "seed": seed,
                "n_word_terms": len(feat.word_vocab), "n_char_terms": len(feat.char_vocab)},
        metrics=metrics, n_train=len(y),
    )
    log.info("learned sentiment fitted on %d items in %.1fs (cv macro recall %.3f, ECE %.3f)",
             len(y), metrics["train_seconds"], metrics["cv_macro_recall"], metrics["cv_ece"])
    return model


def _supported_languages(languages: Sequence[str | None] | None, min_rows: int) -> list[str]:
    if languages is None:
        return ["*"]
    counts: dict[str, int] = {}
    for lang in languages:
        if lang:
            counts[lang] = counts.get(lang, 0) + 1
    return sorted(lang for lang, n in counts.items() if n >= min_rows)


class LearnedBackend:
    """Scores with a fitted :class:`LearnedModel`; needs each item's embedding."""

    def __init__(self, model: LearnedModel, version: int | None = None,
                 embedder: Any = None) -> None:
        self.model = model
        self.version = version
        self._embedder = embedder  # only used when embeddings are not passed in
        self.name = f"learned:v{version}" if version is not None else "learned"

    def supports(self, language: str | None) -> bool:
        """Languages with enough training data, or unknown language."""
        langs = self.model.languages
        return language is None or "*" in langs or language in langs

    def supported_languages(self) -> list[str] | None:
        """The trained languages (None if trained without language information)."""
        return None if "*" in self.model.languages else list(self.model.languages)

    def score_many(self, texts: Sequence[str], languages: Sequence[str | None],
                   embeddings: np.ndarray | None = None) -> list[SentimentResult]:
        """Score = P(pos) - P(neg); label from the prior-corrected argmax."""
        out: list[SentimentResult] = [UNSUPPORTED_RESULT] * len(texts)
        idx = [i for i, lang in enumerate(languages) if self.supports(lang)]
        if not idx:
            return out
        sub = [texts[i] for i in idx]
        if embeddings is None:
            if self._embedder is None:
                raise ValueError("the learned backend needs embeddings (or an embedder)")
            emb = self._embedder.encode(sub)
        else:
            emb = np.asarray(embeddings)[idx]
        probs = self.model.predict_proba(sub, emb)
        labels = self.model.decide(probs)
        for j, i in enumerate(idx):
            score = float(probs[j, 2] - probs[j, 0])
            out[i] = SentimentResult(round(score, 4), LABELS[int(labels[j])])
        return out
