"""``voc ingest``, ``voc sources ...`` and ``voc demo-data``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from voc.cli import AppContext, UserError, pass_app

_SCHEDULE = re.compile(r"^every\s+\d+\s*[smhd]$|^(\S+\s+){4}\S+$")
_SECRET_KEYS = ("token", "password", "secret", "api_key")


def register(group: click.Group) -> None:
    """Add ``ingest``, ``sources`` and ``demo-data``."""
    group.add_command(ingest)
    group.add_command(sources)
    group.add_command(demo_data)


def _parse_mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        column, sep, target = pair.rpartition("=")
        if not sep or not column.strip() or not target.strip():
            raise UserError(f"--map {pair!r}: expected 'SOURCE COLUMN=field'")
        mapping[column.strip()] = target.strip()
    return mapping


def _parse_settings(pairs: tuple[str, ...], settings_json: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if settings_json:
        try:
            out = json.loads(settings_json)
        except ValueError as exc:
            raise UserError(f"--settings-json is not valid JSON: {exc}") from None
        if not isinstance(out, dict):
            raise UserError("--settings-json must be a JSON object")
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--setting {pair!r}: expected key=value")
        try:  # numbers, booleans, objects as JSON; anything else as text
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        out[key.strip()] = parsed
    return out


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--source", "source_name", required=True,
              help="Source name (a file source is created if missing).")
@click.option("--kind", type=click.Choice(["ticket", "survey", "review", "chat"]),
              help="Default kind of the items (default: the source's).")
@click.option("--map", "maps", multiple=True, metavar="COLUMN=FIELD",
              help='Column mapping, e.g. --map "Q3 - What could we improve?=text" (repeatable).')
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]),
              help="File format (default: from the extension).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@pass_app
def ingest(app: AppContext, path: Path, source_name: str, kind: str | None, maps: tuple[str, ...],
           fmt: str | None, no_progress: bool) -> None:
    """Ingest a CSV or JSONL file (or a folder of them) into source NAME."""
    from sqlalchemy import select

    from voc.db import session_scope
    from voc.ingest.errors import IngestError
    from voc.ingest.service import ingest_source
    from voc.models.feedback import Source

    mapping = _parse_mapping(maps)
    if not path.exists():
        raise UserError(f"file not found: {path}")
    with session_scope(app.session_factory) as s:
        source = s.scalar(select(Source).where(Source.name == source_name))
        if source is None:
            settings: dict[str, Any] = {"path": str(path.resolve())}
            if mapping:
                settings["mapping"] = mapping
            if fmt:
                settings["format"] = fmt
            s.add(Source(name=source_name, type="file", kind=kind or "ticket",
                         settings=settings, cursor={}, enabled=True))
            click.echo(f"created file source '{source_name}'")
        elif source.type != "file":
            raise UserError(f"source '{source_name}' is a {source.type} source; "
                            "ingest PATH needs a file source")
        elif mapping:  # remembered for later runs of the same export
            source.settings = {**source.settings,
                               "mapping": {**(source.settings.get("mapping") or {}), **mapping}}
    try:
        result = ingest_source(app.session_factory, source_name, app.settings, path=path,
                               progress=not no_progress, kind=kind, fmt=fmt)
    except IngestError as exc:
        raise UserError(str(exc)) from None
    click.echo(result.summary())
    if result.duplicates:
        click.echo(f"{result.duplicates} row(s) repeated an id within a batch (the last one won)")
    for sample in result.quarantine_samples:
        click.echo(f"  quarantined {sample}")
    if result.quarantined > len(result.quarantine_samples):
        click.echo(f"  ... and {result.quarantined - len(result.quarantine_samples)} more "
                   "(see the quarantine table)")


@click.group()
def sources() -> None:
    """Manage feedback sources (file, http, sql)."""


@sources.command("add")
@click.argument("name")
@click.option("--type", "type_", type=click.Choice(["file", "http", "sql"]), required=True)
@click.option("--kind", type=click.Choice(["ticket", "survey", "review", "chat"]),
              default="ticket", show_default=True, help="Default kind of the items.")
@click.option("--schedule", help='"every 15m" or a cron expression "*/15 * * * *".')
@click.option("--setting", "pairs", multiple=True, metavar="KEY=VALUE",
              help="Connector setting (repeatable), e.g. --setting path=/data/drop.")
@click.option("--settings-json", help="Connector settings as one JSON object.")
@click.option("--disabled", is_flag=True, help="Add the source disabled.")
@pass_app
def sources_add(app: AppContext, name: str, type_: str, kind: str, schedule: str | None,
                pairs: tuple[str, ...], settings_json: str | None, disabled: bool) -> None:
    """Add source NAME.

    \b
    Settings by type:
      file  path (file or drop folder), format, delimiter, encoding, mapping
      http  url, token_env, auth_header, auth_scheme, records_key, start_time, mapping
      sql   url or url_env, password_env, query (with :watermark), watermark_column,
            initial_watermark, mapping
    Secrets (tokens, passwords) are never stored: name an environment variable instead.

    \b
    Examples:
      sources add drop --type file --setting path=/data/drop --schedule "every 15m"
      sources add helpdesk --type http --setting url=https://x/api/v2/incremental/tickets.json \\
        --setting token_env=VOC_HELPDESK_TOKEN \\
        --settings-json '{"mapping": {"description": "text"}}'
      sources add warehouse --type sql --kind survey --setting url_env=VOC_WAREHOUSE_URL \\
        --setting "query=SELECT * FROM survey_responses WHERE updated_at > :watermark
        ORDER BY updated_at" --setting watermark_column=updated_at
    """
    from sqlalchemy import select

    from voc.db import session_scope
    from voc.models.feedback import Source

    conf = _parse_settings(pairs, settings_json)
    from voc.ingest.secrets import literal_secrets

    secret_keys = literal_secrets(conf)
    if secret_keys:
        raise UserError(
            f"refusing to store secrets in the database ({', '.join(secret_keys)}): export "
            "the value in an environment variable and name it instead, e.g. "
            "--setting token_env=VOC_HELPDESK_TOKEN, --setting url_env=VOC_WAREHOUSE_URL or "
            "--setting password_env=VOC_WAREHOUSE_PASSWORD")
    if schedule and not _SCHEDULE.match(schedule.strip()):
        raise UserError(f"--schedule {schedule!r}: expected 'every 15m' (s/m/h/d) or a "
                        "5-field cron expression")
    needed = {"file": ("path",), "http": ("url",), "sql": ("url", "query", "watermark_column")}
    missing = [k for k in needed[type_] if not conf.get(k)]
    if missing:
        raise UserError(f"a {type_} source needs the setting(s): {', '.join(missing)} "
                        "(--setting key=value)")
    with session_scope(app.session_factory) as s:
        if s.scalar(select(Source.id).where(Source.name == name)) is not None:
            raise UserError(f"a source named '{name}' already exists")
        s.add(Source(name=name, type=type_, kind=kind, settings=conf, cursor={},
                     schedule=schedule.strip() if schedule else None, enabled=not disabled))
    click.echo(f"added {type_} source '{name}'")


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_app
def sources_list(app: AppContext, as_json: bool) -> None:
    """List sources with their item counts and last ingestion."""
    from sqlalchemy import func, select

    from voc.db import session_scope
    from voc.models.feedback import Feedback, Source

    with session_scope(app.session_factory) as s:
        counts = dict(s.execute(select(Feedback.source_id, func.count())
                                .group_by(Feedback.source_id)).all())
        rows = [{
            "name": src.name, "type": src.type, "kind": src.kind, "enabled": src.enabled,
            "schedule": src.schedule, "items": counts.get(src.id, 0),
            "last_ingest_at": src.last_ingest_at.isoformat() if src.last_ingest_at else None,
            "settings": _hide_secrets(src.settings or {}),
        } for src in s.scalars(select(Source).order_by(Source.name))]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no sources (add one with: python -m voc sources add NAME --type file ...)")
        return
    header = (f"{'name':<20} {'type':<5} {'kind':<7} {'on':<3} {'items':>8}  "
              f"{'schedule':<14} last ingest")
    click.echo(header)
    for r in rows:
        click.echo(f"{r['name']:<20} {r['type']:<5} {r['kind']:<7} "
                   f"{'yes' if r['enabled'] else 'no':<3} {r['items']:>8}  "
                   f"{r['schedule'] or '-':<14} {r['last_ingest_at'] or 'never'}")


@sources.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def sources_remove(app: AppContext, name: str, yes: bool) -> None:
    """Remove source NAME and all of its feedback items."""
    from sqlalchemy import delete, func, select

    from voc.db import session_scope
    from voc.models.feedback import Feedback, Source

    with session_scope(app.session_factory) as s:
        source = s.scalar(select(Source).where(Source.name == name))
        if source is None:
            raise UserError(f"no source named '{name}'")
        items = s.scalar(select(func.count()).where(Feedback.source_id == source.id)) or 0
        if not yes:
            click.confirm(f"remove source '{name}' and its {items} feedback item(s)?", abort=True)
        s.execute(delete(Feedback).where(Feedback.source_id == source.id))
        s.delete(source)
    click.echo(f"removed source '{name}' ({items} feedback items)")


def _set_enabled(app: AppContext, name: str, enabled: bool) -> None:
    from sqlalchemy import update

    from voc.db import session_scope
    from voc.models.feedback import Source

    with session_scope(app.session_factory) as s:
        done = s.execute(update(Source).where(Source.name == name).values(enabled=enabled))
        if not done.rowcount:
            raise UserError(f"no source named '{name}'")
    click.echo(f"source '{name}' {'enabled' if enabled else 'disabled'}")


@sources.command("enable")
@click.argument("name")
@pass_app
def sources_enable(app: AppContext, name: str) -> None:
    """Enable source NAME (scheduled and ``run ingest`` include it)."""
    _set_enabled(app, name, True)


@sources.command("disable")
@click.argument("name")
@pass_app
def sources_disable(app: AppContext, name: str) -> None:
    """Disable source NAME (kept with its items, not ingested)."""
    _set_enabled(app, name, False)


@click.command("demo-data")
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="Output folder (default: INSTANCE_DIR/demo).")
@click.option("--weeks", default=12, show_default=True, type=click.IntRange(3, 104))
@click.option("--seed", default=7, show_default=True, type=int)
@pass_app
def demo_data(app: AppContext, out_dir: Path | None, weeks: int, seed: int) -> None:
    """Write a synthetic feedback stream (tickets JSONL + survey CSV) with planted events."""
    from voc.ingest.demo_data import write_demo_data

    out = out_dir or Path(app.settings.instance_dir) / "demo"
    manifest = write_demo_data(out, weeks=weeks, seed=seed)
    click.echo(f"wrote {manifest.total_items} items over {weeks} weeks to {out}")
    click.echo(f"  tickets: {manifest.tickets_path} ({manifest.ticket_count})")
    click.echo(f"  survey:  {manifest.survey_path} ({manifest.survey_count}; mapping in "
               f"{out / 'manifest.json'})")
    for event in manifest.events:
        click.echo(f"  planted {event['type']}: {event['description']}")


def _hide_secrets(conf: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in conf.items():
        if key.endswith("_env"):  # the name of a variable, not its value
            out[key] = value
        elif any(word in key.lower() for word in _SECRET_KEYS):
            out[key] = "***"
        elif key == "url" and isinstance(value, str) and "@" in value:
            out[key] = re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", value)
        else:
            out[key] = value
    return out
