"""A realistic synthetic feedback stream with planted events, for the demo and tests.

``write_demo_data(out_dir, weeks=12, seed=7, end=None)`` writes

- ``tickets.jsonl``: help-desk export (channels bot / ai_agent / human_agent / email,
  escalated, resolved, sla_breached, csat on some tickets, text in ``description``);
- ``survey.csv``: survey-tool export whose columns need a mapping (``Response ID``,
  ``Submitted``, ``Q3 - What could we improve?``, ``Satisfaction``, ``Country``, ...);
- ``manifest.json``: paths, mappings, weeks, and the planted events.

Deterministic for a given seed and ``end``. Planted in the last two weeks: a SURGE of
verification codes not arriving (~3x the theme's share; the extra contacts are about SMS
codes, as after an SMS-provider outage: real surges have one cause, not a whole theme
growing evenly), a NEW issue (video upload crash after update 8.4), and a CSAT DROP for
refunds in the US at stable volume (the largest market: with ~500 items a week a smaller
market has too few CSAT responses on one theme for any test to tell a drop from noise).
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from voc.ingest import demo_data_text as bank

SURVEY_MAPPING = {
    "Response ID": "id",
    "Submitted": "created_at",
    "Q3 - What could we improve?": "text",
    "Satisfaction": "csat",
    "Q2 - How likely are you to recommend us? (0-10)": "nps",
    "Country": "market",
    "Language": "language",
    "Customer ID": "customer_id",
    "Product": "product_area",
}
TICKET_MAPPING = {"description": "text"}

# market -> (share of volume, languages with weights)
MARKETS: dict[str, tuple[float, dict[str, float]]] = {
    "US": (0.24, {"en": 0.92, "es": 0.08}),
    "GB": (0.14, {"en": 1.0}),
    "DE": (0.16, {"de": 0.6, "en": 0.4}),
    "FR": (0.12, {"fr": 0.65, "en": 0.35}),
    "ES": (0.10, {"es": 0.65, "en": 0.35}),
    "IN": (0.12, {"en": 1.0}),
    "NL": (0.06, {"en": 0.8, "de": 0.2}),
    "MX": (0.06, {"es": 0.85, "en": 0.15}),
}
CHANNELS = {"bot": 0.30, "ai_agent": 0.25, "human_agent": 0.30, "email": 0.15}
ITEMS_PER_WEEK = 500
TICKET_SHARE = 0.7
SURGE_TOPIC, SURGE_FACTOR = "verification_codes", 3.0
SURGE_CAUSE = "SMS"  # the surge's extra contacts use the theme's sentences that mention it
NEW_ISSUE_PER_WEEK = 45
CSAT_DROP_TOPIC, CSAT_DROP_MARKET = "refunds", "US"  # a returns-process change in one market
RESTATE_SHARE = 0.3  # messages that describe the problem twice, in other words


@dataclass
class DemoManifest:
    """What was written and what was planted (also saved as ``manifest.json``)."""

    out_dir: str
    tickets_path: str
    survey_path: str
    ticket_mapping: dict[str, str]
    survey_mapping: dict[str, str]
    ticket_count: int
    survey_count: int
    malformed_count: int
    weeks: list[str]
    start: str
    end: str
    seed: int
    markets: list[str]
    languages: list[str]
    topics: list[dict[str, Any]]
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_items(self) -> int:
        """Rows written (tickets + survey responses, malformed ones included)."""
        return self.ticket_count + self.survey_count

    def event(self, kind: str) -> dict[str, Any]:
        """The planted event of ``kind`` (surge | new | csat_drop)."""
        return next(e for e in self.events if e["type"] == kind)

    def sources(self) -> list[dict[str, Any]]:
        """Source rows (``Source(**spec)``) for the two demo files."""
        return [
            {"name": "demo-helpdesk", "type": "file", "kind": "ticket", "schedule": "every 15m",
             "settings": {"path": self.tickets_path, "mapping": dict(self.ticket_mapping)},
             "cursor": {}, "enabled": True},
            {"name": "demo-survey", "type": "file", "kind": "survey", "schedule": "every 1h",
             "settings": {"path": self.survey_path, "mapping": dict(self.survey_mapping)},
             "cursor": {}, "enabled": True},
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``manifest.json`` holds)."""
        data = asdict(self)
        data["total_items"] = self.total_items
        data["sources"] = self.sources()
        return data

    @classmethod
    def load(cls, path: str | Path) -> DemoManifest:
        """Read a ``manifest.json`` written by :func:`write_demo_data`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in names})


def iso_week(day: date) -> str:
    """``YYYY-Www`` of a date."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def write_demo_data(out_dir: str | Path, *, weeks: int = 12, seed: int = 7,
                    end: datetime | date | None = None) -> DemoManifest:
    """Write the demo stream into ``out_dir`` and return its manifest."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gen = _Generator(seed, weeks, _end_datetime(end))
    tickets, survey = gen.generate()
    tickets_path = out / "tickets.jsonl"
    survey_path = out / "survey.csv"
    with tickets_path.open("w", encoding="utf-8") as fh:
        for row in tickets:
            fh.write(row if isinstance(row, str) else json.dumps(row, ensure_ascii=False))
            fh.write("\n")
    with survey_path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(_SURVEY_COLUMNS)
        for row in survey:
            writer.writerow([row.get(c, "") for c in _SURVEY_COLUMNS])
    manifest = DemoManifest(
        out_dir=str(out.resolve()), tickets_path=str(tickets_path.resolve()),
        survey_path=str(survey_path.resolve()), ticket_mapping=dict(TICKET_MAPPING),
        survey_mapping=dict(SURVEY_MAPPING), ticket_count=len(tickets), survey_count=len(survey),
        malformed_count=gen.malformed, weeks=gen.week_labels, start=gen.start.isoformat(),
        end=gen.end.isoformat(), seed=seed, markets=sorted(MARKETS),
        languages=sorted({lang for _, langs in MARKETS.values() for lang in langs}),
        topics=[{"key": k, "label": t["label"], "keywords": t["keywords"]}
                for k, t in bank.TOPICS.items()],
        events=gen.events(),
    )
    (out / "manifest.json").write_text(json.dumps(manifest.to_dict(), indent=2,
                                                  ensure_ascii=False), encoding="utf-8")
    return manifest


_GRUMPY = {"Ugh.", "Not happy.", "This is really frustrating.", "Please fix this asap!!",
           "Please help.", "Any update?", "Das ist echt ärgerlich.", "Bitte um Hilfe.",
           "C'est vraiment pénible.", "Es muy frustrante.", "Por favor, ayuda."}
_SURGE_KEY = "surge"


def _surge_spec() -> dict[str, Any]:
    """The surge theme restricted, in every language, to its sentences about the cause."""
    spec = dict(bank.TOPICS[SURGE_TOPIC])
    for lang in ("en", "de", "fr", "es"):
        about = [t for t in spec.get(lang, []) if SURGE_CAUSE.lower() in t.lower()]
        if about:
            spec[lang] = about
    return spec


_SURVEY_COLUMNS = ["Response ID", "Submitted", "Q1 - Overall experience", "Satisfaction",
                   "Q2 - How likely are you to recommend us? (0-10)",
                   "Q3 - What could we improve?", "Country", "Language", "Customer ID",
                   "Product", "Device"]


def _end_datetime(end: datetime | date | None) -> datetime:
    if end is None:
        return datetime.now(UTC).replace(microsecond=0)
    if isinstance(end, datetime):
        return end.astimezone(UTC) if end.tzinfo else end.replace(tzinfo=UTC)
    return datetime(end.year, end.month, end.day, 23, 59, 59, tzinfo=UTC)


class _Generator:
    def __init__(self, seed: int, weeks: int, end: datetime) -> None:
        self.rng = random.Random(seed)
        self.weeks = weeks
        self.end = end
        monday = (end - timedelta(days=end.weekday())).replace(hour=0, minute=0, second=0)
        self.start = monday - timedelta(weeks=weeks - 1)
        self.week_starts = [self.start + timedelta(weeks=i) for i in range(weeks)]
        self.week_labels = [iso_week(w.date()) for w in self.week_starts]
        self.planted_weeks = self.week_labels[-2:]
        self.customers = [f"cust-{i:05d}" for i in range(1, 1801)]
        self.malformed = 0
        self._ticket_no = 100_000
        self._response_no = 0

    # --- the plan ----------------------------------------------------------
    def generate(self) -> tuple[list[Any], list[dict[str, Any]]]:
        tickets: list[Any] = []
        survey: list[dict[str, Any]] = []
        for index, week_start in enumerate(self.week_starts):
            planted = index >= self.weeks - 2
            volume = int(ITEMS_PER_WEEK * self.rng.uniform(0.93, 1.07))
            weights = {k: t["weight"] for k, t in bank.TOPICS.items()}
            keys = list(weights)
            topics = self.rng.choices(keys, weights=[weights[k] for k in keys], k=volume)
            if planted:
                theme = volume * weights[SURGE_TOPIC] / sum(weights.values())
                topics += [_SURGE_KEY] * round(theme * (SURGE_FACTOR - 1))
                topics += ["video_upload_crash"] * int(NEW_ISSUE_PER_WEEK *
                                                       self.rng.uniform(0.9, 1.15))
            for topic in topics:
                when = self._time_in_week(week_start)
                if self.rng.random() < TICKET_SHARE:
                    tickets.append(self._ticket(topic, when, planted))
                else:
                    survey.append(self._survey(topic, when, planted))
        tickets.sort(key=lambda t: t["created_at"])
        survey.sort(key=lambda r: r["Submitted"])
        self._add_malformed(tickets, survey)
        return tickets, survey

    def events(self) -> list[dict[str, Any]]:
        surge = bank.TOPICS[SURGE_TOPIC]
        refunds = bank.TOPICS[CSAT_DROP_TOPIC]
        return [
            {"type": "surge", "topic": SURGE_TOPIC, "label": surge["label"],
             "keywords": surge["keywords"], "weeks": self.planted_weeks, "markets": "all",
             "factor": SURGE_FACTOR, "cause": SURGE_CAUSE,
             "description": f"{surge['label']}: ~{SURGE_FACTOR:.0f}x volume in "
                            f"{', '.join(self.planted_weeks)}, the extra contacts about "
                            f"{SURGE_CAUSE} codes"},
            {"type": "new", "topic": bank.NEW_ISSUE["key"], "label": bank.NEW_ISSUE["label"],
             "keywords": bank.NEW_ISSUE["keywords"], "weeks": self.planted_weeks,
             "markets": "all", "per_week": NEW_ISSUE_PER_WEEK,
             "description": f"{bank.NEW_ISSUE['label']}: new in {self.planted_weeks[0]}"},
            {"type": "csat_drop", "topic": CSAT_DROP_TOPIC, "label": refunds["label"],
             "keywords": refunds["keywords"], "weeks": self.planted_weeks,
             "markets": [CSAT_DROP_MARKET], "baseline_csat": refunds["csat"], "csat": 1.6,
             "description": f"{refunds['label']} in {CSAT_DROP_MARKET}: CSAT from "
                            f"~{refunds['csat']} to ~1.6 at stable volume"},
        ]

    # --- rows ----------------------------------------------------------------
    def _ticket(self, topic: str, when: datetime, planted: bool) -> dict[str, Any]:
        rng = self.rng
        market, lang = self._market_language()
        spec = self._topic(topic)
        text = self._text(spec, lang)
        channel = rng.choices(list(CHANNELS), weights=list(CHANNELS.values()))[0]
        escalated = channel in ("bot", "ai_agent") and rng.random() < (
            0.55 if spec["csat"] < 3 else 0.25)
        resolved = rng.random() < (0.85 if topic == "praise" else 0.6)
        self._ticket_no += 1
        row: dict[str, Any] = {
            "id": self._ticket_no,
            "created_at": when.isoformat().replace("+00:00", "Z"),
            "updated_at": (when + timedelta(hours=rng.randint(1, 72))).isoformat()
            .replace("+00:00", "Z"),
            "subject": spec["label"] if rng.random() < 0.6 else text[:40],
            "description": text,
            "status": "solved" if resolved else rng.choice(["open", "pending"]),
            "channel": channel,
            "escalated": escalated,
            "resolved": resolved,
            "sla_breached": rng.random() < (0.25 if escalated else 0.07),
            "market": market,
            "product_area": spec["product_area"],
            "tags": spec["tags"] + (["vip"] if rng.random() < 0.05 else []),
            "priority": rng.choice(["low", "normal", "normal", "high"]),
        }
        if rng.random() < 0.85:
            row["customer_id"] = self._customer()
        if lang != "en" or rng.random() < 0.5:  # language is not always given
            row["language"] = lang
        if rng.random() < 0.35:
            row["csat"] = self._csat(spec, topic, market, planted)
        return row

    def _survey(self, topic: str, when: datetime, planted: bool) -> dict[str, Any]:
        rng = self.rng
        market, lang = self._market_language()
        spec = self._topic(topic)
        csat = self._csat(spec, topic, market, planted)
        self._response_no += 1
        return {
            "Response ID": f"R_{self._response_no:06d}",
            "Submitted": when.strftime("%Y-%m-%d %H:%M:%S"),
            "Q1 - Overall experience": ["Very poor", "Poor", "OK", "Good", "Excellent"][csat - 1],
            "Satisfaction": csat,
            "Q2 - How likely are you to recommend us? (0-10)":
                max(0, min(10, csat * 2 + rng.randint(-2, 1))),
            "Q3 - What could we improve?": self._text(spec, lang),
            "Country": market if rng.random() < 0.9 else market.lower(),
            "Language": lang,
            "Customer ID": self._customer() if rng.random() < 0.5 else "",
            "Product": spec["product_area"],
            "Device": rng.choice(["iOS", "Android", "Web", "Web", "Android"]),
        }

    def _add_malformed(self, tickets: list[Any], survey: list[dict[str, Any]]) -> None:
        """A handful of broken rows, so quarantine has something to show."""
        last = tickets[-1]
        bad_tickets = [
            {**last, "id": 990001, "description": "   "},
            {**last, "id": 990002, "created_at": "yesterday afternoon"},
            {**last, "id": 990003, "csat": 7},
            {k: v for k, v in last.items() if k != "id"},
            {**last, "id": 990004, "market": "Germany"},
        ]
        tickets.extend(bad_tickets)
        tickets.append('{"id": 990005, "description": "truncated json')
        bad_survey = dict(survey[-1])
        survey.append({**bad_survey, "Response ID": "R_BAD001", "Satisfaction": 9})
        survey.append({**bad_survey, "Response ID": "R_BAD002", "Submitted": "31/02/2026"})
        survey.append({**bad_survey, "Response ID": "R_BAD003",
                       "Q3 - What could we improve?": ""})
        self.malformed = len(bad_tickets) + 1 + 3

    # --- pieces ----------------------------------------------------------------
    def _topic(self, topic: str) -> dict[str, Any]:
        if topic == _SURGE_KEY:
            return _surge_spec()
        return bank.NEW_ISSUE if topic == "video_upload_crash" else bank.TOPICS[topic]

    def _time_in_week(self, week_start: datetime) -> datetime:
        span = min(timedelta(weeks=1), self.end - week_start)  # the current week is partial
        seconds = self.rng.uniform(0, max(span.total_seconds(), 3600) - 1)
        return (week_start + timedelta(seconds=seconds)).replace(microsecond=0)

    def _market_language(self) -> tuple[str, str]:
        markets = list(MARKETS)
        market = self.rng.choices(markets, weights=[MARKETS[m][0] for m in markets])[0]
        langs = MARKETS[market][1]
        lang = self.rng.choices(list(langs), weights=list(langs.values()))[0]
        return market, lang

    def _customer(self) -> str:
        # Skewed: some customers write again and again.
        index = min(int(self.rng.paretovariate(1.2)) - 1, len(self.customers) - 1)
        if self.rng.random() < 0.6:
            index = self.rng.randrange(len(self.customers))
        return self.customers[index]

    def _csat(self, spec: dict[str, Any], topic: str, market: str, planted: bool) -> int:
        mean = spec["csat"]
        if planted and topic == CSAT_DROP_TOPIC and market == CSAT_DROP_MARKET:
            mean = 1.6
        return max(1, min(5, round(self.rng.gauss(mean, 0.8))))

    def _text(self, spec: dict[str, Any], lang: str) -> str:
        rng = self.rng
        cores = spec.get(lang) or spec["en"]
        if not spec.get(lang):
            lang = "en"
        template = rng.choice(cores)
        core = self._fill(template)
        length = rng.random()
        parts = [core]
        happy = spec["csat"] >= 4  # praise gets no grumpy openers or closers
        openers = [o for o in bank.OPENERS[lang] if not (happy and o in _GRUMPY)]
        closers = [c for c in bank.CLOSERS[lang] if not (happy and c in _GRUMPY)]
        if length > 0.35:
            parts.insert(0, rng.choice(openers))
        # Real messages often restate the problem in other words (fewer near-copies of one
        # template; the templates of a theme still form separate clusters).
        if len(cores) > 1 and rng.random() < RESTATE_SHARE:
            parts.append(self._fill(rng.choice([c for c in cores if c != template])))
        if length > 0.55 and spec["details"] and lang == "en":
            parts.append(self._fill(rng.choice(spec["details"])))
        if length > 0.75:
            parts.append(rng.choice(closers))
        text = " ".join(p for p in parts if p)
        if rng.random() < 0.06:
            text += " " + self._pii()
        if rng.random() < 0.2:
            text = self._typos(text)
        if rng.random() < 0.1:
            text = text.lower()
        return text

    def _fill(self, template: str) -> str:
        rng = self.rng
        return template.format(order=f"#{rng.randint(1000000, 9999999)}",
                               carrier=rng.choice(bank.CARRIERS),
                               carrier_post=rng.choice(bank.POST_CARRIERS),
                               last4=f"{rng.randint(0, 9999):04d}")

    def _pii(self) -> str:
        rng = self.rng
        name = rng.choice(["anna.schmidt", "j.martin", "maria.garcia", "tom_b", "priya.k"])
        options = [
            f"You can reach me at {name}{rng.randint(1, 99)}@example.com",
            f"Call me back on +49 151 {rng.randint(1000000, 9999999)}",
            f"My number is +44 7700 {rng.randint(100000, 999999)}",
            f"My card is 4111 1111 1111 {rng.randint(1000, 9999)}",
            f"Email: {name}@example.org, phone +33 6 {rng.randint(10, 99)} "
            f"{rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
        ]
        return rng.choice(options)

    def _typos(self, text: str) -> str:
        chars = list(text)
        for _ in range(self.rng.randint(1, 3)):
            i = self.rng.randrange(1, max(2, len(chars) - 1))
            if not chars[i].isalpha():
                continue
            action = self.rng.random()
            if action < 0.4 and i + 1 < len(chars):
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
            elif action < 0.7:
                chars[i] = ""
            else:
                chars[i] = chars[i] * 2
        return "".join(chars)
