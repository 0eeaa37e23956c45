"""``voc redact``, ``voc language``, ``voc enrich`` and ``voc sentiment ...``."""

from __future__ import annotations

import json
import sys

import click

from voc.cli import AppContext, UserError, pass_app


def register(group: click.Group) -> None:
    """Add the enrichment commands."""
    group.add_command(redact)
    group.add_command(language)
    group.add_command(enrich)
    group.add_command(sentiment)


def _stdin_lines() -> list[str]:
    return [line.rstrip("\r\n") for line in sys.stdin]


@click.command()
@click.option("--spans", is_flag=True,
              help="Print each line's findings as JSON ({kind, start, end}) instead.")
@click.option("--spacy-model", default=None,
              help="Trained spaCy pipeline for person names (default: VOC_SPACY_MODEL).")
@pass_app
def redact(app: AppContext, spans: bool, spacy_model: str | None) -> None:
    """Redact personal data in text read from stdin, one item a line.

    Prints each line with e-mails, phone numbers, payment cards (Luhn-checked), IBANs
    (mod-97), postal addresses, secret-carrying URLs and government ids replaced by
    [EMAIL], [PHONE], [CARD], [IBAN], [ADDRESS], [URL], [ID]. Person names become [NAME]
    after "my name is ..."-style introductions; other names only when a trained spaCy
    pipeline with NER is installed and named by VOC_SPACY_MODEL / --spacy-model (none is
    bundled: without one, names elsewhere in the text are NOT redacted).

    \b
    Example:  echo "call me on +44 20 7946 0958" | python -m voc redact
    """
    from voc.nlp import redact as redact_mod

    model = app.settings.spacy_model if spacy_model is None else spacy_model
    redactor = redact_mod.configure(model)
    if model and not redactor.names_enabled:
        click.echo(f"warning: spaCy pipeline {model!r} is not usable; names are not redacted",
                   err=True)
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        if spans:
            found = [{"kind": s.kind, "start": s.start, "end": s.end}
                     for s in redactor.find(text)]
            click.echo(json.dumps(found))
        else:
            click.echo(redactor.redact(text))


@click.command()
@click.option("--min-confidence", type=float, default=None,
              help="Confidence floor (default VOC_LANGUAGE_MIN_CONFIDENCE).")
@pass_app
def language(app: AppContext, min_confidence: float | None) -> None:
    """Detect the language of each stdin line: prints 'CODE<TAB>CONFIDENCE' ('-' if unsure)."""
    from voc.nlp.language import detect_with_confidence

    floor = app.settings.language_min_confidence if min_confidence is None else min_confidence
    for text in _stdin_lines():
        lang, prob = detect_with_confidence(text)
        shown = lang if lang is not None and prob >= floor else "-"
        click.echo(f"{shown}\t{prob:.2f}")


@click.command()
@click.option("--limit", type=int, default=None, help="Enrich at most N items this run.")
@click.option("--batch-size", type=int, default=None,
              help="Items per batch (VOC_ENRICH_BATCH_SIZE).")
@click.option("--reset", is_flag=True,
              help="Mark every item pending first (e.g. after training a new sentiment model).")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@pass_app
def enrich(app: AppContext, limit: int | None, batch_size: int | None, reset: bool,
           progress: bool) -> None:
    """Language, embeddings, sentiment and pain quotes for new or changed feedback."""
    from voc.nlp.enrich import enrich_pending, mark_stale
    from voc.nlp.sentiment import BackendUnavailable

    if reset:
        with app.session_factory() as s:
            n = mark_stale(s)
            s.commit()
        click.echo(f"{n} items marked for re-enrichment")
    try:
        counts = enrich_pending(app.session_factory, app.settings, batch_size=batch_size,
                                limit=limit, progress=progress)
    except BackendUnavailable as exc:
        raise UserError(str(exc)) from None
    langs = " ".join(f"{k}:{v}" for k, v in counts["languages"].items()) or "-"
    click.echo(f"enriched {counts['processed']} items in {counts['seconds']}s "
               f"(sentiment {counts['backend']}: {counts['scored']} scored, "
               f"{counts['unsupported']} unsupported language; languages {langs}; "
               f"{counts['pain_quotes']} pain quotes)")


@click.group()
def sentiment() -> None:
    """Sentiment backends: train the learned model, status, score text."""


@sentiment.command()
@click.option("--max-rows", type=int, default=None,
              help="Use the newest N CSAT-labelled items (VOC_SENTIMENT_TRAIN_MAX_ROWS).")
@click.option("--seed", type=int, default=0, show_default=True)
@pass_app
def train(app: AppContext, max_rows: int | None, seed: int) -> None:
    """Fit the 'learned' model on feedback with CSAT (1-2 neg, 3 neutral, 4-5 pos) and store it.

    Uses the stored embeddings (items not yet enriched are embedded on the fly), picks the
    regularisation by cross-validation, calibrates the probabilities, and stores the model
    as a new version; the learned backend (VOC_SENTIMENT_BACKEND=learned) uses the newest.
    Run `voc enrich --reset` afterwards to rescore existing items.
    """
    from voc.nlp.sentiment.store import train_from_db

    with app.session_factory() as s:
        try:
            row = train_from_db(s, app.settings, max_rows=max_rows, seed=seed)
        except ValueError as exc:
            raise UserError(f"cannot train: {exc}") from None
        s.commit()
        m = row.metrics
        click.echo(f"learned sentiment v{row.version}: {row.n_train} items "
                   f"{m.get('class_counts')}, cv macro recall {m.get('cv_macro_recall')}, "
                   f"ECE {m.get('cv_ece')}, Brier {m.get('cv_brier')}; "
                   f"languages {', '.join(row.languages) or '-'}")


@sentiment.command()
@pass_app
def status(app: AppContext) -> None:
    """The configured backend, the languages it scores, and the learned model versions."""
    from sqlalchemy import func, select

    from voc.models.feedback import Feedback
    from voc.nlp.sentiment import BackendUnavailable, get_backend
    from voc.nlp.sentiment.store import list_versions

    settings = app.settings
    with app.session_factory() as s:
        click.echo(f"backend: {settings.sentiment_backend}")
        try:
            backend = get_backend(settings, s)
            langs = backend.supported_languages()
            click.echo(f"  name: {backend.name}")
            click.echo(f"  languages: {'all' if langs is None else ', '.join(langs)} "
                       "(others are stored as 'unsupported' with no score)")
        except BackendUnavailable as exc:
            click.echo(f"  unavailable: {exc}")
        rows = s.execute(select(Feedback.sentiment_label, func.count())
                         .group_by(Feedback.sentiment_label)).all()
        summary = ", ".join(f"{label or 'pending'}: {n}" for label, n in rows) or "no feedback"
        click.echo(f"feedback: {summary}")
        versions = list_versions(s)
        if not versions:
            click.echo("learned models: none (run `voc sentiment train`)")
        for v in versions:
            m = v.metrics
            click.echo(f"learned v{v.version}  {v.created_at:%Y-%m-%d %H:%M}  n={v.n_train}  "
                       f"cv_macro_recall={m.get('cv_macro_recall')}  ece={m.get('cv_ece')}  "
                       f"brier={m.get('cv_brier')}  languages={','.join(v.languages) or '-'}")


@sentiment.command()
@click.argument("texts", nargs=-1)
@click.option("--backend", "name", type=click.Choice(["vader", "transformers", "learned"]),
              default=None, help="Default: VOC_SENTIMENT_BACKEND.")
@pass_app
def score(app: AppContext, texts: tuple[str, ...], name: str | None) -> None:
    """Score TEXTS (or stdin lines): prints score, label, language and pain quote."""
    from voc.nlp.enrich import sentence_scorer
    from voc.nlp.language import resolve_many
    from voc.nlp.sentences import pain_quotes
    from voc.nlp.sentiment import BackendUnavailable, get_backend

    items = list(texts) or _stdin_lines()
    settings = app.settings
    name = name or settings.sentiment_backend
    try:
        if name == "learned":
            with app.session_factory() as s:
                backend = get_backend(settings, s, name=name)
        else:
            backend = get_backend(settings, None, name=name)
    except BackendUnavailable as exc:
        raise UserError(str(exc)) from None
    languages = [lang for lang, _ in resolve_many(items, None, settings.language_min_confidence)]
    embeddings = None
    if name == "learned":
        from voc.nlp.embeddings import embedder_for

        embeddings = embedder_for(settings).encode(items)
    results = backend.score_many(items, languages, embeddings=embeddings)
    scorer, ok = sentence_scorer(backend)
    quotes = pain_quotes(items, scorer, [r.supported and ok(lang)
                                        for r, lang in zip(results, languages, strict=True)],
                         [r.label == "negative" for r in results])
    for text, lang, res, quote in zip(items, languages, results, quotes, strict=True):
        shown = "-" if res.score is None else f"{res.score:+.3f}"
        click.echo(f"{shown}\t{res.label}\t{lang or '-'}\t{quote or ''}\t{text[:80]}")
