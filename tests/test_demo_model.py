"""The embedded demo model (examples/models/marian-en-pt-demo, distilled by examples/distill): the
README's main job runs on it offline, with every projection method, in both directions."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from projector import read
from projector.pipeline import DEMO_MODEL, default_model, translate_train

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (DEMO_MODEL / "model.bin").is_file(),
                       reason="the demo model is not in this tree (examples/distill/export.py writes it)"),
]

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "en_sample.conll"


@pytest.fixture(scope="module")
def demo() -> object:
    from mt_backends import load_translator

    return load_translator(str(DEMO_MODEL), device="cpu", intra_threads=1)


def test_it_is_the_default_for_english_portuguese() -> None:
    assert default_model("en", "pt") == default_model("pt", "en") == str(DEMO_MODEL)


EN = ["The European Commission opened an office in Lisbon.", "Maria lives in Brazil with her family.",
      "The house is very big.", "We need more money for the schools.", "The president visited the city yesterday.",
      "I do not know where the station is.", "The children are playing in the garden.", "This book was written in 1990."]
PT = ["A Comissão Europeia abriu um escritório em Lisboa.", "A Maria vive no Brasil com a sua família.",
      "A casa é muito grande.", "Precisamos de mais dinheiro para as escolas.", "O presidente visitou a cidade ontem.",
      "Eu não sei onde fica a estação.", "As crianças estão a brincar no jardim.", "Este livro foi escrito em 1990."]


@pytest.mark.parametrize(("src", "tgt", "sources", "refs"), [("en", "pt", EN, PT), ("pt", "en", PT, EN)])
def test_translates_both_directions(demo: object, src: str, tgt: str, sources: list[str], refs: list[str]) -> None:
    import sacrebleu

    out = [r.text for r in demo.translate(sources, src, tgt, beam_size=4)]  # type: ignore[attr-defined]
    chrf = sacrebleu.corpus_chrf(out, [refs]).score
    copy = sacrebleu.corpus_chrf(sources, [refs]).score  # leaving the text untranslated
    assert chrf > 60 and chrf > copy + 30, (chrf, copy, out)


def test_scores_prefer_fluent_translations(demo: object) -> None:
    good, bad = "A Maria vive no Brasil.", "Brasil no vive Maria a."
    s = demo.score(["Maria lives in Brazil."] * 2, [good, bad], "en", "pt")  # type: ignore[attr-defined]
    assert s[0].total > s[1].total + 5


@pytest.mark.parametrize("method", ["codec+e5", "codec", "markers", "align"])
def test_main_job_runs_with_every_method(method: str, tmp_path: Path) -> None:
    """README's main job (translate-train of the English sample into Portuguese, default model; codec with the
    built-in encoder: its guided search), and every other method."""
    method, _, encoder = method.partition("+")
    options = {"encoder": encoder} if encoder else None
    result = translate_train(SAMPLE, tgt_langs="pt", method=method, output=tmp_path / "out", method_options=options)
    if encoder:
        assert "codec(search=guided" in result.report.signature
    rep = result.report.languages["pt"]
    n_spans = sum(len(ex.spans) for ex in read(SAMPLE).examples())
    by_status: Counter[str] = Counter()
    for counts in rep.spans_by_label.values():
        by_status.update(counts)
    assert sum(by_status.values()) == n_spans and rep.examples_in == rep.examples_out == 8
    assert by_status["projected"] + by_status["fuzzy"] >= 0.6 * n_spans, by_status
    assert "marian-en-pt-demo" in result.report.signature
    ds = result.dataset("pt")["train"]
    names = ds.features["ner_tags"].feature.names
    tagged = [(tok, names[t]) for row in ds for tok, t in zip(row["tokens"], row["ner_tags"], strict=True) if t]
    assert len(tagged) >= 0.6 * n_spans
    assert any(tok in ("Lisboa", "Paris", "Londres") for tok, _ in tagged)
