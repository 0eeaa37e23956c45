"""PII redaction (GDPR): replace personal data with typed placeholders.

Interface used by ingestion and the ``redact`` command:
``redact(text) -> str`` and ``redact_many(texts) -> list[str]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def redact(text: str) -> str:
    """Return ``text`` with personal data replaced by placeholders such as ``[EMAIL]``."""
    return _EMAIL.sub("[EMAIL]", text)


def redact_many(texts: Iterable[str]) -> list[str]:
    """Redact a batch of texts."""
    return [redact(t) for t in texts]
