"""Scheduled jobs: step registry, run log with single-instance lock, scheduler process."""
