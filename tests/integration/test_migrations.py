"""Migrations: a single head; upgrade, downgrade, upgrade on both databases."""

from __future__ import annotations

from sqlalchemy import inspect

from voc import migrate
from voc.db import make_engine
from voc.models import Base


def test_single_head() -> None:
    assert len(migrate.heads()) == 1


def test_upgrade_downgrade_upgrade(backend: str, db_factory) -> None:  # noqa: ANN001
    url = db_factory.create(backend, migrated=False)
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        missing = set(Base.metadata.tables) - tables
        assert not missing, f"models without a migration: {missing}"
        migrate.downgrade(url, "base")
        left = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert not left, f"downgrade left tables behind: {left}"
        migrate.upgrade(url)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_models_match_migrations(engine) -> None:  # noqa: ANN001
    """Autogenerate finds nothing to do: the migrations create exactly the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, Base.metadata)
    # FTS shadow tables and other DB-specific objects are created outside the models.
    diff = [d for d in diff if not (d[0] == "remove_table" and _is_db_specific(d[1].name))]
    assert diff == [], diff


def _is_db_specific(name: str) -> bool:
    return "fts" in name
