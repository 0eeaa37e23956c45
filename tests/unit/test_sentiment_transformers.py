"""The transformers backend on a tiny randomly initialised BERT saved to a temp folder.

The real loading (AutoConfig / AutoTokenizer / AutoModelForSequenceClassification with
local_files_only) and batching code runs; only the weights are random, so the tests check
mapping, shapes, batching consistency and language handling, not accuracy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voc import config
from voc.nlp.sentiment import UNSUPPORTED, get_backend
from voc.nlp.sentiment.transformer import LabelMappingError, TransformersBackend, label_values

_WORD_TEXT = ("the app is great terrible slow fast love hate support delivery late broken good "
              "bad never always crash refund thanks das ist gut schlecht")
WORDS = _WORD_TEXT.split()


def make_model(path: Path, id2label: dict[int, str], languages=None) -> Path:  # noqa: ANN001
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    path.mkdir(parents=True, exist_ok=True)
    vocab = path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    tok = BertTokenizer(str(vocab), do_lower_case=True)
    cfg = BertConfig(vocab_size=len(tok.vocab), hidden_size=16, num_hidden_layers=1,
                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
                     num_labels=len(id2label), id2label=id2label,
                     label2id={v: k for k, v in id2label.items()})
    if languages is not None:
        cfg.languages = languages
    torch.manual_seed(0)
    BertForSequenceClassification(cfg).save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path


@pytest.fixture(scope="module")
def stars_dir(tmp_path_factory) -> Path:  # noqa: ANN001
    return make_model(tmp_path_factory.mktemp("stars"),
                      {i: f"{i + 1} star" + ("s" if i else "") for i in range(5)})


def test_label_mappings():
    assert label_values({0: "negative", 1: "neutral", 2: "positive"}).tolist() == [-1, 0, 1]
    assert label_values({0: "NEG", 1: "POS"}).tolist() == [-1, 1]
    stars = label_values({i: f"{i + 1} stars" for i in range(5)})
    assert stars.tolist() == [-1, -0.5, 0, 0.5, 1]
    assert label_values({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}).tolist() == [-1, 0, 1]
    with pytest.raises(LabelMappingError, match="VOC_SENTIMENT_LABEL_MAP"):
        label_values({0: "joy", 1: "anger"})
    override = label_values({0: "joy", 1: "anger"}, {"joy": 1, "anger": -1})
    assert override.tolist() == [1, -1]


def test_scores_batches_and_languages(stars_dir: Path):
    settings = config.load({}, sentiment_backend="transformers", sentiment_model_dir=stars_dir,
                           sentiment_batch_size=2)
    backend = get_backend(settings)
    assert backend.name.startswith("transformers:")
    assert backend.supported_languages() == ["en"]  # monolingual BERT, nothing configured
    texts = ["the app is great", "terrible slow support", "love it", "delivery late",
             "refund never came, bad", "das ist schlecht", ""]
    langs = ["en", "en", "en", None, "en", "de", "en"]
    res = backend.score_many(texts, langs)
    assert len(res) == len(texts)
    assert res[5].label == UNSUPPORTED and res[5].score is None
    for r in res[:5] + res[6:]:
        assert r.supported and -1.0 <= r.score <= 1.0
        assert r.label in ("negative", "neutral", "positive")
    # batching (size 2, sorted by length) gives the same numbers as one big batch
    big = TransformersBackend(stars_dir, batch_size=64)
    p_small = backend.predict_proba(texts)
    p_big = big.predict_proba(texts)
    assert p_small.shape == (7, 5)
    np.testing.assert_allclose(p_small, p_big, atol=1e-5)
    np.testing.assert_allclose(p_small.sum(axis=1), 1.0, atol=1e-5)
    # the score is the expected value of the star values
    expected = p_big @ np.array([-1, -0.5, 0, 0.5, 1])
    assert res[0].score == pytest.approx(expected[0], abs=1e-3)


def test_languages_from_settings_or_config(tmp_path: Path, stars_dir: Path):
    everyone = TransformersBackend(stars_dir, languages="*")
    assert everyone.supported_languages() is None and everyone.supports("ja")
    two = TransformersBackend(stars_dir, languages="en, DE")
    assert two.supported_languages() == ["de", "en"] and not two.supports("fr")
    multi = make_model(tmp_path / "multi", {0: "negative", 1: "neutral", 2: "positive"},
                       languages=["en", "de", "fr"])
    backend = TransformersBackend(multi)
    assert backend.supported_languages() == ["de", "en", "fr"]
    res = backend.score_many(["das ist gut", "the app"], ["de", "ja"])
    assert res[0].supported and res[1].label == UNSUPPORTED


def test_unmappable_labels_fail_clearly(tmp_path: Path):
    from voc.nlp.sentiment import BackendUnavailable

    odd = make_model(tmp_path / "odd", {0: "joy", 1: "anger"})
    settings = config.load({}, sentiment_backend="transformers", sentiment_model_dir=odd)
    with pytest.raises(BackendUnavailable, match="VOC_SENTIMENT_LABEL_MAP"):
        get_backend(settings)
    fixed = get_backend(settings.replace(sentiment_label_map={"joy": 1.0, "anger": -1.0}))
    assert fixed.score_many(["the app"], ["en"])[0].supported
    with pytest.raises(BackendUnavailable, match="config.json"):
        get_backend(settings.replace(sentiment_model_dir=tmp_path / "missing"))
