"""CSV export of verbatims: streamed, filtered, audited."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from voc.models.users import AuditLog


def test_export_is_streamed_filtered_and_audited(as_role, seeded, session):  # noqa: ANN001
    client = as_role("viewer")
    resp = client.get("/verbatims/export.csv?q=courier&market=DE")
    assert resp.status_code == 200
    assert resp.is_streamed  # a generator response, not a body built in memory
    assert resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert rows and all("courier" in r["text"].lower() and r["market"] == "DE" for r in rows)
    assert "customer_hash" not in rows[0] and "text_raw" not in rows[0]
    assert not any("RAW-SECRET" in v for r in rows for v in r.values())
    entry = session.scalar(select(AuditLog).where(AuditLog.action == "export.csv",
                                                  AuditLog.target_type == "verbatims"))
    assert entry.actor == "viewer"
    assert entry.details["filters"] == {"q": "(text query)", "market": "DE"}  # no search text


def test_export_of_everything_has_every_row_once(as_role, seeded):  # noqa: ANN001
    body = as_role("viewer").get("/verbatims/export.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    ids = [r["id"] for r in rows]
    assert len(ids) == seeded.n_feedback == len(set(ids))


def test_export_with_bad_filter_is_400(as_role, seeded):  # noqa: ANN001
    assert as_role("viewer").get("/verbatims/export.csv?from=junk").status_code == 400
