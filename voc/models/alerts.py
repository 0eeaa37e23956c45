"""Subscriptions, alert state, deliveries, notifications (owned by the alerts work)."""

from __future__ import annotations
