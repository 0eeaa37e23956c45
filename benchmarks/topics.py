"""Topic quality, speed, stability and embedding-backend benchmark.

    python -m benchmarks.topics --data ../shared/data/banking77/test.csv --json OUT.json

Takes any CSV with ``text,category`` columns and measures, on the same embeddings:

- ``voc``: the real pipeline. A fresh SQLite database (migrated), items stored as
  feedback, embedded by the enrich step (``voc.nlp.enrich.enrich_pending`` with the
  configured embedder; the vectors computed once up front are handed to it so the
  model does not run twice), then the ``topics`` step exactly as production runs it
  (bootstrap refit on an empty registry, then assignment).
- ``peer``: plain ``BERTopic()`` with its defaults on the same embeddings.

Both report NMI and ARI in percent over all items (unassigned items count as their
own singleton clusters), the unassigned share, topic count, docs/s of the topic
step (embedding time excluded, reported separately) and peak memory (max RSS of a
separate process per method).

Also: the embedding backends (sbert, onnx, onnx-int8): docs/s and NMI through the
same voc clustering; and stability: the rows are spread over 12 synthetic weeks,
the pipeline runs on weeks 1-8, then weeks 9-12 arrive and a refit runs; the share
of week 1-8 items whose canonical topic changed is reported (target <= 5%).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

WEEKS = 12
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


def _scores(truth: list[str], labels: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    lab = np.asarray(labels, dtype=np.int64).copy()
    out = lab < 0
    lab[out] = lab.max(initial=0) + 1 + np.arange(out.sum())  # singletons
    return {"nmi": round(100 * normalized_mutual_info_score(truth, lab), 2),
            "ari": round(100 * adjusted_rand_score(truth, lab), 2),
            "unassigned": round(100 * float(out.mean()), 2),
            "topics": int(len(set(labels.tolist()) - {-1}))}


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class _CachedEmbedder:
    """Hands precomputed vectors (same model) to the enrich step, by text."""

    def __init__(self, name: str, texts: list[str], vectors: np.ndarray) -> None:
        self.name = name
        self._by_text = {t: v for t, v in zip(texts, vectors, strict=True)}

    def encode(self, texts, batch_size=64, progress=False):  # noqa: ANN001, ANN201, ARG002
        return np.stack([self._by_text[t] for t in texts]).astype(np.float32)


def _store(session_factory, texts: list[str], created: list[datetime],  # noqa: ANN001
           rows: list[int]) -> None:
    """Insert rows as feedback of a 'bench' source through the ORM (bulk)."""
    import hashlib

    from sqlalchemy import insert, select

    from voc.db import session_scope
    from voc.models.feedback import Feedback, Source

    with session_scope(session_factory) as s:
        src = s.scalar(select(Source).where(Source.name == "bench"))
        if src is None:
            src = Source(name="bench", type="file", kind="ticket")
            s.add(src)
            s.flush()
        s.execute(insert(Feedback), [
            {"source_id": src.id, "external_id": str(r), "kind": "ticket",
             "created_at": c, "text": t, "content_hash": hashlib.sha256(t.encode()).hexdigest(),
             "tags": [], "attributes": {}, "language": "en", "language_detected": False,
             "topic_locked": False}
            for r, t, c in zip(rows, texts, created, strict=True)])


def _topics_by_row(session_factory, n: int) -> np.ndarray:  # noqa: ANN001
    from sqlalchemy import select

    from voc.db import session_scope
    from voc.models.feedback import Feedback

    out = np.full(n, -1, dtype=np.int64)
    with session_scope(session_factory) as s:
        for ext, tid in s.execute(select(Feedback.external_id, Feedback.topic_id)):
            if tid is not None:
                out[int(ext)] = tid
    return out


def _pipeline(db_dir: str, settings_over: dict, texts: list[str], vectors: np.ndarray,
              created: list[datetime], phases: list[tuple[list[int], bool]]) -> dict:
    """Run ingest-like storage, enrich and the topics step over ``phases`` of row indexes;
    each phase is (rows, refit). Returns per-phase topic labels and timings."""
    from pipelines.context import StepContext
    from pipelines.steps import topics as topics_step
    from voc import config, migrate
    from voc.db import make_engine, session_factory
    from voc.nlp.enrich import enrich_pending

    url = f"sqlite:///{db_dir}/voc.db"
    migrate.upgrade(url)
    settings = config.load({}, database_url=url, instance_dir=Path(db_dir), env="test",
                           pseudonym_key="bench", **settings_over)
    engine = make_engine(url)
    factory = session_factory(engine)
    embedder = _CachedEmbedder("all-MiniLM-L6-v2/sbert", texts, vectors)
    out = {"phases": []}
    for rows, refit in phases:
        _store(factory, [texts[i] for i in rows], [created[i] for i in rows], rows)
        t0 = time.perf_counter()
        enrich_pending(factory, settings, embedder=embedder)
        t1 = time.perf_counter()
        ctx = StepContext(settings=settings, engine=engine, session_factory=factory,
                          options={"refit": True} if refit else {})
        counts = topics_step.run(ctx)
        t2 = time.perf_counter()
        out["phases"].append({"labels": _topics_by_row(factory, len(texts)).tolist(),
                              "enrich_s": t1 - t0, "topics_s": t2 - t1, "counts": counts})
    out["peak_mb"] = _peak_mb()
    engine.dispose()
    return out


def _child(kind: str, args: dict, queue) -> None:  # noqa: ANN001
    """One measured method in its own process (so peak memory is its own)."""
    try:
        data = np.load(args["emb_path"])
        texts = json.loads(Path(args["texts_path"]).read_text())
        if kind == "peer":
            from bertopic import BERTopic

            t0 = time.perf_counter()
            topics, _ = BERTopic().fit_transform(texts, embeddings=data)
            res = {"labels": list(map(int, topics)), "seconds": time.perf_counter() - t0,
                   "peak_mb": _peak_mb()}
        elif kind == "cluster":
            from voc import config
            from voc.nlp.topics.clustering import fit_clusters
            from voc.nlp.topics.service import cluster_params

            params = cluster_params(config.load({}, topic_representation="ctfidf",
                                                **args["settings"]))
            t0 = time.perf_counter()
            r = fit_clusters(texts, data, params)
            res = {"labels": r.labels.tolist(), "seconds": time.perf_counter() - t0}
        else:
            created = [datetime.fromisoformat(c) for c in args["created"]]
            with tempfile.TemporaryDirectory() as d:
                res = _pipeline(d, args["settings"], texts, data, created, args["phases"])
        queue.put(res)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        import traceback

        queue.put({"error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"})


def _run_child(kind: str, args: dict) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(kind, args, q))
    p.start()
    res = q.get()
    p.join()
    if "error" in res:
        raise RuntimeError(f"{kind} failed: {res['error']}")
    return res


def _embed(backend: str, texts: list[str], cache_dir: Path) -> tuple[np.ndarray, float]:
    from voc.nlp.embeddings import get_embedder

    emb = get_embedder(backend, cache_dir)
    emb.encode(texts[:16])  # load/export outside the timing
    t0 = time.perf_counter()
    vecs = emb.encode(texts, batch_size=64, progress=sys.stderr.isatty())
    return vecs, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="CSV with text,category columns")
    ap.add_argument("--json", dest="json_out", default=None)
    ap.add_argument("--limit", type=int, default=None, help="use a random subset of N rows")
    ap.add_argument("--backends", default="sbert,onnx,onnx-int8")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--no-stability", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-cluster-size", type=int, default=None,
                    help="VOC_TOPIC_MIN_CLUSTER_SIZE for this run (default: the setting)")
    ap.add_argument("--stability-only", action="store_true",
                    help="only rerun the stability figure and update it in --json")
    a = ap.parse_args(argv)

    import pandas as pd

    df = pd.read_csv(a.data)
    if not {"text", "category"} <= set(df.columns):
        ap.error("the CSV needs text and category columns")
    df = df.dropna(subset=["text", "category"])
    df = df[df.text.astype(str).str.strip() != ""].reset_index(drop=True)
    rng = np.random.default_rng(a.seed)
    if a.limit and a.limit < len(df):
        df = df.iloc[np.sort(rng.choice(len(df), a.limit, replace=False))].reset_index(drop=True)
    texts = df.text.astype(str).tolist()
    truth = df.category.astype(str).tolist()
    n = len(texts)
    # Rows spread uniformly over 12 synthetic weeks, in random order.
    weeks = rng.integers(0, WEEKS, n)
    created = [START + timedelta(weeks=int(w), seconds=int(rng.integers(0, 7 * 86400)))
               for w in weeks]
    settings = {}
    if a.min_cluster_size:
        settings["topic_min_cluster_size"] = a.min_cluster_size
    work = Path(tempfile.mkdtemp(prefix="voc-bench-topics-"))
    cache = work / "models"
    report: dict = {"data": a.data, "n": n, "categories": len(set(truth)),
                    "machine": f"{os.cpu_count()} CPUs (shared, noisy timings)"}

    if a.stability_only:
        from voc.nlp.embeddings import get_embedder

        t0 = time.perf_counter()
        vec = get_embedder("sbert").encode(texts, batch_size=64)
        (work / "texts.json").write_text(json.dumps(texts))
        np.save(work / "emb-sbert.npy", vec)
        print(f"embedded {n} docs in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        common = {"texts_path": str(work / "texts.json"), "emb_path": str(work / "emb-sbert.npy"),
                  "settings": settings}
        old = json.loads(Path(a.json_out).read_text()) if a.json_out and Path(
            a.json_out).exists() else {}
        old["stability"] = _stability(common, created, weeks, truth, n)
        print(f"stability: {old['stability']['changed_share']:.2f}% changed "
              f"({old['stability']})")
        if a.json_out:
            Path(a.json_out).write_text(json.dumps(old, indent=2, default=str))
        return old

    # 1. embeddings per backend
    backends = [b for b in a.backends.split(",") if b]
    vecs: dict[str, np.ndarray] = {}
    emb_report: dict[str, dict] = {}
    for b in backends:
        v, secs = _embed(b, texts, cache)
        vecs[b] = v
        emb_report[b] = {"docs_per_s": round(n / secs, 1), "seconds": round(secs, 1)}
        print(f"embedded {n} docs with {b} in {secs:.1f}s", file=sys.stderr)
    base = "sbert" if "sbert" in vecs else backends[0]
    texts_path = work / "texts.json"
    texts_path.write_text(json.dumps(texts))
    paths = {}
    for b, v in vecs.items():
        paths[b] = work / f"emb-{b}.npy"
        np.save(paths[b], v)

    # 2. voc pipeline (all rows at once) and the peer
    common = {"texts_path": str(texts_path), "emb_path": str(paths[base]), "settings": settings}
    all_rows = list(range(n))
    voc = _run_child("voc", {**common, "created": [c.isoformat() for c in created],
                             "phases": [(all_rows, False)]})
    ph = voc["phases"][0]
    report["voc"] = {**_scores(truth, np.asarray(ph["labels"])),
                     "docs_per_s": round(n / ph["topics_s"], 1),
                     "topics_seconds": round(ph["topics_s"], 1),
                     "enrich_seconds": round(ph["enrich_s"], 1), "peak_mb": voc["peak_mb"],
                     "counts": ph["counts"]}
    if not a.no_peer:
        peer = _run_child("peer", common)
        report["peer"] = {**_scores(truth, np.asarray(peer["labels"])),
                          "docs_per_s": round(n / peer["seconds"], 1),
                          "topics_seconds": round(peer["seconds"], 1), "peak_mb": peer["peak_mb"]}

    # 3. embedding backends through the same clustering
    for b in backends:
        if b == base:
            emb_report[b]["nmi"] = report["voc"]["nmi"]
            emb_report[b]["note"] = "full pipeline run above"
        res = _run_child("cluster", {**common, "emb_path": str(paths[b])})
        emb_report[b]["nmi_cluster_only"] = _scores(truth, np.asarray(res["labels"]))["nmi"]
        if b != base:
            ref = vecs[base]
            emb_report[b]["cosine_to_sbert_min"] = round(float((vecs[b] * ref).sum(1).min()), 4)
            emb_report[b]["cosine_to_sbert_mean"] = round(float((vecs[b] * ref).sum(1).mean()), 4)
    for b in backends:
        emb_report[b]["speedup"] = round(emb_report[b]["docs_per_s"]
                                         / emb_report[base]["docs_per_s"], 2)
        emb_report[b]["nmi_loss"] = round(emb_report[base]["nmi_cluster_only"]
                                          - emb_report[b]["nmi_cluster_only"], 2)
    report["embeddings"] = emb_report

    # 4. stability: weeks 1-8, then weeks 9-12 with a refit
    if not a.no_stability:
        report["stability"] = _stability(common, created, weeks, truth, n)

    _print(report)
    if a.json_out:
        Path(a.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json_out).write_text(json.dumps(report, indent=2, default=str))
    return report


def _stability(common: dict, created: list[datetime], weeks: np.ndarray, truth: list[str],
               n: int) -> dict:
    """Weeks 1-8 through the pipeline, then weeks 9-12 with a refit: share of week 1-8
    items whose canonical topic changed."""
    early = [i for i in range(n) if weeks[i] < 8]
    late = [i for i in range(n) if weeks[i] >= 8]
    st = _run_child("voc", {**common, "created": [c.isoformat() for c in created],
                            "phases": [(early, False), (late, True)]})
    before = np.asarray(st["phases"][0]["labels"])[early]
    after = np.asarray(st["phases"][1]["labels"])[early]
    assigned = before >= 0
    changed = float(((before != after) & assigned).sum()) / max(int(assigned.sum()), 1)
    return {"changed_share": round(100 * changed, 2), "early_items": len(early),
            "late_items": len(late), "target": "<= 5%",
            "before_refit": _scores([truth[i] for i in early], before),
            "refit_counts": st["phases"][1]["counts"],
            "after_refit": _scores(truth, np.asarray(st["phases"][1]["labels"]))}


def _print(r: dict) -> None:
    print(f"\ntopics on {r['data']} ({r['n']} docs, {r['categories']} categories)")
    print(f"{'method':<8} {'NMI':>6} {'ARI':>6} {'unass%':>7} {'topics':>7} {'docs/s':>8} "
          f"{'peak MB':>8}")
    for k in ("voc", "peer"):
        if k in r:
            m = r[k]
            print(f"{k:<8} {m['nmi']:>6.2f} {m['ari']:>6.2f} {m['unassigned']:>7.2f} "
                  f"{m['topics']:>7} {m['docs_per_s']:>8.1f} {m['peak_mb']:>8.0f}")
    print("target voc: NMI >= 82, ARI >= 55, unassigned <= 10%")
    print(f"\n{'backend':<10} {'docs/s':>8} {'speedup':>8} {'NMI':>6} {'NMI loss':>9}")
    for b, e in r["embeddings"].items():
        print(f"{b:<10} {e['docs_per_s']:>8.1f} {e['speedup']:>7.2f}x "
              f"{e['nmi_cluster_only']:>6.2f} {e['nmi_loss']:>9.2f}")
    print("target: >= 2x docs/s at <= 1 NMI point lost")
    if "stability" in r:
        s = r["stability"]
        print(f"\nstability: {s['changed_share']:.2f}% of {s['early_items']} week 1-8 items "
              "changed "
              f"canonical topic after adding {s['late_items']} and refitting (target <= 5%)")


if __name__ == "__main__":
    main()
