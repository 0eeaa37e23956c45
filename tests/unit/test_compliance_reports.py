"""Erasure and purge reports: counts only, readable lines, no personal data."""

from __future__ import annotations

from voc.compliance.erasure import ErasureReport
from voc.compliance.retention import PurgeReport


def test_erasure_report_lines_and_counts() -> None:
    r = ErasureReport(dry_run=False, feedback=3, related={"feedback_embeddings": 3},
                      quarantine=1, alert_messages=None, tombstones=4,
                      weeks_rebuilt=["2026-W45"], topics_resized=1)
    lines = r.lines()
    assert lines[0] == "feedback: removed 3" and "feedback_embeddings: removed 3" in lines
    assert any("alerts not installed" in line for line in lines)
    counts = r.counts()
    assert counts["deleted.feedback_embeddings"] == 3 and counts["feedback"] == 3
    assert r.found
    assert not ErasureReport(dry_run=True).found
    assert ErasureReport(dry_run=True, feedback=1).lines()[0] == "feedback: would remove 1"


def test_purge_report_counts() -> None:
    r = PurgeReport(dry_run=False, anonymised={"ticket": 2, "survey": 1}, raw_text_dropped=4,
                    quarantine_deleted=1)
    c = r.counts()
    assert c["anonymised"] == 3 and c["anonymised.ticket"] == 2
    assert r.total == 8
