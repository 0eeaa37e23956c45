"""GDPR: pseudonymisation, erasure with tombstones, retention, audit."""
