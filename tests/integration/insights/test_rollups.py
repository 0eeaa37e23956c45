"""Weekly rollups on a hand-built dataset (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from voc.insights import rollups
from voc.insights.topic_stats import topic_breakdown, topic_drivers, topic_trend
from voc.models.base import utcnow
from voc.models.feedback import Feedback
from voc.models.insights import InsightWeek

W1, W2, W3 = "2026-W40", "2026-W41", "2026-W42"


def test_rollup_numbers(session, settings, build) -> None:  # noqa: ANN001
    billing = build.topic("billing")
    login = build.topic("login")
    # W1: billing 6 items: DE email 4 (2 negative, 1 positive, 1 unsupported), FR bot 2
    build.add(W1, 2, billing, sentiment="negative", csat=[1, 2], resolved=True)
    build.add(W1, 1, billing, sentiment="positive", csat=5, resolved=False, sla_breached=True)
    build.add(W1, 1, billing, sentiment="unsupported", sla_breached=False)
    build.add(W1, 2, billing, market="fr", channel="bot", escalated=True)
    build.add(W1, 3, login, market="FR", channel="ai_agent", escalated=False)
    build.add(W1, 1, None, market=None, channel=None, sentiment=None)  # no topic yet
    counts = rollups.refresh(session, settings)
    assert counts["weeks"] == 1 and counts["feedback"] == 10

    week = session.get(InsightWeek, W1)
    assert week.total == 10
    trend = topic_trend(session, billing.id, weeks=1)
    assert len(trend) == 1
    t = trend[0]
    assert t["week"] == W1 and t["volume"] == 6 and t["total"] == 10
    assert t["share"] == pytest.approx(0.6)
    # supported labels only: 2 negative of 5 (unsupported excluded)
    assert t["sent_n"] == 5 and t["negative_share"] == pytest.approx(0.4)
    assert t["csat_n"] == 3 and t["csat"] == pytest.approx((1 + 2 + 5) / 3, abs=1e-3)
    assert t["escalation_rate"] == pytest.approx(1.0)  # 2 bot items, both escalated
    assert t["resolution_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert t["sla_breach_rate"] == pytest.approx(0.5)

    br = topic_breakdown(session, billing.id, W1)
    assert [(r["market"], r["volume"]) for r in br["markets"]] == [("DE", 4), ("FR", 2)]
    fr = br["markets"][1]
    assert fr["share_of_market"] == pytest.approx(2 / 5)  # FR: 2 billing + 3 login
    assert {r["channel"]: r["volume"] for r in br["channels"]} == {"email": 4, "bot": 2}

    login_drv = topic_drivers(session, login.id, W1)
    assert login_drv["escalation_rate"] == 0.0 and login_drv["automation_opportunity"] == 0
    drv = topic_drivers(session, billing.id, W1)
    assert drv["automation_opportunity"] == pytest.approx(6 * 1.0)
    assert drv["csat_impact"] is None  # all CSAT responses are billing's: no "without" mean


def test_incremental_and_rebuild(session, settings, build) -> None:  # noqa: ANN001
    t = build.topic("shipping")
    build.add(W1, 5, t)
    build.add(W3, 2, t)
    first = rollups.refresh(session, settings)
    assert first["week_list"] == [W1, W2, W3]  # the empty week between is rolled up as 0
    assert session.get(InsightWeek, W2).total == 0

    again = rollups.refresh(session, settings)
    # Nothing changed beyond the watermark's safety overlap: only the just-written weeks.
    assert set(again["week_list"]) <= {W1, W3}

    # Pretend the watermark is old news and a W2 item arrives: only W2 is recomputed.
    state = rollups._get_state(session, rollups.WATERMARK_KEY)
    rollups._set_state(session, rollups.WATERMARK_KEY,
                       {"at": (utcnow() + timedelta(minutes=10)).isoformat()})
    build.add(W2, 3, t)
    session.execute(update(Feedback).where(Feedback.topic_id == t.id,
                                           Feedback.created_at >= rollups.wk.week_bounds(
                                               W2, "UTC")[0],
                                           Feedback.created_at < rollups.wk.week_bounds(
                                               W2, "UTC")[1])
                    .values(updated_at=utcnow() + timedelta(minutes=20)))
    third = rollups.refresh(session, settings)
    assert third["week_list"] == [W2]
    assert session.get(InsightWeek, W2).total == 3
    assert state  # the first run stored a watermark

    # Erasure deletes rows (no timestamp left): rebuild_weeks recomputes on demand.
    w1_start, w1_end = rollups.wk.week_bounds(W1, "UTC")
    ids = session.scalars(select(Feedback.id).where(
        Feedback.topic_id == t.id, Feedback.created_at >= w1_start, Feedback.created_at < w1_end,
    ).order_by(Feedback.id)).all()
    session.execute(Feedback.__table__.delete().where(Feedback.id.in_(ids[:2])))
    rollups.rebuild_weeks(session, settings, [W1])
    session.expire_all()  # rebuild writes in bulk: re-read, don't trust the identity map
    assert session.get(InsightWeek, W1).total == 3


def test_weeks_follow_timezone(session, settings, build) -> None:  # noqa: ANN001
    t = build.topic("tz")
    # Sunday 23:30 UTC of W40 is already Monday of W41 in Berlin.
    build.add(W1, 1, t, offset_hours=6 * 24 + 23.5)
    tz = settings.replace(timezone="Europe/Berlin")
    out = rollups.refresh(session, tz)
    assert out["week_list"] == [W2]
