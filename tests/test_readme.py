"""README's Python example runs as written (on the embedded demo model)."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest

from projector.pipeline import DEMO_MODEL

REPO = Path(__file__).resolve().parents[1]


def _python_block(marker: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("```python\n" + marker) + len("```python\n")
    return text[start:text.index("```", start)]


@pytest.mark.slow
@pytest.mark.skipif(not (DEMO_MODEL / "model.bin").is_file(), reason="no embedded demo model")
def test_readme_projector_example_runs(tmp_path: Path, projector_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "examples").symlink_to(REPO / "examples")
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "example.py"
    script.write_text(_python_block("from projector import CodecOptions, Projector"), encoding="utf-8")
    scope = runpy.run_path(str(script))
    result, projected = scope["result"], scope["projected"]
    assert result.report.languages["pt"].examples_in == result.report.languages["pt"].examples_out > 0
    assert result.method_options.search == "beam" and os.path.isdir(tmp_path / "out" / "demo" / "pt")
    assert projected and all(r.target.text for r in projected)
