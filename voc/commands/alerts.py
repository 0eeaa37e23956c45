"""``voc subscriptions add|list|remove`` and ``voc alerts run|digest|deliveries|retry``."""

from __future__ import annotations

import json

import click

from voc.cli import AppContext, UserError, pass_app


def register(group: click.Group) -> None:
    """Add the ``subscriptions`` and ``alerts`` command groups."""
    group.add_command(subscriptions)
    group.add_command(alerts)


def _user(session, username: str):  # noqa: ANN001, ANN202
    from sqlalchemy import select

    from voc.models.users import User

    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserError(f"no user named {username!r} (create one with: voc users create)")
    return user


@click.group()
def subscriptions() -> None:
    """Alert subscriptions: what a user hears about, when, and where."""


@subscriptions.command("add")
@click.option("--user", "username", required=True, help="The subscriber's username.")
@click.option("--name", default="", help="A name for the subscription.")
@click.option("--topic", "topics", multiple=True, type=int, help="Topic id (repeatable).")
@click.option("--policy", "policies", multiple=True, help="Policy name (repeatable).")
@click.option("--market", "markets", multiple=True, help="Market code, e.g. DE (repeatable).")
@click.option("--all-topics", is_flag=True, help="Watch every topic.")
@click.option("--search", "query", help="Saved search: query words that new verbatims match.")
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="Saved-search filter: market, channel, language, sentiment, csat, topic.")
@click.option("--flags", help="Emerging flags to alert on, comma-separated (default: any).")
@click.option("--metric", type=click.Choice(["volume", "negative_share", "change", "csat"]),
              help="Threshold condition on this metric (with --threshold).")
@click.option("--threshold", type=float, help="Alert when the metric reaches this value.")
@click.option("--min-matches", type=int, default=1, show_default=True,
              help="Saved search: alert from this many new matches.")
@click.option("--email", "emails", multiple=True, help="Email address target (repeatable).")
@click.option("--email-me", is_flag=True, help="Email the user's own address.")
@click.option("--webhook", help="Webhook URL target (Slack, Teams or custom).")
@click.option("--webhook-secret", default="", help="HMAC key for X-Voc-Signature.")
@click.option("--in-app", is_flag=True, help="In-app notification target.")
@click.option("--quiet-hours", type=int, default=72, show_default=True,
              help="Do not alert again on the same topic within this many hours.")
@click.option("--no-digest", is_flag=True, help="Leave this out of the weekly digest.")
@pass_app
def add(app: AppContext, username: str, name: str, topics: tuple[int, ...],
        policies: tuple[str, ...], markets: tuple[str, ...], all_topics: bool, query: str | None,
        filters: tuple[str, ...], flags: str | None, metric: str | None,
        threshold: float | None, min_matches: int, emails: tuple[str, ...], email_me: bool,
        webhook: str | None, webhook_secret: str, in_app: bool, quiet_hours: int,
        no_digest: bool) -> None:
    """Subscribe a user to topics, policies, markets, all topics, or a saved search."""
    from voc.alerts.subscriptions import SubscriptionError, create_subscription, describe
    from voc.db import session_scope

    search = {}
    for f in filters:
        key, sep, value = f.partition("=")
        if not sep:
            raise UserError(f"--filter {f!r}: expected KEY=VALUE")
        search[key.strip()] = value.strip()
    if query:
        search["q"] = query
    if search:
        scope_kind, scope = "search", {"search": search}
    elif topics:
        scope_kind, scope = "topics", {"topic_ids": list(topics)}
    elif policies:
        scope_kind, scope = "policies", {"policies": list(policies)}
    elif markets:
        scope_kind, scope = "markets", {"markets": list(markets)}
    elif all_topics:
        scope_kind, scope = "all", {}
    else:
        raise UserError("say what to watch: --topic, --policy, --market, --all-topics, "
                        "or --search/--filter")
    if scope_kind == "search":
        condition = {"type": "search", "min_matches": min_matches}
    elif threshold is not None or metric:
        condition = {"type": "threshold", "metric": metric or "volume", "threshold": threshold}
    else:
        condition = {"type": "emerging",
                     "flags": [f.strip() for f in (flags or "").split(",") if f.strip()]}
    with session_scope(app.session_factory) as s:
        user = _user(s, username)
        targets = []
        if emails:
            targets.append({"type": "email", "config": {"addresses": list(emails)}})
        if email_me:
            targets.append({"type": "email", "config": {}})
        if webhook:
            cfg = {"url": webhook}
            if webhook_secret:
                cfg["secret"] = webhook_secret
            targets.append({"type": "webhook", "config": cfg})
        if in_app:
            targets.append({"type": "in_app", "config": {}})
        if not targets:  # a sensible default: the user's own email, else in-app
            targets.append({"type": "email", "config": {}} if user.email
                           else {"type": "in_app", "config": {}})
        try:
            sub = create_subscription(s, user.id, {
                "name": name, "scope_kind": scope_kind, "scope": scope,
                "condition": condition, "targets": targets, "quiet_hours": quiet_hours,
                "include_in_digest": not no_digest}, actor="cli")
        except SubscriptionError as exc:
            raise UserError(str(exc)) from None
        click.echo(f"subscription {sub.id} for {username}: {describe(sub)}")


@subscriptions.command("list")
@click.option("--user", "username", help="Only this user's subscriptions.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def list_(app: AppContext, username: str | None, as_json: bool) -> None:
    """List subscriptions (secrets masked)."""
    from sqlalchemy import select

    from voc.alerts.subscriptions import describe, list_subscriptions, subscription_dict
    from voc.db import session_scope
    from voc.models.users import User

    with session_scope(app.session_factory) as s:
        user_id = _user(s, username).id if username else None
        subs = list_subscriptions(s, user_id)
        names = dict(s.execute(select(User.id, User.username)).all())
        if as_json:
            click.echo(json.dumps([subscription_dict(x) for x in subs], indent=2))
            return
        if not subs:
            click.echo("no subscriptions")
            return
        for x in subs:
            targets = ", ".join(t["description"] for t in subscription_dict(x)["targets"])
            state = "" if x.active else " [inactive]"
            click.echo(f"{x.id:>4}  {names.get(x.user_id, '?'):<12} {x.name}{state}\n"
                       f"      {describe(x)} -> {targets}; quiet {x.quiet_hours} h")


@subscriptions.command("remove")
@click.argument("subscription_id", type=int)
@pass_app
def remove(app: AppContext, subscription_id: int) -> None:
    """Delete a subscription."""
    from voc.alerts.subscriptions import delete_subscription, get_subscription
    from voc.db import session_scope

    with session_scope(app.session_factory) as s:
        sub = get_subscription(s, subscription_id)
        if sub is None:
            raise UserError(f"no subscription {subscription_id}")
        delete_subscription(s, sub, actor="cli")
    click.echo(f"subscription {subscription_id} removed")


@click.group()
def alerts() -> None:
    """Evaluate and deliver alerts; weekly digest; delivery log."""


@alerts.command("run")
@click.option("--week", help="Evaluate this ranked week (default: the newest).")
@click.option("--dry-run", is_flag=True, help="Send and record nothing; print what would go.")
@pass_app
def run_cmd(app: AppContext, week: str | None, dry_run: bool) -> None:
    """Evaluate subscriptions now and send due alerts (also retries due deliveries)."""
    from voc.alerts.service import run_alerts

    if week:
        from voc.insights.weeks import parse_week

        try:
            parse_week(week)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    res = run_alerts(app.session_factory, app.settings, week=week,
                     dry_run=dry_run or None)
    _print_planned(res.planned, res.dry_run)
    click.echo(" ".join(f"{k}={v}" for k, v in res.counts().items()))


def _print_planned(planned: list[dict], dry_run: bool) -> None:
    verb = "would send" if dry_run else "queued"
    for p in planned:
        click.echo(f"{verb}: {p['subject']} -> {p['target']}")


@alerts.command("digest")
@click.option("--user", "username", help="Only this user (and ignore the configured day/hour).")
@click.option("--force", is_flag=True, help="Ignore the configured day/hour.")
@click.option("--dry-run", is_flag=True, help="Send and record nothing; print what would go.")
@pass_app
def digest_cmd(app: AppContext, username: str | None, force: bool, dry_run: bool) -> None:
    """Send this week's digest to users who are due (once per user per week)."""
    from voc.alerts.digest import send_due_digests

    if username:
        from voc.db import session_scope

        with session_scope(app.session_factory) as s:
            _user(s, username)
    res = send_due_digests(app.session_factory, app.settings, user=username,
                           force=force or bool(username), dry_run=dry_run or None)
    if not res.due:
        click.echo(f"digest not due yet (weekday {app.settings.digest_weekday}, hour "
                   f"{app.settings.digest_hour}, {app.settings.timezone}); use --force")
        return
    _print_planned(res.planned, res.dry_run)
    click.echo(" ".join(f"{k}={v}" for k, v in res.counts().items()))


@alerts.command("deliveries")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--status", type=click.Choice(["pending", "sending", "retrying", "sent",
                                             "failed"]))
@pass_app
def deliveries(app: AppContext, limit: int, status: str | None) -> None:
    """The delivery log, newest first."""
    from voc.alerts.store import recent_deliveries
    from voc.db import session_scope

    with session_scope(app.session_factory) as s:
        rows = recent_deliveries(s, limit, status=status)
    if not rows:
        click.echo("no deliveries")
    for d in rows:
        when = d["created_at"].strftime("%Y-%m-%d %H:%M")
        err = f"  error: {d['last_error']}" if d["last_error"] else ""
        click.echo(f"{d['id']:>5} {when} {d['kind']:<6} {d['status']:<8} x{d['attempts']} "
                   f"{d['target']:<28} {d['subject'][:60]}{err}")


@alerts.command("retry")
@click.argument("delivery_id", type=int)
@pass_app
def retry(app: AppContext, delivery_id: int) -> None:
    """Queue a failed delivery again and send it now."""
    from voc.alerts.delivery import process_due
    from voc.alerts.store import retry_delivery
    from voc.db import session_scope

    with session_scope(app.session_factory) as s:
        if not retry_delivery(s, delivery_id):
            raise UserError(f"delivery {delivery_id} is not a failed delivery")
    stats = process_due(app.session_factory, app.settings, ids=[delivery_id])
    click.echo(" ".join(f"{k}={v}" for k, v in stats.as_dict().items()))
