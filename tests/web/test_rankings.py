"""What the pages read: the stored ranking, or the volume ranking until the insights step has
run; the weeks; topic splits and examples; filter options; the per-process caches.

Expected figures are recomputed here in Python from the seeded feedback rows, so the SQL
under test is checked against an independent count.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update

from tests.web.conftest import csrf_token
from voc.insights import ranking as insights_ranking
from voc.insights import weeks as wk
from voc.models.feedback import Feedback, Source
from voc.models.insights import InsightWeek, Ranking, RollupSlice, TopicPolicy
from voc.models.topics import Topic
from web import caches, options, rankings
from web.search import EXPIRED_TEXT
from web.topics import topic_examples, topic_volume_split

CONTRACT_KEYS = ("rank", "topic_id", "label", "score", "volume", "baseline", "change", "flags",
                 "negative_share", "csat", "markets", "reasons", "examples")


@pytest.fixture
def unranked(session, seeded):  # noqa: ANN001, ANN201
    """The seeded data as just after a first import: no rollups and no rankings."""
    for model in (Ranking, RollupSlice, InsightWeek):
        session.execute(delete(model))
    session.flush()
    caches.clear_all()
    return session


def _counts(session, tz: str, **equal) -> dict[int, dict[str, list]]:  # noqa: ANN001
    """Per topic and week: the items' (sentiment label, csat, market), bucketed in Python."""
    out: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    stmt = select(Feedback.topic_id, Feedback.created_at, Feedback.sentiment_label,
                  Feedback.csat, Feedback.market).where(Feedback.topic_id.is_not(None))
    for col, value in equal.items():
        stmt = stmt.where(getattr(Feedback, col) == value)
    for tid, created, label, csat, market in session.execute(stmt):
        out[tid][wk.iso_week(created, tz)].append((label, csat, market))
    return out


def test_volume_ranking_matches_the_feedback_table(unranked, web_settings, seeded):  # noqa: ANN001
    week, tz = seeded.week, web_settings.timezone
    items = rankings.load_ranking(unranked, web_settings, week)
    counts = _counts(unranked, tz)
    window = wk.previous_weeks(week, rankings.FALLBACK_WEEKS - 1) + [week]
    first = min(i for c in counts.values() for i, w in enumerate(window) if c.get(w))
    assert {it["topic_id"] for it in items} == {t for t in counts if counts[t].get(week)}
    assert items[0]["topic_id"] == seeded.topic_ids["refund"]  # it grew this week
    assert [it["rank"] for it in items] == list(range(1, len(items) + 1))
    for it in items:
        rows = counts[it["topic_id"]]
        assert set(CONTRACT_KEYS) <= set(it)
        assert it["volume"] == len(rows[week]) and it["score"] == it["volume"]
        prior = [len(rows.get(w, [])) for w in window[first:-1]]
        assert it["baseline"] == pytest.approx(sum(prior) / len(prior), abs=0.01)
        labels = [r[0] for r in rows[week]]
        assert it["negative_share"] == pytest.approx(labels.count("negative") / len(labels),
                                                     abs=0.001)
        csats = [r[1] for r in rows[week] if r[1] is not None]
        assert it["csat"] == pytest.approx(sum(csats) / len(csats), abs=0.01)
        assert sorted(it["markets"]) == sorted({r[2] for r in rows[week]})
        assert it["sparkline"] == [len(rows.get(w, []))
                                   for w in window[-insights_ranking.SPARK_WEEKS:]]
        assert it["flags"] == [] and it["examples"] == []
        assert "simple volume ranking" in it["reasons"][0]
    volumes = [it["volume"] for it in items]
    assert volumes == sorted(volumes, reverse=True)


def test_volume_ranking_rank_change_ties_are_not_moves(unranked, web_settings, seeded):  # noqa: ANN001
    # Seed: last week "xss" led (9 items) and the other three tied (3 each); this week the
    # refund topic grew to 12 and passed it.
    ids = seeded.topic_ids
    new = Topic(label="Brand-new issue", keywords=[], size=0, status="active", hidden=False)
    unranked.add(new)
    unranked.flush()
    start, end = wk.week_bounds(seeded.week, web_settings.timezone)
    moved = unranked.scalars(select(Feedback.id).where(
        Feedback.topic_id == ids["delivery"], Feedback.created_at >= start,
        Feedback.created_at < end).limit(2)).all()
    unranked.execute(update(Feedback).where(Feedback.id.in_(moved)).values(topic_id=new.id))
    change = {it["topic_id"]: it["rank_change"]
              for it in rankings.load_ranking(unranked, web_settings, seeded.week)}
    assert change[ids["refund"]] > 0 and change[ids["xss"]] == -1
    assert change[ids["app"]] == 0
    assert change[new.id] is None  # no volume last week: new in the ranking


def test_volume_ranking_filters_scope_and_hidden_topics(unranked, web_settings, seeded):  # noqa: ANN001
    week, tz = seeded.week, web_settings.timezone
    fr = rankings.load_ranking(unranked, web_settings, week, market="fr", kind="ticket")
    expected = _counts(unranked, tz, market="FR", kind="ticket")
    assert fr and {it["topic_id"]: it["volume"] for it in fr} == {
        t: len(w[week]) for t, w in expected.items() if w.get(week)}
    assert all(it["markets"] == ["FR"] for it in fr)
    assert rankings.load_ranking(unranked, web_settings, week, market="DE", kind="ticket") == []
    mapped = set(unranked.scalars(select(TopicPolicy.topic_id)
                                  .where(TopicPolicy.policy == "refunds")))
    by_policy = rankings.load_ranking(unranked, web_settings, week, policy="refunds")
    assert mapped and {it["topic_id"] for it in by_policy} == mapped
    assert rankings.load_ranking(unranked, web_settings, week, policy="no-such-policy") == []
    unranked.get(Topic, seeded.topic_ids["xss"]).hidden = True
    unranked.flush()
    visible = rankings.load_ranking(unranked, web_settings, week, limit=2)
    assert len(visible) == 2 and seeded.topic_ids["xss"] not in {it["topic_id"]
                                                                   for it in visible}


def test_volume_ranking_examples_come_from_the_topic_and_week(unranked, web_settings,  # noqa: ANN001
                                                             seeded):
    items = rankings.load_ranking(unranked, web_settings, seeded.week, with_examples=True)
    start, end = wk.week_bounds(seeded.week, web_settings.timezone)
    sources = dict(unranked.execute(select(Source.id, Source.name)).all())
    for it in items:
        rows = unranked.execute(select(Feedback.source_id, Feedback.external_id).where(
            Feedback.topic_id == it["topic_id"], Feedback.created_at >= start,
            Feedback.created_at < end)).all()
        allowed = {(sources[s], e) for s, e in rows}
        assert it["examples"] and {(x["source"], x["id"]) for x in it["examples"]} <= allowed


def test_stored_ranking_wins_once_any_exists(session, web_settings, seeded):  # noqa: ANN001
    caches.clear_all()
    stored = insights_ranking.load_ranking(session, seeded.week, with_examples=False).items
    assert rankings.load_ranking(session, web_settings, seeded.week) == stored
    # A week without a stored ranking is empty, not a volume ranking.
    assert rankings.load_ranking(session, web_settings, "2026-W30") == []
    refund = seeded.topic_ids["refund"]
    assert rankings.ranking_item(session, web_settings, seeded.week, refund) == \
        next(it for it in stored if it["topic_id"] == refund)
    assert rankings.ranking_item(session, web_settings, "2026-W30", refund) is None


def test_ranking_item_before_the_insights_step(unranked, web_settings, seeded):  # noqa: ANN001
    refund = seeded.topic_ids["refund"]
    item = rankings.ranking_item(unranked, web_settings, seeded.week, refund)
    assert item == next(it for it in rankings.volume_ranking(unranked, web_settings, seeded.week)
                        if it["topic_id"] == refund)


def test_available_weeks_fall_back_to_feedback_weeks(unranked, web_settings, seeded):  # noqa: ANN001
    tz = web_settings.timezone
    created = list(unranked.scalars(select(Feedback.created_at)))
    expected = wk.week_range(wk.iso_week(min(created), tz), wk.iso_week(max(created), tz))[::-1]
    assert rankings.available_weeks(unranked, web_settings) == expected
    assert expected[0] == seeded.week
    # One absurd date does not make the picker list centuries.
    oldest = unranked.scalar(select(Feedback.id).order_by(Feedback.created_at).limit(1))
    unranked.execute(update(Feedback).where(Feedback.id == oldest)
                     .values(created_at=datetime(1900, 1, 1, tzinfo=UTC)))
    caches.clear_all()
    weeks = rankings.available_weeks(unranked, web_settings)
    assert len(weeks) == rankings.MAX_WEEKS and weeks[0] == seeded.week


def test_available_weeks_are_the_ranked_weeks_and_cached(session, web_settings, seeded):  # noqa: ANN001
    caches.clear_all()
    ranked = insights_ranking.available_weeks(session)
    assert rankings.available_weeks(session, web_settings) == ranked
    session.execute(delete(Ranking).where(Ranking.week == ranked[0]))
    assert rankings.available_weeks(session, web_settings) == ranked  # cached
    caches.clear_all()
    assert rankings.available_weeks(session, web_settings) == ranked[1:]


def test_topic_volume_split_reads_the_rollups(unranked, web_settings, seeded):  # noqa: ANN001
    refund, week = seeded.topic_ids["refund"], seeded.week
    assert topic_volume_split(unranked, refund, week) == {"markets": [], "channels": []}
    from voc.insights import rollups

    rollups.refresh(unranked, web_settings)
    split = topic_volume_split(unranked, refund, week)
    start, end = wk.week_bounds(week, web_settings.timezone)
    for key, col in (("markets", Feedback.market), ("channels", Feedback.channel)):
        rows = unranked.execute(select(col).where(Feedback.topic_id == refund,
                                                  Feedback.created_at >= start,
                                                  Feedback.created_at < end)).scalars().all()
        assert dict(split[key]) == {v: float(rows.count(v)) for v in set(rows)}
        assert [v for _, v in split[key]] == sorted((v for _, v in split[key]), reverse=True)
    assert topic_volume_split(unranked, refund, None) == {"markets": [], "channels": []}


def test_topic_examples_without_embeddings_are_the_newest_unexpired(session, web_settings,  # noqa: ANN001
                                                                  seeded):
    refund, week = seeded.topic_ids["refund"], seeded.week
    start, end = wk.week_bounds(week, web_settings.timezone)
    newest = session.scalars(select(Feedback).where(
        Feedback.topic_id == refund, Feedback.created_at >= start, Feedback.created_at < end)
        .order_by(Feedback.created_at.desc())).all()
    newest[0].text = EXPIRED_TEXT
    session.flush()
    got = topic_examples(session, web_settings, refund, week, limit=3)
    assert [f.id for f in got] == [f.id for f in newest[1:4]]


def test_filter_options(session, web_settings, seeded):  # noqa: ANN001
    caches.clear_all()
    opts = options.filter_options(session, web_settings)
    assert opts["markets"] == ["DE", "FR", "GB"] and opts["sources"] == ["nps", "zendesk"]
    titles = [t for _, t in opts["policies"]]
    assert titles and titles == sorted(titles, key=str.lower)
    opts["markets"] = ["XX"]  # a page setting a key must not change the cached values
    assert options.filter_options(session, web_settings)["markets"] == ["DE", "FR", "GB"]


def test_broken_taxonomy_costs_only_the_policy_filter(session, web_settings, tmp_path,  # noqa: ANN001
                                                      caplog):
    caches.clear_all()
    bad = tmp_path / "policies.yaml"
    bad.write_text("policies: [name: {unclosed", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="web.options"):
        opts = options.filter_options(session, web_settings.replace(policy_taxonomy_path=bad))
    assert opts["policies"] == [] and opts["markets"]
    assert "policy taxonomy unusable" in caplog.text


def test_ttl_cache_expires_and_clears(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(caches.time, "monotonic", lambda: now[0])
    cache: caches.TTLCache[str] = caches.TTLCache(30.0)
    assert cache.get("k") is None
    assert cache.put("k", "v") == "v" and cache.get("k") == "v"
    now[0] += 29.9
    assert cache.get("k") == "v"
    now[0] += 0.1
    assert cache.get("k") is None
    cache.put("k", "w")
    caches.clear_all()
    assert cache.get("k") is None


def test_api_serves_the_volume_ranking_with_contract_keys(client, unranked, seeded):  # noqa: ANN001
    h = {"Authorization": f"Bearer {seeded.tokens['viewer']}"}
    assert client.get("/api/v1/weeks", headers=h).get_json()["weeks"][0] == seeded.week
    body = client.get(f"/api/v1/rankings?week={seeded.week}&limit=2", headers=h).get_json()
    assert len(body["items"]) == 2
    for it in body["items"]:
        assert set(CONTRACT_KEYS) <= set(it) and it["examples"]


def test_api_topic_rejects_a_malformed_week(client, seeded):  # noqa: ANN001
    h = {"Authorization": f"Bearer {seeded.tokens['viewer']}"}
    t = seeded.topic_ids["refund"]
    resp = client.get(f"/api/v1/topics/{t}?week=2026-47", headers=h)
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "bad_request"
    assert client.get("/api/v1/rankings/policies?week=W47", headers=h).status_code == 400


def test_merge_into_a_merged_topic_is_refused_with_a_message(as_role, seeded, session):  # noqa: ANN001
    client = as_role("analyst")
    ids = seeded.topic_ids
    token = csrf_token(client, f"/topics/{ids['app']}")
    assert client.post(f"/topics/{ids['delivery']}/merge",
                       data={"target_id": ids["refund"], "csrf_token": token}).status_code == 302
    resp = client.post(f"/topics/{ids['app']}/merge", follow_redirects=True,
                       data={"target_id": ids["delivery"], "csrf_token": token})
    assert resp.status_code == 200 and "cannot be a merge target" in resp.get_data(as_text=True)
    session.expire_all()
    assert session.get(Topic, ids["app"]).status == "active"
