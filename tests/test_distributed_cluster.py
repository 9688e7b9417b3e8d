"""The Ray engine on a two-node Ray cluster on this machine: a head node and a second node started with
``ray start`` (1 CPU each, 127.0.0.1 only), a driver joining it with ``--ray-address``; both nodes run
actors and the output equals a local run's. Both nodes are stopped by the test (``ray stop``)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from projector.pipeline import DEMO_MODEL, translate_train
from tests.conftest import REPO
from tests.test_distributed import LANGS, SAMPLE, assert_same_run

pytestmark = pytest.mark.skipif(not (DEMO_MODEL / "model.bin").is_file(), reason="the demo model is not in this tree")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_two_node_cluster_runs_on_both_nodes_and_equals_local(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    if ray.is_initialized():  # a cluster joined by this process (another test module): leave it first
        ray.shutdown()
    ray_cli = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
    if ray_cli is None:
        pytest.skip("the ray command is not installed")
    port = _free_port()
    # Ray >= 2.5x authenticates every process of a cluster with a token: the same one for both nodes and
    # the driver (older versions ignore these variables)
    env = {**os.environ, "PROJECTOR_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1",
           "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    temp_dir = tempfile.mkdtemp(prefix="pjray-", dir="/tmp")  # short: Ray's socket paths have a length limit
    common = ["--num-cpus", "1", "--node-ip-address", "127.0.0.1", "--disable-usage-stats"]
    try:
        subprocess.run([ray_cli, "start", "--head", "--port", str(port), "--include-dashboard=false",
                        "--temp-dir", temp_dir, *common], env=env, check=True, capture_output=True,
                       timeout=180)
        subprocess.run([ray_cli, "start", "--address", f"127.0.0.1:{port}", *common], env=env, check=True,
                       capture_output=True, timeout=180)
        local = tmp_path / "local"
        translate_train(SAMPLE, tgt_langs=LANGS, method="markers", output=local, cache=False, shard_size=2,
                        batch_size=2)
        out = tmp_path / "ray"
        run = subprocess.run([sys.executable, "-m", "projector.cli", "-v", "translate-train", str(SAMPLE),
                              "--tgt-lang", ",".join(LANGS), "--method", "markers", "-o", str(out), "--shard-size", "2",
                              "--batch-size", "2", "--no-cache", "--engine", "ray", "--ray-address",
                              f"127.0.0.1:{port}", "--workers", "2"],
                             env=env, cwd=REPO, capture_output=True, text=True, timeout=400)
        assert run.returncode == 0, run.stderr[-3000:]
        assert "ray: 8 shards to project (2 languages) on 2 actors" in run.stderr
        assert "by actors on 2 node(s)" in run.stderr, run.stderr[-2000:]  # one actor per 1-CPU node
        assert_same_run(local, out, LANGS)
    finally:
        subprocess.run([ray_cli, "stop"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(temp_dir, ignore_errors=True)
