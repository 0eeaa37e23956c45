"""The ONNX backends reproduce the sentence-transformers embeddings of the bundled model."""

from __future__ import annotations

import numpy as np
import pytest

from voc.nlp.embeddings import (
    DIM,
    INT8_SPEC,
    MODEL_NAME,
    get_embedder,
    model_path,
    physical_cores,
    session_options,
)
from voc.nlp.onnx_export import ExportSpec, model_fingerprint

SENTENCES = [
    "How do I locate my card?",
    "I still have not received my new card, I ordered over a week ago.",
    "Why was I charged a fee for a transfer?",
    "ok",
    "The app keeps crashing whenever I open the statements page " * 8,  # long: padding/truncation
]


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return get_embedder("sbert").encode(SENTENCES)


def test_sbert_vectors_are_normalised(reference: np.ndarray) -> None:
    assert reference.shape == (len(SENTENCES), DIM) and reference.dtype == np.float32
    assert np.allclose(np.linalg.norm(reference, axis=1), 1.0, atol=1e-5)
    assert get_embedder("sbert").encode([]).shape == (0, DIM)


def test_onnx_matches_sbert(reference: np.ndarray, model_cache) -> None:  # noqa: ANN001
    emb = get_embedder("onnx", model_cache)
    vecs = emb.encode(SENTENCES, batch_size=2)
    assert vecs.shape == reference.shape and vecs.dtype == np.float32
    cos = (vecs * reference).sum(axis=1)
    assert cos.min() > 0.999
    # cached export, under the fingerprint of the weights it came from
    folder = model_cache / MODEL_NAME / model_fingerprint(model_path())
    assert emb.model_file is not None and emb.model_file.parent == folder
    assert emb.model_file.is_file() and emb.model_file.with_suffix(".json").is_file()
    assert get_embedder("onnx", model_cache) is emb  # one per process


def test_onnx_int8_is_close_to_sbert(reference: np.ndarray, model_cache) -> None:  # noqa: ANN001
    emb = get_embedder("onnx-int8", model_cache)
    vecs = emb.encode(SENTENCES)
    cos = (vecs * reference).sum(axis=1)
    # per-channel int8: 0.994 mean / 0.982 min over banking77 test (per-tensor: 0.91 min);
    # the one-token "ok" is the hardest case here (0.965)
    assert cos.min() > 0.96 and cos.mean() > 0.98
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert emb.model_file is not None and emb.model_file.name == INT8_SPEC.filename()
    fp32 = get_embedder("onnx", model_cache).model_file
    assert emb.model_file.parent == fp32.parent  # quantised from the cached fp32 export
    assert emb.model_file.stat().st_size < fp32.stat().st_size * 0.8


def test_onnx_batches_do_not_change_vectors(model_cache) -> None:  # noqa: ANN001
    emb = get_embedder("onnx", model_cache)
    one_batch = emb.encode(SENTENCES, batch_size=64)
    # sorted by length and padded per batch: the order of the output is the input order
    reversed_small = emb.encode(SENTENCES[::-1], batch_size=2)[::-1]
    assert np.allclose(one_batch, reversed_small, atol=1e-5)


def test_cache_key_follows_recipe_and_weights(tmp_path) -> None:  # noqa: ANN001
    assert ExportSpec().key() == ExportSpec(per_channel=False).key()  # fp32: no quant fields
    assert INT8_SPEC.key() != ExportSpec(quantize=True, per_channel=False).key()
    assert INT8_SPEC.filename().startswith("model-int8-")
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"a" * 10)
    before = model_fingerprint(str(tmp_path))
    model_fingerprint.cache_clear()
    (tmp_path / "model.safetensors").write_bytes(b"b" * 10)
    assert model_fingerprint(str(tmp_path)) != before


def test_session_options_use_physical_cores_without_spinning() -> None:
    import os

    assert 1 <= physical_cores() <= (os.cpu_count() or 1)
    opts = session_options()
    assert opts.intra_op_num_threads == physical_cores()
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert session_options(threads=1).intra_op_num_threads == 1


def test_unknown_backend_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown embedding backend"):
        get_embedder("word2vec")
