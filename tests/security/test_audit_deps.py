"""The dependency-audit verdict: fail on fixable findings, never pass silently when offline."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("audit_report", ROOT / "scripts" / "audit_report.py")
audit_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit_report)


def _dep(name: str, vulns=(), skip: str | None = None) -> dict:  # noqa: ANN001
    d = {"name": name, "version": "1.0", "vulns": list(vulns)}
    if skip:
        d["skip_reason"] = skip
    return d


def test_fixable_vulnerability_fails() -> None:
    vuln = {"id": "PYSEC-1", "aliases": ["CVE-1"], "fix_versions": ["1.1"]}
    code, lines = audit_report.evaluate({"dependencies": [_dep("a", [vuln]), _dep("b")]})
    assert code == 1 and any("FIX NEEDED: a==1.0: PYSEC-1 (CVE-1) -> fix: 1.1" in x for x in lines)


def test_unfixed_vulnerability_warns_but_passes() -> None:
    vuln = {"id": "GHSA-x", "aliases": [], "fix_versions": []}
    code, lines = audit_report.evaluate({"dependencies": [_dep("a", [vuln])]})
    assert code == 0 and any("WARNING (no fix released): a==1.0: GHSA-x" in x for x in lines)


def test_nothing_audited_is_not_a_pass() -> None:
    report = {"dependencies": [_dep("a", skip="Dependency not found on PyPI"),
                               _dep("b", skip="Dependency not found on PyPI")]}
    assert audit_report.evaluate(report)[0] == 3
    code, lines = audit_report.evaluate(report, allow_unavailable=True)
    assert code == 0 and "not audited" in lines[-1]


def test_clean_report() -> None:
    code, lines = audit_report.evaluate({"dependencies": [_dep("a"), _dep("b")]})
    assert code == 0 and "2 audited" in lines[0]
