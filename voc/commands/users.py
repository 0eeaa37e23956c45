"""``voc users ...``: dashboard users and API tokens."""

from __future__ import annotations

import sys

import click

from voc.cli import AppContext, UserError, pass_app


def register(group: click.Group) -> None:
    """Add the ``users`` command group."""
    group.add_command(users)


@click.group()
def users() -> None:
    """Dashboard users (roles: viewer < analyst < admin) and API tokens."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "analyst", "admin"]), default="viewer",
              show_default=True)
@click.option("--email", default=None, help="Optional e-mail address.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of stdin (for scripts).")
@pass_app
def create(app: AppContext, name: str, role: str, email: str | None,
           password_stdin: bool) -> None:
    """Create user NAME with a role; the password is prompted for or read from stdin."""
    from voc import accounts
    from voc.db import session_scope

    password = _read_password(password_stdin)
    try:
        with session_scope(app.session_factory) as s:
            accounts.create_user(s, name, password, role, email=email, actor="cli")
    except accounts.AccountError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"created user {name} ({role})")


@users.command("list")
@pass_app
def list_(app: AppContext) -> None:
    """List users with role, status, last login and live API tokens."""
    from voc import accounts
    from voc.db import session_scope

    with session_scope(app.session_factory) as s:
        rows = accounts.list_users(s)
        tokens = accounts.token_counts(s)
        if not rows:
            click.echo("no users yet: python -m voc users create NAME --role admin")
            return
        click.echo(f"{'user':<24} {'role':<8} {'active':<6} {'tokens':>6}  last login")
        for u in rows:
            last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
            click.echo(f"{u.username:<24} {u.role:<8} {'yes' if u.active else 'no':<6} "
                       f"{tokens.get(u.id, 0):>6}  {last}")


@users.command("token")
@click.argument("name")
@click.option("--label", default="cli", show_default=True, help="A name for the token.")
@pass_app
def token(app: AppContext, name: str, label: str) -> None:
    """Issue an API token for user NAME (printed once; only its hash is stored)."""
    from voc import accounts
    from voc.db import session_scope

    try:
        with session_scope(app.session_factory) as s:
            issued = accounts.issue_token(s, name, label, actor="cli")
    except accounts.AccountError as exc:
        raise UserError(str(exc)) from None
    click.echo(issued.token)
    click.echo(f"token #{issued.token_id} for {name}: send it as 'Authorization: Bearer <token>'",
               err=True)


@users.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice(["viewer", "analyst", "admin"]))
@pass_app
def set_role(app: AppContext, name: str, role: str) -> None:
    """Change the role of user NAME."""
    from voc import accounts
    from voc.db import session_scope

    try:
        with session_scope(app.session_factory) as s:
            accounts.set_role(s, name, role, actor="cli")
    except accounts.AccountError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"{name} is now {role}")


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
@pass_app
def password(app: AppContext, name: str, password_stdin: bool) -> None:
    """Set a new password for user NAME."""
    from voc import accounts
    from voc.db import session_scope

    pw = _read_password(password_stdin)
    try:
        with session_scope(app.session_factory) as s:
            accounts.set_password(s, name, pw, actor="cli")
    except accounts.AccountError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"password of {name} changed")


@users.command("disable")
@click.argument("name")
@pass_app
def disable(app: AppContext, name: str) -> None:
    """Disable user NAME (no login, no API access)."""
    from voc import accounts
    from voc.db import session_scope

    try:
        with session_scope(app.session_factory) as s:
            accounts.set_active(s, name, False, actor="cli")
    except accounts.AccountError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"{name} disabled")
