"""RefinedHDBSCAN on synthetic blobs: small clusters survive the robust min_samples default."""

from __future__ import annotations

import numpy as np

from voc.nlp.topics.clustering import ClusterParams, RefinedHDBSCAN


def _blobs(n_blobs: int, per_blob: int, dim: int = 16, seed: int = 0) -> tuple[np.ndarray,
                                                                                  np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_blobs, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = np.repeat(centres, per_blob, axis=0) + 0.03 * rng.normal(size=(n_blobs * per_blob, dim))
    return x.astype(np.float32), np.repeat(np.arange(n_blobs), per_blob)


def test_min_samples_is_capped_by_min_cluster_size_so_small_themes_survive() -> None:
    # Blobs of 6 items with min_cluster_size 5: the default min_samples (8) would reach into
    # neighbouring blobs; capped at min_cluster_size each blob is its own cluster.
    x, truth = _blobs(4, 6)
    params = ClusterParams(min_cluster_size=5)
    assert params.min_samples is not None and params.min_samples > params.min_cluster_size
    labels = RefinedHDBSCAN(x, params).fit(x).labels_
    assert (labels >= 0).all()
    assert len(set(labels.tolist())) == 4
    for b in range(4):
        assert len(set(labels[truth == b].tolist())) == 1
