"""Language detection: ISO 639-1 codes, confidence floor, source-given languages win."""

from __future__ import annotations

from voc.nlp.language import detect, detect_with_confidence, normalise, resolve_many


def test_detects_common_languages():
    assert detect("The app crashes every time I try to log in to my account") == "en"
    assert detect("Das Paket ist nach zwei Wochen immer noch nicht angekommen") == "de"
    assert detect("Le colis est perdu depuis une semaine, personne ne répond") == "fr"
    assert detect("El pedido llegó roto y nadie contesta al teléfono") == "es"
    assert detect("配送が遅すぎて、サポートも全然対応してくれません") == "ja"


def test_short_or_ambiguous_text_is_none():
    assert detect("ok") is None
    assert detect("👍👍") is None
    assert detect("12345 678") is None
    assert detect("") is None
    lang, prob = detect_with_confidence("thanks")
    assert lang is None and prob == 0.0  # too few letters to try


def test_normalise_codes():
    assert normalise("en-US") == "en"
    assert normalise("DE") == "de"
    assert normalise("deu") == "de"
    assert normalise("English") == "en"
    assert normalise("pt_BR") == "pt"
    assert normalise("zxx") is None
    assert normalise("") is None and normalise(None) is None
    assert normalise("klingon") is None


def test_resolve_many_keeps_given_language():
    texts = ["The delivery was late again and nobody called",
             "Lieferung kam nie an, sehr ärgerlich", "ok"]
    out = resolve_many(texts, ["fr-FR", None, None])
    assert out == [("fr", False), ("de", True), (None, False)]
