"""User accounts: creation and password checks (no Flask here)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from voc import audit
from voc.models.base import utcnow
from voc.models.users import ROLES, User

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """Salted scrypt hash of ``password``."""
    return generate_password_hash(password, method="scrypt")


def check_password_policy(password: str) -> None:
    """Raise ValueError when ``password`` is too weak to store."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")


class UserExists(ValueError):
    """A user with that name already exists."""


def create_user(session: Session, username: str, *, password: str, role: str = "viewer",
                email: str | None = None, actor: str = "cli",
                update_existing: bool = False) -> User:
    """Create (or, with ``update_existing``, reset) a user with a hashed password; audited."""
    username = username.strip()
    if not username:
        raise ValueError("username must not be empty")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    check_password_policy(password)
    user = session.scalar(select(User).where(User.username == username))
    if user is not None and not update_existing:
        raise UserExists(f"user {username!r} already exists")
    action = "user.update" if user is not None else "user.create"
    if user is None:
        user = User(username=username)
        session.add(user)
    user.password_hash = hash_password(password)
    user.role = role
    user.email = email or user.email
    user.active = True
    session.flush()
    audit.record(session, actor, action, "user", user.id, username=username, role=role)
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user if the password matches, else None (constant-ish time per user)."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.active:
        # Hash anyway so that unknown users are not faster to reject.
        check_password_hash(generate_password_hash("x"), password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    user.last_login_at = utcnow()
    return user
