"""translate-train and translate-test end to end on tiny real models (CTranslate2 MT, a random encoder)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from projector import read
from projector.errors import ConfigError
from projector.pipeline import translate_train

from .conftest import write_ner_conll

pytestmark = pytest.mark.slow


def _align_options(encoder: Path) -> dict[str, object]:
    return {"encoder": str(encoder), "aligner": "embedding", "layer": 2}


def test_translate_train_align_outputs_report_and_card(tmp_path: Path, tiny_marian: Path, tiny_encoder: Path,
                                                       projector_cache: Path) -> None:
    datasets = pytest.importorskip("datasets")
    src = write_ner_conll(tmp_path / "train.conll", 12)
    result = translate_train(src, tgt_langs="pt", method="align", model=str(tiny_marian), output=tmp_path / "out",
                             method_options=_align_options(tiny_encoder), shard_size=5)
    rep = result.report.languages["pt"]
    source = read(src)
    n_spans = sum(len(e.spans) for e in source.examples())
    # every example and every span is accounted for
    assert rep.examples_in == 12
    assert sum(rep.examples_by_status.values()) == 12
    assert sum(rep.span_totals().values()) == n_spans
    on_disk = json.loads((tmp_path / "out" / "report.json").read_text())
    assert on_disk["languages"]["pt"]["examples_in"] == 12
    assert "method:align(" in on_disk["signature"] and "mt:" in on_disk["signature"]
    dd = datasets.load_dataset(str(tmp_path / "out" / "pt"))
    assert len(dd["train"]) == rep.examples_out
    assert isinstance(dd["train"].features["ner_tags"].feature, datasets.ClassLabel)
    card = (tmp_path / "out" / "pt" / "README.md").read_text()
    assert "## Signature" in card and on_disk["signature"] in card and "-> **pt**" not in card


def test_failure_policies_and_output_formats(tmp_path: Path, tiny_marian: Path, tiny_encoder: Path,
                                             projector_cache: Path) -> None:
    src = write_ner_conll(tmp_path / "train.conll", 10, seed=3)
    results = {}
    for policy in ("keep-partial", "drop", "unlabeled"):
        r = translate_train(src, tgt_langs="pt", method="align", model=str(tiny_marian), on_failure=policy,
                            output=tmp_path / policy, output_format="jsonl", method_options=_align_options(tiny_encoder))
        results[policy] = r
        out = read(tmp_path / policy / "pt" / "train.jsonl")
        assert len(out) == r.report.languages["pt"].examples_out
        for ex in out.examples():
            assert all(0 <= s.start < s.end <= len(ex.text) for s in ex.spans)
    by_status = results["keep-partial"].report.languages["pt"].examples_by_status
    incomplete = by_status["partial"] + by_status["failed"]
    assert results["drop"].report.languages["pt"].examples_out == 10 - incomplete
    assert len(results["drop"].report.languages["pt"].dropped) == incomplete
    assert results["unlabeled"].report.languages["pt"].examples_out == 10


def test_translation_cache_is_reused(tmp_path: Path, tiny_marian: Path, tiny_encoder: Path,
                                     projector_cache: Path) -> None:
    from projector.pipeline import load_mt

    src = write_ner_conll(tmp_path / "train.conll", 6, seed=5)
    first = load_mt(str(tiny_marian), "en", "pt")
    translate_train(src, tgt_langs="pt", method="align", translator=first, method_options=_align_options(tiny_encoder))
    assert first.cache_misses == 6 and first.cache_hits == 0
    second = load_mt(str(tiny_marian), "en", "pt")  # a new process would see the same file
    again = translate_train(src, tgt_langs="pt", method="align", translator=second,
                            method_options=_align_options(tiny_encoder))
    assert second.cache_misses == 0 and second.cache_hits == 6
    assert again.report.languages["pt"].translation_seconds == 0.0


def test_translation_cache_follows_a_model_changed_in_place(tmp_path: Path, tiny_marian: Path,
                                                            projector_cache: Path) -> None:
    """A CTranslate2 folder re-exported at the same path must not be answered from the old model's cache."""
    import shutil

    from projector.pipeline import load_mt

    converted = Path(load_mt(str(tiny_marian), "en", "pt").info.path)
    model = tmp_path / "my-model"
    shutil.copytree(converted, model)
    texts = ["The cat sees Maria.", "John lives in Lisbon."]
    first = load_mt(str(model), "en", "pt")
    first.translate(texts, "en", "pt")
    same = load_mt(str(model), "en", "pt")
    same.translate(texts, "en", "pt")
    assert (first.cache_misses, same.cache_hits, same.cache_misses) == (2, 2, 0)
    weights = bytearray((model / "model.bin").read_bytes())
    weights[-5] ^= 0x01  # new weights (one bit of the last tensor), same path
    (model / "model.bin").write_bytes(bytes(weights))
    changed = load_mt(str(model), "en", "pt")
    changed.translate(texts, "en", "pt")
    assert (changed.cache_hits, changed.cache_misses) == (0, 2)


@pytest.mark.parametrize(("present", "expected"), [(True, "demo"), (False, "bergamot")])
def test_default_model_prefers_the_distilled_model_when_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                present: bool, expected: str) -> None:
    from projector import pipeline

    demo = tmp_path / "marian-en-pt-demo"
    if present:
        demo.mkdir()
        (demo / "model.bin").write_bytes(b"")
    monkeypatch.setitem(pipeline.DEFAULT_MODELS, frozenset({"en", "pt"}), (str(demo), "bergamot"))
    want = str(demo) if expected == "demo" else "bergamot"
    assert pipeline.default_model("en", "pt") == want
    assert pipeline.default_model("pt_BR", "en") == want  # either direction, regional codes
    with pytest.raises(ConfigError, match="no default MT model for en->sw"):
        pipeline.default_model("en", "sw")


def test_bad_configuration_errors(tmp_path: Path) -> None:
    src = write_ner_conll(tmp_path / "train.conll", 2)
    with pytest.raises(ConfigError, match="unknown projection method 'codex'.*codec"):
        translate_train(src, tgt_langs="pt", method="codex")
    with pytest.raises(ConfigError, match="no default MT model for en->sw"):
        translate_train(src, tgt_langs="sw", method="align")
    with pytest.raises(ConfigError, match="search does not apply to the align method"):
        translate_train(src, tgt_langs="pt", method="align", translator=object(), method_options={"search": "exact"})
    with pytest.raises(ConfigError, match="unknown failure policy"):
        translate_train(src, tgt_langs="pt", on_failure="skip")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    from projector.errors import FormatError

    with pytest.raises(FormatError, match="empty.jsonl: empty file"):
        translate_train(empty, tgt_langs="pt")
    with pytest.raises(FormatError, match="empty.jsonl: no examples found"):
        translate_train(empty, tgt_langs="pt", input_format="jsonl")


def _cli(*args: str, env: dict[str, str]) -> list[str]:
    exe = Path(sys.executable).with_name("projector")
    return [str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else ["-m", "projector.cli"]), *args]


def test_killed_run_resumes_to_the_same_output(tmp_path: Path, tiny_marian: Path, tiny_encoder: Path,
                                               projector_cache: Path) -> None:
    src = write_ner_conll(tmp_path / "train.conll", 60, seed=7)
    env = {**os.environ, "PROJECTOR_CACHE": str(projector_cache), "HF_HUB_OFFLINE": "1"}

    def args(out: Path) -> list[str]:
        return _cli("-q", "translate-train", str(src), "--tgt-lang", "pt", "--method", "align", "--model",
                    str(tiny_marian), "--encoder", str(tiny_encoder), "--aligner", "embedding", "--layer", "2",
                    "-o", str(out), "--output-format", "jsonl", "--shard-size", "3", "--batch-size", "3",
                    "--no-cache", env=env)

    subprocess.run(args(tmp_path / "whole"), env=env, check=True, capture_output=True, timeout=600)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(args(killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shards = killed / ".projector" / "pt" / "train"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(shards.glob("shard-*.jsonl"))) < 3 and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "report.json").exists(), "the run finished before it could be killed"
    done_before = len(list(shards.glob("shard-*.jsonl")))
    assert 3 <= done_before < 20
    rerun = subprocess.run(args(killed), env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    whole = (tmp_path / "whole" / "pt" / "train.jsonl").read_text()
    resumed = (killed / "pt" / "train.jsonl").read_text()
    assert resumed == whole
    ids = [json.loads(line)["id"] for line in resumed.splitlines()]
    assert len(ids) == len(set(ids))
    a = json.loads((tmp_path / "whole" / "report.json").read_text())["languages"]["pt"]
    b = json.loads((killed / "report.json").read_text())["languages"]["pt"]
    assert (a["examples_in"], a["examples_out"], a["spans"]) == (b["examples_in"], b["examples_out"], b["spans"]) == (
        60, a["examples_out"], a["spans"])
    # a rerun with another configuration refuses to mix runs
    other = subprocess.run(args(killed)[:-1] + ["--on-failure", "drop", "--no-cache"], env=env, capture_output=True,
                           text=True, timeout=600)
    assert other.returncode == 1 and "another configuration" in other.stderr


def test_events_survive_translate_train(tmp_path: Path, tiny_marian: Path, tiny_encoder: Path,
                                        projector_cache: Path) -> None:
    datasets = pytest.importorskip("datasets")
    from .test_formats import WIKIEVENTS

    src = tmp_path / "dev.jsonl"
    src.write_text(json.dumps(WIKIEVENTS) + "\n")
    result = translate_train(src, tgt_langs="pt", method="align", model=str(tiny_marian), output=tmp_path / "out",
                             method_options=_align_options(tiny_encoder))
    rep = result.report.languages["pt"]
    assert rep.examples_in == 1
    assert sum(rep.triggers.values()) == 1 and sum(rep.arguments.values()) == 2
    target = next(iter(result.corpora["pt"].splits.values()))
    out = list(target)
    assert len(out) == rep.examples_out
    for ex in out:
        for ev in ex.events:  # types, roles and trigger links survive; arguments point at entities
            assert ev.type == "Conflict.Attack"
            assert {a.role for a in ev.arguments} <= {"Attacker", "Place"}
            for a in ev.arguments:
                assert a.entity is None or (ex.spans[a.entity].start, ex.spans[a.entity].end) == (a.span.start, a.span.end)
    dd = datasets.load_dataset(str(tmp_path / "out" / "pt"))
    split = next(iter(dd))
    assert {"tokens", "entity_mentions", "event_mentions"} <= set(dd[split].column_names)
    # the event layout round-trips through the reader
    again = read(tmp_path / "out" / "pt")
    assert list(next(iter(again.splits.values()))) == out


def test_push_to_hub_without_token_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from projector.hub import push_languages

    monkeypatch.setenv("HF_TOKEN", "")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    with pytest.raises(ConfigError, match="no Hugging Face token"):
        push_languages("me/data", {"pt": tmp_path}, "hf")
    with pytest.raises(ConfigError, match="needs the hf output format"):
        push_languages("me/data", {"pt": tmp_path}, "conll")


@pytest.mark.parametrize("method,extra", [("codec", ["--search", "exact"]), ("codec", ["--search", "pruned"]),
                                          ("markers", []), ("align", ["--aligner", "embedding", "--layer", "2"])])
def test_cli_translate_train_every_method_ner_and_events(tmp_path: Path, tiny_marian: Path, tiny_encoder: Path,
                                                          projector_cache: Path, method: str, extra: list[str]) -> None:
    from click.testing import CliRunner

    from projector.cli import main

    from .test_formats import WIKIEVENTS

    ner = write_ner_conll(tmp_path / "train.conll", 4, seed=11)
    events = tmp_path / "dev.jsonl"
    events.write_text(json.dumps(WIKIEVENTS) + "\n")
    for src in (ner, events):
        out = tmp_path / f"out-{src.stem}"
        args = ["-q", "translate-train", str(src), "--tgt-lang", "pt", "--method", method, "--model", str(tiny_marian),
                "-o", str(out), "--json", *extra]
        if method == "align":
            args += ["--encoder", str(tiny_encoder)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout.strip().splitlines()[-1])
        rep = report["languages"]["pt"]
        n_in = len(read(src))
        assert rep["examples_in"] == n_in
        assert sum(rep["examples_by_status"].values()) == n_in
        source = read(src)
        assert sum(rep["spans"].values()) == sum(len(e.spans) for e in source.examples())
        assert sum(rep["triggers"].values()) == sum(len(e.events) for e in source.examples())
        assert f"method:{method}(" in report["signature"]
        assert (out / "pt" / "README.md").exists() and (out / "report.json").exists()


def test_several_target_languages_in_one_run(tmp_path: Path, tiny_nllb: Path, tiny_encoder: Path,
                                             projector_cache: Path) -> None:
    src = write_ner_conll(tmp_path / "train.conll", 5, seed=2)
    result = translate_train(src, tgt_langs="pt,de,zh-Hant", method="align", model=str(tiny_nllb),
                             output=tmp_path / "out", output_format="conll", method_options=_align_options(tiny_encoder))
    assert set(result.report.languages) == {"pt", "de", "zh-Hant"}
    for lang in ("pt", "de", "zh-Hant"):
        assert result.report.languages[lang].examples_in == 5
        assert (tmp_path / "out" / lang / "train.conll").exists()
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert "tgt:pt,de,zh-Hant" in report["signature"]
    from projector.errors import UnsupportedLanguageError

    with pytest.raises(UnsupportedLanguageError):
        translate_train(src, tgt_langs="sw", method="align", model=str(tiny_nllb),
                        method_options=_align_options(tiny_encoder))
