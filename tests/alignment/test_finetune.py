"""Fine-tuning the aligner's encoder: parallel-text reading, batching, training, output, resuming, the CLI."""

from __future__ import annotations

import gzip
import json
import os
import stat
from pathlib import Path

import pytest

from alignment.finetuning import checkpoint_dir, token_batches
from alignment.parallel import ParallelTextError, parse_source, read_parallel

PAIRS = ["the house is big ||| das haus ist gross", "a cat ||| eine katze",
         "the dog and the cat ||| der hund und die katze", "red and blue ||| rot und blau",
         "the red house ||| das rote haus", "a blue cat ||| eine blaue katze"]


@pytest.mark.parametrize("lengths, budget, expected", [
    ([], 100, []),
    ([(3, 4)], 4, [[0]]),  # a pair alone may exceed the budget
    ([(2, 2), (2, 3), (5, 1)], 100, [[0, 1, 2]]),
    ([(2, 2), (2, 3), (5, 1)], 12, [[0, 1], [2]]),  # 2 * 3 * 2 = 12 fits; with the 5-piece pair 2 * 5 * 3 does not
    ([(5, 1), (2, 2), (2, 3)], 12, [[1, 2], [0]]),  # sorted by the longer side
    ([(4, 4)] * 3, 16, [[0, 1], [2]]),
])
def test_token_batches(lengths: list[tuple[int, int]], budget: int, expected: list[list[int]]) -> None:
    assert token_batches(lengths, budget) == expected


def _pipe(tmp_path: Path, lines: list[str], name: str = "p.txt") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_pipe_file_is_pretokenized(tmp_path: Path) -> None:
    pairs, summary = read_parallel([str(_pipe(tmp_path, PAIRS[:2]))])
    assert pairs == [(["the", "house", "is", "big"], ["das", "haus", "ist", "gross"]), (["a", "cat"], ["eine", "katze"])]
    assert summary[0]["pairs"] == 2 and summary[0]["used"] == 2 and summary[0]["pair"] == "?-?"


def test_two_files_are_tokenized_in_their_languages(tmp_path: Path) -> None:
    en, de = tmp_path / "news.en.gz", tmp_path / "news.de"
    with gzip.open(en, "wt", encoding="utf-8") as fh:
        fh.write("The house, it is big.\nHello!\n")
    de.write_text("Das Haus, es ist groß.\nHallo!\n", encoding="utf-8")
    pairs, summary = read_parallel([f"{en},{de}"])
    assert pairs[0] == (["The", "house", ",", "it", "is", "big", "."], ["Das", "Haus", ",", "es", "ist", "groß", "."])
    assert summary[0]["pair"] == "en-de"


def test_sample_is_seeded_and_keeps_reading_order(tmp_path: Path) -> None:
    src = str(_pipe(tmp_path, PAIRS))
    a, summary = read_parallel([src], max_pairs=3, seed=1)
    b, _ = read_parallel([src], max_pairs=3, seed=1)
    everything, _ = read_parallel([src])
    assert a == b and len(a) == 3 and summary[0]["used"] == 3 and summary[0]["pairs"] == 6
    positions = [everything.index(p) for p in a]
    assert positions == sorted(positions)


def test_hf_datasets_translation_column_and_two_columns(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    translation = datasets.Dataset.from_dict({"translation": [{"en": "a cat", "de": "eine Katze"}]},
                                             features=datasets.Features({"translation": datasets.Translation(["en", "de"])}))
    translation.save_to_disk(str(tmp_path / "tr"))
    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"id": [1], "src": ["red"], "tgt": ["rot"]})}).save_to_disk(
        str(tmp_path / "cols"))
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "train.jsonl").write_text('{"en": "the house", "de": "das Haus"}\n', encoding="utf-8")
    files, summary = read_parallel([f"hf:{tmp_path / 'files'}"])  # datasets.load_dataset on a folder of files
    assert files == [(["the", "house"], ["das", "Haus"])] and summary[0]["pair"] == "en-de"
    pairs, summary = read_parallel([f"hf:{tmp_path / 'tr'}"])
    assert pairs == [(["a", "cat"], ["eine", "Katze"])] and summary[0]["pair"] == "en-de"
    assert read_parallel([f"hf:{tmp_path / 'cols'}:train"])[0] == [(["red"], ["rot"])]
    with pytest.raises(ParallelTextError, match="no column nope"):
        read_parallel([f"hf:{tmp_path / 'cols'}"], columns=["src", "nope"])
    with pytest.raises(ParallelTextError, match="no split 'dev'"):
        read_parallel([f"hf:{tmp_path / 'cols'}:dev"])


@pytest.mark.parametrize("lines, message", [
    (["a cat ||| eine katze", "no separator here"], r"p\.txt:2: not 'source \|\|\| target'"),
    (["a cat ||| eine katze", " ||| eine katze"], r"p\.txt:2: empty source side"),
    (["a cat ||| eine katze", "", "red ||| rot"], r"p\.txt:2: not 'source"),
    (["a ||| b ||| c"], r"p\.txt:1: not 'source"),
    ([], r"no sentence pairs"),
])
def test_bad_pipe_files_are_clear_errors(tmp_path: Path, lines: list[str], message: str) -> None:
    path = tmp_path / "p.txt"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    with pytest.raises(ParallelTextError, match=message):
        read_parallel([str(path)])


def test_ragged_and_missing_files_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "a.en").write_text("one\ntwo\nthree\n")
    (tmp_path / "a.de").write_text("eins\nzwei\n")
    (tmp_path / "b.de").write_text("eins\n\ndrei\n")
    with pytest.raises(ParallelTextError, match=r"a\.en has 3 lines but .*a\.de has 2"):
        read_parallel([f"{tmp_path / 'a.en'},{tmp_path / 'a.de'}"])
    with pytest.raises(ParallelTextError, match=r"b\.de:2: empty target side"):
        read_parallel([f"{tmp_path / 'a.en'},{tmp_path / 'b.de'}"])
    with pytest.raises(ParallelTextError, match="no such file"):
        parse_source(f"{tmp_path / 'a.en'},{tmp_path / 'missing.de'}")
    with pytest.raises(ParallelTextError, match="no parallel text"):
        read_parallel([])


# -- training on a tiny random BERT --------------------------------------------------------------------------


def _train(tiny_bert: Path, tmp_path: Path, out: Path, **kw: object) -> Path:
    from alignment.finetuning import finetune

    opts = {"encoder": str(tiny_bert), "layer": 2, "steps": 6, "batch_tokens": 64, "learning_rate": 1e-3,
            "checkpoint_every": 2, "progress": False, **kw}
    return finetune([str(_pipe(tmp_path, PAIRS * 4))], out, **opts)  # type: ignore[arg-type]


def _weights(folder: Path) -> dict[str, object]:
    from safetensors.torch import load_file

    return dict(load_file(str(folder / "model.safetensors")))


def test_finetuning_lowers_the_loss_and_writes_a_folder_the_aligner_loads(tiny_bert: Path, tmp_path: Path) -> None:
    from alignment import get_aligner
    from alignment.finetuning import self_training_loss

    pairs = [(p.split("|||")[0].split(), p.split("|||")[1].split()) for p in PAIRS]
    out = _train(tiny_bert, tmp_path, tmp_path / "out", steps=12, threshold=0.05)
    assert self_training_loss(str(out), pairs, layer=2, threshold=0.05) < self_training_loss(
        str(tiny_bert), pairs, layer=2, threshold=0.05)
    card = json.loads((out / "finetune.json").read_text())
    assert card["steps"] == 12 and card["data"]["pairs_used"] == 24 and card["pairs_per_s"] > 0
    assert card["signature"].startswith("finetune(encoder=") and "steps=12" in card["signature"]
    assert "12 steps on 24 sentence pairs" in (out / "README.md").read_text()
    mode = stat.S_IMODE(os.stat(out).st_mode)
    assert mode == 0o777 & ~_umask(), oct(mode)
    assert not checkpoint_dir(out).exists()  # removed once the output is written
    before, after = _weights(tiny_bert), _weights(out)
    changed = {k for k in before if not before[k].equal(after[k])}  # type: ignore[attr-defined]
    assert any(".layer.0." in k for k in changed) and any(".layer.1." in k for k in changed)
    assert not any(".layer.2." in k or ".layer.3." in k or "word_embeddings" in k for k in changed)
    aligner = get_aligner("embedding", model=str(out), layer=2)
    assert aligner.align([["the", "cat"]], [["die", "katze"]])[0].links


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_killed_run_resumes_with_the_same_result(tiny_bert: Path, tmp_path: Path) -> None:
    from projector.errors import OutputError

    whole = _weights(_train(tiny_bert, tmp_path, tmp_path / "whole"))

    def kill(step: int, loss: float) -> None:
        if step == 5:
            raise KeyboardInterrupt

    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        _train(tiny_bert, tmp_path, out, on_step=kill)
    assert (checkpoint_dir(out) / "state.pt").is_file() and not out.exists()
    with pytest.raises(OutputError, match="other options or data"):
        _train(tiny_bert, tmp_path, out, learning_rate=5e-4)
    resumed = _weights(_train(tiny_bert, tmp_path, out))
    assert all(whole[k].equal(resumed[k]) for k in whole)  # type: ignore[attr-defined]
    assert json.loads((out / "finetune.json").read_text())["steps"] == 6
    assert _train(tiny_bert, tmp_path, out) == out  # the same run again: already done
    with pytest.raises(OutputError, match="not this run's output"):
        _train(tiny_bert, tmp_path, out, steps=4)


def test_tlm_adds_a_head_and_trains(tiny_bert: Path, tmp_path: Path) -> None:
    out = _train(tiny_bert, tmp_path, tmp_path / "tlm", steps=3, tlm=True, mask_prob=0.5)
    card = json.loads((out / "finetune.json").read_text())
    assert card["options"]["tlm"] is True and card["steps"] == 3
    assert "and TLM" in (out / "README.md").read_text()
    assert set(_weights(out)) == set(_weights(tiny_bert))  # a plain encoder folder (no LM head)


def test_options_are_checked() -> None:
    from alignment.finetuning import FinetuneOptions
    from projector.errors import ConfigError

    with pytest.raises(ConfigError, match="steps"):
        FinetuneOptions(steps=0)
    with pytest.raises(ConfigError, match="precision"):
        FinetuneOptions(precision="half")
    assert "threads" not in FinetuneOptions().key() and "steps" in FinetuneOptions().key()


def test_cli_finetune_aligner(tiny_bert: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from projector.cli import main

    src = _pipe(tmp_path, PAIRS)
    out = tmp_path / "cli-out"
    args = ["finetune-aligner", str(src), "--encoder", str(tiny_bert), "--layer", "2", "--steps", "2",
            "--batch-tokens", "64", "-o", str(out), "--no-progress"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "2 steps on 6 pairs" in result.output and (out / "config.json").is_file()
    bad = _pipe(tmp_path, ["a ||| b", "broken"], "bad.txt")
    result = CliRunner().invoke(main, ["finetune-aligner", str(bad), "--encoder", str(tiny_bert), "-o", str(tmp_path / "x")])
    assert result.exit_code == 1 and "bad.txt:2: not 'source ||| target'" in result.output
    result = CliRunner().invoke(main, ["finetune-aligner", str(src), "--steps", "0", "-o", str(tmp_path / "y")])
    assert result.exit_code == 1 and "[flag: --steps]" in result.output


def test_kill_9_mid_run_then_the_same_command_finishes_it(tiny_bert: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    src = _pipe(tmp_path, PAIRS * 4)
    out = tmp_path / "killed"
    flags = ["--encoder", str(tiny_bert), "--layer", "2", "--steps", "60", "--batch-tokens", "64",
             "--learning-rate", "1e-3", "--checkpoint-every", "1", "--no-progress"]
    cmd = [sys.executable, "-m", "projector.cli", "finetune-aligner", str(src), "-o", str(out), *flags]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = checkpoint_dir(out) / "state.pt"
    deadline = time.monotonic() + 120
    while not state.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert state.exists() and not out.exists(), "the run ended before it could be killed"
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    whole = _weights(_train(tiny_bert, tmp_path, tmp_path / "whole", steps=60, checkpoint_every=1))
    resumed = _weights(out)
    assert all(whole[k].equal(resumed[k]) for k in whole)  # type: ignore[attr-defined]


def test_a_taken_output_is_refused_before_any_model_is_loaded(tmp_path: Path) -> None:
    from alignment.finetuning import finetune
    from projector.errors import OutputError

    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not this run's output"):  # not a ModelError for the missing encoder
        finetune([str(_pipe(tmp_path, PAIRS))], out, encoder=str(tmp_path / "no-such-encoder"), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.txt", "taken"]  # nothing written


def test_the_callers_random_state_is_left_alone(tiny_bert: Path, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _train(tiny_bert, tmp_path, tmp_path / "rng", steps=2)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(("s2t", "t2s", "expected"), [
    ([[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]], -1.0),  # both directions agree one-to-one
    ([[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]], 0.0),  # they disagree everywhere
    ([[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.5], [0.5, 0.5]], -0.5),  # undecided
    ([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], -1.0),  # two target pieces, one source
])
def test_consistency_loss(s2t: list[list[float]], t2s: list[list[float]], expected: float) -> None:
    import torch

    from alignment.finetuning import _co_loss

    a, b = torch.tensor([s2t]), torch.tensor([t2s])
    valid = torch.ones_like(a, dtype=torch.bool)
    loss = _co_loss(a, b, valid, torch.tensor([a.shape[1]]), torch.tensor([a.shape[2]]))
    assert float(loss) == pytest.approx(expected)


def test_the_consistency_objective_trains_and_is_part_of_the_run(tiny_bert: Path, tmp_path: Path) -> None:
    plain = _weights(_train(tiny_bert, tmp_path, tmp_path / "so", steps=3))
    out = _train(tiny_bert, tmp_path, tmp_path / "co", steps=3, co=True)
    card = json.loads((out / "finetune.json").read_text())
    assert card["options"]["co"] is True and "co=True" in card["signature"]
    assert "self-training and consistency objectives" in (out / "README.md").read_text()
    trained = _weights(out)
    assert any(not plain[k].equal(trained[k]) for k in plain)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("src_covers", "tgt_covers", "links", "expected"), [
    ([(0,), (1,)], [(0,), (1,)], [(0, 0), (1, 1)], [0, 3]),  # one piece per word
    ([(0,), (0,), (1,)], [(0,), (1,)], [(0, 1)], [1, 3]),  # a word of two pieces: both linked
    ([(0,), (1,)], [(0, 1)], [(0, 0), (1, 1)], [0, 1]),  # a piece covering two target words (unspaced)
    ([(0,), (1,)], [(0,), (1,)], [], []),  # gold says: nothing aligned
    ([(0,)], [(0,)], [(3, 0)], []),  # a word without pieces
])
def test_gold_targets(src_covers: list[tuple[int, ...]], tgt_covers: list[tuple[int, ...]],
                      links: list[tuple[int, int]], expected: list[int]) -> None:
    from alignment.finetuning import gold_targets

    assert gold_targets(src_covers, tgt_covers, links) == expected


def _gold_file(tmp_path: Path, rows: list[object], folder: str = "en-de") -> Path:
    path = tmp_path / folder / "gold.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_a_gold_file_gives_words_links_and_languages(tmp_path: Path) -> None:
    rows = [{"src_words": ["the", "red cat"], "tgt_words": ["die", "rote", "katze"], "alignment": [[0, 0], [1, 2]],
             "possible": [[1, 1], [-1, 0]]}, {"src_words": ["a"], "tgt_words": ["ein"], "alignment": []}]
    path = _gold_file(tmp_path, rows)
    assert parse_source(str(path)).kind == "gold" and parse_source(str(path)).langs == ("en", "de")
    assert parse_source(str(_gold_file(tmp_path, rows, "misc"))).langs == (None, None)
    pairs, summary = read_parallel([str(path)], links=True)
    assert pairs == [(["the", "red cat"], ["die", "rote", "katze"], ((0, 0), (1, 1), (1, 2))),  # a word keeps its space
                     (["a"], ["ein"], ())]
    assert summary == [{"spec": str(path), "pair": "en-de", "pairs": 2, "used": 2, "gold": True}]
    mixed, _ = read_parallel([str(path), str(_pipe(tmp_path, PAIRS[:1]))], links=True)
    assert mixed[2] == (["the", "house", "is", "big"], ["das", "haus", "ist", "gross"], None)
    assert read_parallel([str(path)])[0][1] == (["a"], ["ein"])  # without links=True: plain pairs


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "gold.jsonl:2: not JSON"),
    ('{"src_words": ["a"], "alignment": []}', "gold.jsonl:2: no 'tgt_words' field"),
    ('{"src_words": ["a"], "tgt_words": ["b"], "alignment": [[0, 1]]}', r"gold.jsonl:2: link 0-1 is outside the pair"),
    ('{"src_words": ["a"], "tgt_words": ["b"], "alignment": [["x", 0]]}', "gold.jsonl:2: alignment must be"),
    ('{"src_words": ["a", " "], "tgt_words": ["b"], "alignment": []}', "gold.jsonl:2: an empty word"),
    ('{"src_words": [], "tgt_words": ["b"], "alignment": []}', "gold.jsonl:2: empty source side"),
])
def test_bad_gold_lines_are_clear_errors(tmp_path: Path, line: str, message: str) -> None:
    good = {"src_words": ["a"], "tgt_words": ["b"], "alignment": [[0, 0]]}
    with pytest.raises(ParallelTextError, match=message):
        read_parallel([str(_gold_file(tmp_path, [good, line]))], links=True)


def test_gold_links_supervise_the_objective(tiny_bert: Path, tmp_path: Path) -> None:
    """awesome-align's supervised setting: trained on gold links that cross (the first source word to the
    last target word...), the encoder gives those links more probability than self-training does."""
    from alignment.finetuning import finetune, self_training_loss

    words = [p.split("|||") for p in PAIRS]
    gold = [(s.split(), t.split(), [(i, len(t.split()) - 1 - i) for i in range(min(len(s.split()), len(t.split())))])
            for s, t in words]
    path = _gold_file(tmp_path, [{"src_words": s, "tgt_words": t, "alignment": a} for s, t, a in gold])
    opts = {"encoder": str(tiny_bert), "layer": 2, "steps": 20, "batch_tokens": 64, "learning_rate": 2e-2,
            "threshold": 0.05, "progress": False}
    sup = finetune([str(path)], tmp_path / "sup", **opts)  # type: ignore[arg-type]
    plain = finetune([str(_pipe(tmp_path, PAIRS))], tmp_path / "plain", **opts)  # type: ignore[arg-type]
    def gold_loss(encoder: Path) -> float:  # minus the gold links' probability mass
        return self_training_loss(str(encoder), gold, layer=2)
    assert gold_loss(sup) < min(gold_loss(plain), gold_loss(tiny_bert)) - 0.05
    card = json.loads((sup / "finetune.json").read_text())
    assert card["data"]["pairs_with_gold_links"] == len(PAIRS)
    assert f"supervised by the gold links of {len(PAIRS)} pairs" in (sup / "README.md").read_text()
    assert json.loads((plain / "finetune.json").read_text())["run_key"] != card["run_key"]
