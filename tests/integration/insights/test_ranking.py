"""Ranking on planted patterns: order, flags, reasons, rank change, contract, curation."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from voc.insights import policies, ranking, rollups
from voc.insights import weeks as wk
from voc.models.insights import TopicPolicy

WEEKS = wk.week_range("2026-W31", "2026-W40")  # 8 baseline weeks + W39 + W40
CUR, PREV = WEEKS[-1], WEEKS[-2]


@pytest.fixture
def planted(session, settings, build):  # noqa: ANN001, ANN201
    """Steady, surging, new, CSAT-dropping and noisy topics over 10 weeks."""
    rnd = random.Random(3)
    t = {name: build.topic(name) for name in
         ("steady", "surge", "new", "csat", "noise", "filler")}
    for i, w in enumerate(WEEKS):
        last = i == len(WEEKS) - 1
        build.add(w, 200 + rnd.randint(-20, 20), t["filler"], market="US")
        build.add(w, 20, t["steady"], market="DE", csat=[4, 5])
        build.add(w, 20, t["steady"], market="FR", csat=[4, 5])
        if last:  # 3x its share, in DE and FR
            build.add(w, 30, t["surge"], market="DE", sentiment="negative")
            build.add(w, 30, t["surge"], market="FR", sentiment="negative")
        else:
            build.add(w, 10, t["surge"], market="DE")
            build.add(w, 10, t["surge"], market="FR")
        if last:
            for m in ("DE", "FR", "ES"):
                build.add(w, 12, t["new"], market=m, sentiment="negative")
        build.add(w, 30, t["csat"], market="US", csat=[1, 2, 2, 3] if last else [4, 5, 4, 4])
        build.add(w, rnd.randint(12, 28), t["noise"], market="US", csat=[3, 4, 5])
    rollups.refresh(session, settings)
    return t


def _by_topic(items):  # noqa: ANN001, ANN202
    return {it["topic_id"]: it for it in items}


def test_flags_order_and_reasons(session, settings, planted) -> None:  # noqa: ANN001
    ranking.rank_week(session, settings, PREV)
    ranking.rank_week(session, settings, CUR)
    r = ranking.load_ranking(session, CUR)
    items = _by_topic(r.items)
    t = planted
    assert "surge" in items[t["surge"].id]["flags"]
    assert items[t["new"].id]["flags"] == ["new"]
    assert "csat_drop" in items[t["csat"].id]["flags"]
    assert items[t["steady"].id]["flags"] == []
    assert items[t["noise"].id]["flags"] == []
    assert items[t["filler"].id]["flags"] == []
    top3 = {it["topic_id"] for it in r.items[:3]}
    assert top3 == {t["surge"].id, t["new"].id, t["csat"].id}

    surge = items[t["surge"].id]
    assert surge["volume"] == 60 and 15 < surge["baseline"] < 25
    assert surge["change"] == pytest.approx((60 - surge["baseline"]) / surge["baseline"],
                                            abs=1e-3)
    assert any("x baseline" in s for s in surge["reasons"])
    det = surge["flag_details"]["surge"]
    assert det["observed"] == 60 and det["p_value"] < 0.01 and "expected" in det
    assert set(surge["markets"]) == {"DE", "FR"}
    new = items[t["new"].id]
    assert new["reasons"][0] == "new this week: 36 items in 3 markets"
    cs = items[t["csat"].id]
    assert any(s.startswith("CSAT 2.0 vs 4.3 baseline") for s in cs["reasons"]), cs["reasons"]
    assert cs["flag_details"]["csat_drop"]["p_value"] < 0.01

    # rank change vs last week: None for a topic not ranked last week
    assert new["rank_change"] is None
    assert surge["rank_change"] is not None and surge["rank_change"] > 0
    assert len(surge["sparkline"]) == 8 and surge["sparkline"][-1] == 60
    assert [it["rank"] for it in r.items] == list(range(1, len(r.items) + 1))
    assert ranking.available_weeks(session) == [CUR, PREV]


def test_examples_filters_and_curation(session, settings, planted) -> None:  # noqa: ANN001
    t = planted
    ranking.rank_week(session, settings, CUR)
    r = ranking.load_ranking(session, CUR, limit=3)
    assert len(r.items) == 3
    for it in r.items:
        assert 1 <= len(it["examples"]) <= 5
        assert all(set(e) == {"source", "id"} and e["id"].startswith("fb-")
                   for e in it["examples"])
    # stored single-market scope
    de = ranking.load_ranking(session, CUR, market="de", with_examples=False)
    assert de.scope == "market:DE"
    assert t["csat"].id not in {it["topic_id"] for it in de.items}  # csat topic is US only
    # a combination is computed on the fly
    combo = ranking.load_ranking(session, CUR, market="DE", channel="email",
                                 settings=settings, with_examples=False)
    assert combo.items and combo.items[0]["rank"] == 1
    # hidden topics disappear; merged topics roll into their target at ranking time
    t["noise"].hidden = True
    t["steady"].merged_into_id = t["filler"].id
    session.flush()
    ranking.rank_week(session, settings, CUR)
    ids = {it["topic_id"] for it in ranking.load_ranking(session, CUR).items}
    assert t["noise"].id not in ids and t["steady"].id not in ids
    filler = _by_topic(ranking.load_ranking(session, CUR).items)[t["filler"].id]
    assert filler["volume"] >= 180 + 40
    # renamed after ranking: the current display label is shown
    t["surge"].curated_label = "Card payments declined"
    session.flush()
    labels = {it["label"] for it in ranking.load_ranking(session, CUR).items}
    assert "Card payments declined" in labels


class TinyEmbedder:
    """Maps texts to 3-d vectors by keyword (a real stand-in: no model load)."""

    name = "tiny"

    def encode(self, texts, batch_size=64, progress=False):  # noqa: ANN001, ANN201
        import numpy as np

        out = []
        for text in texts:
            low = text.lower()
            v = [("refund" in low or "money back" in low) * 1.0,
                 ("hack" in low or "password" in low or "logged" in low) * 1.0, 0.0]
            out.append(v)
        return np.asarray(out, dtype=np.float32)


def test_policy_mapping_and_ranking(session, settings, build, planted) -> None:  # noqa: ANN001
    refunds = build.topic("refund delays", centroid=[1, 0, 0])
    build.topic("hacked accounts", centroid=[0, 1, 0])
    build.topic("unrelated", centroid=[0, 0, 1])
    build.add(CUR, 15, refunds, market="DE")
    rollups.rebuild_weeks(session, settings, [CUR])
    res = policies.map_topics(session, settings, embedder=TinyEmbedder())
    assert res["mapped"] >= 2
    assert policies.policies_for_topic(session, refunds.id)[0]["policy"] == "refunds"
    rows = session.query(TopicPolicy).all()
    mapped_topics = {r.topic_id for r in rows}
    assert len(mapped_topics) == 2  # the "unrelated" topic maps to no policy
    assert all(r.similarity >= settings.policy_min_similarity for r in rows)
    assert policies.map_topics(session, settings, embedder=TinyEmbedder())["skipped"] == 1

    ranking.rank_week(session, settings, CUR)
    pr = policies.load_policy_ranking(session, CUR)
    names = [it["policy"] for it in pr.items]
    assert names == ["refunds"]  # only policies whose topics have volume this week
    item = pr.items[0]
    assert item["label"] == "Refunds and returns" and item["volume"] == 15
    assert "new" in item["flags"]
    assert item["topics"][0]["topic_id"] == refunds.id
    only = ranking.load_ranking(session, CUR, policy="refunds", with_examples=False)
    assert [it["topic_id"] for it in only.items] == [refunds.id]


def test_rank_cli_json_contract(fresh_db_url, tmp_path) -> None:  # noqa: ANN001
    """`voc run all --backfill` then `voc rank --json` print the DESIGN.md section 3 contract."""
    from sqlalchemy.orm import Session

    from tests.integration.insights.conftest import Builder
    from voc.db import make_engine

    engine = make_engine(fresh_db_url)
    with Session(engine) as s:
        b = Builder(s)
        surge, steady = b.topic("surge"), b.topic("steady")
        for w in WEEKS:
            b.add(w, 40, steady)
            b.add(w, 60 if w == CUR else 10, surge, sentiment="negative")
        s.commit()
    engine.dispose()
    env = {"VOC_DATABASE_URL": fresh_db_url, "VOC_INSTANCE_DIR": str(tmp_path)}

    def voc(*args: str):  # noqa: ANN202 - in-process CLI: same code path, no interpreter start
        from voc.cli import main

        res = CliRunner().invoke(main, list(args), env=env)
        res.stderr_text = getattr(res, "stderr", "") or res.output
        res.returncode = res.exit_code
        return res

    done = voc("run", "all", "--backfill", WEEKS[0], CUR, "--no-progress")
    assert done.returncode == 0, done.output
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["rollups", "rank"]
    out = voc("rank", "--week", CUR, "--json")
    assert out.returncode == 0, out.output
    data = json.loads(out.stdout)
    assert set(data) == {"week", "items"} and data["week"] == CUR
    keys = ["rank", "topic_id", "label", "score", "volume", "baseline", "change", "flags",
            "negative_share", "csat", "markets", "reasons", "examples"]
    assert [it["label"] for it in data["items"]] == ["surge", "steady"]
    for it in data["items"]:
        assert list(it) == keys
        assert isinstance(it["reasons"], list) and it["reasons"]
        assert 1 <= len(it["examples"]) <= 5
        assert all(set(e) == {"source", "id"} for e in it["examples"])
    assert data["items"][0]["flags"] == ["surge"]
    text = voc("rank", "--week", CUR)
    assert text.returncode == 0 and "x baseline" in text.stdout
    missing = voc("rank", "--week", "2020-W01")
    assert missing.returncode == 1 and "no ranking for 2020-W01" in missing.stderr_text
    bad = voc("rank", "--week", "2026-47")
    assert bad.returncode == 1 and "invalid ISO week" in bad.stderr_text
    pol = voc("policies", "list")
    assert pol.returncode == 0 and "payment_authentication" in pol.output
    jobs = voc("scheduler", "--list")
    assert jobs.returncode == 0 and "insights" in jobs.output and "rollups+rank" in jobs.output
    unknown = voc("run", "rank", "--backfill", "2026-W10", "2026-W01")
    assert unknown.returncode == 1 and "is after" in unknown.stderr_text


def test_policy_mapping_keeps_only_policies_close_to_the_best(session, settings, build) -> None:  # noqa: ANN001
    # cos 0.86 to refunds, 0.51 to account security: both above the floor, but only the
    # best one is close enough to count (a loosely similar policy must not pool this topic).
    mixed = build.topic("refund after hack", centroid=[1, 0.6, 0])
    policies.map_topics(session, settings, embedder=TinyEmbedder())
    assert [p["policy"] for p in policies.policies_for_topic(session, mixed.id)] == ["refunds"]
    wide = settings.replace(policy_margin=1.0)
    policies.map_topics(session, wide, embedder=TinyEmbedder())
    assert {p["policy"] for p in policies.policies_for_topic(session, mixed.id)} == {
        "refunds", "account_security"}
