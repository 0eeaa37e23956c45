"""Additive weekly sums and the rates derived from them.

Every stored rollup row is a :class:`Sums`; adding rows (across markets, merged topics, the
topics of a policy) is exact, so rates are always derived from sums, never averaged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SUM_FIELDS = ("volume", "sent_n", "neg_n", "csat_n", "csat_sum", "csat_sumsq",
              "esc_base", "esc_n", "res_base", "res_n", "sla_base", "sla_n")


@dataclass
class Sums:
    """Counts and sums for one slice of one week."""

    volume: int = 0
    sent_n: int = 0  # items with a supported sentiment label
    neg_n: int = 0
    csat_n: int = 0
    csat_sum: float = 0.0
    csat_sumsq: float = 0.0
    esc_base: int = 0  # items handled by a bot or AI agent
    esc_n: int = 0  # ... that were handed over to a person
    res_base: int = 0
    res_n: int = 0
    sla_base: int = 0
    sla_n: int = 0

    def add(self, other: Sums) -> Sums:
        """Add ``other`` into this one (in place) and return self."""
        # Spelled out: this runs for every stored row read (dataclasses.fields() is slow).
        self.volume += other.volume
        self.sent_n += other.sent_n
        self.neg_n += other.neg_n
        self.csat_n += other.csat_n
        self.csat_sum += other.csat_sum
        self.csat_sumsq += other.csat_sumsq
        self.esc_base += other.esc_base
        self.esc_n += other.esc_n
        self.res_base += other.res_base
        self.res_n += other.res_n
        self.sla_base += other.sla_base
        self.sla_n += other.sla_n
        return self

    @classmethod
    def from_row(cls, row) -> Sums:  # noqa: ANN001 - a Row or a mapping with SUM_FIELDS
        get = row._mapping.get if hasattr(row, "_mapping") else row.get
        return cls(*[(get(k) or 0) for k in SUM_FIELDS])

    @classmethod
    def from_values(cls, values) -> Sums:  # noqa: ANN001 - a sequence in SUM_FIELDS order
        return cls(*[(v or 0) for v in values])

    @property
    def negative_share(self) -> float | None:
        """Negative items among those with a supported sentiment label."""
        return self.neg_n / self.sent_n if self.sent_n else None

    @property
    def csat(self) -> float | None:
        return self.csat_sum / self.csat_n if self.csat_n else None

    @property
    def csat_var(self) -> float | None:
        """Sample variance of CSAT responses (None below 2 responses)."""
        if self.csat_n < 2:
            return None
        mean = self.csat_sum / self.csat_n
        return max(0.0, (self.csat_sumsq - self.csat_n * mean * mean) / (self.csat_n - 1))

    @property
    def csat_sd(self) -> float | None:
        var = self.csat_var
        return math.sqrt(var) if var is not None else None

    @property
    def escalation_rate(self) -> float | None:
        """Share of bot / AI-agent items handed over to a person."""
        return self.esc_n / self.esc_base if self.esc_base else None

    @property
    def resolution_rate(self) -> float | None:
        return self.res_n / self.res_base if self.res_base else None

    @property
    def sla_breach_rate(self) -> float | None:
        return self.sla_n / self.sla_base if self.sla_base else None

    def as_dict(self) -> dict:
        """Sums plus derived rates, JSON-friendly."""
        out = {k: getattr(self, k) for k in SUM_FIELDS}
        out.update(negative_share=_r(self.negative_share), csat=_r(self.csat),
                   escalation_rate=_r(self.escalation_rate),
                   resolution_rate=_r(self.resolution_rate),
                   sla_breach_rate=_r(self.sla_breach_rate))
        return out


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(x, nd)
