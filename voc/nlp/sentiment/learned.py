"""The ``learned`` backend: a classifier fitted on this organisation's own feedback.

Weak labels come from survey CSAT (1-2 negative, 3 neutral, 4-5 positive). Features:

- the stored sentence embedding (all-MiniLM-L6-v2, shared with topics);
- TF-IDF of word 1-2-grams and character 2-5-grams (vocabularies fitted on the training
  texts): domain words the embedding blurs;
- VADER's four polarity scores (negation and intensity rules) of the whole text;
- (if cross-validation prefers it, ``WEIGHT_GRID``) VADER per sentence, summarised
  (min, max, mean, spread, share positive / negative sentences): a mixed review ("tastes
  great, but arrived crushed") is the typical neutral item; one whole-text score hides it.

The lexical blocks are computed from the item's (redacted) text, which the enrich step
passes with the stored embedding. A multinomial logistic regression is fitted on them;
``C``, the class weighting (none or "balanced") and the block weights are picked by
stratified cross-validation on the training data only (``WEIGHT_GRID`` x
``CLASS_WEIGHTS`` x ``C_GRID``, scored by out-of-fold macro recall after the prior
correction; never on held-out or test items). The out-of-fold
probabilities of the chosen configuration then fit

- a temperature ``T`` (probabilities = softmax(logits / T)), so that they are calibrated
  (the fit's ECE and Brier score are stored in ``metrics``);
- a prior correction: the label is argmax(log p_c + b_c) with b = -alpha * log(prior),
  alpha picked on the out-of-fold predictions and the negative/neutral offsets then refined
  on a small grid; this trades a little accuracy for recall on rare classes (macro recall
  is what matters when negative feedback is the minority). The stored score stays the
  calibrated P(pos) - P(neg), so a borderline item's label and score sign can disagree.

The score is P(positive) - P(negative) from the calibrated probabilities. The model is
exported as plain arrays (:meth:`LearnedModel.to_bytes`, ``np.savez`` without pickle),
so prediction needs only numpy/scipy and a stored model can never run code on load.
Languages: the model supports the languages with at least ``min_language_rows`` training
items (and unknown language); others are "unsupported".
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
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

C_GRID = (0.5, 1.0, 2.0)
CLASS_WEIGHTS: tuple[str | None, ...] = (None, "balanced")
ALPHA_GRID = tuple(round(a * 0.1, 1) for a in range(0, 16))
#: Relative weights of the feature blocks (embedding rows and TF-IDF rows are unit-norm).
#: Cross-validation picks one (with ``C`` and the class weighting); the grid is generic
#: (with or without the sentence-level VADER block), not tuned per evaluation set.
WEIGHT_GRID = (
    {"embedding": 1.0, "word": 1.0, "char": 1.0, "vader": 0.5, "sentences": 1.0},
    {"embedding": 1.0, "word": 1.0, "char": 1.0, "vader": 0.5, "sentences": 0.0},
)
BLOCK_WEIGHTS = WEIGHT_GRID[0]
#: Blocks a model stored before they existed does not have (weight 0 when loading it).
_OLD_MODEL_WEIGHTS = {"sentences": 0.0}
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|<br\s*/?>|\n+")
MIN_TRAIN = 30


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


def lexicon_features(texts: Sequence[str]) -> np.ndarray:
    """VADER's whole-text (neg, neu, pos, compound) then :func:`sentence_polarity`: (n, 10)."""
    from voc.nlp.sentiment.vader import polarity_features

    return np.hstack([polarity_features(texts), sentence_polarity(texts)])


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


@dataclass
class Featurizer:
    """Turns (texts, embeddings) into the model's feature matrix; fitted vocabularies inside."""

    word_vocab: list[str] = field(default_factory=list)
    word_idf: np.ndarray = field(default_factory=lambda: np.zeros(0))
    char_vocab: list[str] = field(default_factory=list)
    char_idf: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dim: int = 0
    weights: dict[str, float] = field(default_factory=lambda: dict(BLOCK_WEIGHTS))
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

    def fit(self, texts: Sequence[str], dim: int) -> Featurizer:
        """Learn the TF-IDF vocabularies from the training texts."""
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

    def transform(self, texts: Sequence[str], embeddings: np.ndarray,
                  lexicon: np.ndarray | None = None) -> sparse.csr_matrix:
        """Feature matrix: [embedding | word TF-IDF | char TF-IDF | VADER | sentences],
        block-weighted (a block with weight 0 is left out).

        ``lexicon`` may pass precomputed :func:`lexicon_features` (cross-validation reuses
        them).
        """
        texts = [t or "" for t in texts]
        emb = np.asarray(embeddings, dtype=np.float32)
        if emb.shape != (len(texts), self.dim):
            raise ValueError(f"expected embeddings of shape {(len(texts), self.dim)}, "
                             f"got {emb.shape}")
        w = self.weights
        if lexicon is None:
            lexicon = lexicon_features(texts) if w.get("sentences", 0.0) > 0 \
                else _vader_only(texts)
        word, char = self._vectorizers()
        return combine_blocks({"embedding": emb, "word": word.transform(texts),
                               "char": char.transform(texts) if char is not None else None,
                               "vader": lexicon[:, :4], "sentences": lexicon[:, 4:]}, w)


def _vader_only(texts: Sequence[str]) -> np.ndarray:
    from voc.nlp.sentiment.vader import polarity_features

    return polarity_features(texts)


def combine_blocks(blocks: dict[str, Any], weights: dict[str, float]) -> sparse.csr_matrix:
    """Stack the feature blocks in a fixed order, each scaled by its weight (0 or missing:
    left out), as one CSR matrix."""
    parts = []
    for name in ("embedding", "word", "char", "vader", "sentences"):
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
    """A fitted model: featurizer, linear weights, temperature, prior correction."""

    featurizer: Featurizer
    coef: np.ndarray  # (3, n_features)
    intercept: np.ndarray  # (3,)
    temperature: float
    prior: np.ndarray  # class frequencies in the training data
    alpha: float
    languages: list[str]
    embedding_model: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    n_train: int = 0
    bias: np.ndarray | None = None  # decision offsets on log p; default -alpha * log(prior)

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities (n, 3) in the order negative, neutral, positive."""
        if len(texts) == 0:
            return np.zeros((0, 3), dtype=np.float32)
        x = self.featurizer.transform(texts, embeddings)
        logits = np.asarray(x @ self.coef.T) + self.intercept
        return _softmax(logits / self.temperature)

    def decision_bias(self) -> np.ndarray:
        """Offsets added to log p before the argmax (the prior correction)."""
        if self.bias is not None:
            return self.bias
        return -self.alpha * np.log(self.prior)

    def decide(self, probs: np.ndarray) -> np.ndarray:
        """Class ids after the prior correction: argmax(log p + bias)."""
        return (np.log(np.clip(probs, 1e-12, None)) + self.decision_bias()).argmax(axis=1)

    def to_bytes(self) -> bytes:
        """Serialise to an ``.npz`` of plain arrays (no pickle)."""
        f = self.featurizer
        buf = io.BytesIO()
        meta = {"temperature": self.temperature, "alpha": self.alpha, "dim": f.dim,
                "weights": f.weights,
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
        """Load what :meth:`to_bytes` wrote (``allow_pickle=False``: arrays only)."""
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            feat = Featurizer(word_vocab=[str(w) for w in z["word_vocab"]],
                              word_idf=z["word_idf"], char_vocab=[str(w) for w in z["char_vocab"]],
                              char_idf=z["char_idf"], dim=int(meta["dim"]),
                              weights={**_OLD_MODEL_WEIGHTS,
                                       **meta.get("weights", dict(BLOCK_WEIGHTS))})
            return cls(featurizer=feat, coef=z["coef"], intercept=z["intercept"],
                       temperature=float(meta["temperature"]), prior=z["prior"],
                       alpha=float(meta["alpha"]), languages=list(meta["languages"]),
                       embedding_model=meta["embedding_model"], params=meta["params"],
                       metrics=meta["metrics"], n_train=int(meta["n_train"]),
                       bias=z["bias"] if "bias" in z.files else None)


def _fit_lr(x: sparse.csr_matrix, y: np.ndarray, c: float, seed: int,
            class_weight: str | None = None) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=2000, random_state=seed,
                              class_weight=class_weight).fit(x, y)


def _fold_blocks(texts: list[str], emb: np.ndarray, lexicon: np.ndarray, tr: np.ndarray,
                 te: np.ndarray, with_char: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Unweighted feature blocks of one CV fold; vocabularies fitted on its training part
    only, so the cross-validated figures are honest."""
    feat = Featurizer(weights={"char": 1.0 if with_char else 0.0})
    feat.fit([texts[i] for i in tr], emb.shape[1])
    word, char = feat._vectorizers()

    def blocks(idx: np.ndarray) -> dict[str, Any]:
        sub = [texts[i] for i in idx]
        return {"embedding": emb[idx], "word": word.transform(sub),
                "char": char.transform(sub) if char is not None else None,
                "vader": lexicon[idx, :4], "sentences": lexicon[idx, 4:]}

    return blocks(tr), blocks(te)


def _best_alpha_score(y: np.ndarray, probs: np.ndarray, prior: np.ndarray) -> float:
    return max(macro_recall(y, (probs / prior ** a).argmax(1)) for a in ALPHA_GRID)


def fit_learned(texts: Sequence[str], labels: Sequence[int] | np.ndarray, embeddings: np.ndarray,
                *, embedding_model: str, languages: Sequence[str | None] | None = None,
                min_language_rows: int = 50, seed: int = 0, folds: int = 4,
                c_grid: Sequence[float] = C_GRID,
                weight_grid: Sequence[dict[str, float]] = WEIGHT_GRID,
                class_weights: Sequence[str | None] = CLASS_WEIGHTS) -> LearnedModel:
    """Fit the learned classifier (the function ``voc sentiment train`` and the benchmark use).

    ``labels`` are 0 negative, 1 neutral, 2 positive. Model selection uses only these
    training items: stratified ``folds``-fold cross-validation scores every combination of
    block weights (``weight_grid``), class weighting (``class_weights``) and ``C``
    (``c_grid``) by out-of-fold macro recall after the prior correction; the best one's
    out-of-fold probabilities fit the temperature and the decision offsets and give the
    stored metrics (macro recall, accuracy, ECE, Brier; the whole grid in ``cv_grid``).
    """
    from sklearn.model_selection import StratifiedKFold

    started = time.perf_counter()
    y = np.asarray(labels, dtype=int)
    texts = [t or "" for t in texts]
    if len(texts) < MIN_TRAIN:
        raise ValueError(f"need at least {MIN_TRAIN} labelled items to train, got {len(texts)}")
    counts = np.bincount(y, minlength=3)
    if (counts == 0).any():
        missing = [LABELS[i] for i in range(3) if counts[i] == 0]
        raise ValueError(f"no training items labelled {', '.join(missing)}")
    emb = np.asarray(embeddings, dtype=np.float32)
    prior = counts / counts.sum()
    k = int(max(2, min(folds, counts.min())))
    splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
                  .split(np.zeros(len(y)), y))
    lexicon = lexicon_features(texts)
    with_char = any(w.get("char", 0.0) > 0 for w in weight_grid)
    fold_blocks = [_fold_blocks(texts, emb, lexicon, tr, te, with_char) for tr, te in splits]
    grid: list[dict[str, Any]] = []
    best: tuple[float, np.ndarray, dict[str, Any]] | None = None
    for wi, weights in enumerate(weight_grid):
        fold_x = [(combine_blocks(b_tr, weights), combine_blocks(b_te, weights))
                  for b_tr, b_te in fold_blocks]
        for cw in class_weights:
            for c in c_grid:
                oof = np.zeros((len(y), 3))
                for (tr, te), (x_tr, x_te) in zip(splits, fold_x, strict=True):
                    oof[te] = _fit_lr(x_tr, y[tr], c, seed, cw).decision_function(x_te)
                score = _best_alpha_score(y, _softmax(oof), prior)
                cfg = {"weights": wi, "class_weight": cw, "C": c}
                grid.append({**cfg, "cv_macro_recall": round(score, 4)})
                log.debug("learned sentiment: %s cv macro recall %.3f", cfg, score)
                if best is None or score > best[0]:
                    best = (score, oof, cfg)
    assert best is not None
    _, oof_logits, cfg = best
    weights, c, cw = dict(weight_grid[cfg["weights"]]), cfg["C"], cfg["class_weight"]
    temperature = _fit_temperature(oof_logits, y)
    oof_probs = _softmax(oof_logits / temperature)
    alpha = max(ALPHA_GRID, key=lambda a: (macro_recall(y, (oof_probs / prior ** a).argmax(1)),
                                           -abs(a - 1.0)))
    bias = _tune_bias(oof_probs, y, -alpha * np.log(prior))
    pred = (np.log(np.clip(oof_probs, 1e-12, None)) + bias).argmax(1)
    metrics = {
        "cv_folds": k, "cv_macro_recall": round(macro_recall(y, pred), 4),
        "cv_accuracy": round(float((pred == y).mean()), 4),
        "cv_ece": round(ece(y, oof_probs), 4), "cv_brier": round(brier(y, oof_probs), 4),
        "cv_ece_uncalibrated": round(ece(y, _softmax(oof_logits)), 4),
        "class_counts": {LABELS[i]: int(counts[i]) for i in range(3)},
        "cv_grid": grid,
    }
    feat = Featurizer(weights=weights).fit(texts, emb.shape[1])
    final = _fit_lr(feat.transform(texts, emb, lexicon), y, c, seed, cw)
    langs = _supported_languages(languages, min_language_rows)
    metrics["train_seconds"] = round(time.perf_counter() - started, 1)
    model = LearnedModel(
        featurizer=feat, coef=final.coef_.astype(np.float32),
        intercept=final.intercept_.astype(np.float32), temperature=temperature, prior=prior,
        alpha=float(alpha), languages=langs, embedding_model=embedding_model, bias=bias,
        params={"C": c, "class_weight": cw, "temperature": round(temperature, 4),
                "alpha": alpha, "bias": [round(float(b), 3) for b in bias],
                "block_weights": feat.weights, "seed": seed,
                "n_word_terms": len(feat.word_vocab), "n_char_terms": len(feat.char_vocab)},
        metrics=metrics, n_train=len(y),
    )
    log.info("learned sentiment fitted on %d items in %.1fs (cv macro recall %.3f, ECE %.3f)",
             len(y), metrics["train_seconds"], metrics["cv_macro_recall"], metrics["cv_ece"])
    return model


def _tune_bias(probs: np.ndarray, y: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Refine the negative/neutral decision offsets on out-of-fold probabilities.

    A grid of +-1 (log-odds) around the prior correction ``start``; a change is kept only
    if it improves the out-of-fold macro recall by more than 0.2 points (less is noise).
    """
    logp = np.log(np.clip(probs, 1e-12, None))
    best = start.copy()
    best_score = macro_recall(y, (logp + best).argmax(1))
    base_score = best_score
    steps = np.round(np.arange(-1.0, 1.01, 0.1), 2)
    for d0 in steps:
        for d1 in steps:
            cand = start + np.array([d0, d1, 0.0])
            score = macro_recall(y, (logp + cand).argmax(1))
            if score > best_score + 1e-9:
                best, best_score = cand, score
    return best if best_score > base_score + 0.002 else start


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
