"""Subscription management: validate, create, update, delete, list, unsubscribe."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voc import audit
from voc.alerts import search as alert_search
from voc.alerts.notifiers import TargetError, public_config, validate_target
from voc.alerts.rules import RuleError, rule_from_parts
from voc.alerts.tokens import read_token
from voc.config import Settings
from voc.models.alerts import AlertState, Subscription
from voc.models.base import utcnow
from voc.models.users import User

MASK = "********"
MAX_QUIET_HOURS = 24 * 90


class SubscriptionError(ValueError):
    """A subscription cannot be saved; the message is shown to the user."""


def normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Validate a subscription's fields; returns the clean column values.

    ``data``: name, scope_kind, scope, condition, targets, quiet_hours, include_in_digest.
    """
    name = str(data.get("name") or "").strip()
    scope_kind = str(data.get("scope_kind") or "topics")
    scope = dict(data.get("scope") or {})
    condition = dict(data.get("condition") or {})
    try:
        rule = rule_from_parts(scope_kind, scope, condition)
        if rule.scope_kind == "search":
            alert_search.validate_filters(rule.search)
    except (RuleError, ValueError) as exc:
        raise SubscriptionError(str(exc)) from None
    targets_in = data.get("targets") or []
    if not isinstance(targets_in, list) or not targets_in:
        raise SubscriptionError("add at least one delivery target (email, webhook or in-app)")
    targets = []
    for i, t in enumerate(targets_in, 1):
        try:
            targets.append(validate_target(t))
        except TargetError as exc:
            raise SubscriptionError(f"target {i}: {exc}") from None
    try:
        quiet = int(data.get("quiet_hours", 72))
    except (TypeError, ValueError):
        raise SubscriptionError("quiet period must be a whole number of hours") from None
    if not 0 <= quiet <= MAX_QUIET_HOURS:
        raise SubscriptionError(f"quiet period must be between 0 and {MAX_QUIET_HOURS} hours")
    clean_scope: dict[str, Any] = {}
    if rule.topic_ids:
        clean_scope["topic_ids"] = sorted(rule.topic_ids)
    if rule.policies:
        clean_scope["policies"] = sorted(rule.policies)
    if rule.markets:
        clean_scope["markets"] = sorted(rule.markets)
    if rule.search:
        clean_scope["search"] = dict(rule.search)
    clean_condition: dict[str, Any] = {"type": rule.condition}
    if rule.condition == "emerging" and rule.flags:
        clean_condition["flags"] = sorted(rule.flags)
    if rule.condition == "threshold":
        clean_condition.update(metric=rule.metric, threshold=rule.threshold)
    if rule.condition == "search":
        clean_condition["min_matches"] = rule.min_matches
    if not name:
        name = _default_name(scope_kind, clean_scope, clean_condition)
    return {"name": name[:200], "scope_kind": scope_kind, "scope": clean_scope,
            "condition": clean_condition, "targets": targets, "quiet_hours": quiet,
            "include_in_digest": bool(data.get("include_in_digest", True))}


def _default_name(kind: str, scope: dict[str, Any], condition: dict[str, Any]) -> str:
    what = {"all": "all topics",
            "topics": "topics " + ", ".join(map(str, scope.get("topic_ids", []))),
            "policies": "policies " + ", ".join(scope.get("policies", [])),
            "markets": "markets " + ", ".join(scope.get("markets", [])),
            "search": "search " + str(scope.get("search", {}).get("q") or "filters")}[kind]
    return f"{condition['type']}: {what}"


def create_subscription(session: Session, user_id: int, data: dict[str, Any], *,
                        actor: str = "cli") -> Subscription:
    """Validate and add a subscription for ``user_id`` (caller commits)."""
    fields = normalise(data)
    if session.get(User, user_id) is None:
        raise SubscriptionError(f"no user with id {user_id}")
    sub = Subscription(user_id=user_id, **fields)
    session.add(sub)
    session.flush()
    if sub.scope_kind == "search":
        # A saved search alerts on verbatims that arrive from now on, not on history.
        session.add(AlertState(subscription_id=sub.id, key="search",
                               cursor=alert_search.max_feedback_id(session)))
    audit.record(session, actor, "subscription.create", "subscription", sub.id,
                 scope_kind=sub.scope_kind, condition=sub.condition["type"],
                 targets=[t["type"] for t in sub.targets])
    return sub


def update_subscription(session: Session, sub: Subscription, data: dict[str, Any], *,
                        actor: str = "cli") -> Subscription:
    """Change a subscription; masked secrets in ``data`` keep their stored values."""
    merged = {**subscription_fields(sub), **data}
    old_secrets = {(t["type"], t["config"].get("url")): t["config"].get("secret")
                   for t in sub.targets if t["type"] == "webhook"}
    for t in merged.get("targets") or []:
        cfg = t.get("config") or {}
        if t.get("type") == "webhook" and cfg.get("secret") == MASK:
            cfg["secret"] = old_secrets.get(("webhook", cfg.get("url")), "")
    fields = normalise(merged)
    for k, v in fields.items():
        setattr(sub, k, v)
    if "active" in data:
        sub.active = bool(data["active"])
    sub.updated_at = utcnow()
    audit.record(session, actor, "subscription.update", "subscription", sub.id)
    return sub


def delete_subscription(session: Session, sub: Subscription, *, actor: str = "cli") -> None:
    """Remove a subscription (its state goes with it; the delivery log keeps its rows)."""
    audit.record(session, actor, "subscription.delete", "subscription", sub.id)
    session.delete(sub)
    session.flush()


def get_subscription(session: Session, sub_id: int,
                     user_id: int | None = None) -> Subscription | None:
    """One subscription (restricted to ``user_id`` when given)."""
    sub = session.get(Subscription, sub_id)
    if sub is None or (user_id is not None and sub.user_id != user_id):
        return None
    return sub


def list_subscriptions(session: Session, user_id: int | None = None,
                       active_only: bool = False) -> list[Subscription]:
    """Subscriptions (of one user when given), oldest first."""
    q = select(Subscription)
    if user_id is not None:
        q = q.where(Subscription.user_id == user_id)
    if active_only:
        q = q.where(Subscription.active.is_(True))
    return list(session.scalars(q.order_by(Subscription.id)))


def subscription_fields(sub: Subscription) -> dict[str, Any]:
    """The editable fields of a subscription (secrets included: server side only)."""
    return {"name": sub.name, "scope_kind": sub.scope_kind, "scope": dict(sub.scope),
            "condition": dict(sub.condition),
            "targets": [{"type": t["type"], "config": dict(t.get("config") or {})}
                        for t in sub.targets],
            "quiet_hours": sub.quiet_hours, "include_in_digest": sub.include_in_digest}


def subscription_dict(sub: Subscription) -> dict[str, Any]:
    """A subscription for the API and lists: secrets masked."""
    return {"id": sub.id, "user_id": sub.user_id, "name": sub.name,
            "scope_kind": sub.scope_kind, "scope": sub.scope, "condition": sub.condition,
            "targets": [public_config(t) for t in sub.targets], "quiet_hours": sub.quiet_hours,
            "include_in_digest": sub.include_in_digest, "active": sub.active,
            "created_at": sub.created_at.isoformat() if sub.created_at else None,
            "last_evaluated_at": (sub.last_evaluated_at.isoformat()
                                  if sub.last_evaluated_at else None)}


def describe(sub: Subscription) -> str:
    """One line: what the subscription watches and under which condition."""
    cond = sub.condition or {}
    ctype = cond.get("type")
    if ctype == "emerging":
        what = "flagged " + ("/".join(cond.get("flags") or []) or "emerging")
    elif ctype == "threshold":
        what = f"{cond.get('metric')} ≥ {cond.get('threshold')}"
        if cond.get("metric") == "csat":
            what = f"csat ≤ {cond.get('threshold')}"
    else:
        what = f"≥{cond.get('min_matches', 1)} new matches"
    scope = sub.scope or {}
    target = {"all": "all topics",
              "topics": "topics " + ", ".join(map(str, scope.get("topic_ids", []))),
              "policies": "policies " + ", ".join(scope.get("policies", [])),
              "markets": "markets " + ", ".join(scope.get("markets", [])),
              "search": "search " + ", ".join(f"{k}={v}" for k, v in
                                              (scope.get("search") or {}).items())
              }.get(sub.scope_kind, sub.scope_kind)
    return f"{target}: {what}"


def unsubscribe(session: Session, settings: Settings, token: str) -> str | None:
    """Apply a signed unsubscribe token; returns what stopped, or None if the token is bad.

    Idempotent: using the link twice is fine.
    """
    target = read_token(settings, token)
    if target is None:
        return None
    if target.kind == "subscription":
        sub = session.get(Subscription, target.id)
        if sub is None:
            return "a subscription that no longer exists"
        if sub.active:
            sub.active = False
            sub.updated_at = utcnow()
            audit.record(session, "unsubscribe-link", "subscription.unsubscribe",
                         "subscription", sub.id)
        return f"alerts for “{sub.name}”"
    subs = list_subscriptions(session, target.id)
    for sub in subs:
        sub.include_in_digest = False
    audit.record(session, "unsubscribe-link", "digest.unsubscribe", "user", target.id)
    return "the weekly digest"
