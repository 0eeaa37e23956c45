"""Any local Hugging Face sequence-classification model as a sentiment backend.

The model directory (``VOC_SENTIMENT_MODEL_DIR``) holds ``config.json``, the weights and the
tokenizer files; it is loaded with ``local_files_only=True`` (never the network) on CPU.

Label mapping: each of the model's labels (``config.id2label``) gets a value in [-1, 1].
``VOC_SENTIMENT_LABEL_MAP`` (JSON, e.g. ``{"LABEL_0": -1, "LABEL_1": 1}``) overrides;
otherwise names are read as:

- ``negative`` / ``neutral`` / ``positive`` (also ``neg``, ``neu``, ``pos``, ``very ...``);
- ``1 star`` .. ``5 stars`` -> -1, -0.5, 0, 0.5, 1;
- ``LABEL_0..LABEL_{n-1}`` in order: 2 labels -> (-1, 1), 3 -> (-1, 0, 1), 5 -> stars.

The item's score is the expected value sum(p_i * v_i); its label is the class group
(values < 0, = 0, > 0) with the highest total probability.

Languages (``VOC_SENTIMENT_LANGUAGES``): ``"*"`` for all or ``"en,de"``; without it a
``"languages"`` entry in ``config.json`` is used; without that a multilingual model
(``xlm*``/``mbert``/name containing "multilingual") supports all, any other English only.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voc.nlp.sentiment.base import UNSUPPORTED_RESULT, SentimentResult

log = logging.getLogger(__name__)

_NAMED = {
    "negative": -1.0, "neg": -1.0, "very negative": -1.0, "very_negative": -1.0,
    "neutral": 0.0, "neu": 0.0, "mixed": 0.0,
    "positive": 1.0, "pos": 1.0, "very positive": 1.0, "very_positive": 1.0,
}
_STARS = {1: -1.0, 2: -0.5, 3: 0.0, 4: 0.5, 5: 1.0}
_BY_COUNT = {2: (-1.0, 1.0), 3: (-1.0, 0.0, 1.0), 5: (-1.0, -0.5, 0.0, 0.5, 1.0)}


class LabelMappingError(ValueError):
    """The model's labels cannot be mapped to sentiment values; set VOC_SENTIMENT_LABEL_MAP."""


def label_values(id2label: Mapping[int, str], override: Mapping[str, float] | None = None
                 ) -> np.ndarray:
    """Value in [-1, 1] for each class id (see the module docstring for the rules)."""
    n = len(id2label)
    names = [str(id2label[i]) for i in range(n)]
    if override:
        missing = [name for name in names if name not in override]
        if missing:
            raise LabelMappingError(f"VOC_SENTIMENT_LABEL_MAP lacks labels {missing}")
        return np.array([float(override[name]) for name in names], dtype=np.float32)
    values: list[float] = []
    for name in names:
        low = name.strip().lower()
        if low in _NAMED:
            values.append(_NAMED[low])
            continue
        stars = re.fullmatch(r"([1-5])\s*stars?", low)
        if stars:
            values.append(_STARS[int(stars.group(1))])
            continue
        if re.fullmatch(r"label_\d+", low) and n in _BY_COUNT:
            values.append(_BY_COUNT[n][int(low.split("_")[1])])
            continue
        raise LabelMappingError(
            f"cannot map model label {name!r} to a sentiment value; set "
            "VOC_SENTIMENT_LABEL_MAP, e.g. {\"" + name + "\": -1}"
        )
    if any(v < -1 or v > 1 for v in values):
        raise LabelMappingError("label values must lie in [-1, 1]")
    return np.array(values, dtype=np.float32)


def _languages_from(config: Any, setting: str) -> list[str] | None:
    if setting.strip():
        if setting.strip() == "*":
            return None
        return sorted({x.strip().lower() for x in setting.split(",") if x.strip()})
    langs = getattr(config, "languages", None)
    if langs == "*" or langs == ["*"]:
        return None
    if isinstance(langs, list | tuple) and langs:
        return sorted({str(x).lower() for x in langs})
    hint = f"{getattr(config, 'model_type', '')} {getattr(config, '_name_or_path', '')}".lower()
    if "xlm" in hint or "multilingual" in hint or "mbert" in hint:
        return None
    return ["en"]


class TransformersBackend:
    """Batched, ``torch.no_grad`` CPU inference with a local classification model."""

    def __init__(self, model_dir: Path | str, *, languages: str = "",
                 label_map: Mapping[str, float] | None = None, batch_size: int = 32,
                 max_length: int = 512) -> None:
        self.model_dir = Path(model_dir)
        if not (self.model_dir / "config.json").is_file():
            raise FileNotFoundError(f"no config.json in sentiment model dir {self.model_dir}")
        self.batch_size = batch_size
        self.max_length = max_length
        self._languages_setting = languages
        self._label_map = dict(label_map or {})
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._values: np.ndarray | None = None
        self._languages: list[str] | None = None
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(str(self.model_dir), local_files_only=True)
        self._values = label_values(config.id2label, self._label_map)
        self._languages = _languages_from(config, languages)
        self.name = f"transformers:{self.model_dir.name}"[:64]

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._model is None:
                from transformers import AutoModelForSequenceClassification, AutoTokenizer

                started = time.perf_counter()
                self._tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir),
                                                                local_files_only=True)
                model = AutoModelForSequenceClassification.from_pretrained(
                    str(self.model_dir), local_files_only=True)
                model.eval()
                self._model = model.to("cpu")
                limit = getattr(model.config, "max_position_embeddings", None)
                if isinstance(limit, int) and limit > 0:
                    self.max_length = min(self.max_length, limit)
                log.info("loaded sentiment model %s in %.1fs", self.model_dir.name,
                         time.perf_counter() - started)
        return self._tokenizer, self._model

    def supports(self, language: str | None) -> bool:
        """All languages for multilingual models; else the configured list (None = unknown ok)."""
        return self._languages is None or language is None or language in self._languages

    def supported_languages(self) -> list[str] | None:
        """Configured languages, or None for all."""
        return None if self._languages is None else list(self._languages)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities (n, n_labels); texts are batched by length to limit padding."""
        import torch

        tokenizer, model = self._load()
        probs = np.zeros((len(texts), len(self._values)), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.no_grad():
            for b in range(0, len(order), self.batch_size):
                idx = order[b:b + self.batch_size]
                enc = tokenizer([texts[i] or "" for i in idx], padding=True, truncation=True,
                                max_length=self.max_length, return_tensors="pt")
                logits = model(**enc).logits
                probs[idx] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return probs

    def score_many(self, texts: Sequence[str], languages: Sequence[str | None],
                   embeddings: np.ndarray | None = None) -> list[SentimentResult]:
        """Expected value over the label values; unsupported languages are not scored."""
        out: list[SentimentResult] = [UNSUPPORTED_RESULT] * len(texts)
        idx = [i for i, lang in enumerate(languages) if self.supports(lang)]
        if not idx:
            return out
        probs = self.predict_proba([texts[i] for i in idx])
        values = self._values
        groups = np.stack([probs[:, values < 0].sum(1), probs[:, values == 0].sum(1),
                           probs[:, values > 0].sum(1)], axis=1)
        scores = np.clip(probs @ values, -1.0, 1.0)
        names = ("negative", "neutral", "positive")
        for j, i in enumerate(idx):
            out[i] = SentimentResult(round(float(scores[j]), 4), names[int(groups[j].argmax())])
        return out
