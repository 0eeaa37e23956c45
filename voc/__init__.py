"""voc: voice-of-customer mining (ingest, redact, enrich, topics, ranking, alerts)."""

__version__ = "0.1.0"
