"""Projection helpers and the ensemble aligner (with stub aligners)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignment import get_aligner
from alignment.base import Aligner, AlignmentResult
from alignment.heuristics import SpanOptions
from alignment.project import evaluate_projection, extra_text_files, project_batch
from projector.errors import ConfigError, InputError


class Diagonal:
    """Links word i to word i (+ shift)."""

    name = "diagonal"

    def __init__(self, shift: int = 0) -> None:
        self.shift = shift

    def align(self, src_batch, tgt_batch):
        return [AlignmentResult.from_links({(i, i + self.shift) for i in range(len(s)) if i + self.shift < len(t)})
                for s, t in zip(src_batch, tgt_batch)]


def test_protocol():
    assert isinstance(Diagonal(), Aligner)


def test_ensemble_of_stubs():
    ens = get_aligner("ensemble", aligners=[Diagonal(0), Diagonal(1)], method="union")
    (res,) = ens.align([["a", "b"]], [["x", "y", "z"]])
    assert res.links == {(0, 0), (1, 1), (0, 1), (1, 2)}
    inter = get_aligner("ensemble", aligners=[Diagonal(0), Diagonal(0)], method="intersection")
    assert inter.align([["a"]], [["x"]])[0].links == {(0, 0)}
    with pytest.raises(ConfigError):
        get_aligner("ensemble", aligners=[])
    with pytest.raises(ConfigError):
        get_aligner("ensemble", aligners=[Diagonal()], weights=[1, 2])


def test_batch_checks():
    with pytest.raises(InputError, match="2 sentences"):
        get_aligner("ensemble", aligners=[Diagonal()]).align([["a"], ["b"]], [["x"]])
    with pytest.raises(InputError, match="token lists"):
        get_aligner("ensemble", aligners=[Diagonal()]).align(["a b"], ["x y"])


def test_evaluate_projection_template_mode():
    src = [["John", "lives", "in", "New", "York"], ["Hi"]]
    tgt = [["John", "wohnt", "in", "New", "York"], ["Hallo"]]
    src_spans = [[(0, 1, "PER"), (3, 5, "LOC")], []]
    tgt_spans = [[(0, 1, "PER"), (3, 5, "LOC")], []]
    got = evaluate_projection(src, src_spans, tgt, tgt_spans, Diagonal())
    assert got["f1"] == 1.0 and got["status"] == {"projected": 2}
    shifted = evaluate_projection(src, src_spans, tgt, tgt_spans, Diagonal(1), options=SpanOptions(copy_match=False))
    assert shifted["f1"] == 0.0
    # the names occur verbatim in the target: copy matching repairs the wrong links
    assert evaluate_projection(src, src_spans, tgt, tgt_spans, Diagonal(1))["f1"] == 1.0
    projected = project_batch(Diagonal(), src, src_spans, tgt)
    assert [p.target for p in projected[0]] == [(0, 1), (3, 5)]
    with pytest.raises(ConfigError):
        project_batch(None, src, src_spans, tgt)


def test_extra_text_files(tmp_path):
    d = tmp_path / "testsets" / "eng-deu"
    d.mkdir(parents=True)
    for name in ("newstest2019", "tatoeba-test-v2020-07-28", "tatoeba-test-v2021-08-07"):
        (d / f"{name}.eng").write_text("a\n")
        (d / f"{name}.deu").write_text("b\n")
    (d / "orphan.eng").write_text("c\n")
    got = [p[0].split("/")[-1] for p in extra_text_files(tmp_path, "en", "de")]
    assert got == ["newstest2019.eng", "tatoeba-test-v2021-08-07.eng"]
    j = tmp_path / "testsets" / "jpn-eng"  # ISO 639-3 names from langcodes, either order
    j.mkdir()
    (j / "kftt.jpn").write_text("寺\n", encoding="utf-8")
    (j / "kftt.eng").write_text("temple\n", encoding="utf-8")
    assert [(Path(a).name, Path(b).name) for a, b in extra_text_files(tmp_path, "ja", "en")] == [("kftt.jpn", "kftt.eng")]
    assert [(Path(a).name, Path(b).name) for a, b in extra_text_files(tmp_path, "en", "ja")] == [("kftt.eng", "kftt.jpn")]


def test_evaluate_aligner():
    from alignment.evaluate import GoldPair
    from alignment.project import evaluate_aligner

    gold = [GoldPair(["a", "b"], ["x", "y"], {(0, 0), (1, 1)}), GoldPair(["c"], ["z", "w"], {(0, 1)}, {(0, 0)})]
    got = evaluate_aligner(Diagonal(), gold, batch_size=1)
    # predicted (0,0),(1,1) | (0,0): all three are possible, two of three sure links found
    assert got["precision"] == 1.0 and got["recall"] == pytest.approx(2 / 3)


def test_align_method_labels_derived_adjectives_misc() -> None:
    from projector.data import Span
    from projector.methods.align import AlignMethod
    from projector.methods.base import ProjectionInput

    # word i -> word i: "Japan" -> "giapponesi" (the adjective), "Rome" -> "Roma" (the name)
    text = "Exports Japan grew in Rome"
    item = ProjectionInput(text, (Span(8, 13, "LOC"), Span(22, 26, "LOC")), "esportazioni giapponesi crebbero a Roma")
    out = AlignMethod(aligner=Diagonal()).project([item], "en", "it")[0]
    assert [(p.target.text_of(out.text), p.target.label, p.status) for p in out.spans] == \
        [("giapponesi", "MISC", "fuzzy"), ("Roma", "LOC", "projected")]
    assert out.spans[0].reason == "derived adjective relabelled"
    off = AlignMethod(aligner=Diagonal(), derived_misc=False).project([item], "en", "it")[0]
    assert [p.target.label for p in off.spans] == ["LOC", "LOC"]
