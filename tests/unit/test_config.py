"""Settings from VOC_* variables: types, defaults, and errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from voc.config import ConfigError, load


def test_defaults_use_the_embedded_database_in_the_instance_folder() -> None:
    s = load({})
    assert s.database_url == f"sqlite:///{s.instance_dir / 'voc.db'}"
    assert s.is_sqlite


def test_instance_dir_moves_the_embedded_database(tmp_path: Path) -> None:
    s = load({"VOC_INSTANCE_DIR": str(tmp_path)})
    assert s.instance_dir == tmp_path
    assert s.database_url == f"sqlite:///{tmp_path / 'voc.db'}"


def test_explicit_database_url_wins_over_instance_dir(tmp_path: Path) -> None:
    url = "postgresql+psycopg2://postgres@127.0.0.1:5432/voc"
    s = load({"VOC_INSTANCE_DIR": str(tmp_path), "VOC_DATABASE_URL": url})
    assert s.database_url == url and not s.is_sqlite


def test_typed_values_are_parsed() -> None:
    s = load({"VOC_TRUSTED_PROXIES": "2", "VOC_WEBHOOK_ALLOW_PRIVATE": "true"})
    assert s.trusted_proxies == 2 and s.webhook_allow_private is True


@pytest.mark.parametrize(("env", "variable"), [
    ({"VOC_DATABASE_URL": "mysql://x"}, "VOC_DATABASE_URL"),
    ({"VOC_TRUSTED_PROXIES": "two"}, "VOC_TRUSTED_PROXIES"),
    ({"VOC_TRUSTED_PROXIES": "-1"}, "VOC_TRUSTED_PROXIES"),
    ({"VOC_EMBEDDING_BACKEND": "gpu"}, "VOC_EMBEDDING_BACKEND"),
    ({"VOC_TIMEZONE": "Mars/Olympus"}, "VOC_TIMEZONE"),
])
def test_bad_values_fail_with_the_variable_named(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load(env)
