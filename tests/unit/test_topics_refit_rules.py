"""Refit rules on plain data: which items are provisional, which clusters are new themes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from voc.nlp.topics import service

LAST_REFIT = datetime(2026, 11, 9, 2, 30, tzinfo=UTC)
BEFORE, AFTER = LAST_REFIT - timedelta(days=3), LAST_REFIT + timedelta(days=3)


def _docs(topics: list[int | None], assigned: list[datetime | None]) -> service._Docs:
    n = len(topics)
    return service._Docs(ids=np.arange(n), texts=[""] * n, vectors=np.zeros((n, 2)),
                         created=[BEFORE] * n, topic_ids=topics,
                         locked=np.zeros(n, dtype=bool), assigned_at=assigned)


def test_provisional_means_placed_since_the_last_full_clustering() -> None:
    docs = _docs([1, 1, None], [BEFORE, AFTER, None])
    assert [service._provisional(docs, k, LAST_REFIT) for k in range(3)] == [False, True, False]
    assert not service._provisional(docs, 1, None)  # no full clustering yet: nothing is


def test_a_cluster_of_settled_items_folds_into_their_topic() -> None:
    # 6 of 10 members settled (4 in topic 7, 2 in topic 9 which was merged into 7).
    docs = _docs([7, 7, 7, 7, 9, 9, 3, 3, None, None],
                 [BEFORE] * 6 + [AFTER, AFTER, None, None])
    rows = np.arange(10)
    assert service._settled_parent(docs, rows, LAST_REFIT, {9: 7}) == 7


def test_a_cluster_of_new_and_provisional_items_is_a_new_theme() -> None:
    # A theme that arrived since the last refit: absorbed by neighbours (provisional) or
    # unassigned; a few settled neighbours in the cluster do not make it an old theme.
    docs = _docs([5, 5, 3, 3, 3, None, None, None, None, None],
                 [BEFORE, BEFORE, AFTER, AFTER, AFTER, None, None, None, None, None])
    assert service._settled_parent(docs, np.arange(10), LAST_REFIT, {}) is None
