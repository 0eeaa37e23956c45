"""Compliance commands: ``erase``, ``purge``, ``audit export``, ``quarantine ...``."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime

import click

from voc.cli import AppContext, UserError, pass_app


def register(group: click.Group) -> None:
    """Add the compliance commands."""
    group.add_command(erase)
    group.add_command(purge)
    group.add_command(audit)
    group.add_command(quarantine)


def _actor() -> str:
    """Audit actor for CLI work: the operating-system user, so entries say who ran it."""
    try:
        return f"cli:{getpass.getuser()}"[:100]
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli"


# --- erase -----------------------------------------------------------------------------


@click.command()
@click.option("--customer", "customer_id", required=True, metavar="ID",
              help="The customer id as the source system knows it; '-' reads it from stdin "
                   "(keeps it out of shell history and the process list).")
@click.option("--dry-run", is_flag=True, help="Only count what would be removed.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def erase(app: AppContext, customer_id: str, dry_run: bool, as_json: bool) -> None:
    """Erase every item of one customer (GDPR right to erasure) and tombstone it."""
    from voc.compliance.erasure import ErasureError, erase_customer
    from voc.db import session_scope

    if customer_id == "-":
        customer_id = sys.stdin.readline().strip()
    try:
        with session_scope(app.session_factory) as session:
            report = erase_customer(session, app.settings, customer_id, _actor(),
                                    dry_run=dry_run)
            if dry_run:
                session.rollback()
    except ErasureError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.counts(), sort_keys=True))
        return
    head = "dry run: nothing changed" if dry_run else "erasure done"
    if not report.found:
        head += " (no data held for this customer; tombstone written)" if not dry_run \
            else " (no data held for this customer)"
    click.echo(head)
    for line in report.lines():
        click.echo(f"  {line}")


# --- purge -----------------------------------------------------------------------------


@click.command()
@click.option("--dry-run", is_flag=True, help="Only count what has expired.")
@pass_app
def purge(app: AppContext, dry_run: bool) -> None:
    """Apply the retention policy now (the scheduled 'purge' step)."""
    from pipelines.context import StepContext
    from pipelines.runner import run_job

    ctx = StepContext(settings=app.settings, engine=app.engine,
                      session_factory=app.session_factory, options={"dry_run": dry_run},
                      trigger="manual", progress=sys.stderr.isatty())
    run = run_job("purge", ctx)
    if run.status != "success":
        raise UserError(f"purge failed: {run.error}")
    counts = run.counts or {}
    click.echo(("dry run: " if dry_run else "") + f"purge finished in {run.duration_s or 0:.1f}s")
    for key in sorted(counts):
        if key != "dry_run":
            click.echo(f"  {key}: {counts[key]}")


# --- audit -----------------------------------------------------------------------------


def _parse_when(value: str | None, option: str) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option}={value!r}: expected a date or time like 2026-11-01") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


@click.group()
def audit() -> None:
    """The audit log."""


@audit.command("export")
@click.option("--since", help="Entries at or after this date/time (ISO 8601, UTC if naive).")
@click.option("--until", help="Entries before this date/time.")
@click.option("--actor", help="Only this actor.")
@click.option("--action", help="Only actions starting with this (e.g. 'topic.').")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of stdout.")
@pass_app
def audit_export(app: AppContext, since: str | None, until: str | None, actor: str | None,
                 action: str | None, output: str | None) -> None:
    """Export the audit log as CSV (the export itself is audited)."""
    from voc import audit as audit_log
    from voc.compliance.audit_export import AuditFilter, iter_csv
    from voc.db import session_scope

    filters = AuditFilter(since=_parse_when(since, "--since"),
                          until=_parse_when(until, "--until"), actor=actor, action=action)
    out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout  # noqa: SIM115
    try:
        with session_scope(app.session_factory) as session:
            for chunk in iter_csv(session, filters):
                out.write(chunk)
            audit_log.record(session, _actor(), "audit.export", "audit_log", None,
                             format="csv", since=since, until=until, filter_actor=actor,
                             filter_action=action)
    finally:
        if output:
            out.close()


# --- quarantine ------------------------------------------------------------------------


@click.group()
def quarantine() -> None:
    """Rows that broke an import rule: list, fix, retry, discard."""


@quarantine.command("list")
@click.option("--status", type=click.Choice(["open", "fixed", "discarded", "all"]),
              default="open", show_default=True)
@click.option("--source", help="Only rows of this source.")
@click.option("--limit", default=50, show_default=True)
@pass_app
def quarantine_list(app: AppContext, status: str, source: str | None, limit: int) -> None:
    """List quarantined rows (id, source, where, reason) — payloads are not printed."""
    from voc.compliance import quarantine as q
    from voc.db import session_scope

    with session_scope(app.session_factory) as session:
        counts = q.counts_by_status(session)
        rows = q.list_entries(session, status=None if status == "all" else status,
                              source=source, limit=limit)
        click.echo("  ".join(f"{k}: {v}" for k, v in counts.items()))
        for r in rows:
            when = r.created_at.strftime("%Y-%m-%d %H:%M") if r.created_at else ""
            click.echo(f"{r.id}\t{r.status}\t{when}\t{r.source_name}\t{r.location or ''}\t"
                       f"{r.reason}")


@quarantine.command("discard")
@click.argument("ids", nargs=-1, type=int, required=True)
@pass_app
def quarantine_discard(app: AppContext, ids: tuple[int, ...]) -> None:
    """Discard open rows (their payloads are deleted)."""
    from voc.compliance import quarantine as q
    from voc.db import session_scope

    with session_scope(app.session_factory) as session:
        n = q.discard(session, list(ids), _actor())
    click.echo(f"discarded {n} of {len(ids)} rows")


@quarantine.command("retry")
@click.argument("ids", nargs=-1, type=int, required=True)
@pass_app
def quarantine_retry(app: AppContext, ids: tuple[int, ...]) -> None:
    """Re-ingest open rows unchanged (after fixing the source mapping or the parser)."""
    from voc.compliance import quarantine as q
    from voc.db import session_scope

    with session_scope(app.session_factory) as session:
        results = q.retry(session, app.settings, list(ids), _actor())
    _print_results(results)


@quarantine.command("fix")
@click.argument("quarantine_id", type=int)
@click.argument("payload_file", type=click.File("r", encoding="utf-8"))
@pass_app
def quarantine_fix(app: AppContext, quarantine_id: int, payload_file) -> None:  # noqa: ANN001
    """Re-ingest one row with a corrected JSON payload read from PAYLOAD_FILE ('-': stdin)."""
    from voc.compliance import quarantine as q
    from voc.db import session_scope

    try:
        with session_scope(app.session_factory) as session:
            result = q.fix_and_reingest(session, app.settings, quarantine_id,
                                        payload_file.read(), _actor())
    except q.QuarantineError as exc:
        raise UserError(str(exc)) from None
    _print_results([result])


def _print_results(results) -> None:  # noqa: ANN001
    failed = 0
    for r in results:
        click.echo(f"{r.quarantine_id}\t{'ok' if r.ok else 'failed'}\t{r.status}\t{r.message}")
        failed += not r.ok
    if failed:
        raise UserError(f"{failed} of {len(results)} rows could not be re-ingested")
