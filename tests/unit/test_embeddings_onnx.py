"""The ONNX backends reproduce the sentence-transformers embeddings of the bundled model."""

from __future__ import annotations

import numpy as np
import pytest

from voc.nlp.embeddings import DIM, get_embedder

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
    assert (model_cache / "all-MiniLM-L6-v2" / "model.onnx").is_file()  # cached export
    assert get_embedder("onnx", model_cache) is emb  # one per process


def test_onnx_int8_is_close_to_sbert(reference: np.ndarray, model_cache) -> None:  # noqa: ANN001
    vecs = get_embedder("onnx-int8", model_cache).encode(SENTENCES)
    cos = (vecs * reference).sum(axis=1)
    assert cos.min() > 0.95
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


def test_unknown_backend_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown embedding backend"):
        get_embedder("word2vec")
