"""The CLI: thin layer over the API, one clear error line and exit 1, nothing written on failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from projector import __version__, read
from projector.cli import main


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_convert_example_to_hf_and_back(runner: CliRunner, repo: Path, tmp_path: Path) -> None:
    src = repo / "examples" / "en_sample.conll"
    result = runner.invoke(main, ["convert", str(src), str(tmp_path / "hf")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["convert", str(tmp_path / "hf"), str(tmp_path / "back.conll"), "--split", "train"])
    assert result.exit_code == 0, result.output
    a, b = read(src), read(tmp_path / "back.conll")
    assert [e.words for e in a.examples()] == [e.words for e in b.examples()]
    assert [e.spans for e in a.examples()] == [e.spans for e in b.examples()]


def test_convert_explicit_formats_and_schemes(runner: CliRunner, repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.data"
    result = runner.invoke(main, ["convert", str(repo / "examples" / "en_sample.conll"), str(out),
                                  "--to", "conll", "--out-scheme", "bioes"])
    assert result.exit_code == 0, result.output
    assert "Merkel E-PER" in out.read_text()


def test_stats_json(runner: CliRunner, repo: Path) -> None:
    result = runner.invoke(main, ["stats", str(repo / "examples" / "en_sample.conll"), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["examples"] == 8
    assert figures["spans_per_label"] == {"LOC": 12, "ORG": 4, "PER": 5}
    assert figures["errors"] == 0


@pytest.mark.parametrize("args,message", [
    (["stats", "{tmp}/missing.conll"], "missing.conll: no such file"),
    (["convert", "{tmp}/bad.conll", "{tmp}/out.jsonl"], "bad.conll:2: expected 2 columns"),
    (["convert", "{tmp}/good.conll", "{tmp}/out.xml"], "cannot tell the output format"),
    (["convert", "{tmp}/good.conll", "{tmp}/out.jsonl", "--from", "cnll"], "Did you mean 'conll'"),
    (["stats", "{tmp}/good.conll", "--scheme", "bieo"], "unknown tag scheme 'bieo'"),
])
def test_errors_are_one_line_exit_1_and_write_nothing(runner: CliRunner, tmp_path: Path, args: list[str],
                                                       message: str) -> None:
    (tmp_path / "bad.conll").write_text("a O\nb B-PER x\n")
    (tmp_path / "good.conll").write_text("a O\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = runner.invoke(main, [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_console_script_runs(repo: Path, tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("projector")
    if not exe.exists():
        pytest.skip("console script not installed (pip install -e .)")
    out = subprocess.run([str(exe), "stats", str(tmp_path / "nope.conll")], capture_output=True, text=True)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [f"error: {tmp_path / 'nope.conll'}: no such file or directory"]
