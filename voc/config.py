"""Typed settings read from ``VOC_*`` environment variables.

Nothing is read at import time: call :func:`load` (optionally with a mapping
instead of ``os.environ``) and pass the resulting :class:`Settings` around.
A bad value raises :class:`ConfigError` naming the variable, so the service
fails at start with one clear line.

Each area of the code adds its settings as fields below, grouped by area.
A field's environment variable is ``VOC_`` + the field name upper-cased.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


def _default_db_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'instance' / 'voc.db'}"


@dataclass(frozen=True)
class Settings:
    """All of voc's configuration. Build it with :func:`load`."""

    # --- core -------------------------------------------------------------
    env: str = "development"  # development | production | test
    database_url: str = field(default_factory=_default_db_url)
    instance_dir: Path = PROJECT_ROOT / "instance"
    log_level: str = "INFO"
    timezone: str = "UTC"  # ISO weeks are computed in this timezone
    secret_key: str = "dev-insecure-change-me"  # Flask sessions, signed links
    base_url: str = "http://127.0.0.1:5000"  # used in links inside alerts

    # --- ingest -----------------------------------------------------------
    ingest_batch_size: int = 5000  # rows per transaction: fewer per-batch round trips
    drop_dir: Path | None = None  # optional folder watched by the 'drop' source
    http_timeout_s: float = 30.0
    http_max_retries: int = 5
    ingest_max_text_chars: int = 20000  # longer texts are truncated (noted in attributes)

    # --- nlp --------------------------------------------------------------
    keep_raw_text: bool = False  # keep unredacted text in feedback.text_raw
    spacy_model: str = ""  # name of an installed trained spaCy pipeline (PERSON names)
    sentiment_backend: str = "vader"  # vader | transformers | learned
    sentiment_model_dir: Path | None = None  # for the transformers backend
    embedding_backend: str = "sbert"  # sbert | onnx | onnx-int8
    embedding_batch_size: int = 64
    enrich_batch_size: int = 512
    # enrichment: see voc/nlp/language.py and voc/nlp/sentiment/
    language_min_confidence: float = 0.6  # below: language None (or the source's)
    sentiment_languages: str = ""  # transformers: "en,de" or "*"; default from the model
    sentiment_label_map: dict[str, float] = field(default_factory=dict)  # model label -> [-1,1]
    sentiment_batch_size: int = 32  # transformers inference batch
    sentiment_train_max_rows: int = 50000  # newest CSAT-labelled items used by training
    sentiment_min_language_rows: int = 50  # learned: languages with fewer rows are unsupported
    topic_assign_threshold: float = 0.55
    topic_min_cluster_size: int = 15
    topic_refit_window_weeks: int = 12
    # topics: see voc/nlp/topics/ (matching.py documents the threshold calibration)
    topic_match_threshold: float = 0.7  # min centroid cosine to keep a topic's id on refit
    topic_outlier_threshold: float = 0.6  # min cosine to rescue a clustering outlier
    topic_merge_threshold: float = 0.9  # clusters with centroids this similar are merged
    topic_refit_margin: float = 0.1  # on refit an item moves only if this much closer elsewhere
    topic_refit_max_docs: int = 50000  # refit subsamples the window to this many items
    topic_representation: str = "keybert"  # keybert (KeyBERTInspired + MMR) | ctfidf
    # languages the embedding model covers; others are clustered per language (topics/languages.py)
    topic_languages: str = "en"

    # --- insights ---------------------------------------------------------
    baseline_weeks: int = 8
    min_volume: int = 10
    significance_alpha: float = 0.01
    rank_weights: dict[str, float] = field(default_factory=dict)  # JSON; overrides defaults
    policy_taxonomy_path: Path | None = None  # YAML/JSON taxonomy; default shipped in voc/insights
    policy_min_similarity: float = 0.35  # topic centroid vs policy vector; below: no policy
    policy_margin: float = 0.08  # a topic maps only to policies this close to its best one
    surge_min_ratio: float = 1.5  # a surge must also be this many times the baseline share
    csat_min_drop: float = 0.3  # a csat_drop must also be at least this many CSAT points
    new_topic_weeks: int = 2  # "new" = first seen within this many weeks
    # scheduler: "every 15m" / "every 2s" / "every 1h" or a crontab line "0 3 * * 1"
    schedule_ingest_default: str = ""  # for sources without their own schedule ("" = none)
    schedule_enrich: str = "every 5m"
    schedule_topics: str = "every 15m"
    schedule_refit: str = "30 2 * * 1"  # weekly topic refit, Monday 02:30
    schedule_insights: str = "every 1h"  # rollups then rank
    schedule_alerts: str = "every 15m"
    schedule_digest: str = "every 1h"  # sends each user's digest once due (weekday/hour)
    schedule_purge: str = "0 3 * * *"
    schedule_misfire_grace_s: int = 300

    # --- web --------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 5000
    session_cookie_secure: bool = False
    login_rate_limit: str = "10 per minute"
    trusted_proxies: int = 0  # reverse proxies in front (X-Forwarded-For/-Proto hops trusted)

    # --- alerts -----------------------------------------------------------
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_from: str = "voc@localhost"
    alerts_dry_run: bool = False
    webhook_timeout_s: float = 10.0
    digest_weekday: int = 0  # 0 = Monday
    digest_hour: int = 8
    smtp_timeout_s: float = 10.0
    smtp_ca_file: Path | None = None  # CA bundle for a relay with a private certificate
    alerts_max_attempts: int = 5  # then a delivery is marked failed
    alerts_retry_base_s: float = 60.0  # backoff: base * 2**(attempt-1), capped at 6 h
    alerts_send_workers: int = 4  # parallel sends, so one hanging receiver blocks nobody
    digest_top_n: int = 10  # forum-ranking rows in the weekly digest
    webhook_allowed_hosts: str = ""  # comma-separated host suffixes (hooks.slack.com); "" = any
    webhook_allow_private: bool = False  # allow loopback/private/link-local targets (SSRF)

    # --- compliance -------------------------------------------------------
    pseudonym_key: str = ""  # HMAC key for customer_id; required in production
    pseudonym_previous_keys: str = ""  # comma-separated retired keys: erasure still matches them
    retention_days: dict[str, int] = field(default_factory=dict)  # JSON {"ticket": 180, ...}
    raw_text_retention_days: int = 180  # feedback.text_raw dropped after N days (0 = keep)
    quarantine_retention_days: int = 90  # quarantined rows (raw payloads) deleted after N days
    purge_batch_size: int = 500  # rows per purge transaction (short locks)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some fields changed (tests, CLI overrides)."""
        return dataclasses.replace(self, **changes)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse(name: str, raw: str, typ: Any) -> Any:
    var = f"VOC_{name.upper()}"
    text = str(typ)
    try:
        if typ is bool or text == "bool":
            low = raw.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError("expected true/false")
        if typ is int or text == "int":
            return int(raw)
        if typ is float or text == "float":
            return float(raw)
        if "Path" in text:
            return Path(raw).expanduser() if raw.strip() else None
        if text.startswith("dict"):
            value = json.loads(raw) if raw.strip() else {}
            if not isinstance(value, dict):
                raise ValueError("expected a JSON object")
            return value
        return raw
    except (ValueError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{var}={raw!r} is invalid: {exc}") from None


_VALID_CHOICES = {
    "env": {"development", "production", "test"},
    "sentiment_backend": {"vader", "transformers", "learned"},
    "embedding_backend": {"sbert", "onnx", "onnx-int8"},
    "topic_representation": {"keybert", "ctfidf"},
    "log_level": {"DEBUG", "INFO", "WARNING", "ERROR"},
}


def load(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from ``VOC_*`` variables (default: ``os.environ``).

    Keyword ``overrides`` win over the environment. Raises :class:`ConfigError`
    with the variable's name when a value cannot be parsed or is not allowed.
    """
    environ = os.environ if environ is None else environ
    hints = get_type_hints(Settings)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        var = f"VOC_{f.name.upper()}"
        if var in environ:
            values[f.name] = _parse(f.name, environ[var], hints[f.name])
    values.update(overrides)
    if "database_url" not in values and "instance_dir" in values:
        # The embedded database lives in the instance folder: moving one moves the other.
        values["database_url"] = f"sqlite:///{Path(values['instance_dir']) / 'voc.db'}"
    settings = Settings(**values)
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    for name, allowed in _VALID_CHOICES.items():
        value = getattr(s, name)
        if value not in allowed:
            raise ConfigError(
                f"VOC_{name.upper()}={value!r} is invalid: expected one of {sorted(allowed)}"
            )
    url = s.database_url
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise ConfigError(
            f"VOC_DATABASE_URL={url!r} is invalid: expected sqlite:///PATH or "
            "postgresql+psycopg2://USER@HOST/DB"
        )
    if s.timezone:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(s.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"VOC_TIMEZONE={s.timezone!r} is invalid: unknown timezone") from None
    if s.is_production:
        if not s.pseudonym_key:
            raise ConfigError("VOC_PSEUDONYM_KEY is required when VOC_ENV=production")
        if s.secret_key == Settings.secret_key:
            raise ConfigError("VOC_SECRET_KEY must be set when VOC_ENV=production")
    for key, days in s.retention_days.items():
        if not isinstance(days, int) or days <= 0:
            raise ConfigError(f"VOC_RETENTION_DAYS[{key!r}]={days!r} is invalid: expected days > 0")
    for name in ("raw_text_retention_days", "quarantine_retention_days", "trusted_proxies"):
        if getattr(s, name) < 0:
            raise ConfigError(f"VOC_{name.upper()}={getattr(s, name)} is invalid: expected >= 0")
    if s.purge_batch_size <= 0:
        raise ConfigError(f"VOC_PURGE_BATCH_SIZE={s.purge_batch_size} is invalid: expected > 0")
