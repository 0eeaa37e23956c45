"""Retention purge: anonymise expired feedback by kind, drop old raw text, expire quarantine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, insert, select

from voc import audit
from voc.compliance.retention import EXPIRED_TEXT, kind_cutoffs, purge
from voc.config import ConfigError
from voc.models.feedback import Feedback, FeedbackEmbedding, Quarantine, Source
from voc.models.users import AuditLog

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _seed(session) -> dict[str, int]:  # noqa: ANN001
    """Old and new tickets and surveys, raw text kept, embeddings, quarantine rows."""
    src = Source(name="s", type="file", kind="ticket", settings={}, cursor={})
    session.add(src)
    session.flush()
    rows = []
    for i, (kind, age) in enumerate([("ticket", 400), ("ticket", 200), ("ticket", 10),
                                     ("survey", 400), ("survey", 10), ("chat", 999)]):
        rows.append({"source_id": src.id, "external_id": f"e{i}", "kind": kind,
                     "text": f"text {i} of {kind}", "text_raw": f"raw {i} jane@x.org",
                     "customer_hash": f"{i:064x}", "content_hash": f"h{i}",
                     "created_at": NOW - timedelta(days=age), "attributes": {"name": "Jane"},
                     "pain_quote": f"quote {i}", "tags": [], "csat": 3,
                     "sentiment_label": "negative", "sentiment_score": -0.5})
    session.execute(insert(Feedback), rows)
    ids = dict(session.execute(select(Feedback.external_id, Feedback.id)).all())
    vec = np.zeros(4, dtype=np.float32)
    session.add_all([FeedbackEmbedding(feedback_id=f, model="m", vector=vec) for f in ids.values()])
    session.execute(insert(Quarantine), [
        {"source_id": src.id, "source_name": "s", "reason": "bad", "raw_payload": "{}",
         "status": "open", "created_at": NOW - timedelta(days=d)} for d in (100, 5)])
    audit.record(session, "old", "login")
    session.commit()
    return ids


@pytest.fixture
def retention_settings(settings):  # noqa: ANN001, ANN201
    return settings.replace(retention_days={"ticket": 180, "survey": 365},
                            raw_text_retention_days=30, quarantine_retention_days=90,
                            purge_batch_size=2)


def test_purge_anonymises_expired_items_and_keeps_the_facts(session, session_factory,  # noqa: ANN001
                                                            retention_settings):
    ids = _seed(session)
    report = purge(session_factory, retention_settings, now=NOW, actor="tester")
    assert report.anonymised == {"ticket": 2, "survey": 1}
    assert report.embeddings_deleted == 3
    assert report.raw_text_dropped == 1  # e5; the other old ones were anonymised already
    assert report.quarantine_deleted == 1
    assert report.batches >= 4  # batch size 2: small transactions
    session.expire_all()
    by_ext = {f.external_id: f for f in session.scalars(select(Feedback))}
    for ext in ("e0", "e1", "e3"):
        f = by_ext[ext]
        assert (f.text, f.text_raw, f.customer_hash, f.pain_quote, f.attributes) == \
            (EXPIRED_TEXT, None, None, None, {})
        # What aggregates are made of stays.
        assert (f.csat, f.sentiment_label, f.kind) == (3, "negative", f.kind)
    assert by_ext["e2"].text == "text 2 of ticket" and by_ext["e2"].customer_hash
    assert by_ext["e5"].text == "text 5 of chat"  # no retention for chats ...
    assert by_ext["e5"].text_raw is None  # ... but the raw text still expires
    assert by_ext["e2"].text_raw is not None  # recent: raw text kept
    left = set(session.scalars(select(FeedbackEmbedding.feedback_id)))
    assert left == {ids["e2"], ids["e4"], ids["e5"]}
    assert session.scalar(select(func.count()).select_from(Quarantine)) == 1
    # Audit log untouched by the purge, and the purge itself is audited.
    actions = list(session.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert actions == ["login", "retention.purge"]

    again = purge(session_factory, retention_settings, now=NOW)
    assert again.total == 0  # idempotent


def test_dry_run_counts_without_changing(session, session_factory, retention_settings):  # noqa: ANN001
    _seed(session)
    report = purge(session_factory, retention_settings, now=NOW, dry_run=True)
    assert report.anonymised == {"ticket": 2, "survey": 1} and report.quarantine_deleted == 1
    assert session.scalar(select(func.count()).select_from(Feedback)
                          .where(Feedback.text == EXPIRED_TEXT)) == 0
    assert session.scalar(select(func.count()).select_from(FeedbackEmbedding)) == 6


def test_rollups_unchanged_by_purge_even_when_rebuilt(session, session_factory,  # noqa: ANN001
                                                      retention_settings):
    from voc.insights.rollups import rebuild_weeks, refresh
    from voc.models.insights import RollupSlice

    _seed(session)
    refresh(session, retention_settings)
    session.commit()

    def snapshot() -> list[tuple]:
        return sorted(session.execute(select(
            RollupSlice.week, RollupSlice.kind, RollupSlice.volume, RollupSlice.neg_n,
            RollupSlice.csat_n)).all())

    before = snapshot()
    purge(session_factory, retention_settings, now=NOW)
    assert snapshot() == before  # stored aggregates kept
    rebuild_weeks(session, retention_settings, [w for w, *_ in before])
    assert snapshot() == before  # and a rebuild gives the same numbers


def test_pipeline_step_records_counts(session, step_ctx, retention_settings):  # noqa: ANN001
    from pipelines.runner import run_job

    _seed(session)
    step_ctx.settings = retention_settings
    run = run_job("purge", step_ctx, raise_errors=True)
    assert run.status == "success"
    assert run.counts["anonymised"] == 3 and run.counts["anonymised.ticket"] == 2


def test_kind_cutoffs_default_and_validation(settings):  # noqa: ANN001
    s = settings.replace(retention_days={"*": 30, "survey": 365})
    cut = kind_cutoffs(s, NOW)
    assert cut["ticket"] == NOW - timedelta(days=30)
    assert cut["survey"] == NOW - timedelta(days=365)
    assert kind_cutoffs(settings.replace(retention_days={}), NOW) == {}
    with pytest.raises(ConfigError, match="unknown kinds"):
        kind_cutoffs(settings.replace(retention_days={"tickets": 10}), NOW)


def test_purge_redacts_old_quarantine_payloads_again(session, session_factory,  # noqa: ANN001
                                                     retention_settings):
    import json

    _seed(session)
    # A row stored before redaction caught e-mail addresses (and one that is not JSON).
    leaky = Quarantine(source_name="s", reason="bad csat", status="open", created_at=NOW,
                       raw_payload=json.dumps({"id": "q1", "text": "mail bob@example.org",
                                               "csat": 9, "tags": ["x", "c@d.io"]}))
    plain = Quarantine(source_name="s", reason="bad line", status="open", created_at=NOW,
                       raw_payload="broken line from bob@example.org")
    session.add_all([leaky, plain])
    session.commit()
    dry = purge(session_factory, retention_settings, now=NOW, dry_run=True)
    assert dry.quarantine_reredacted == 2
    session.expire_all()
    assert "bob@example.org" in session.get(Quarantine, leaky.id).raw_payload
    report = purge(session_factory, retention_settings, now=NOW)
    assert report.quarantine_reredacted == 2
    session.expire_all()
    payload = json.loads(session.get(Quarantine, leaky.id).raw_payload)
    assert payload == {"id": "q1", "text": "mail [EMAIL]", "csat": 9, "tags": ["x", "[EMAIL]"]}
    assert "bob@example.org" not in session.get(Quarantine, plain.id).raw_payload
    assert purge(session_factory, retention_settings, now=NOW).quarantine_reredacted == 0
