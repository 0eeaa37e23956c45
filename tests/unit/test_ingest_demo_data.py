"""The synthetic demo stream: deterministic, realistic shape, planted events present."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from voc.ingest.demo_data import CSAT_DROP_MARKET, DemoManifest, iso_week, write_demo_data

REFUND_WORDS = ("refund", "money back", "erstattung", "geld zurück", "rembours", "reembolso")
END = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _tickets(path: str) -> list[dict]:
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue  # the planted truncated JSON line
        if row.get("id", 990_000) < 990_000:  # the planted malformed rows have ids 990xxx
            rows.append(row)
    return rows


def test_demo_data_shape_and_events(tmp_path):
    manifest = write_demo_data(tmp_path / "a", weeks=12, seed=7, end=END)
    assert 5_000 <= manifest.total_items <= 7_000
    assert manifest.weeks[-1] == iso_week(END.date()) == "2026-W48" and len(manifest.weeks) == 12
    tickets = _tickets(manifest.tickets_path)
    with open(manifest.survey_path, encoding="utf-8", newline="") as fh:
        survey = list(csv.DictReader(fh))
    assert len(survey) == manifest.survey_count
    survey = [r for r in survey if not r["Response ID"].startswith("R_BAD")]
    assert set(manifest.survey_mapping) <= set(survey[0])  # the mapping fits the header
    assert {t["channel"] for t in tickets} == {"bot", "ai_agent", "human_agent", "email"}
    assert any(t["escalated"] for t in tickets) and any(t["sla_breached"] for t in tickets)
    assert len({t["market"] for t in tickets}) >= 6
    languages = Counter(r["Language"] for r in survey)
    assert languages.most_common(1)[0][0] == "en" and {"de", "fr", "es"} <= set(languages)
    assert all(datetime.fromisoformat(t["created_at"]) <= END for t in tickets)
    customers = Counter(t.get("customer_id") for t in tickets if t.get("customer_id"))
    assert customers.most_common(1)[0][1] > 5  # repeat customers
    texts = [t["description"] for t in tickets]
    assert any("@example." in t for t in texts) and any("+49" in t for t in texts)
    assert len(set(texts)) > 0.5 * len(texts)  # paraphrases, typos, lengths: not a few strings

    # planted events
    kinds = {e["type"] for e in manifest.events}
    assert kinds == {"surge", "new", "csat_drop"}
    last2 = set(manifest.weeks[-2:])
    for event in manifest.events:
        assert set(event["weeks"]) == last2
    new_words = "8.4"
    new_weeks = {iso_week(datetime.fromisoformat(t["created_at"]).date())
                 for t in tickets if new_words in t["description"]}
    assert new_weeks and new_weeks <= last2  # never seen before the last two weeks

    def share(week_set):
        rows = [t for t in tickets if iso_week(datetime.fromisoformat(t["created_at"]).date())
                in week_set and t["product_area"] == "account" and "2fa" in t["tags"]]
        total = [t for t in tickets
                 if iso_week(datetime.fromisoformat(t["created_at"]).date()) in week_set]
        return len(rows) / len(total)

    baseline = set(manifest.weeks[:-2])
    assert share(last2) > 2 * share(baseline)  # the surge

    def per_week(week_set, sms: bool) -> float:  # the surge has one cause: SMS codes
        rows = [t["description"] for t in tickets if "2fa" in t["tags"] and iso_week(
            datetime.fromisoformat(t["created_at"]).date()) in week_set]
        return sum(("sms" in d.lower()) == sms for d in rows) / len(week_set)

    assert per_week(last2, sms=True) > 3 * per_week(baseline, sms=True)
    assert per_week(last2, sms=False) < 1.5 * per_week(baseline, sms=False)

    def market_refund_csat(week_set):
        scores = [int(r["Satisfaction"]) for r in survey
                  if r["Country"].upper() == CSAT_DROP_MARKET and r["Product"] == "billing"
                  and any(w in r["Q3 - What could we improve?"].lower() for w in REFUND_WORDS)
                  and iso_week(datetime.fromisoformat(r["Submitted"]).date()) in week_set
                  and r["Satisfaction"].isdigit() and int(r["Satisfaction"]) <= 5]
        return sum(scores) / len(scores)

    assert market_refund_csat(last2) < market_refund_csat(baseline) - 1.0  # the CSAT drop

    loaded = DemoManifest.load(tmp_path / "a" / "manifest.json")
    assert loaded.event("new")["keywords"] == manifest.event("new")["keywords"]
    assert [s["name"] for s in loaded.sources()] == ["demo-helpdesk", "demo-survey"]


def test_demo_data_is_deterministic(tmp_path):
    a = write_demo_data(tmp_path / "a", weeks=4, seed=3, end=END)
    b = write_demo_data(tmp_path / "b", weeks=4, seed=3, end=END)
    c = write_demo_data(tmp_path / "c", weeks=4, seed=4, end=END)
    def read(path: str) -> str:
        return Path(path).read_text(encoding="utf-8")

    assert read(a.tickets_path) == read(b.tickets_path)
    assert read(a.survey_path) == read(b.survey_path)
    assert read(a.tickets_path) != read(c.tickets_path)
