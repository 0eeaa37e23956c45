"""``voc topics ...``: inspect the topic registry, refit it, and curate it."""

from __future__ import annotations

import getpass
import json

import click

from voc.cli import AppContext, UserError, pass_app


def register(group: click.Group) -> None:
    """Add the ``topics`` command group."""
    group.add_command(topics)


def _actor(actor: str | None) -> str:
    return actor or f"cli:{getpass.getuser()}"


actor_option = click.option("--actor", default=None,
                            help="Who is curating (audit log); default cli:<user>.")


@click.group()
def topics() -> None:
    """Topic registry: list, show, refit, and curate (rename, merge, hide, move)."""


@topics.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include merged, retired and hidden topics.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--limit", type=int, default=100, show_default=True)
@pass_app
def list_topics(app: AppContext, show_all: bool, as_json: bool, limit: int) -> None:
    """Topics by size (canonical ids; labels as people see them)."""
    from sqlalchemy import select

    from voc.db import session_scope
    from voc.models.topics import Topic

    with session_scope(app.session_factory) as s:
        q = select(Topic).order_by(Topic.size.desc(), Topic.id).limit(limit)
        if not show_all:
            q = q.where(Topic.status == "active", Topic.hidden.is_(False))
        rows = [_topic_dict(t) for t in s.scalars(q)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no topics yet: run `python -m voc run topics` after enrich")
        return
    click.echo(f"{'id':>6} {'size':>7}  {'status':<8} {'first seen':<10}  label")
    for r in rows:
        status = r["status"] + ("*" if r["hidden"] else "")
        click.echo(f"{r['id']:>6} {r['size']:>7}  {status:<8} {(r['first_seen'] or '')[:10]:<10}"
                   f"  {r['label']}")


def _topic_dict(t) -> dict:  # noqa: ANN001
    return {"id": t.id, "label": t.display_label, "generated_label": t.label,
            "curated_label": t.curated_label, "keywords": list(t.keywords or []),
            "size": t.size, "status": t.status, "hidden": t.hidden,
            "merged_into_id": t.merged_into_id, "assign_threshold": t.assign_threshold,
            "first_seen": t.first_seen.isoformat() if t.first_seen else None,
            "last_seen": t.last_seen.isoformat() if t.last_seen else None,
            "lineage": list(t.lineage or [])}


@topics.command()
@click.argument("topic_id", type=int)
@click.option("--examples", type=int, default=5, show_default=True)
@click.option("--week", default=None, help="Examples from this ISO week (YYYY-Www).")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(app: AppContext, topic_id: int, examples: int, week: str | None, as_json: bool) -> None:
    """One topic: keywords, lineage, curation history and representative items."""
    from voc.db import session_scope
    from voc.models.topics import Topic
    from voc.nlp.topics.curation import topic_events
    from voc.nlp.topics.service import topic_examples

    with session_scope(app.session_factory) as s:
        t = s.get(Topic, topic_id)
        if t is None:
            raise UserError(f"topic {topic_id} does not exist")
        data = _topic_dict(t)
        data["events"] = [{"at": e.at.isoformat(timespec="seconds"), "event": e.event,
                           "related_topic_id": e.related_topic_id, "actor": e.actor}
                          for e in topic_events(s, topic_id)]
        data["examples"] = [{"id": f.id, "created_at": f.created_at.isoformat(),
                             "text": f.text[:300]}
                            for f in topic_examples(s, topic_id, week=week, limit=examples)]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"topic {data['id']}: {data['label']}  ({data['status']}"
               f"{', hidden' if data['hidden'] else ''}, {data['size']} items)")
    if data["merged_into_id"]:
        click.echo(f"  merged into {data['merged_into_id']}")
    click.echo(f"  keywords: {', '.join(data['keywords'])}")
    click.echo(f"  first seen {data['first_seen']}, last seen {data['last_seen']}")
    for e in data["events"]:
        rel = f" -> {e['related_topic_id']}" if e["related_topic_id"] else ""
        click.echo(f"  {e['at']} {e['event']}{rel} {e['actor'] or ''}")
    for ex in data["examples"]:
        click.echo(f"  - [{ex['id']}] {ex['text']}")


@topics.command()
@click.option("--window-weeks", type=int, default=None,
              help="Weeks to re-cluster (default VOC_TOPIC_REFIT_WINDOW_WEEKS).")
@pass_app
def refit(app: AppContext, window_weeks: int | None) -> None:
    """Re-cluster the window and map back to canonical ids (recorded as a pipeline run)."""
    from pipelines.context import StepContext
    from pipelines.runner import run_job

    ctx = StepContext(settings=app.settings, engine=app.engine,
                      session_factory=app.session_factory, progress=True,
                      options={"refit": True, "window_weeks": window_weeks})
    run = run_job("topics", ctx)
    if run.status != "success":
        raise UserError(f"topic refit failed: {run.error}")
    click.echo(" ".join(f"{k}={v}" for k, v in run.counts.items()))


@topics.command()
@click.argument("topic_id", type=int)
@click.argument("label")
@actor_option
@pass_app
def rename(app: AppContext, topic_id: int, label: str, actor: str | None) -> None:
    """Give a topic a curated name (kept across refits); "" clears it."""
    _curate(app, "rename_topic", topic_id, label, _actor(actor))
    click.echo(f"topic {topic_id} renamed")


@topics.command()
@click.argument("source_ids", type=int, nargs=-1, required=True)
@click.option("--into", "target_id", type=int, required=True, help="The topic that remains.")
@actor_option
@pass_app
def merge(app: AppContext, source_ids: tuple[int, ...], target_id: int,
          actor: str | None) -> None:
    """Merge SOURCE_IDS into --into (items move; the merge is kept across refits)."""
    _curate(app, "merge_topics", list(source_ids), target_id, _actor(actor))
    click.echo(f"merged {', '.join(map(str, source_ids))} into {target_id}")


@topics.command()
@click.argument("topic_id", type=int)
@click.option("--unhide", is_flag=True, help="Show the topic again.")
@actor_option
@pass_app
def hide(app: AppContext, topic_id: int, unhide: bool, actor: str | None) -> None:
    """Hide a topic from rankings and dashboards (kept across refits)."""
    _curate(app, "hide_topic", topic_id, not unhide, _actor(actor))
    click.echo(f"topic {topic_id} {'shown' if unhide else 'hidden'}")


@topics.command()
@click.argument("feedback_id", type=int)
@click.argument("topic_id", type=int)
@actor_option
@pass_app
def move(app: AppContext, feedback_id: int, topic_id: int, actor: str | None) -> None:
    """Move one feedback item to TOPIC_ID and lock it there."""
    _curate(app, "move_feedback", feedback_id, topic_id, _actor(actor))
    click.echo(f"feedback {feedback_id} moved to topic {topic_id}")


def _curate(app: AppContext, fn_name: str, *args) -> None:  # noqa: ANN002
    from voc.db import session_scope
    from voc.nlp.topics import curation

    try:
        with session_scope(app.session_factory) as s:
            getattr(curation, fn_name)(s, *args)
    except curation.CurationError as exc:
        raise UserError(str(exc)) from None
