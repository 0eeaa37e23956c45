"""Alerts and subscriptions: pure rules, notifier registry, idempotent delivery, digest.

Entry points: ``voc.alerts.service.run_alerts`` (the ``alerts`` pipeline step),
``voc.alerts.digest.send_due_digests`` (scheduler), ``voc.alerts.subscriptions`` (CRUD),
``voc.alerts.store`` (in-app notifications, delivery log, ``scrub_feedback`` for erasure).
"""
