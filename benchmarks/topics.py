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

Also: the embedding backends (sbert, onnx, onnx-int8) on the same texts, warm, interleaved
batch by batch (every backend embeds the same length-sorted batch of ``--batch-size`` texts,
in rotating order, ``--repeats`` times): docs/s from the best time of each batch (robust to a
noisy slice of a shared machine) and from the median round, speed-up against ``sbert``,
cosine to the ``sbert`` vectors, and quality: NMI/ARI of voc's clustering on each backend's
vectors, NMI of KMeans with the true k, and with ``--pipeline-backends`` the full voc
pipeline on that backend's vectors; and stability: the rows are spread over 12 synthetic weeks,
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
              created: list[datetime], phases: list[tuple[list[int], bool]],
              backend: str = "sbert") -> dict:
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
    embedder = _CachedEmbedder(f"all-MiniLM-L6-v2/{backend}", texts, vectors)
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
                res = _pipeline(d, args["settings"], texts, data, created, args["phases"],
                                args.get("backend", "sbert"))
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


def _embed_compare(backends: list[str], texts: list[str], cache_dir: Path, repeats: int,
                   batch_size: int) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    """Embed ``texts`` with every backend, interleaved batch by batch, ``repeats`` rounds.

    Texts are sorted by length (as both backends do internally) and cut into batches of
    ``batch_size``; each batch is embedded by every backend in turn (the order rotates), so
    all backends see the same batches under the same machine load. Returns the vectors
    (first round, input order) and per backend: the sum of each batch's best time and the
    total of every round.
    """
    from voc.nlp.embeddings import get_embedder

    embs = {b: get_embedder(b, cache_dir) for b in backends}
    for e in embs.values():
        e.encode(texts[:16])  # load/export outside the timing
    order = np.argsort([-len(t) for t in texts], kind="stable")
    batches = [order[i:i + batch_size] for i in range(0, len(texts), batch_size)]
    vecs = {b: np.empty((len(texts), 384), dtype=np.float32) for b in backends}
    best = {b: np.full(len(batches), np.inf) for b in backends}
    rounds: dict[str, list[float]] = {b: [] for b in backends}
    for r in range(repeats):
        total = dict.fromkeys(backends, 0.0)
        for k, idx in enumerate(batches):
            chunk = [texts[i] for i in idx]
            shift = (r + k) % len(backends)
            for b in backends[shift:] + backends[:shift]:
                t0 = time.perf_counter()
                v = embs[b].encode(chunk, batch_size=batch_size)
                dt = time.perf_counter() - t0
                best[b][k] = min(best[b][k], dt)
                total[b] += dt
                if r == 0:
                    vecs[b][idx] = v
        for b in backends:
            rounds[b].append(total[b])
        print(f"round {r + 1}/{repeats}: " + ", ".join(
            f"{b} {len(texts) / total[b]:.1f} docs/s" for b in backends), file=sys.stderr)
    n = len(texts)
    report = {b: {"docs_per_s": round(n / float(best[b].sum()), 1),
                  "docs_per_s_median": round(n / float(np.median(rounds[b])), 1),
                  "seconds_best": round(float(best[b].sum()), 2),
                  "seconds_rounds": [round(x, 2) for x in rounds[b]]} for b in backends}
    return vecs, report


def _kmeans_nmi(truth: list[str], vectors: np.ndarray) -> float:
    """NMI (percent) of KMeans with the true number of categories: a clustering-noise-free
    view of how much an embedding backend changes the geometry."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    k = len(set(truth))
    labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(vectors)
    return round(100 * normalized_mutual_info_score(truth, labels), 2)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="CSV with text,category columns")
    ap.add_argument("--json", dest="json_out", default=None)
    ap.add_argument("--limit", type=int, default=None, help="use a random subset of N rows")
    ap.add_argument("--backends", default="sbert,onnx,onnx-int8",
                    help="embedding backends to compare (the first is the baseline if no sbert)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="interleaved timing rounds over all texts per backend")
    ap.add_argument("--batch-size", type=int, default=64, help="embedding batch size")
    ap.add_argument("--pipeline-backends", default="",
                    help="also run the full voc pipeline on these backends' vectors")
    ap.add_argument("--embeddings-only", action="store_true",
                    help="only the backend comparison: timing, cosine, KMeans NMI")
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

    # 1. embeddings per backend, timed interleaved on the same batches
    backends = [b for b in a.backends.split(",") if b]
    report["load_before"] = os.getloadavg()
    vecs, emb_report = _embed_compare(backends, texts, cache, max(1, a.repeats), a.batch_size)
    report["load_after_embedding"] = os.getloadavg()
    report["env"] = {k: os.environ[k] for k in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")
                     if k in os.environ}  # torch's thread waiting changes sbert under load
    report["embedding_timing"] = (f"{a.repeats} rounds, interleaved per batch of "
                                  f"{a.batch_size} length-sorted texts; docs_per_s from the "
                                  "best time of each batch, docs_per_s_median from the "
                                  "median round")
    base = "sbert" if "sbert" in vecs else backends[0]
    if a.embeddings_only:
        return _embeddings_only(a, report, backends, base, vecs, emb_report, truth)
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
        sc = _scores(truth, np.asarray(res["labels"]))
        emb_report[b]["nmi_cluster_only"] = sc["nmi"]
        emb_report[b]["ari_cluster_only"] = sc["ari"]
        emb_report[b]["unassigned_cluster_only"] = sc["unassigned"]
        emb_report[b]["nmi_kmeans_true_k"] = _kmeans_nmi(truth, vecs[b])
        if b in a.pipeline_backends.split(",") and b != base:
            pr = _run_child("voc", {**common, "emb_path": str(paths[b]), "backend": b,
                                    "created": [c.isoformat() for c in created],
                                    "phases": [(all_rows, False)]})
            emb_report[b]["pipeline"] = _scores(truth, np.asarray(pr["phases"][0]["labels"]))
        elif b == base:
            emb_report[b]["pipeline"] = {k: report["voc"][k]
                                         for k in ("nmi", "ari", "unassigned", "topics")}
        if b != base:
            ref = vecs[base]
            emb_report[b]["cosine_to_sbert_min"] = round(float((vecs[b] * ref).sum(1).min()), 4)
            emb_report[b]["cosine_to_sbert_mean"] = round(float((vecs[b] * ref).sum(1).mean()), 4)
    for b in backends:
        e, e0 = emb_report[b], emb_report[base]
        e["speedup"] = round(e["docs_per_s"] / e0["docs_per_s"], 2)
        e["speedup_median"] = round(e["docs_per_s_median"] / e0["docs_per_s_median"], 2)
        e["nmi_loss"] = round(e0["nmi_cluster_only"] - e["nmi_cluster_only"], 2)
        e["ari_loss"] = round(e0["ari_cluster_only"] - e["ari_cluster_only"], 2)
        e["nmi_loss_kmeans"] = round(e0["nmi_kmeans_true_k"] - e["nmi_kmeans_true_k"], 2)
        if "pipeline" in e:
            e["nmi_loss_pipeline"] = round(e0["pipeline"]["nmi"] - e["pipeline"]["nmi"], 2)
    report["embeddings"] = emb_report

    # 4. stability: weeks 1-8, then weeks 9-12 with a refit
    if not a.no_stability:
        report["stability"] = _stability(common, created, weeks, truth, n)

    _print(report)
    if a.json_out:
        Path(a.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json_out).write_text(json.dumps(report, indent=2, default=str))
    return report


def _embeddings_only(a: argparse.Namespace, report: dict, backends: list[str], base: str,
                     vecs: dict[str, np.ndarray], emb_report: dict, truth: list[str]) -> dict:
    """The backend comparison without the topic pipeline (quick; JSON has no voc/peer)."""
    for b in backends:
        e = emb_report[b]
        e["nmi_kmeans_true_k"] = _kmeans_nmi(truth, vecs[b])
        cos = (vecs[b] * vecs[base]).sum(1)
        e["cosine_to_sbert_min"] = round(float(cos.min()), 4)
        e["cosine_to_sbert_mean"] = round(float(cos.mean()), 4)
    for b in backends:
        e, e0 = emb_report[b], emb_report[base]
        e["speedup"] = round(e["docs_per_s"] / e0["docs_per_s"], 2)
        e["speedup_median"] = round(e["docs_per_s_median"] / e0["docs_per_s_median"], 2)
        e["nmi_loss_kmeans"] = round(e0["nmi_kmeans_true_k"] - e["nmi_kmeans_true_k"], 2)
        print(f"{b:<10} {e['docs_per_s']:>8.1f} docs/s {e['speedup']:>6.2f}x "
              f"(median {e['speedup_median']:.2f}x) KMeans NMI {e['nmi_kmeans_true_k']:.2f} "
              f"cos min {e['cosine_to_sbert_min']:.4f} mean {e['cosine_to_sbert_mean']:.4f}")
    report["embeddings"] = emb_report
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
    print(f"\n{'backend':<10} {'docs/s':>8} {'speedup':>8} {'(median)':>9} {'NMI':>6} "
          f"{'ARI':>6} {'NMI loss':>9} {'kmNMI':>6} {'pipeNMI':>8} {'cos min':>8}")
    for b, e in r["embeddings"].items():
        pipe = e.get("pipeline", {}).get("nmi", float("nan"))
        print(f"{b:<10} {e['docs_per_s']:>8.1f} {e['speedup']:>7.2f}x "
              f"{e['speedup_median']:>8.2f}x {e['nmi_cluster_only']:>6.2f} "
              f"{e['ari_cluster_only']:>6.2f} {e['nmi_loss']:>9.2f} "
              f"{e['nmi_kmeans_true_k']:>6.2f} {pipe:>8.2f} "
              f"{e.get('cosine_to_sbert_min', 1.0):>8.4f}")
    print(f"target: >= 2x docs/s at <= 1 NMI point lost ({r.get('embedding_timing', '')})")
    if "stability" in r:
        s = r["stability"]
        print(f"\nstability: {s['changed_share']:.2f}% of {s['early_items']} week 1-8 items "
              "changed "
              f"canonical topic after adding {s['late_items']} and refitting (target <= 5%)")


if __name__ == "__main__":
    main()
