"""PII redaction benchmark: corpus recall/precision per type, and throughput.

Quality: the labelled corpus in ``tests/unit/pii_corpus.py`` (>= 200 cases, near-misses
included). Speed: ``redact_many`` on one core over (1) short support-style messages built
from the corpus and the Amazon review summaries, most without PII, and (2) the TweetEval
test tweets (longer, many digits and @handles). Target: >= 50k short texts/s.

    python -m benchmarks.pii [--json OUT] [--repeat N]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
TARGETS = {"CARD": 0.99, "IBAN": 0.99, "EMAIL": 0.99, "PHONE": 0.95, "precision": 0.97,
           "texts_per_s": 50000}


def _corpus() -> Any:
    spec = importlib.util.spec_from_file_location("pii_corpus",
                                                  ROOT / "tests" / "unit" / "pii_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _short_texts(corpus: Any) -> list[str]:
    """~20k short texts: review summaries plus the corpus texts (about 1 in 20 with PII)."""
    path = DATA / "amazon_fine_food_reviews_sample" / "Reviews_first5003.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        summaries = [r["Summary"] for r in csv.DictReader(fh) if r.get("Summary")]
    texts = [t for t, _ in corpus.cases()]
    return (summaries * 4 + texts * 4)[:20000]


def _rate(fn: Any, texts: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn(texts)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Print the table, write JSON (default benchmarks/results/pii.json)."""
    ap = argparse.ArgumentParser(description="PII redaction quality and speed")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "pii.json")
    ap.add_argument("--repeat", type=int, default=3, help="timing runs (best is kept)")
    args = ap.parse_args(argv)

    from voc.nlp.redact import find_pii, redact_many
    from voc.nlp.redact_eval import evaluate

    corpus = _corpus()
    cases = corpus.cases()
    scores = evaluate(cases, find_pii)
    held = evaluate(corpus.heldout_cases(), find_pii)
    short = _short_texts(corpus)
    tweets = (DATA / "tweeteval_sentiment" / "test_text.txt").read_text().splitlines()
    speed = {
        "short_texts_per_s": round(_rate(redact_many, short, args.repeat)),
        "short_avg_chars": round(sum(map(len, short)) / len(short), 1),
        "tweets_per_s": round(_rate(redact_many, tweets, args.repeat)),
        "tweets_avg_chars": round(sum(map(len, tweets)) / len(tweets), 1),
    }
    result = {
        "cases": len(cases), "near_misses": len(corpus.NEGATIVE),
        "recall": {k: round(v, 4) for k, v in scores.recall.items()}, "support": scores.support,
        "precision": round(scores.precision, 4), "predicted_spans": scores.predicted,
        "near_misses_changed": scores.clean_texts_changed,
        "misses": scores.misses, "false_positives": scores.false_positives,
        "speed": speed, "targets": TARGETS,
        "heldout": {"cases": len(corpus.HELDOUT),
                    "recall": {k: round(v, 4) for k, v in held.recall.items()},
                    "support": held.support, "precision": round(held.precision, 4),
                    "misses": held.misses, "false_positives": held.false_positives},
    }
    print(f"PII corpus: {len(cases)} cases ({len(corpus.NEGATIVE)} near-misses)\n")
    print(f"{'type':<10}{'support':>9}{'recall':>9}{'target':>9}")
    for kind, rec in result["recall"].items():
        print(f"{kind:<10}{scores.support[kind]:>9}{rec:>9.3f}{TARGETS.get(kind, ''):>9}")
    print(f"{'precision':<10}{scores.predicted:>9}{scores.precision:>9.3f}"
          f"{TARGETS['precision']:>9}")
    print(f"near-misses changed: {scores.clean_texts_changed}")
    for kind, text in scores.misses:
        print(f"  missed {kind}: {text}")
    for kind, text in scores.false_positives:
        print(f"  false {kind}: {text}")
    print(f"\nheld-out cases written after tuning ({len(corpus.HELDOUT)}), never tuned on:")
    print("  recall " + ", ".join(f"{k} {v:.2f} ({held.support[k]})"
                                  for k, v in held.recall.items())
          + f"; precision {held.precision:.3f}")
    for kind, text in held.misses:
        print(f"  missed {kind}: {text}")
    for kind, text in held.false_positives:
        print(f"  false {kind}: {text}")
    print(f"\nspeed (one core, best of {args.repeat}):")
    print(f"  short texts ({speed['short_avg_chars']} chars avg): "
          f"{speed['short_texts_per_s']:,} texts/s (target {TARGETS['texts_per_s']:,})")
    print(f"  tweets ({speed['tweets_avg_chars']} chars avg): {speed['tweets_per_s']:,} texts/s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.json}")
    return result


if __name__ == "__main__":
    main()
