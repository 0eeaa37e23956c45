"""Ranking, topic and verbatim pages render the seeded data; curation via the forms."""

from __future__ import annotations

from sqlalchemy import select

from tests.web.conftest import csrf_token
from voc.models.feedback import Feedback
from voc.models.users import AuditLog


def test_ranking_page_lists_topics_with_week_picker_and_filters(as_role, seeded):  # noqa: ANN001
    client = as_role("viewer")
    html = client.get("/ranking").get_data(as_text=True)
    assert seeded.week in html
    assert "Refund delays" in html and "Late delivery" in html
    # refund has three times the items in the newest week: it ranks first
    assert html.index("Refund delays") < html.index("Late delivery")
    assert 'class="spark"' in html  # sparkline
    assert 'name="market"' in html and ">DE<" in html
    # permalink: all state in the query string
    filtered = client.get(f"/ranking?week={seeded.week}&market=DE&kind=ticket")
    assert filtered.status_code == 200
    assert 'value="DE" selected' in filtered.get_data(as_text=True) or \
        "<option selected>DE</option>" in filtered.get_data(as_text=True)


def test_ranking_unknown_week_is_404(as_role, seeded):  # noqa: ANN001
    assert as_role("viewer").get("/ranking?week=1999-W01").status_code == 404


def test_ranking_exports(as_role, seeded, session):  # noqa: ANN001
    client = as_role("viewer")
    csv_text = client.get(f"/ranking.csv?week={seeded.week}").get_data(as_text=True)
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("rank,rank_change,topic_id,label")
    assert "Refund delays" in lines[1]
    md = client.get(f"/ranking.md?week={seeded.week}").get_data(as_text=True)
    assert md.startswith(f"# Top customer issues, {seeded.week}")
    assert "| 1 |" in md and "Refund delays" in md
    actions = session.scalars(select(AuditLog.action).where(AuditLog.target_type == "ranking"))
    assert set(actions) == {"export.csv", "export.md"}


def test_policy_tab_renders(as_role, seeded):  # noqa: ANN001
    resp = as_role("viewer").get(f"/ranking?week={seeded.week}&tab=policies")
    assert resp.status_code == 200
    assert "By policy" in resp.get_data(as_text=True)


def test_topic_page_has_charts_breakdown_quotes_lineage(as_role, seeded):  # noqa: ANN001
    client = as_role("viewer")
    t = seeded.topic_ids["refund"]
    html = client.get(f"/topics/{t}?week={seeded.week}").get_data(as_text=True)
    assert "Refund delays" in html
    assert html.count('class="chart"') >= 3  # volume, negative share, CSAT
    assert "Volume by market" in html and "Volume by channel" in html
    assert "Pain quotes" in html and "refund is three weeks late" in html
    assert "Lineage" in html and "First seen" in html
    assert "refund" in html and "money" in html  # keywords
    assert "Curate" not in html  # viewers get no curation forms


def test_topic_page_shows_curation_forms_to_analysts(as_role, seeded):  # noqa: ANN001
    html = as_role("analyst").get(f"/topics/{seeded.topic_ids['refund']}").get_data(as_text=True)
    assert "Curate" in html and "Merge into" in html and "Hide topic" in html


def test_unknown_topic_and_verbatim_are_404(as_role, seeded):  # noqa: ANN001
    client = as_role("viewer")
    assert client.get("/topics/999999").status_code == 404
    assert client.get("/verbatims/999999").status_code == 404


def test_topics_index_search(as_role, seeded):  # noqa: ANN001
    html = as_role("viewer").get("/topics/?q=deliv").get_data(as_text=True)
    assert "Late delivery" in html and "Refund delays" not in html


def test_verbatim_detail_never_shows_raw_text_or_full_customer_hash(as_role, seeded, session):  # noqa: ANN001
    f = session.scalars(select(Feedback).where(Feedback.customer_hash.is_not(None))).first()
    html = as_role("viewer").get(f"/verbatims/{f.id}").get_data(as_text=True)
    assert f.external_id in html
    assert "RAW-SECRET" not in html
    assert f.customer_hash not in html and f.customer_hash[:8] in html


def test_rename_through_form_uses_curation(as_role, seeded, session):  # noqa: ANN001
    from voc.models.topics import Topic

    client = as_role("analyst")
    t = seeded.topic_ids["delivery"]
    token = csrf_token(client, f"/topics/{t}")
    resp = client.post(f"/topics/{t}/rename", data={"label": "Parcel chaos", "csrf_token": token})
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(Topic, t).display_label == "Parcel chaos"
    page = client.get(f"/topics/{t}").get_data(as_text=True)
    assert "Parcel chaos" in page
    assert "History (" in page and "analyst" in page  # the curation event, with its actor
    assert session.scalar(select(AuditLog).where(AuditLog.action.like("topic.%"))) is not None


def test_rename_without_csrf_is_rejected(as_role, seeded, session):  # noqa: ANN001
    from voc.models.topics import Topic

    client = as_role("analyst")
    t = seeded.topic_ids["delivery"]
    resp = client.post(f"/topics/{t}/rename", data={"label": "Hacked"})
    assert resp.status_code == 400
    session.expire_all()
    assert session.get(Topic, t).display_label == "Late delivery"


def test_empty_rename_is_refused(as_role, seeded):  # noqa: ANN001
    client = as_role("analyst")
    t = seeded.topic_ids["delivery"]
    token = csrf_token(client, f"/topics/{t}")
    resp = client.post(f"/topics/{t}/rename", data={"label": "   ", "csrf_token": token},
                       follow_redirects=True)
    assert "must not be empty" in resp.get_data(as_text=True)


def test_merge_hide_move_through_forms(as_role, seeded, session):  # noqa: ANN001
    from voc.models.topics import Topic

    client = as_role("analyst")
    src, dst = seeded.topic_ids["app"], seeded.topic_ids["refund"]
    token = csrf_token(client, f"/topics/{src}")
    f_id = session.scalar(select(Feedback.id).where(Feedback.topic_id == seeded.topic_ids["xss"]))
    resp = client.post(f"/verbatims/{f_id}/move", data={"topic_id": dst, "csrf_token": token})
    assert resp.status_code == 302
    resp = client.post(f"/topics/{src}/merge", data={"target_id": dst, "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/topics/{dst}")
    resp = client.post(f"/topics/{seeded.topic_ids['delivery']}/hide",
                       data={"hidden": "1", "csrf_token": token})
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(Feedback, f_id).topic_id == dst
    assert session.get(Topic, src).merged_into_id == dst
    assert session.get(Topic, seeded.topic_ids["delivery"]).hidden
    assert "Late delivery" not in client.get("/topics/").get_data(as_text=True)
