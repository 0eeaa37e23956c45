"""Topics with stable identity (DESIGN.md section 4).

- :mod:`.text`: spaCy tokenisation with a rule lemmatiser, the keyword vectoriser.
- :mod:`.clustering`: BERTopic on precomputed embeddings (UMAP + HDBSCAN + outlier
  reassignment + near-duplicate merging), keywords and labels.
- :mod:`.matching`: pure numpy: threshold calibration, centroid assignment, Hungarian matching.
- :mod:`.registry`: the canonical ``topics`` table: loading centroids, stats, lineage events.
- :mod:`.service`: ``assign_pending``, ``refit``, ``topic_examples`` (what the pipeline calls).
- :mod:`.curation`: rename, merge, hide, move (audited, kept across refits).
"""
