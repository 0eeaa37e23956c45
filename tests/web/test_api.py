"""JSON API: payloads, pagination, errors, OpenAPI document."""

from __future__ import annotations

import pytest


@pytest.fixture
def api(client, seeded):  # noqa: ANN001, ANN201
    h = {"Authorization": f"Bearer {seeded.tokens['analyst']}"}

    def get(path: str, **kw):  # noqa: ANN003, ANN202
        return client.get(path, headers=h, **kw)

    get.post = lambda path, **kw: client.post(path, headers=h, **kw)
    return get


def test_me_and_weeks(api, seeded):  # noqa: ANN001
    assert api("/api/v1/me").get_json() == {"username": "analyst", "role": "analyst"}
    weeks = api("/api/v1/weeks").get_json()["weeks"]
    assert weeks[0] == seeded.week and weeks == sorted(weeks, reverse=True)


def test_rankings_contract_keys(api, seeded):  # noqa: ANN001
    body = api(f"/api/v1/rankings?week={seeded.week}").get_json()
    assert body["week"] == seeded.week
    item = body["items"][0]
    for key in ("rank", "topic_id", "label", "score", "volume", "baseline", "change", "flags",
                "negative_share", "csat", "markets", "reasons", "examples"):
        assert key in item, key
    assert item["label"] == "Refund delays" and item["rank"] == 1
    filtered = api(f"/api/v1/rankings?week={seeded.week}&market=DE&limit=2").get_json()
    assert filtered["filters"] == {"market": "DE"} and len(filtered["items"]) <= 2


def test_rankings_unknown_week_is_404_error_body(api, seeded):  # noqa: ANN001
    resp = api("/api/v1/rankings?week=1999-W01")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"


def test_topics_pagination(api, seeded):  # noqa: ANN001
    first = api("/api/v1/topics?limit=2").get_json()
    assert len(first["items"]) == 2
    p = first["pagination"]
    assert p["total"] == 4 and p["pages"] == 2 and p["prev"] is None
    second = api(p["next"]).get_json()
    assert len(second["items"]) == 2 and second["pagination"]["next"] is None
    ids = [t["id"] for t in first["items"] + second["items"]]
    assert len(set(ids)) == 4
    assert api("/api/v1/topics?limit=0").status_code == 400
    assert api("/api/v1/topics?page=x").get_json()["error"]["code"] == "bad_request"


def test_topic_detail(api, seeded):  # noqa: ANN001
    t = seeded.topic_ids["refund"]
    body = api(f"/api/v1/topics/{t}?week={seeded.week}").get_json()
    assert body["id"] == t and body["label"] == "Refund delays"
    assert body["trend"] and body["trend"][-1]["week"] == seeded.week
    assert body["breakdown"]["markets"] and body["examples"]
    assert "customer_hash" not in body["examples"][0]
    assert api("/api/v1/topics/99999").status_code == 404


def test_verbatims_search_cursor(api, seeded):  # noqa: ANN001
    seen, url = [], "/api/v1/verbatims?q=refund&limit=4"
    while url:
        body = api(url).get_json()
        seen += [v["id"] for v in body["items"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) > 4
    one = api(f"/api/v1/verbatims/{seen[0]}").get_json()
    assert "refund" in one["text"].lower()
    assert "customer_hash" not in one and "text_raw" not in one
    assert api("/api/v1/verbatims?csat_min=9").status_code == 400
    assert api("/api/v1/verbatims?cursor=@@@").status_code == 400


def test_rename_via_api(api, seeded, session):  # noqa: ANN001
    t = seeded.topic_ids["app"]
    resp = api.post(f"/api/v1/topics/{t}/rename", json={"label": "Login trouble"})
    assert resp.status_code == 200 and resp.get_json()["label"] == "Login trouble"
    assert api.post(f"/api/v1/topics/{t}/rename", json={}).status_code == 400


def test_unknown_api_path_is_json_404(api, seeded):  # noqa: ANN001
    resp = api("/api/v1/nothing")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_openapi_describes_every_api_route(client, app, seeded):  # noqa: ANN001
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    for rule in app.url_map.iter_rules():
        # this area's endpoints (other areas document theirs through web.api.document)
        if not rule.endpoint.startswith("api."):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (path, method)
