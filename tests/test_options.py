"""Options as data: validation, conversion, CLI flags, signatures and run keys derived from the fields."""

from __future__ import annotations

import dataclasses
import json
import shutil
import typing
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from projector import AlignOptions, CodecOptions, MarkersOptions, MTOptions, Projector
from projector.checkpoint import ShardStore
from projector.cli import main
from projector.errors import ConfigError
from projector.options import METHOD_OPTIONS, EngineOptions, Options, _base_types, portable_model
from projector.pipeline import DEMO_MODEL, build_method_options, run_key
from projector.report import LanguageReport

ALL_CLASSES: list[type[Options]] = [CodecOptions, MarkersOptions, AlignOptions, MTOptions, EngineOptions]
needs_demo = pytest.mark.skipif(not (DEMO_MODEL / "model.bin").is_file(), reason="no embedded demo model")


def _variant(cls: type[Options], f: dataclasses.Field[Any], value: Any, folder: Path) -> Any:
    """Another valid value of field ``f``."""
    meta = f.metadata
    types, _ = _base_types(typing.get_type_hints(cls)[f.name])
    choices = meta.get("choices")
    if choices is not None:
        allowed = list(choices() if callable(choices) else choices)
        return next(c for c in allowed if c != value)
    if meta.get("model"):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "weights.bin").write_bytes(f.name.encode())
        return str(folder)
    if bool in types:
        return not value
    if tuple in types:
        return (value[0] + 1,)
    if int in types:
        return 2 if value is None else value + 1
    if float in types:
        lo, hi = meta.get("min"), meta.get("max")
        return next(c for c in ((value or 0.0) / 2, (value or 0.0) - 1, 0.5) if c != value and
                    (lo is None or c >= lo) and (hi is None or c <= hi))
    return (value or "x") + "<"


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.kind)
def test_every_field_changes_the_run_key_and_resume_is_refused(cls: type[Options], tmp_path: Path) -> None:
    base = cls()
    method = SimpleNamespace(name="codec", options=CodecOptions(), signature=lambda: "codec")

    def key_of(opts: Options) -> dict[str, Any]:
        if isinstance(opts, MTOptions):
            return run_key("translate-train", "en", "pt", method, None, opts, shard_size=200)
        if isinstance(opts, EngineOptions):
            return run_key("translate-train", "en", "pt", method, None, None, opts, shard_size=200)
        return run_key("translate-train", "en", "pt", SimpleNamespace(name=cls.kind, options=opts), None, None)

    first = key_of(base)
    ShardStore(tmp_path / "run", first).save("train", 0, [], LanguageReport("pt"))  # a run with one shard done
    assert dataclasses.fields(cls)  # introspected: a field added later is covered without editing this test
    for f in dataclasses.fields(cls):
        changed = base.replace(**{f.name: _variant(cls, f, getattr(base, f.name), tmp_path / f"m-{f.name}")})
        key = key_of(changed)
        if f.metadata.get("runtime"):  # threads, device indices: the same output, so the same run
            assert key == first, f.name
            assert ShardStore(tmp_path / "run", key).done("train", 0)
            continue
        assert key != first, f"{cls.kind}.{f.name} does not change the run key"
        with pytest.raises(ConfigError, match="another configuration"):
            ShardStore(tmp_path / "run", key)
        assert not ShardStore(tmp_path / "run", key, overwrite=True).done("train", 0)  # recomputed with --overwrite
        ShardStore(tmp_path / "run", first).save("train", 0, [], LanguageReport("pt"))


@pytest.mark.parametrize(("cls", "values", "message"), [
    (CodecOptions, {"top_n": 0}, "top_n: 0 is below its minimum 1"),
    (CodecOptions, {"search": "greedy"}, "search: 'greedy' is not one of auto, exact, pruned, beam, guided"),
    (CodecOptions, {"lex_keep": 1.5}, "lex_keep: 1.5 is above its maximum 1.0"),
    (CodecOptions, {"reverse": "yes"}, "reverse: 'yes' is not true or false"),
    (CodecOptions, {"top_n": "3"}, "top_n: '3' is not a int"),
    (MarkersOptions, {"markers": "stars"}, "markers: 'stars' is not one of brackets, tags"),
    (AlignOptions, {"aligner": "fastalign"}, "aligner: 'fastalign' is not one of"),
    (AlignOptions, {"gap_fill": -1}, "gap_fill: -1 is below its minimum 0"),
    (MTOptions, {"compute_type": "int4"}, "compute_type: 'int4' is not one of auto"),
    (MTOptions, {"device": "tpu"}, "device: 'tpu' is not one of auto, cpu, cuda"),
    (MTOptions, {"device_index": "0,x"}, "device_index: .* is not a list of int"),
])
def test_validation_names_field_value_and_allowed(cls: type[Options], values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cls(**values)


def test_dicts_convert_and_unknown_keys_list_the_valid_ones() -> None:
    assert build_method_options("codec", {"search": "beam", "top_n": 3}) == CodecOptions(search="beam", top_n=3)
    assert build_method_options("easyproject", None) == MarkersOptions()  # aliases name the same options
    with pytest.raises(ConfigError, match=r"topn does not apply to the codec method \(its options: search, "):
        build_method_options("codec", {"topn": 3})
    with pytest.raises(ConfigError, match="lex_keep does not apply to the align method"):
        build_method_options("align", {"lex_keep": 0.2})
    assert MTOptions(device_index="0,1").device_index == (0, 1)


def test_signatures_list_every_field_without_paths(tmp_path: Path) -> None:
    enc = tmp_path / "deep" / "my-encoder"
    enc.mkdir(parents=True)
    (enc / "config.json").write_text("{}")
    opts = AlignOptions(encoder=str(enc))
    sig = opts.signature()
    assert "encoder=my-encoder" in sig and str(tmp_path) not in sig
    assert str(tmp_path) not in opts.key_json()
    for cls in ALL_CLASSES:
        sig = cls().signature()
        shown = [f for f in dataclasses.fields(cls) if not f.metadata.get("runtime")]
        assert sig.count("=") == len(shown), cls.kind
    assert CodecOptions(search="beam", beam_width=2, beam_rescore=3).signature().startswith(
        "codec(search=beam(width=2,rescore=3),top_n=5,")


def test_moving_a_model_folder_keeps_its_key(tmp_path: Path) -> None:
    src = tmp_path / "a" / "model"
    src.mkdir(parents=True)
    for name, data in (("model.bin", b"\x00" * 1000 + b"weights"), ("config.json", b"{}")):
        (src / name).write_bytes(data)
    moved = tmp_path / "elsewhere" / "model"
    moved.parent.mkdir()
    shutil.copytree(src, moved, copy_function=shutil.copyfile)  # new mtimes, same bytes
    assert portable_model(str(src), fingerprint=True) == portable_model(str(moved), fingerprint=True)
    (moved / "model.bin").write_bytes(b"\x01" * 1000 + b"weights")
    assert portable_model(str(src), fingerprint=True) != portable_model(str(moved), fingerprint=True)


def test_every_option_is_a_flag_with_help() -> None:
    runner = CliRunner()
    method_and_mt = [CodecOptions, MarkersOptions, AlignOptions, MTOptions]
    for command, classes in (("translate-train", ALL_CLASSES), ("translate-test", ALL_CLASSES),
                             ("evaluate-projection", method_and_mt)):
        text = runner.invoke(main, [command, "--help"], terminal_width=200).output
        for cls in classes:
            for f in dataclasses.fields(cls):
                flag = "--" + f.name.replace("_", "-")
                assert flag in text, f"{command} lacks {flag}"
    for cls in METHOD_OPTIONS.values():
        assert all(f.metadata["help"] for f in dataclasses.fields(cls))


def test_cli_errors_name_the_flag(tmp_path: Path) -> None:
    src = tmp_path / "in.conll"
    src.write_text("Ana B-PER\nsaw O\nRio B-LOC\n. O\n", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(main, ["translate-train", str(src), "--tgt-lang", "pt", "--method", "align", "--search",
                               "beam", "-o", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert "search does not apply to the align method" in res.output and "[flag: --search]" in res.output
    assert not (tmp_path / "out").exists()
    res = runner.invoke(main, ["translate-train", str(src), "--tgt-lang", "pt", "--top-n", "0", "-o",
                               str(tmp_path / "out")])
    assert res.exit_code == 1 and "top_n: 0 is below its minimum 1 [flag: --top-n]" in res.output


@needs_demo
def test_resume_with_other_codec_options_is_refused(tmp_path: Path, projector_cache: Path) -> None:
    """The issue's case: options a hand-written signature forgot (lex_keep...) must change the run."""
    from projector import translate_train

    src = tmp_path / "in.conll"
    src.write_text("John B-PER\nlives O\nin O\nLisbon B-LOC\n. O\n", encoding="utf-8")
    first = translate_train(src, tgt_langs="pt", method="codec", output=tmp_path / "out",
                            method_options={"search": "beam"})
    assert first.method_options == CodecOptions(search="beam")
    assert first.mt_options["pt"].compute_type != "auto"  # what auto resolved to is recorded
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["config"]["options"]["method"]["search"] == "beam"
    assert str(DEMO_MODEL.parent) not in report["signature"] and "marian-en-pt-demo" in report["signature"]
    card = (tmp_path / "out" / "pt" / "README.md").read_text()
    assert "| method | `lex_keep` | `0.5` |" in card and str(tmp_path) not in card
    with pytest.raises(ConfigError, match="another configuration.*method.lex_keep"):
        translate_train(src, tgt_langs="pt", method="codec", output=tmp_path / "out",
                        method_options={"search": "beam", "lex_keep": 0.99, "rev_keep": 0.0, "max_length": 8})
    again = translate_train(src, tgt_langs="pt", method="codec", output=tmp_path / "out", overwrite=True,
                            method_options={"search": "beam", "lex_keep": 0.99, "rev_keep": 0.0, "max_length": 8})
    assert again.method_options.lex_keep == 0.99


@needs_demo
def test_projector_loads_once_and_projects_in_memory(projector_cache: Path) -> None:
    from projector import Example, Span

    p = Projector(compute_type="int8", inter_threads=1)
    ex = Example("1", "John lives in Lisbon.", spans=(Span(0, 4, "PER"), Span(14, 20, "LOC")))
    out = p.project([ex], tgt_lang="pt-BR", method="markers")
    again = p.project([ex], tgt_lang="pt", method="markers")
    assert len(p._translators) == 1 and len(p._methods) == 1
    assert out[0].target.text and len(out[0].spans) == 2 and again[0].target.text == out[0].target.text
    tr = p.translator("en", "pt")
    assert p.method("markers", translator=tr) is p.method("markers", MarkersOptions(), translator=tr)
    assert p.method("markers", translator=tr) is not p.method("markers", {"markers": "tags"}, translator=tr)
    onto = p.project([ex], tgt_lang="pt", method="align", templates=["João vive em Lisboa."])
    assert onto[0].target.text == "João vive em Lisboa."
    # eflomal on one sentence: every span accounted for (projected or failed with a reason)
    assert len(onto[0].spans) == 2 and all(p.ok or p.reason for p in onto[0].spans)


@needs_demo
def test_evaluate_projection_codec_uses_the_default_model(tmp_path: Path, projector_cache: Path) -> None:
    en, pt = tmp_path / "en.conll", tmp_path / "pt.conll"
    en.write_text("John B-PER\nlives O\nin O\nLisbon B-LOC\n. O\n", encoding="utf-8")
    pt.write_text("João B-PER\nvive O\nem O\nLisboa B-LOC\n. O\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["evaluate-projection", str(en), str(pt), "--src-lang", "en", "--tgt-lang", "pt",
                                    "--method", "codec", "--search", "beam", "--json"])
    assert res.exit_code == 0, res.output
    scores = json.loads(res.output.strip().splitlines()[-1])
    assert scores["examples"] == 1 and "codec(search=beam" in scores["method"]


@needs_demo
def test_mt_options_reach_the_engine_and_replicas_agree(projector_cache: Path) -> None:
    """device/compute_type/threads/beam from MTOptions load the engine; two replicas (inter_threads=2,
    batches handed over two at a time) translate and score as one does."""
    texts = [f"John saw {n} red houses in Lisbon and Porto on Tuesday." for n in range(1, 13)]
    one = Projector(compute_type="int8", batch_tokens=64, cache=False).translator("en", "pt")
    two = Projector(compute_type="int8", batch_tokens=64, inter_threads=2, beam_size=2, cache=False).translator("en", "pt")
    assert (one.compute_type, one.beam_size, one.parallel_batches) == ("int8", 4, 1)
    assert (two.beam_size, two.parallel_batches) == (2, 2)
    assert [r.text for r in one.translate(texts, "en", "pt", beam_size=2)] == [r.text for r in two.translate(texts, "en", "pt")]
    pieces = one.tokenize(["O João viu casas."] * len(texts), "pt")
    a, b = one.score(texts, pieces, "en", "pt"), two.score(texts, pieces, "en", "pt")
    assert [round(x.total, 3) for x in a] == [round(x.total, 3) for x in b]
    with pytest.raises(ConfigError, match="compute_type"):
        Projector(compute_type="float16", cache=False).translator("en", "pt")  # not on this CPU: named


def test_every_span_heuristic_is_an_align_option_with_the_same_default() -> None:
    import dataclasses

    from alignment.heuristics import SpanOptions
    from projector.options import AlignOptions

    align = {f.name: f.default for f in dataclasses.fields(AlignOptions)}
    for f in dataclasses.fields(SpanOptions):
        assert f.name in align, f"SpanOptions.{f.name} has no AlignOptions field (no flag, not in the run key)"
        assert align[f.name] == f.default, f.name
    assert AlignOptions().span_options() == SpanOptions()


@pytest.mark.parametrize("label_names, spans, events, expected", [
    (("O", "B-PER", "I-PER", "B-MISC", "I-MISC"), [], False, True),  # CoNLL's tags: kept
    (("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"), [], False, False),  # WikiANN's: no MISC, off
    (None, ["PER", "MISC"], False, True),  # no tag vocabulary: the examples' labels
    (None, ["PER", "LOC"], False, False),
    (None, ["PER", "MISC"], True, False),  # events: argument roles are not names' derived adjectives
])
def test_derived_label_follows_the_data_labels(label_names: tuple[str, ...] | None, spans: list[str], events: bool,
                                               expected: bool) -> None:
    from projector.data import Event, Example, Span
    from projector.formats.base import Corpus, CorpusInfo
    from projector.pipeline import fit_to_labels

    text = "Ann met Bob in Rome ."
    ex = Example("0", text, spans=tuple(Span(0, 3, label) for label in spans),
                 events=(Event("Contact:Meet", Span(4, 7, "Contact:Meet")),) if events else ())
    corpus = Corpus({"train": [ex]}, CorpusInfo(format="conll", label_names=label_names))
    fitted = fit_to_labels(AlignOptions(), corpus)
    assert isinstance(fitted, AlignOptions) and fitted.derived_misc is expected
    assert fit_to_labels(AlignOptions(derived_misc=False), corpus) == AlignOptions(derived_misc=False)
    assert fit_to_labels(CodecOptions(), corpus) == CodecOptions()  # methods without the option are unchanged
