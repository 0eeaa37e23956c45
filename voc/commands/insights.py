"""``voc rank`` (the weekly ranking) and ``voc policies ...`` (policy pain points)."""

from __future__ import annotations

import json

import click

from voc.cli import AppContext, UserError, pass_app


def register(group: click.Group) -> None:
    """Add ``rank`` and ``policies``."""
    group.add_command(rank)
    group.add_command(policies)


def _resolve_week(session, week: str | None) -> str:  # noqa: ANN001
    from voc.insights.ranking import available_weeks
    from voc.insights.weeks import parse_week

    weeks = available_weeks(session)
    if week is None:
        if not weeks:
            raise UserError("no ranking yet: run `python -m voc run all` first")
        return weeks[0]
    try:
        parse_week(week)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return week


def _fmt_change(item: dict) -> str:
    rc = item.get("rank_change")
    if rc is None:
        return "new"
    return f"{rc:+d}" if rc else "="


@click.command()
@click.option("--week", help="ISO week YYYY-Www (default: the newest ranked week).")
@click.option("--json", "as_json", is_flag=True, help="Print the DESIGN.md section 3 JSON.")
@click.option("--market", help="Only this market (ISO 3166-1 alpha-2).")
@click.option("--channel", help="Only this channel (bot, ai_agent, email, ...).")
@click.option("--kind", type=click.Choice(["ticket", "survey", "review", "chat"]))
@click.option("--policy", help="Only topics mapped to this policy (see `policies list`).")
@click.option("--limit", type=int, help="At most this many items.")
@pass_app
def rank(app: AppContext, week: str | None, as_json: bool, market: str | None,
         channel: str | None, kind: str | None, policy: str | None, limit: int | None) -> None:
    """Print the weekly ranking of emerging issues, with reasons."""
    from voc.db import session_scope
    from voc.insights.ranking import available_weeks, contract_item, load_ranking

    with session_scope(app.session_factory) as s:
        week = _resolve_week(s, week)
        ranking = load_ranking(s, week, market=market, channel=channel, kind=kind,
                               policy=policy, limit=limit, settings=app.settings)
        known = available_weeks(s)
    if not ranking.items and week not in known:
        hint = f" (ranked weeks: {', '.join(known[:6])}{' ...' if len(known) > 6 else ''})" \
            if known else " (nothing ranked yet: run `python -m voc run all`)"
        raise UserError(f"no ranking for {week}{hint}")
    if as_json:
        out = {"week": ranking.week, "items": [contract_item(it) for it in ranking.items]}
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    click.echo(f"Ranking for {ranking.week} ({ranking.scope}, {len(ranking.items)} topics)")
    for it in ranking.items:
        flags = ",".join(it["flags"]) or "-"
        click.echo(f"{it['rank']:>3}. [{_fmt_change(it):>4}] {it['label'][:60]}  "
                   f"score={it['score']:.2f} volume={it['volume']} flags={flags}")
        for reason in it["reasons"]:
            click.echo(f"       - {reason}")


@click.group()
def policies() -> None:
    """Policy pain points: taxonomy, topic mapping, per-policy ranking."""


@policies.command("list")
@pass_app
def policies_list(app: AppContext) -> None:
    """List the policy taxonomy with the number of mapped topics."""
    from sqlalchemy import func, select

    from voc.db import session_scope
    from voc.insights.policies import load_policies
    from voc.models.insights import TopicPolicy

    try:
        taxonomy = load_policies(app.settings)
    except (OSError, ValueError) as exc:
        raise UserError(f"policy taxonomy: {exc}") from None
    with session_scope(app.session_factory) as s:
        counts = dict(s.execute(select(TopicPolicy.policy, func.count())
                                .group_by(TopicPolicy.policy)).all())
    for p in taxonomy:
        click.echo(f"{p.name:<24} {counts.get(p.name, 0):>4} topics  {p.title}")


@policies.command("map")
@click.option("--force", is_flag=True, help="Recompute even if nothing changed.")
@pass_app
def policies_map(app: AppContext, force: bool) -> None:
    """Map topics to policies by embedding similarity (loads the embedding model)."""
    from voc.db import session_scope
    from voc.insights.policies import map_topics

    with session_scope(app.session_factory) as s:
        res = map_topics(s, app.settings, force=force)
    if res.get("skipped"):
        click.echo("mapping is up to date (use --force to recompute)")
    else:
        click.echo(f"mapped {res['topics']} topics: {res['mapped']} topic-policy links")


@policies.command("rank")
@click.option("--week", help="ISO week YYYY-Www (default: the newest ranked week).")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def policies_rank(app: AppContext, week: str | None, as_json: bool) -> None:
    """Print the per-policy ranking of a week."""
    from voc.db import session_scope
    from voc.insights.policies import load_policy_ranking

    with session_scope(app.session_factory) as s:
        week = _resolve_week(s, week)
        ranking = load_policy_ranking(s, week)
    if as_json:
        keys = ("rank", "policy", "label", "score", "volume", "baseline", "change", "flags",
                "negative_share", "csat", "markets", "reasons", "topics", "rank_change")
        click.echo(json.dumps({"week": week, "items": [{k: it.get(k) for k in keys}
                                                       for it in ranking.items]}, indent=2))
        return
    click.echo(f"Policy pain points for {week}")
    for it in ranking.items:
        flags = ",".join(it["flags"]) or "-"
        click.echo(f"{it['rank']:>3}. [{_fmt_change(it):>4}] {it['label']}  "
                   f"volume={it['volume']} flags={flags}")
        for reason in it["reasons"]:
            click.echo(f"       - {reason}")
