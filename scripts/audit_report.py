"""Judge a ``pip-audit --format json`` report (used by scripts/audit_deps.sh).

Exit codes: 0 clean (or only vulnerabilities without a released fix), 1 fixable
vulnerabilities, 3 nothing could be audited (service unreachable) unless
``VOC_AUDIT_ALLOW_UNAVAILABLE=1``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def evaluate(report: dict[str, Any], allow_unavailable: bool = False) -> tuple[int, list[str]]:
    """The exit code and the lines to print for a pip-audit JSON report."""
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    fixable, unfixed = [], []
    for d in deps:
        for v in d.get("vulns", []):
            aliases = ", ".join(v.get("aliases", []))
            row = f"{d['name']}=={d.get('version')}: {v['id']}" + (f" ({aliases})" if aliases
                                                                    else "")
            if v.get("fix_versions"):
                fixable.append(f"{row} -> fix: {', '.join(v['fix_versions'])}")
            else:
                unfixed.append(row)
    audited = len(deps) - len(skipped)
    lines = [f"audit_deps: {len(deps)} pinned packages, {audited} audited, {len(skipped)} "
             f"skipped, {len(fixable)} fixable and {len(unfixed)} unfixed vulnerabilities"]
    lines += [f"  WARNING (no fix released): {row}" for row in unfixed]
    lines += [f"  FIX NEEDED: {row}" for row in fixable]
    if fixable:
        return 1, lines
    if deps and audited == 0:
        lines.append(f"audit_deps: nothing could be audited ({skipped[0].get('skip_reason')})")
        if allow_unavailable:
            lines.append("audit_deps: WARNING: vulnerability service unavailable; not audited")
            return 0, lines
        return 3, lines
    if skipped:
        names = ", ".join(d["name"] for d in skipped[:10])
        lines.append(f"  not audited ({len(skipped)}): {names}"
                     + (" ..." if len(skipped) > 10 else ""))
    return 0, lines


def main(path: str) -> int:
    """Read the report at ``path``, print the verdict, return the exit code."""
    with open(path, encoding="utf-8") as fh:
        report = json.load(fh)
    code, lines = evaluate(report, os.environ.get("VOC_AUDIT_ALLOW_UNAVAILABLE") == "1")
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
