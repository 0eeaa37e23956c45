"""Dashboard users and API tokens: create, list, authenticate (no Flask here).

User creation and password checks are :mod:`voc.users` (core); this module adds
roles, listing, role changes and tokens. Passwords use werkzeug's scrypt hash; API tokens are random
(``secrets.token_urlsafe``) and only their SHA-256 is stored, so a database
dump does not reveal usable credentials.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voc import audit, users
from voc.models.base import utcnow
from voc.models.users import ROLES, User
from voc.models.web import ApiToken

#: viewer < analyst < admin
ROLE_LEVEL = {role: i for i, role in enumerate(ROLES, start=1)}
TOKEN_PREFIX = "voc_"
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")


class AccountError(ValueError):
    """A user or token operation was refused; the message is safe to show."""


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued API token: ``token`` is shown once and never stored."""

    token: str
    token_id: int
    prefix: str


def has_role(user_role: str, required: str) -> bool:
    """True when ``user_role`` is at least ``required`` (viewer < analyst < admin)."""
    return ROLE_LEVEL.get(user_role, 0) >= ROLE_LEVEL[required]


def create_user(session: Session, username: str, password: str, role: str = "viewer", *,
                email: str | None = None, actor: str = "cli") -> User:
    """Create a user via :func:`voc.users.create_user`; :class:`AccountError` when invalid."""
    if not _USERNAME_RE.match((username or "").strip()):
        raise AccountError("username must be 1-100 letters, digits or . _ @ -")
    try:
        return users.create_user(session, username, password=password, role=role, email=email,
                                 actor=actor)
    except ValueError as exc:  # includes users.UserExists
        raise AccountError(str(exc)) from None


def set_password(session: Session, username: str, password: str, *, actor: str = "cli") -> User:
    """Replace a user's password."""
    user = _require_user(session, username)
    try:
        users.check_password_policy(password)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    user.password_hash = users.hash_password(password)
    audit.record(session, actor, "user.password", "user", user.id)
    return user


def set_role(session: Session, username: str, role: str, *, actor: str = "cli") -> User:
    """Change a user's role."""
    if role not in ROLE_LEVEL:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    user = _require_user(session, username)
    user.role = role
    audit.record(session, actor, "user.role", "user", user.id, role=role)
    return user


def set_active(session: Session, username: str, active: bool, *, actor: str = "cli") -> User:
    """Enable or disable a user (disabled users cannot log in or use tokens)."""
    user = _require_user(session, username)
    user.active = active
    audit.record(session, actor, "user.active", "user", user.id, active=active)
    return user


def get_user(session: Session, username: str) -> User | None:
    """The user called ``username`` (exact match), or None."""
    return session.scalar(select(User).where(User.username == username))


def list_users(session: Session) -> list[User]:
    """All users, by name."""
    return list(session.scalars(select(User).order_by(User.username)))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user whose password matches (last login updated), else None."""
    return users.authenticate(session, username or "", password or "")


def issue_token(session: Session, username: str, name: str = "default", *,
                actor: str = "cli") -> IssuedToken:
    """Create an API token for ``username``; the clear token is returned once."""
    user = _require_user(session, username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name[:100] or "default", token_hash=token_hash(token),
                   prefix=token[:12])
    session.add(row)
    session.flush()
    audit.record(session, actor, "token.issue", "user", user.id, token_id=row.id)
    return IssuedToken(token=token, token_id=row.id, prefix=row.prefix)


def revoke_token(session: Session, token_id: int, *, actor: str = "cli") -> None:
    """Revoke a token by id (kept for the record, never accepted again)."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise AccountError(f"no token {token_id}")
    row.revoked_at = utcnow()
    audit.record(session, actor, "token.revoke", "user", row.user_id, token_id=token_id)


def user_for_token(session: Session, token: str) -> tuple[User, ApiToken] | None:
    """The active user and token row for a bearer ``token``, or None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.execute(
        select(User, ApiToken).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None),
               User.active.is_(True))
    ).first()
    return (row[0], row[1]) if row else None


def token_counts(session: Session) -> dict[int, int]:
    """Number of live tokens per user id."""
    rows = session.execute(select(ApiToken.user_id, func.count()).where(
        ApiToken.revoked_at.is_(None)).group_by(ApiToken.user_id))
    return {uid: n for uid, n in rows}


def token_hash(token: str) -> str:
    """SHA-256 hex of a token (tokens are random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _require_user(session: Session, username: str) -> User:
    user = get_user(session, username)
    if user is None:
        raise AccountError(f"no user {username!r}")
    return user

