"""`voc users ...` against a real database."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from voc import accounts
from voc.db import make_engine
from voc.models.users import User


def test_users_create_list_token(fresh_db_url):  # noqa: ANN001
    from voc.cli import main

    runner = CliRunner()
    args = ["--database-url", fresh_db_url, "users"]
    res = runner.invoke(main, [*args, "create", "carol", "--role", "admin", "--password-stdin"],
                        input="a-good-password\n")
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, [*args, "create", "carol", "--password-stdin"],
                        input="another-pw-1\n")
    assert res.exit_code == 1 and "already exists" in res.output
    res = runner.invoke(main, [*args, "create", "dave", "--password-stdin"], input="short\n")
    assert res.exit_code == 1 and "at least 8" in res.output
    res = runner.invoke(main, [*args, "list"])
    assert "carol" in res.output and "admin" in res.output
    res = runner.invoke(main, [*args, "token", "carol"])
    assert res.exit_code == 0
    token = res.stdout.strip().splitlines()[0]
    engine = make_engine(fresh_db_url)
    try:
        with Session(engine) as s:
            user = s.scalar(select(User).where(User.username == "carol"))
            assert user.role == "admin" and user.password_hash.startswith("scrypt:")
            found = accounts.user_for_token(s, token)
            assert found is not None and found[0].username == "carol"
            assert token not in found[1].token_hash  # only the hash is stored
            assert accounts.authenticate(s, "carol", "a-good-password") is not None
    finally:
        engine.dispose()
