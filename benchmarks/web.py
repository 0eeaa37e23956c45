"""Dashboard latency under concurrent load on 1,000,000 feedback items (PostgreSQL).

    python -m benchmarks.web [--rows 1000000] [--weeks 52] [--workers 3] [--threads 8]
                             [--requests 300] [--seconds 60] [--json OUT]

1. Seeds the PostgreSQL database ``voc_bench_web`` (kept between runs; seeding resumes
   where it stopped and is skipped when complete) with feedback over 52 weeks via COPY,
   topics assigned, then computes rollups and rankings with the real insights code.
2. Starts gunicorn (``wsgi:app``) on a free local port.
3. From a separate process, logs in with several threads and measures p50/p95/p99
   latency and throughput of the ranking page, a topic page and a filtered full-text
   search, each for a bounded number of requests and time.

Targets on a 2-core machine: p95 <= 250 ms (ranking, topic), <= 500 ms (search), no errors.
The machine is shared with other work, so figures are noisy.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import multiprocessing as mp
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import quantiles

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("VOC_BENCH_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
DB_NAME = "voc_bench_web"
USER, PASSWORD = "bench", "bench-password-1"
TARGETS_MS = {"ranking": 250, "topic": 250, "search": 500}
MARKETS = ["DE", "FR", "GB", "US", "ES", "IT", "NL", "SE"]
CHANNELS = ["email", "bot", "ai_agent", "human_agent", "in_app", "survey"]
TOPIC_WORDS = [
    ("refund", "money", "returned"), ("delivery", "courier", "parcel"), ("login", "password",
    "account"), ("invoice", "billing", "charge"), ("size", "fit", "small"), ("app", "crash",
    "update"), ("voucher", "discount", "code"), ("cancel", "order", "cancellation"),
    ("damaged", "broken", "package"), ("tracking", "status", "shipment"), ("payment", "card",
    "declined"), ("subscription", "renewal", "plan"), ("support", "waiting", "hold"),
    ("chatbot", "bot", "human"), ("address", "change", "wrong"), ("stock", "available",
    "restock"), ("price", "expensive", "cheaper"), ("quality", "material", "poor"),
    ("exchange", "swap", "different"), ("newsletter", "email", "spam"),
]
_FILLER_TEXT = ("please help me the with again very still not my your this that since week days "
                "today yesterday customer service really bad good nobody answered told said "
                "ordered received waiting asked twice three four five hours minutes")
FILLER = _FILLER_TEXT.split()


def bench_url() -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + DB_NAME


# --- seeding ------------------------------------------------------------------------------

def ensure_database() -> str:
    """Create and migrate ``voc_bench_web`` if needed; returns its URL."""
    from voc import migrate

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        exists = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                           {"n": DB_NAME}).scalar()
        if not exists:
            c.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    migrate.upgrade(bench_url())
    return bench_url()


def _topics(session: Session, n_topics: int, end: datetime) -> list[int]:
    from voc.models.topics import Topic

    ids = list(session.scalars(select(Topic.id).order_by(Topic.id)))
    if len(ids) >= n_topics:
        return ids[:n_topics]
    for i in range(len(ids), n_topics):
        words = TOPIC_WORDS[i % len(TOPIC_WORDS)]
        label = " / ".join(words[:2]) + ("" if i < len(TOPIC_WORDS) else f" ({i // 20 + 1})")
        session.add(Topic(label=label, keywords=list(words), size=0, status="active",
                          hidden=False, lineage=[], first_seen=end - timedelta(weeks=52)))
    session.commit()
    return list(session.scalars(select(Topic.id).order_by(Topic.id)))[:n_topics]


def _sources(session: Session) -> dict[str, int]:
    from voc.models.feedback import Source

    for name, kind in (("tickets", "ticket"), ("surveys", "survey")):
        if session.scalar(select(Source.id).where(Source.name == name)) is None:
            session.add(Source(name=name, type="file", kind=kind, settings={}, cursor={}))
    session.commit()
    return dict(session.execute(select(Source.name, Source.id)).all())


def _search_index_ddl() -> str:
    """The model's full-text index (partial: enriched items) as PostgreSQL DDL."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex

    from voc.models.web import FEEDBACK_TSV_INDEX

    return str(CreateIndex(FEEDBACK_TSV_INDEX, if_not_exists=True)
               .compile(dialect=postgresql.dialect()))


def seed(url: str, rows: int, weeks: int, chunk: int = 100_000) -> float:
    """COPY ``rows`` feedback items (resumable by count); returns seconds spent."""
    import psycopg2

    from voc.models.feedback import Feedback

    engine = create_engine(url)
    end = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    with Session(engine) as s:
        have = s.scalar(select(func.count()).select_from(Feedback)) or 0
        if have >= rows:
            engine.dispose()
            return 0.0
        topic_ids = _topics(s, 60, end)
        sources = _sources(s)
    engine.dispose()
    t0 = time.perf_counter()
    dsn = url.replace("postgresql+psycopg2://", "postgresql://")
    conn = psycopg2.connect(dsn)
    cols = ("source_id, external_id, kind, channel, market, language, language_detected, csat, "
            "nps, escalated, resolved, sla_breached, product_area, tags, customer_hash, "
            "created_at, text, content_hash, attributes, ingested_at, updated_at, "
            "sentiment_score, sentiment_label, sentiment_backend, pain_quote, enriched_at, "
            "topic_id, topic_score, topic_locked, topic_assigned_at")
    with conn.cursor() as cur:  # bulk load without the GIN index, build it once at the end
        cur.execute("DROP INDEX IF EXISTS ix_feedback_text_tsv")
    conn.commit()
    bar = tqdm(total=rows, initial=have, unit="rows", desc="seed feedback")
    start = have
    while start < rows:
        n = min(chunk, rows - start)
        buf = io.StringIO()
        w = csv.writer(buf)
        rnd = random.Random(start)
        span_s = weeks * 7 * 86400
        for k in range(start, start + n):
            # topic popularity is skewed; a few topics surge in recent weeks
            t_idx = min(int(rnd.paretovariate(1.2)) - 1, len(topic_ids) - 1)
            age = rnd.random() ** 1.1 * span_s
            created = end - timedelta(seconds=age)
            words = TOPIC_WORDS[t_idx % len(TOPIC_WORDS)]
            body = " ".join([rnd.choice(FILLER) for _ in range(4)] + [words[0]]
                            + [rnd.choice(FILLER) for _ in range(3)]
                            + [rnd.choice(words[1:])] + [rnd.choice(FILLER) for _ in range(4)])
            neg = rnd.random() < 0.55
            csat = rnd.choice((1, 2)) if neg else rnd.choice((3, 4, 5))
            chan = rnd.choice(CHANNELS)
            kind = "survey" if chan == "survey" else "ticket"
            ts = created.strftime("%Y-%m-%d %H:%M:%S")
            w.writerow([
                sources["surveys" if kind == "survey" else "tickets"], f"b{k}", kind, chan,
                rnd.choice(MARKETS), "en", "f", csat if rnd.random() < 0.6 else "", "",
                "t" if chan in ("bot", "ai_agent") and rnd.random() < 0.3 else "f",
                "f" if neg else "t", "f", "", "[]",
                hashlib.sha256(f"c{k % 200000}".encode()).hexdigest(), ts, body,
                hashlib.sha256(f"{k}".encode()).hexdigest(), "{}", ts, ts,
                -0.5 if neg else 0.5, "negative" if neg else "positive", "bench",
                body[:60] if neg else "", ts, topic_ids[t_idx], 0.8, "f", ts,
            ])
        buf.seek(0)
        with conn.cursor() as cur:
            cur.copy_expert(f"COPY feedback ({cols}) FROM STDIN WITH (FORMAT csv, NULL '')", buf)
        conn.commit()  # one chunk per transaction: an interrupted seed resumes at the count
        start += n
        bar.update(n)
    bar.close()
    with conn.cursor() as cur:
        print("building the full-text GIN index ...", flush=True)
        cur.execute(_search_index_ddl())
        cur.execute("UPDATE topics SET size = c.n FROM (SELECT topic_id, count(*) n FROM "
                    "feedback GROUP BY topic_id) c WHERE c.topic_id = topics.id")
    conn.commit()
    with conn.cursor() as cur:
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE feedback")
    conn.close()
    return time.perf_counter() - t0


def compute_insights(url: str) -> float:
    """Rollups and rankings with the real insights code (only weeks not done yet)."""
    from voc import config as voc_config
    from voc.insights import ranking, rollups

    settings = voc_config.load({}, database_url=url)
    engine = create_engine(url)
    t0 = time.perf_counter()
    with Session(engine) as s:
        counts = rollups.refresh(s, settings)
        s.commit()
        todo = ranking.weeks_to_rank(s, settings)
        for week in tqdm(todo, desc="rank weeks", unit="week"):
            ranking.rank_week(s, settings, week)
            s.commit()
    engine.dispose()
    print(f"rollups: {counts.get('weeks', 0)} weeks recomputed; ranked {len(todo)} weeks")
    return time.perf_counter() - t0


def ensure_user(url: str) -> None:
    from voc import accounts

    engine = create_engine(url)
    with Session(engine) as s:
        if accounts.get_user(s, USER) is None:
            accounts.create_user(s, USER, PASSWORD, "analyst", actor="benchmark")
            s.commit()
    engine.dispose()


# --- server and load ----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {**os.environ, "VOC_DATABASE_URL": url, "VOC_SECRET_KEY": "bench-secret",
           "VOC_LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--preload", "-w", str(workers),
         "--threads", str(threads), "-k", "gthread", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=env, start_new_session=True)
    import requests

    for _ in range(300):
        try:
            if requests.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited at start")
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _login(base: str):  # noqa: ANN202
    import requests

    s = requests.Session()
    html = s.get(base + "/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = s.post(base + "/login", data={"username": USER, "password": PASSWORD,
                                      "csrf_token": token}, allow_redirects=False, timeout=30)
    if r.status_code != 302:
        raise RuntimeError(f"login failed: {r.status_code}")
    return s


def load_worker(base: str, paths: list[str], threads: int, max_requests: int, seconds: float,
                out: mp.Queue) -> None:
    """Runs in a separate process: ``threads`` logged-in clients share the request budget."""
    sessions = [_login(base) for _ in range(threads)]
    lock = threading.Lock()
    lat: list[float] = []
    errors: list[str] = []
    issued = [0]
    deadline = time.perf_counter() + seconds

    def run(sess, seed: int) -> None:  # noqa: ANN001
        rnd = random.Random(seed)
        while True:
            with lock:
                if issued[0] >= max_requests or time.perf_counter() > deadline:
                    return
                issued[0] += 1
            path = rnd.choice(paths)
            t0 = time.perf_counter()
            try:
                r = sess.get(base + path, timeout=30, allow_redirects=False)
                ok = r.status_code == 200
                code = str(r.status_code)
            except Exception as exc:  # noqa: BLE001 - counted as an error
                ok, code = False, type(exc).__name__
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                lat.append(dt)
                if not ok:
                    errors.append(code)

    t0 = time.perf_counter()
    ts = [threading.Thread(target=run, args=(s, i)) for i, s in enumerate(sessions)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put({"latencies_ms": lat, "errors": errors, "wall_s": time.perf_counter() - t0})


def measure(base: str, name: str, paths: list[str], threads: int, max_requests: int,
            seconds: float) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=load_worker, args=(base, paths, threads, max_requests, seconds, q))
    p.start()
    res = q.get()
    p.join()
    lat = sorted(res["latencies_ms"])
    qs = quantiles(lat, n=100) if len(lat) >= 2 else [lat[0]] * 99
    return {"scenario": name, "requests": len(lat), "errors": len(res["errors"]),
            "error_codes": sorted(set(res["errors"]))[:5], "concurrency": threads,
            "p50_ms": round(qs[49], 1), "p95_ms": round(qs[94], 1), "p99_ms": round(qs[98], 1),
            "max_ms": round(lat[-1], 1), "rps": round(len(lat) / res["wall_s"], 1),
            "target_p95_ms": TARGETS_MS[name], "meets_target": qs[94] <= TARGETS_MS[name]
            and not res["errors"]}


def scenario_paths(url: str) -> dict[str, list[str]]:
    from voc.models.insights import Ranking

    engine = create_engine(url)
    with Session(engine) as s:
        weeks = list(s.scalars(select(Ranking.week).where(Ranking.scope == "all").distinct()
                               .order_by(Ranking.week.desc()).limit(4)))
        top = list(s.scalars(select(Ranking.topic_id).where(Ranking.week == weeks[0],
                                                            Ranking.scope == "all")
                             .order_by(Ranking.rank).limit(10)))
    engine.dispose()
    searches = ["refund", "courier late", "password", "invoice charge", '"wrong address"',
                "app crash", "voucher", "payment declined"]
    return {
        "ranking": [f"/ranking?week={w}" for w in weeks] + [f"/ranking?week={weeks[0]}&market=DE",
                                                           f"/ranking?week={weeks[0]}&kind=survey"],
        "topic": [f"/topics/{t}?week={weeks[0]}" for t in top],
        "search": [f"/verbatims/?q={q}&market={m}&from=2026-06-01"
                   for q in searches for m in ("DE", "FR", "US")],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers (2 cores)")
    ap.add_argument("--gthreads", type=int, default=2, help="threads per gunicorn worker")
    ap.add_argument("--threads", type=int, default=4, help="concurrent clients")
    ap.add_argument("--requests", type=int, default=300, help="max requests per scenario")
    ap.add_argument("--seconds", type=float, default=60, help="max seconds per scenario")
    ap.add_argument("--json", dest="json_out", default=None)
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    url = ensure_database()
    seed_s = seed(url, args.rows, args.weeks)
    insights_s = compute_insights(url)
    ensure_user(url)
    port = free_port()
    proc = start_gunicorn(url, port, args.workers, args.gthreads)
    base = f"http://127.0.0.1:{port}"
    results = []
    try:
        paths = scenario_paths(url)
        for name in ("ranking", "topic", "search"):
            measure(base, name, paths[name][:2], 2, 10, 30)  # warm-up, not reported
            results.append(measure(base, name, paths[name], args.threads, args.requests,
                                   args.seconds))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    print(f"\nvoc web benchmark: {args.rows:,} feedback items over {args.weeks} weeks, "
          f"gunicorn {args.workers}x{args.gthreads} threads, {args.threads} concurrent clients "
          f"(seed {seed_s:.0f}s, insights {insights_s:.0f}s; shared, busy machine: noisy)")
    hdr = f"{'scenario':<9} {'reqs':>5} {'err':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} " \
          f"{'req/s':>7} {'target':>7}  ok"
    print(hdr)
    print("-" * len(hdr))
    for r in results:
        print(f"{r['scenario']:<9} {r['requests']:>5} {r['errors']:>4} {r['p50_ms']:>8} "
              f"{r['p95_ms']:>8} {r['p99_ms']:>8} {r['rps']:>7} {r['target_p95_ms']:>7}  "
              f"{'yes' if r['meets_target'] else 'NO'}")
    report = {"benchmark": "web", "rows": args.rows, "weeks": args.weeks,
              "gunicorn_workers": args.workers, "gunicorn_threads": args.gthreads,
              "clients": args.threads, "seed_s": round(seed_s, 1),
              "insights_s": round(insights_s, 1), "load_avg": os.getloadavg(),
              "at": datetime.now(UTC).isoformat(), "results": results}
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in {out_dir / "web.json", Path(args.json_out) if args.json_out else None} - {None}:
        path.write_text(json.dumps(report, indent=2))
    return 0 if all(r["meets_target"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
