"""Pseudonymisation: keyed hashing of customer ids, and the production key requirement."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from voc import config
from voc.compliance.pseudonym import customer_hash


def _settings(**kw) -> config.Settings:  # noqa: ANN003
    return config.load({}, **kw)


def test_hash_is_hmac_sha256_with_the_configured_key() -> None:
    s = _settings(pseudonym_key="k1")
    expected = hmac.new(b"k1", b"cust-42", hashlib.sha256).hexdigest()
    assert customer_hash("cust-42", s) == expected
    assert customer_hash("  cust-42 ", s) == expected  # trimmed like ingest trims
    assert customer_hash(42, s) == hmac.new(b"k1", b"42", hashlib.sha256).hexdigest()


def test_hash_depends_on_the_key_and_is_not_a_plain_digest() -> None:
    a = customer_hash("cust-42", _settings(pseudonym_key="k1"))
    b = customer_hash("cust-42", _settings(pseudonym_key="k2"))
    assert a != b and len(a) == 64
    assert a != hashlib.sha256(b"cust-42").hexdigest()  # no dictionary attack without the key


def test_empty_ids_have_no_hash() -> None:
    s = _settings(pseudonym_key="k1")
    assert customer_hash(None, s) is None and customer_hash("   ", s) is None


def test_production_refuses_to_start_without_the_key() -> None:
    env = {"VOC_ENV": "production", "VOC_SECRET_KEY": "s3cret-prod-key"}
    with pytest.raises(config.ConfigError, match="VOC_PSEUDONYM_KEY"):
        config.load(env)
    ok = config.load({**env, "VOC_PSEUDONYM_KEY": "p-key"})
    assert ok.is_production and ok.pseudonym_key == "p-key"


def test_production_refuses_the_default_secret_key() -> None:
    with pytest.raises(config.ConfigError, match="VOC_SECRET_KEY"):
        config.load({"VOC_ENV": "production", "VOC_PSEUDONYM_KEY": "p"})


def test_retention_settings_are_validated() -> None:
    s = config.load({"VOC_RETENTION_DAYS": '{"ticket": 180, "survey": 365}',
                     "VOC_RAW_TEXT_RETENTION_DAYS": "30"})
    assert s.retention_days == {"ticket": 180, "survey": 365} and s.raw_text_retention_days == 30
    for env in ({"VOC_RETENTION_DAYS": '{"ticket": 0}'}, {"VOC_RETENTION_DAYS": "[180]"},
                {"VOC_QUARANTINE_RETENTION_DAYS": "-1"}, {"VOC_PURGE_BATCH_SIZE": "0"}):
        with pytest.raises(config.ConfigError):
            config.load(env)


def test_hashes_under_retired_keys() -> None:
    from voc.compliance.pseudonym import customer_hashes

    s = _settings(pseudonym_key="new", pseudonym_previous_keys="old1, old2,,new")
    hs = customer_hashes("c-1", s)
    assert hs[0] == customer_hash("c-1", s) and len(hs) == 3
    assert hs[1] == customer_hash("c-1", _settings(pseudonym_key="old1"))
    assert customer_hashes("  ", s) == []
