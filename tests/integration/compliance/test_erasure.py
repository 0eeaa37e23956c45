"""Erasure end to end on SQLite and PostgreSQL: real ingest, real re-ingest, whole-DB grep."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import func, select, update

from tests.integration.compliance.conftest import (
    ALICE,
    ALICE_TEXT,
    BOB,
    fts_hits,
    scan_database,
    source_id,
)
from voc.compliance.erasure import ErasureError, erase_customer
from voc.compliance.pseudonym import customer_hash
from voc.models.compliance import Tombstone
from voc.models.feedback import Feedback, FeedbackEmbedding, Quarantine, Source
from voc.models.topics import Topic
from voc.models.users import AuditLog, User


def _decorate(session, settings) -> dict:  # noqa: ANN001
    """Embeddings, a topic and an alert quoting Alice, as the later pipeline steps would."""
    from voc.models.alerts import AlertDelivery, Notification

    items = session.execute(select(Feedback.id, Feedback.external_id)).all()
    ids = {ext: fid for fid, ext in items}
    topic = Topic(label="checkout", keywords=["checkout"], size=4)
    session.add(topic)
    session.flush()
    session.execute(update(Feedback).where(Feedback.external_id.in_(["t1", "t2", "t3", "t5"]))
                    .values(topic_id=topic.id))
    vec = np.ones(4, dtype=np.float32)
    session.add_all([FeedbackEmbedding(feedback_id=fid, model="test", vector=vec)
                     for fid in ids.values()])
    user = User(username="ana", password_hash="x", role="analyst")
    session.add(user)
    session.flush()
    delivery = AlertDelivery(idempotency_key="k1", target_type="email", target={},
                             payload={"subject": "surge", "text": f"Example: {ALICE_TEXT}"},
                             feedback_ids=[ids["t1"], ids["t4"]])
    session.add(delivery)
    session.flush()
    session.add(Notification(user_id=user.id, delivery_id=delivery.id, title="surge",
                             examples=[{"feedback_id": ids["t1"], "text": ALICE_TEXT}],
                             feedback_ids=[ids["t1"]]))
    session.commit()
    return {"ids": ids, "topic_id": topic.id}


def test_erase_removes_everything_and_survives_reingest(session, session_factory, settings,  # noqa: ANN001
                                                         ingested):
    from voc.ingest.service import ingest_source
    from voc.insights.ranking import rank_week
    from voc.insights.rollups import refresh

    state = _decorate(session, settings)
    refresh(session, settings)
    for week in ("2026-W45", "2026-W46"):
        rank_week(session, settings, week)
    session.commit()
    digest = customer_hash(ALICE, settings)
    # Before: Alice's text is findable, her quarantined row holds only the hash.
    assert fts_hits(session, "zebracorn") == 3
    q = session.scalars(select(Quarantine)).one()
    assert f"hash:{digest}" in q.raw_payload and ALICE not in q.raw_payload
    assert "alice@example.com" not in q.raw_payload  # redacted like feedback

    report = erase_customer(session, settings, ALICE, actor="dpo")
    session.commit()

    assert report.feedback == 3 and report.quarantine == 1
    assert report.related == {"feedback_embeddings": 3}
    assert report.alert_messages == 2  # one delivery, one notification
    assert report.tombstones == 5  # three items, the quarantined one, the customer
    assert report.weeks_rebuilt == ["2026-W45", "2026-W46"]
    assert report.topics_resized == 1
    assert report.rollups_rebuilt and report.skipped == []
    assert report.weeks_reranked == 2

    remaining = set(session.scalars(select(Feedback.external_id)))
    assert remaining == {"t4", "t5"}
    assert session.scalar(select(func.count()).select_from(FeedbackEmbedding)) == 2
    assert session.scalar(select(func.count()).select_from(Quarantine)) == 0
    assert session.get(Topic, state["topic_id"]).size == 1
    # No copy of her text, her raw id or her e-mail anywhere in the database.
    assert scan_database(session, [ALICE_TEXT, ALICE, "zebracorn", "alice@example"]) == {}
    assert fts_hits(session, "zebracorn") == 0
    # The audit entry has counts and the tombstone link, never the id or the hash.
    entry = session.scalars(select(AuditLog).where(AuditLog.action == "erase")).one()
    assert entry.actor == "dpo" and entry.details["feedback"] == 3
    assert entry.target_type == "tombstone" and entry.target_id == str(report.tombstone_id)
    assert ALICE not in str(entry.details) and digest not in str(entry.details)
    stones = session.scalars(select(Tombstone)).all()
    assert {(t.external_id, t.customer_hash) for t in stones} == {
        ("t1", None), ("t2", None), ("t3", None), ("t6", None), (None, digest)}
    # Rollups of the affected weeks were rebuilt without her items.
    from voc.models.insights import RollupSlice

    vol = dict(session.execute(select(RollupSlice.week, func.sum(RollupSlice.volume))
                               .group_by(RollupSlice.week)).all())
    assert vol == {"2026-W45": 1, "2026-W46": 1}

    # The next ingest of the same file (cursor forced) brings nothing of hers back.
    result = ingest_source(session_factory, "tickets", settings, path=ingested)
    assert result.skipped_erased == 3 and result.stored == 0
    assert set(session.scalars(select(Feedback.external_id))) == {"t4", "t5"}
    # Her broken row was quarantined again (ingest checks tombstones for stored rows only);
    # the purge step removes quarantined rows of erased customers.
    from voc.compliance.retention import purge

    assert purge(session_factory, settings).erased_quarantine_deleted == 1
    assert scan_database(session, [ALICE_TEXT, ALICE]) == {}


def test_new_item_of_erased_customer_is_not_ingested(session, session_factory, settings,  # noqa: ANN001
                                                     ingested, tmp_path):
    from tests.integration.compliance.conftest import write_jsonl
    from voc.ingest.service import ingest_source

    erase_customer(session, settings, ALICE, actor="dpo")
    session.commit()
    path = write_jsonl(tmp_path / "more.jsonl", [
        {"id": "n1", "text": "new message from her", "created_at": "2026-11-20T10:00:00",
         "customer_id": ALICE},
        {"id": "n2", "text": "new message from him", "created_at": "2026-11-20T10:00:00",
         "customer_id": BOB}])
    result = ingest_source(session_factory, "tickets", settings, path=path)
    assert (result.stored, result.skipped_erased) == (1, 1)
    assert session.scalar(select(Feedback.external_id).where(Feedback.external_id == "n1")) is None


def test_dry_run_changes_nothing(session, settings, ingested):  # noqa: ANN001
    before = session.scalar(select(func.count()).select_from(Feedback))
    report = erase_customer(session, settings, ALICE, actor="dpo", dry_run=True)
    assert report.dry_run and report.feedback == 3 and report.quarantine == 1
    assert session.scalar(select(func.count()).select_from(Feedback)) == before
    assert session.scalar(select(func.count()).select_from(Tombstone)) == 0
    assert session.scalar(select(func.count()).select_from(AuditLog)) == 0


def test_unknown_customer_writes_only_a_tombstone(session, settings, ingested):  # noqa: ANN001
    report = erase_customer(session, settings, "nobody-here", actor="dpo")
    assert not report.found and report.tombstones == 1
    assert session.scalar(select(func.count()).select_from(Feedback)) == 5
    # Erasing twice is harmless: no duplicate customer tombstone.
    again = erase_customer(session, settings, "nobody-here", actor="dpo")
    assert again.tombstones == 0 and again.tombstone_id == report.tombstone_id


def test_empty_customer_id_is_refused(session, settings):  # noqa: ANN001
    with pytest.raises(ErasureError):
        erase_customer(session, settings, "  ", actor="dpo")


def test_other_sources_keep_their_items(session, session_factory, settings, ingested,  # noqa: ANN001
                                        make_source, tmp_path):
    """Item tombstones are per source: the same external id elsewhere is unaffected."""
    from tests.integration.compliance.conftest import write_jsonl
    from voc.ingest.service import ingest_source

    path = write_jsonl(tmp_path / "survey.jsonl", [
        {"id": "t1", "text": "survey answer", "created_at": "2026-11-02T10:00:00"}])
    make_source("survey", path, kind="survey")
    erase_customer(session, settings, ALICE, actor="dpo")
    session.commit()
    result = ingest_source(session_factory, "survey", settings, path=path)
    assert result.stored == 1
    assert session.scalar(select(func.count()).select_from(Feedback).where(
        Feedback.source_id == source_id(session, "survey"))) == 1
    assert session.scalar(select(Source.name).where(Source.name == "survey")) == "survey"


def test_erasure_after_key_rotation_finds_items_hashed_with_the_old_key(  # noqa: ANN001
        session, settings, ingested):
    rotated = settings.replace(pseudonym_key="new-key",
                               pseudonym_previous_keys=settings.pseudonym_key)
    # Without the retired key the items stored under it are not found ...
    assert erase_customer(session, settings.replace(pseudonym_key="new-key"), ALICE,
                          actor="dpo", dry_run=True).feedback == 0
    # ... with it, they are, and both hashes are tombstoned.
    report = erase_customer(session, rotated, ALICE, actor="dpo")
    assert report.feedback == 3 and report.tombstones == 6
    hashes = set(session.scalars(select(Tombstone.customer_hash)
                                 .where(Tombstone.customer_hash.isnot(None))))
    assert hashes == {customer_hash(ALICE, settings), customer_hash(ALICE, rotated)}


def test_purge_sweeps_items_stored_by_a_concurrent_ingest(session, session_factory,  # noqa: ANN001
                                                          settings, ingested):
    """An ingest batch that read the tombstones just before the erasure committed."""
    from sqlalchemy import insert

    from voc.compliance.retention import purge

    erase_customer(session, settings, ALICE, actor="dpo")
    session.commit()
    sid = source_id(session, "tickets")
    session.execute(insert(Feedback), [{
        "source_id": sid, "external_id": "late", "kind": "ticket", "text": ALICE_TEXT,
        "customer_hash": customer_hash(ALICE, settings), "content_hash": "x",
        "created_at": datetime(2026, 11, 20, tzinfo=UTC), "tags": [], "attributes": {}}])
    session.commit()
    assert purge(session_factory, settings, dry_run=True).erased_leftovers == 1
    report = purge(session_factory, settings)
    assert report.erased_leftovers == 1
    assert scan_database(session, [ALICE_TEXT]) == {}
    assert purge(session_factory, settings).erased_leftovers == 0
