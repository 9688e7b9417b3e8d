"""Bad input and faults as a new user meets them (issue 12): each defect found by the campaign of malformed
inputs, faults and kills has a regression test here. Tests with the embedded demo model skip when it is
not in the tree; those with ``../shared/data`` skip when it is absent."""

from __future__ import annotations

import json
import os
import random
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from projector import read, write
from projector.cli import main
from projector.convert import Chunk, chunks_to_tags, tags_to_chunks
from projector.data import Example
from projector.errors import FormatError, InputError, ProjectorError
from projector.pipeline import DEMO_MODEL, translate_train

needs_demo = pytest.mark.skipif(not (DEMO_MODEL / "model.bin").is_file(), reason="the demo model is not in this tree")

GOOD_JSONL = '{"id": "a", "text": "John lives in Paris.", "spans": [{"start": 0, "end": 4, "label": "PER"}, ' \
             '{"start": 14, "end": 19, "label": "LOC"}]}\n'


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def umask022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*"))


# -- 1. JSONL input reaches the default (hf) output ------------------------------------------------------

def test_jsonl_input_converts_to_hf_with_the_default_scheme(runner: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "good.jsonl"
    src.write_text(GOOD_JSONL, encoding="utf-8")
    result = runner.invoke(main, ["convert", str(src), str(tmp_path / "x"), "--to", "hf"])  # --scheme auto (default)
    assert result.exit_code == 0, result.output
    back = read(tmp_path / "x")
    assert [s.label for s in next(back.examples()).spans] == ["PER", "LOC"]
    assert read(src, scheme="auto").info.scheme is None  # character spans have no tag scheme


@needs_demo
def test_jsonl_input_translate_train_default_output(tmp_path: Path) -> None:
    src = tmp_path / "good.jsonl"
    src.write_text(GOOD_JSONL, encoding="utf-8")
    result = translate_train(src, tgt_langs="pt", method="markers", output=tmp_path / "out",
                             read_options={"scheme": "auto"})
    assert result.report.languages["pt"].examples_in == 1
    assert (tmp_path / "out" / "pt" / "README.md").is_file()


def test_what_the_final_write_needs_is_checked_before_any_work(tmp_path: Path) -> None:
    from projector.errors import UnknownNameError
    from projector.formats import Corpus, CorpusInfo

    class NoWork:
        name = "markers"
        supports_template = False

        def signature(self) -> str:
            return "no-work"

        def project(self, *_: Any) -> Any:
            raise AssertionError("the work started before the output was checked")

    corpus = Corpus({"train": [Example("0", "Ana")]}, CorpusInfo(format="conll", scheme="weird"))
    with pytest.raises(UnknownNameError, match="unknown tag scheme 'weird'"):
        translate_train(corpus, tgt_langs="pt", method=NoWork(), translator=object(), output=tmp_path / "out")
    assert not (tmp_path / "out").exists()


# -- 2. one long sentence does not kill the run -------------------------------------------------------------

@needs_demo
def test_the_model_limit_comes_from_the_model() -> None:
    from mt_backends import load_translator
    from mt_backends.ct2 import position_limit

    assert position_limit(DEMO_MODEL) == 256  # its folder declares no limit; model.bin has 256 positions
    assert load_translator(str(DEMO_MODEL), device="cpu").max_source_tokens == 256


@needs_demo
@pytest.mark.parametrize("method", ["markers", "codec"])
def test_one_long_sentence_is_marked_too_long_and_the_rest_kept(tmp_path: Path, method: str) -> None:
    rng = random.Random(0)
    words = "the house is big and a cat saw the dog in the garden".split()
    long = "\n".join(f"{rng.choice(words)} O" if i % 20 else "Lisbon B-LOC" for i in range(260))
    short = ["Ana B-PER\nlives O\nin O\nLisbon B-LOC\n. O", "The O\nhouse O\nis O\nbig O\n. O"]
    src = tmp_path / "train.conll"
    src.write_text("\n\n".join([short[0], long, short[1]]) + "\n", encoding="utf-8")
    options = {"search": "beam"} if method == "codec" else None
    result = translate_train(src, tgt_langs="pt", method=method, output=tmp_path / "out", method_options=options)
    rep = result.report.languages["pt"]
    assert rep.examples_in == 3 and rep.examples_out == 2  # the other examples are all kept
    assert rep.translation_status["too_long"] == 1
    assert rep.dropped[0]["id"] == "1" and "limit of 256" in " ".join(rep.dropped[0]["reasons"])


# -- 3. IO-tagged CoNLL writes hf -----------------------------------------------------------------------------

def test_io_conll_writes_hf_as_iob2(runner: CliRunner, tmp_path: Path) -> None:
    from projector.convert import output_scheme

    src = tmp_path / "io.conll"
    src.write_text("John PER\nSmith PER\nmet O\nMary PER\n. O\n", encoding="utf-8")
    result = runner.invoke(main, ["convert", str(src), str(tmp_path / "x"), "--to", "hf"])
    assert result.exit_code == 0, result.output
    back = read(tmp_path / "x")
    ex = next(back.examples())
    assert [s.text_of(ex.text) for s in ex.spans] == ["John Smith", "Mary"]
    assert back.info.label_names is not None and "B-PER" in back.info.label_names
    assert output_scheme(None, "io") == "iob2" and output_scheme("io", "iob2") == "io"
    # adjacent chunks of one label are one run in IO (IO's own reading of them), not an exception
    assert chunks_to_tags([Chunk(0, 2, "PER"), Chunk(2, 3, "PER")], 3, "io") == ["PER"] * 3


# -- 4. align is deterministic ----------------------------------------------------------------------------------

def test_eflomal_runs_are_identical() -> None:
    pytest.importorskip("eflomal")
    from alignment.eflomal_aligner import EflomalAligner

    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(40)]
    src = [[rng.choice(vocab) for _ in range(rng.randint(4, 12))] for _ in range(200)]
    tgt = [["t" + w[1:] if rng.random() < 0.8 else rng.choice(vocab) for w in reversed(s)] for s in src]
    first = [r.links for r in EflomalAligner().align(src, tgt)]
    second = [r.links for r in EflomalAligner().align(src, tgt)]
    assert first == second  # unseeded eflomal differs in ~20% of these rows from run to run
    assert [r.links for r in EflomalAligner(seed=1).align(src, tgt)] != first  # the seed is used


def test_eflomal_binary_copy_is_seeded(tmp_path: Path) -> None:
    pytest.importorskip("eflomal")
    from alignment.eflomal_aligner import _eflomal_binary, seeded_binary

    copy = seeded_binary(tmp_path, 7)
    assert copy != _eflomal_binary() and b"/dev/urandom\0" not in copy.read_bytes()
    assert (tmp_path / "eflomal.seed").read_bytes() == seeded_binary(tmp_path, 7).parent.joinpath(
        "eflomal.seed").read_bytes()
    assert len((tmp_path / "eflomal.seed").read_bytes()) == 8


@needs_demo
def test_two_align_runs_write_the_same_dataset(tmp_path: Path) -> None:
    from .conftest import write_ner_conll

    src = write_ner_conll(tmp_path / "train.conll", 40, seed=4)
    reports = []
    for name in ("a", "b"):
        result = translate_train(src, tgt_langs="pt", method="align", output=tmp_path / name, output_format="jsonl")
        reports.append(result.report.languages["pt"].to_dict())
    assert (tmp_path / "a" / "pt" / "train.jsonl").read_bytes() == (tmp_path / "b" / "pt" / "train.jsonl").read_bytes()
    keys = ("examples_by_status", "fuzzy_by_reason", "failed_by_reason", "spans_by_label")
    assert [{k: r[k] for k in keys} for r in reports][0] == {k: reports[1][k] for k in keys}


# -- 5. every hf output loads as itself ------------------------------------------------------------------------

def test_two_outputs_of_one_shape_load_as_themselves(runner: CliRunner, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    (tmp_path / "x.conll").write_text("John B-PER\nlives O\n", encoding="utf-8")
    (tmp_path / "y.conll").write_text("Mary B-PER\nruns! O\n", encoding="utf-8")  # same shape, same byte count
    for name in ("x", "y"):
        result = runner.invoke(main, ["convert", str(tmp_path / f"{name}.conll"), str(tmp_path / name / "pt"),
                                      "--to", "hf"])
        assert result.exit_code == 0, result.output
    cache = str(tmp_path / "hf-cache")
    x = datasets.load_dataset(str(tmp_path / "x" / "pt"), cache_dir=cache)["train"][0]["tokens"]
    y = datasets.load_dataset(str(tmp_path / "y" / "pt"), cache_dir=cache)["train"][0]["tokens"]
    assert (x, y) == (["John", "lives"], ["Mary", "runs!"])


# -- 6. a tab inside a token of a space-separated file --------------------------------------------------------

def test_a_tab_in_a_space_separated_file_names_the_line(tmp_path: Path) -> None:
    src = tmp_path / "a.conll"
    src.write_text("The O\nNew\tYork B-LOC\nis O\nbig O\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"a.conll:2: expected 2 columns .*a tab in a space-separated file"):
        read(src)
    tabbed = tmp_path / "b.conll"
    tabbed.write_text("The\tO\nNew York\tB-LOC\n", encoding="utf-8")  # tab-separated: a space is part of a token
    ex = next(read(tabbed).examples())
    assert [s.text_of(ex.text) for s in ex.spans] == ["New York"]
    mixed = tmp_path / "c.conll"
    mixed.write_text("The\tO\nNew B-LOC\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"c.conll:2: .*no tab in a tab-separated file"):
        read(mixed)


# -- 7. translate-test checks each prediction's text ----------------------------------------------------------

def test_predictions_with_edited_text_are_refused(tmp_path: Path) -> None:
    from projector.translate_test import _read_predictions

    exported = [Example("0", "Ana lives in Rio."), Example("1", "The house is big.")]
    originals = [Example("0", "A Ana vive no Rio."), Example("1", "A casa é grande.")]
    ok = tmp_path / "ok.jsonl"
    write(read_corpus([Example("0", "Ana lives in Rio ."), Example("1", "The house is big.")]), ok)
    assert len(_read_predictions(ok, originals, "en", exported)) == 2  # spacing may differ (CoNLL round trip)
    edited = tmp_path / "edited.jsonl"
    write(read_corpus([Example("0", "Ana lives in Rio."), Example("1", "The big house.")]), edited)
    with pytest.raises(InputError, match=r"example 1 \(id '1'\) .* has the text 'The big house.'"):
        _read_predictions(edited, originals, "en", exported)


def read_corpus(examples: list[Example]) -> Any:
    from projector.formats import Corpus, CorpusInfo

    return Corpus({"test": examples}, CorpusInfo(format="jsonl"))


# -- 8. OS-level output errors are one clear line; the input is never overwritten ------------------------------

@pytest.mark.parametrize("args,message", [
    (["convert", "{src}", "{src}"], "is the input"),
    (["convert", "{src}", "{dir}", "--to", "conll"], "is a folder; give a file name"),
    (["convert", "{src}", "{file}/sub.conll"], "is a file, not a folder"),
    (["translate-train", "{src}", "--tgt-lang", "pt", "-o", "{src}"], "is the input"),
    (["translate-train", "{src}", "--tgt-lang", "pt", "-o", "{file}"], "exists and is a file"),
])
def test_output_path_errors_are_one_line(runner: CliRunner, tmp_path: Path, args: list[str], message: str) -> None:
    src = tmp_path / "in.conll"
    src.write_text("John B-PER\nlives O\n", encoding="utf-8")
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile.txt").write_text("keep", encoding="utf-8")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    argv = [a.format(src=src, dir=tmp_path / "adir", file=tmp_path / "afile.txt") for a in args]
    result = runner.invoke(main, argv)
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # nothing changed


def test_a_read_only_destination_is_refused_before_work(runner: CliRunner, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in.conll"
    src.write_text("John B-PER\nlives O\n", encoding="utf-8")
    ro = tmp_path / "ro"
    ro.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == ro else real_access(p, mode))  # as root too
    result = runner.invoke(main, ["convert", str(src), str(ro / "out.conll")])
    assert result.exit_code == 1 and "permission denied" in result.output and "Traceback" not in result.output


def test_an_os_error_while_writing_is_an_output_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from projector.errors import OutputError

    corpus = read_corpus([Example("0", "x")])

    def full(*_: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OutputError, match="No space left on device"):
        write(corpus, tmp_path / "out.jsonl")
    assert _files(tmp_path) == []  # the temporary file is gone too


# -- 9. codec's search has a deterministic per-span budget; progress per example --------------------------------

class _Scored:
    def __init__(self, lps: list[float], eos: float) -> None:
        self.logprobs, self.eos_logprob, self.status, self.reason, self.probe_logprobs = lps, eos, "ok", None, None


def _fake_score(srcs: list[list[str]], tgts: list[list[str]], probes: Any = None) -> list[_Scored]:
    """A deterministic scorer: each piece costs a little, markers cost by their distance to pieces 3 and 7."""
    out = []
    for tgt in tgts:
        lps = []
        for pos, piece in enumerate(tgt):
            want = 3 if piece == "[" else 8 if piece == "]" else None
            lps.append(-0.05 - (0.3 * abs(pos - want) if want is not None else 0.0) - 0.01 * (pos % 3))
        out.append(_Scored(lps, -0.1))
    return out


def test_codec_search_stops_at_its_budget_with_the_best_so_far() -> None:
    from projector.methods._search import SearchStats, SearchTask, brute_force, search_placements

    def task() -> SearchTask:
        template = [f"p{i}" for i in range(30)]
        return SearchTask(["src"], template, list(range(30)), list(range(1, 31)), top_n=3)

    exact = search_placements(_fake_score, [task()], ["["], ["]"])
    assert exact == brute_force(_fake_score, [task()], ["["], ["]"])
    stats = SearchStats()
    bounded_task = task()
    bounded = search_placements(_fake_score, [bounded_task], ["["], ["]"], max_tokens=5 * 33, stats=stats)
    assert bounded_task.truncated and bounded[0]  # the best so far, not nothing
    assert stats.sequences <= 5 + 3  # 5 sequences of 33 tokens, plus at most top_n scored once when none was yet
    unbounded_task = task()
    search_placements(_fake_score, [unbounded_task], ["["], ["]"], max_tokens=1_000_000)
    assert not unbounded_task.truncated


def test_codec_reports_a_truncated_search_as_fuzzy_with_its_reason() -> None:
    from projector.methods.codec import _BUDGET_REASON, DEFAULT_MAX_SEARCH_TOKENS, CodecMethod

    assert DEFAULT_MAX_SEARCH_TOKENS >= 1 and "budget" in _BUDGET_REASON
    assert CodecMethod.max_search_tokens.fget is not None  # type: ignore[attr-defined]


@needs_demo
def test_progress_is_reported_per_example_from_the_start(tmp_path: Path) -> None:
    src = tmp_path / "train.conll"
    src.write_text("\n\n".join(f"Ana B-PER\nsaw O\nthe O\nhouse O\n{i} O" for i in range(5)) + "\n", encoding="utf-8")
    calls: list[tuple[str, int]] = []
    translate_train(src, tgt_langs="pt", method="markers", output=tmp_path / "out", shard_size=3, batch_size=2,
                    progress=lambda lang, done: calls.append((lang, done)))
    done = [d for _, d in calls]
    assert done[0] == 0 and done == sorted(done)  # from the start, never backwards
    assert list(dict.fromkeys(done)) == [0, 1, 2, 3, 4, 5]  # each example (a shard's end repeats its count)


# -- 10. nothing left on disk ---------------------------------------------------------------------------------

@needs_demo
def test_a_rejected_language_leaves_nothing(tmp_path: Path) -> None:
    src = tmp_path / "train.conll"
    src.write_text("Ana B-PER\nsaw O\n", encoding="utf-8")
    with pytest.raises(ProjectorError):
        translate_train(src, tgt_langs="de", method="markers", model=str(DEMO_MODEL), output=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_rerun_removes_what_an_interrupted_final_write_left(tmp_path: Path) -> None:
    src = tmp_path / "in.conll"
    src.write_text("John B-PER\nlives O\n", encoding="utf-8")
    (tmp_path / ".pt.k3j2h1.tmp" / "data").mkdir(parents=True)  # killed while writing OUT/pt
    (tmp_path / ".pt.old-4242").mkdir()
    (tmp_path / ".x.jsonl.abc.tmp").write_text("half", encoding="utf-8")
    write(read(src), tmp_path / "pt", format="hf")
    write(read(src), tmp_path / "x.jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.conll", "pt", "x.jsonl"]


# -- 11. outputs have the permissions of a plain open() -------------------------------------------------------

def test_outputs_end_with_plain_permissions(runner: CliRunner, tmp_path: Path, umask022: None) -> None:
    src = tmp_path / "in.conll"
    src.write_text("John B-PER\nlives O\n", encoding="utf-8")
    assert runner.invoke(main, ["convert", str(src), str(tmp_path / "hf"), "--to", "hf"]).exit_code == 0
    assert runner.invoke(main, ["convert", str(src), str(tmp_path / "out.jsonl")]).exit_code == 0
    for path in [tmp_path / "hf", *_files(tmp_path / "hf"), tmp_path / "out.jsonl"]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))


# -- 12. the smaller ones -------------------------------------------------------------------------------------

def test_a_prefix_without_label_is_named_as_such(tmp_path: Path) -> None:
    from projector.convert import TagError

    with pytest.raises(TagError, match="has a prefix but no label"):
        tags_to_chunks(["B-", "O"], "iob2")
    src = tmp_path / "a.conll"
    src.write_text("a O\n\nb B-PER\nc O\nd B-\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"a.conll:5: tag 'B-' has a prefix but no label"):  # the token's line
        read(src)


def test_a_jsonl_file_with_a_bom_is_detected_as_jsonl(tmp_path: Path) -> None:
    src = tmp_path / "data.txt"
    src.write_bytes(b"\xef\xbb\xbf" + GOOD_JSONL.encode())
    corpus = read(src)
    assert corpus.info.format == "jsonl" and len(corpus) == 1


@pytest.mark.parametrize("offset", ['"0"', "5.5", "true"])
def test_jsonl_offsets_must_be_integers(tmp_path: Path, offset: str) -> None:
    src = tmp_path / "a.jsonl"
    src.write_text(GOOD_JSONL + f'{{"id": "b", "text": "Ana.", "spans": [{{"start": {offset}, "end": 3, '
                                 f'"label": "PER"}}]}}\n', encoding="utf-8")
    with pytest.raises(FormatError, match=r"a.jsonl:2: span start must be an integer character offset"):
        read(src)


def test_duplicate_ids_are_warned_and_counted(runner: CliRunner, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    src = tmp_path / "a.jsonl"
    src.write_text(GOOD_JSONL * 3, encoding="utf-8")
    with caplog.at_level("WARNING", logger="projector"):
        corpus = read(src)
    assert corpus.stats["duplicate_ids"] == 2 and "repeat an earlier example's id ('a')" in caplog.text
    result = runner.invoke(main, ["stats", str(src), "--json"])
    assert json.loads(result.output.splitlines()[-1])["duplicate_ids"] == 2


def test_align_fuzzy_spans_carry_their_heuristics_as_reason() -> None:
    from alignment.base import AlignmentResult
    from projector.methods.align import AlignMethod
    from projector.methods.base import ProjectionInput

    class Links:
        name = "fixed"

        def align(self, src: Any, tgt: Any) -> list[AlignmentResult]:
            return [AlignmentResult.from_links({(0, 0), (1, 2)}) for _ in src]  # "New York" -> words 0 and 2: a gap

    from projector.data import Span

    method = AlignMethod(aligner=Links())
    item = ProjectionInput("New York is big", (Span(0, 8, "LOC"),), template="Nova a Iorque é grande")
    out = method.project([item], "en", "pt")[0]
    assert out.spans[0].status == "fuzzy" and out.spans[0].reason == "gap filled"
