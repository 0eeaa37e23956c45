"""Ingestion: connectors (file, http, sql) -> canonical records -> upsert / quarantine.

Entry points: :func:`voc.ingest.service.ingest_source` and
:func:`voc.ingest.service.ingest_all`; demo data: :mod:`voc.ingest.demo_data`.
"""
