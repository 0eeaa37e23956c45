"""Security review gates for the whole app: pins, default accounts, XSS, SQL, redirects.

Static checks fail when new code introduces a pattern that needs a human review
(``|safe`` in a template, ``Markup`` in a new module, SQL text built with
f-strings); the allow-lists name the places that were reviewed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("voc", "web", "pipelines")
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!_-]+$")

#: Reviewed: every interpolated value is escaped or a number formatted by the module.
MARKUP_REVIEWED = {"web/template_helpers.py", "web/charts.py", "web/search.py"}
#: Reviewed: SQL text with interpolation of fixed identifiers only (never user input).
SQL_FORMAT_REVIEWED = {"voc/alerts/store.py"}


def _csrf(client) -> str:  # noqa: ANN001
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _code_files(suffix: str) -> list[Path]:
    return sorted(p for d in CODE_DIRS for p in (ROOT / d).rglob(f"*{suffix}"))


def test_every_requirement_is_pinned() -> None:
    seen: dict[str, str] = {}
    for n, raw in enumerate((ROOT / "requirements.txt").read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        assert PIN.match(line), f"requirements.txt:{n}: {raw!r} is not 'name==version'"
        name = re.split(r"[\[=]", line, maxsplit=1)[0].lower().replace("_", "-")
        assert name not in seen, f"requirements.txt:{n}: {name} pinned twice"
        seen[name] = line
    assert "pip-audit" in seen, "pip-audit runs in CI (scripts/audit_deps.sh)"


def test_audit_script_is_wired() -> None:
    script = ROOT / "scripts" / "audit_deps.sh"
    assert script.is_file()
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    assert "pip_audit" in script.read_text() or "pip-audit" in script.read_text()


def test_no_default_accounts_after_migration(session) -> None:  # noqa: ANN001
    from voc.models.users import User

    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_users_create_needs_a_password_and_takes_none_on_the_command_line(fresh_db_url) -> None:  # noqa: ANN001
    from voc.cli import main

    runner = CliRunner()
    base = ["--database-url", fresh_db_url, "users", "create", "boss", "--role", "admin"]
    refused = runner.invoke(main, [*base, "--password", "hunter2hunter2"])
    assert refused.exit_code != 0  # no such option: passwords never go on the command line
    empty = runner.invoke(main, [*base, "--password-stdin"], input="\n")
    assert empty.exit_code == 1
    ok = runner.invoke(main, [*base, "--password-stdin"], input="a-long-password-123\n")
    assert ok.exit_code == 0, ok.output
    assert "a-long-password-123" not in ok.output


def test_demo_user_is_refused_in_production(monkeypatch) -> None:  # noqa: ANN001
    from voc.cli import main

    monkeypatch.setenv("VOC_ENV", "production")
    monkeypatch.setenv("VOC_PSEUDONYM_KEY", "k")
    monkeypatch.setenv("VOC_SECRET_KEY", "s")
    res = CliRunner().invoke(main, ["demo"])
    assert res.exit_code == 1 and "production" in res.output


def test_templates_never_disable_escaping() -> None:
    bad = []
    for path in sorted((ROOT / "web" / "templates").rglob("*.html")) + \
            sorted((ROOT / "voc").rglob("templates/*.html")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"\|\s*safe\b|autoescape\s+false|\|\s*unescape", text):
            bad.append(str(path.relative_to(ROOT)))
    assert bad == [], f"templates that disable escaping: {bad}"


def test_markup_only_in_reviewed_modules() -> None:
    found = {str(p.relative_to(ROOT)) for p in _code_files(".py")
             if re.search(r"\bMarkup\(", p.read_text(encoding="utf-8"))}
    assert found <= MARKUP_REVIEWED, f"review these uses of Markup: {found - MARKUP_REVIEWED}"


def test_no_sql_built_from_strings() -> None:
    sql_word = r"(SELECT|INSERT|UPDATE|DELETE|WHERE)\b"
    patterns = [
        re.compile(r"\b(text|exec_driver_sql|execute)\(\s*f[\"']"),  # f-string SQL
        re.compile(r"[\"'][^\"']*" + sql_word + r"[^\"']*[\"']\s*%\s*[\w(]"),  # "..." % x
        re.compile(r"[\"'][^\"']*" + sql_word + r"[^\"']*\{[^}]*\}[^\"']*[\"']\s*\.format\("),
    ]
    found = {}
    for path in _code_files(".py"):
        rel = str(path.relative_to(ROOT))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(p.search(line) for p in patterns):
                found.setdefault(rel, []).append(n)
    unreviewed = {k: v for k, v in found.items() if k not in SQL_FORMAT_REVIEWED}
    assert unreviewed == {}, f"SQL built from strings (use bound parameters): {unreviewed}"


def test_ruff_bandit_sql_rule_is_enabled() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert '"S608"' in text  # hardcoded-sql-expression check runs in CI with ruff


REDIRECT_TARGETS = ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                    "\\\\evil.example", "javascript:alert(1)", "http:evil.example",
                    " //evil.example"]


def test_login_next_never_leaves_the_site(settings, session_factory, session) -> None:  # noqa: ANN001
    from voc import accounts
    from web import create_app

    accounts.create_user(session, "eve", "a-long-password-123", "viewer")
    session.commit()
    app = create_app({"VOC_SETTINGS": settings, "SESSION_FACTORY": session_factory,
                      "TESTING": True})
    for target in REDIRECT_TARGETS:
        client = app.test_client()
        resp = client.post("/login", data={"username": "eve", "password": "a-long-password-123",
                                           "next": target, "csrf_token": _csrf(client)})
        assert resp.status_code == 302, target
        location = resp.headers["Location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location
        # Already logged in: the GET form redirects too.
        again = client.get("/login", query_string={"next": target}).headers["Location"]
        assert again.startswith("/") and not again.startswith(("//", "/\\")), again


def test_session_cookie_flags(settings, session_factory, session) -> None:  # noqa: ANN001
    from voc import accounts
    from web import create_app

    accounts.create_user(session, "eve", "a-long-password-123", "viewer")
    session.commit()
    app = create_app({"VOC_SETTINGS": settings.replace(session_cookie_secure=True),
                      "SESSION_FACTORY": session_factory, "TESTING": True})
    client = app.test_client()
    resp = client.post("/login", data={"username": "eve", "password": "a-long-password-123",
                                       "csrf_token": _csrf(client)})
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def test_python_runs_with_hash_randomisation_defaults() -> None:
    """Sanity: the interpreter used by CI is the venv's (pinned dependencies)."""
    assert ".venv" in sys.prefix or sys.prefix != sys.base_prefix


def test_no_unsafe_deserialisation_or_shell() -> None:
    """No pickle/yaml.load/eval/shell=True/unverified TLS in the app's code."""
    risky = re.compile(r"shell\s*=\s*True|pickle\.loads?\(|yaml\.load\(|(?<![\w.])eval\(|"
                       r"(?<![\w.])exec\(|allow_pickle\s*=\s*True|torch\.load\(|verify\s*=\s*False|"
                       r"_create_unverified_context|joblib\.load\(")
    found = [f"{p.relative_to(ROOT)}:{n}" for p in _code_files(".py")
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if risky.search(line)]
    assert found == [], found
