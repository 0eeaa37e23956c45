"""Sentiment benchmark: macro-averaged recall of each backend on two English tasks.

(a) in-domain: ``amazon_fine_food_reviews_sample``, each review's title and body as one text
    (like a ticket's subject and description), stars -> 1-2 negative,
    3 neutral, 4-5 positive; ``learned`` is trained on a fixed stratified 70% split
    (``--seed``) and scored on the other 30%, where every backend is scored;
(b) ``tweeteval_sentiment`` test (12,284 tweets); ``learned`` trained on its val split.

``learned`` is fitted with :func:`voc.nlp.sentiment.learned.fit_learned`, the function
``voc sentiment train`` uses, on embeddings from ``voc.nlp.embeddings`` (cached under
``benchmarks/.cache/``). Calibration of its probabilities is measured on the held-out
items (ECE, Brier). ``lr-embeddings`` is the reference anchor (logistic regression on the
MiniLM embeddings alone, balanced classes, ``C`` by 5-fold CV on the training items).
Which text the (a) anchors used is not stated; the "anchor check" scores VADER and this
baseline on the other readings of a review (body only, title only) on the same split.
Measured: title+body VADER 48.95 / LR 65.68 (anchors 48.7 / 66.9); body only 47.35 / 60.6;
title only ~51 / 66.9. The title+body reading fits VADER's anchor best and is what a
feedback item's text is, so it is the task's text.
``transformers`` runs only with ``--model-dir``.

Scores use language "en" for every item (the sets are English, as the anchors assume);
the language table shows what share of each set the backends would refuse if the
detected language were used instead (short tweets are sometimes detected as another
language), and which languages each backend scores at all.

    python -m benchmarks.sentiment [--task a|b|all] [--model-dir DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import sentiment_data as data

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ANCHORS = {"a": {"vader": 48.7, "lr-embeddings": 66.9},
           "b": {"vader": 57.0, "lr-embeddings": 62.6, "FastText/SVM": 62.9,
                 "RoBERTa": "71-73"}}
TARGETS = {"a": 68.0, "b": 64.0}
LR_C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
LABEL_IDS = {"negative": 0, "neutral": 1, "positive": 2}


def _macro(y: np.ndarray, pred: np.ndarray) -> float:
    from voc.nlp.sentiment.learned import macro_recall

    return round(100 * macro_recall(y, pred), 2)


def _pred_ids(results: list[Any]) -> np.ndarray:
    # "unsupported" cannot happen here (languages are "en"); map it to neutral to be safe
    return np.array([LABEL_IDS.get(r.label, 1) for r in results])


def _coverage(texts: list[str], backends: dict[str, Any]) -> dict[str, Any]:
    """Detected-language mix of ``texts`` and the share each backend would refuse."""
    from voc.nlp.language import resolve_many

    langs = [lang for lang, _ in resolve_many(texts)]
    mix = Counter(lang or "unknown" for lang in langs)
    refused = {name: round(100 * float(np.mean([not b.supports(lang) for lang in langs])), 2)
               for name, b in backends.items()}
    return {"detected": dict(mix.most_common(6)), "refused_pct": refused}


def _lr_embeddings(x: np.ndarray, y: np.ndarray, seed: int) -> Any:
    """The reference baseline: balanced logistic regression on the embeddings alone.

    ``C`` is picked by 5-fold cross-validation on the training items (scoring macro recall,
    which scikit-learn calls balanced accuracy), never on the test items.
    """
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    return LogisticRegressionCV(Cs=LR_C_GRID, cv=cv, scoring="balanced_accuracy",
                                class_weight="balanced", max_iter=5000,
                                random_state=seed).fit(x, y)


def _anchor_check(tr: np.ndarray, te: np.ndarray, embedder: Any, seed: int) -> dict[str, Any]:
    """VADER and the lr-embeddings baseline on the body only and the title only, same split:
    shows which reading of a review the (a) anchors match."""
    from voc.nlp.sentiment.vader import VaderBackend

    out: dict[str, Any] = {"anchors": ANCHORS["a"]}
    for field in ("body", "title"):
        ds = data.amazon(field=field)
        emb = data.embeddings(ds.texts, embedder)
        lr = _lr_embeddings(emb[tr], ds.labels[tr], seed)
        texts = [ds.texts[i] for i in te]
        vader = _pred_ids(VaderBackend().score_many(texts, ["en"] * len(texts)))
        out[field] = {"vader": _macro(ds.labels[te], vader),
                      "lr-embeddings": _macro(ds.labels[te], lr.predict(emb[te]))}
    return out


def run_task(task: str, embedder: Any, seed: int, model_dir: Path | None,
             tweet_limit: int | None) -> dict[str, Any]:
    """Train/score every backend on task ``a`` or ``b``; returns the figures."""
    from voc.nlp.sentiment.learned import LearnedBackend, brier, ece, fit_learned
    from voc.nlp.sentiment.vader import VaderBackend

    if task == "a":
        from sklearn.model_selection import train_test_split

        ds = data.amazon()
        emb = data.embeddings(ds.texts, embedder)
        idx = np.arange(len(ds.texts))
        tr, te = train_test_split(idx, train_size=0.7, random_state=seed, stratify=ds.labels)
        train = ([ds.texts[i] for i in tr], ds.labels[tr], emb[tr])
        test = ([ds.texts[i] for i in te], ds.labels[te], emb[te])
    else:
        val, tst = data.tweeteval("val"), data.tweeteval("test")
        if tweet_limit and tweet_limit < len(tst.texts):
            pick = np.sort(np.random.default_rng(seed).choice(len(tst.texts), tweet_limit,
                                                              replace=False))
            tst = data.Split([tst.texts[i] for i in pick], tst.labels[pick])
        train = (val.texts, val.labels, data.embeddings(val.texts, embedder))
        test = (tst.texts, tst.labels, data.embeddings(tst.texts, embedder))
    texts, y, emb_te = test
    en = ["en"] * len(texts)
    out: dict[str, Any] = {"n_train": len(train[0]), "n_test": len(texts),
                           "test_class_counts": np.bincount(y, minlength=3).tolist(),
                           "backends": {}}

    started = time.perf_counter()
    vader = VaderBackend()
    pred = _pred_ids(vader.score_many(texts, en))
    out["backends"]["vader"] = {"macro_recall": _macro(y, pred),
                                "seconds": round(time.perf_counter() - started, 1)}

    started = time.perf_counter()
    lr = _lr_embeddings(train[2], train[1], seed)
    out["backends"]["lr-embeddings"] = {"macro_recall": _macro(y, lr.predict(emb_te)),
                                        "C": float(lr.C_[0]),
                                        "seconds": round(time.perf_counter() - started, 1)}
    if task == "a":
        out["anchor_check"] = _anchor_check(tr, te, embedder, seed)

    started = time.perf_counter()
    model = fit_learned(train[0], train[1], train[2], embedding_model=embedder.name, seed=seed)
    fit_s = time.perf_counter() - started
    learned = LearnedBackend(model, version=None)
    started = time.perf_counter()
    probs = model.predict_proba(texts, emb_te)
    pred = model.decide(probs)
    out["backends"]["learned"] = {
        "macro_recall": _macro(y, pred), "accuracy": round(100 * float((pred == y).mean()), 2),
        "ece": round(ece(y, probs), 4), "brier": round(brier(y, probs), 4),
        "cv_macro_recall_on_train": round(100 * model.metrics["cv_macro_recall"], 2),
        "params": model.params, "fit_seconds": round(fit_s, 1),
        "score_seconds": round(time.perf_counter() - started, 1),
    }
    backends: dict[str, Any] = {"vader": vader, "learned": learned}
    # learned as trained here has no language info; as `voc sentiment train` builds it
    # from English-only data it would support ["en"] (the languages it saw >= 50 times)
    learned.model.languages = ["en"]

    if model_dir is not None:
        from voc.nlp.sentiment.transformer import TransformersBackend

        started = time.perf_counter()
        tb = TransformersBackend(model_dir, batch_size=32)
        pred = _pred_ids(tb.score_many(texts, en))
        out["backends"]["transformers"] = {"macro_recall": _macro(y, pred),
                                           "model": model_dir.name,
                                           "seconds": round(time.perf_counter() - started, 1)}
        backends["transformers"] = tb
    out["languages"] = {name: (b.supported_languages() or ["all"])
                        for name, b in backends.items()}
    out["coverage"] = _coverage(texts, backends)
    out["anchors"] = ANCHORS[task]
    out["target_learned"] = TARGETS[task]
    out["learned_meets_target"] = out["backends"]["learned"]["macro_recall"] >= TARGETS[task]
    return out


def print_table(results: dict[str, Any]) -> None:
    """Human-readable summary of :func:`run_task` results."""
    names = {"a": "(a) amazon food reviews, 30% held out",
             "b": "(b) tweeteval test, learned trained on val"}
    for task, res in results.items():
        print(f"\n{names[task]}: n_train={res['n_train']} n_test={res['n_test']} "
              f"(neg/neu/pos {res['test_class_counts']})")
        print(f"{'backend':<15}{'macro recall':>13}{'anchor':>9}  notes")
        for name, r in res["backends"].items():
            anchor = res["anchors"].get(name, "")
            notes = ""
            if name == "learned":
                notes = (f"ECE {r['ece']:.3f}  Brier {r['brier']:.3f}  acc {r['accuracy']}  "
                         f"C={r['params']['C']} "
                         f"embedding={r['params']['block_weights'].get('embedding', 1)} "
                         f"sentences={r['params']['block_weights'].get('sentences', 0)} "
                         f"T={r['params']['temperature']} "
                         f"alpha={r['params']['alpha']}  fit {r['fit_seconds']}s  "
                         f"target >= {res['target_learned']}: "
                         f"{'met' if res['learned_meets_target'] else 'MISSED'}")
            if name == "lr-embeddings":
                notes = f"C={r['C']} (5-fold CV on the training items)"
            print(f"{name:<15}{r['macro_recall']:>13.2f}{anchor!s:>9}  {notes}")
        if "anchor_check" in res:
            chk = res["anchor_check"]
            print("anchor check (same split, other readings of a review): " + "; ".join(
                f"{field}: vader {chk[field]['vader']:.2f}, lr-embeddings "
                f"{chk[field]['lr-embeddings']:.2f}" for field in ("body", "title"))
                + f" (anchors {chk['anchors']})")
        cov = res["coverage"]
        print("languages scored: "
              + "; ".join(f"{k}: {', '.join(v)}" for k, v in res["languages"].items()))
        print(f"detected languages in the test set: {cov['detected']}; share refused if "
              f"detected languages were used: {cov['refused_pct']} %")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark (see the module docstring); prints a table, optionally writes JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", choices=["a", "b", "all"], default="all")
    ap.add_argument("--model-dir", type=Path, default=None,
                    help="local sequence-classification model for the transformers backend")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tweet-limit", type=int, default=None,
                    help="score a seeded sample of the tweeteval test set (default: all)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args(argv)
    from voc.nlp.embeddings import get_embedder

    embedder = get_embedder("sbert")
    tasks = ["a", "b"] if args.task == "all" else [args.task]
    results = {t: run_task(t, embedder, args.seed, args.model_dir, args.tweet_limit)
               for t in tasks}
    print_table(results)
    out = args.json or Path(__file__).resolve().parent / "results" / "sentiment.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.json is None and out.exists() and len(tasks) == 1:
        previous = json.loads(out.read_text())  # keep the other task's figures
        previous.update(results)
        results = previous
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwrote {out}")
    return results


if __name__ == "__main__":
    main()
