"""translate-train on Ray vs the local engine: examples/s, scaling with workers, identical outputs, and
the driver's peak memory at 1k vs 10k examples.

The same CoNLL-03 English sentences (``../shared/data/masakhaner/data/conll_2003_en/train.txt``, the
first ``--sentences``) are translated into Portuguese with the demo model and projected with markers and
with align (eflomal, seeded), by:

* the local engine (this process's CTranslate2, one thread: ``--intra-threads 1``);
* Ray with 1 and with 2 CPU workers (one thread each) on a local cluster of ``--cpus`` CPUs.

Every configuration runs in a fresh subprocess (no translation cache) that reports its own time and peak
resident memory (the driver's only: Ray's workers are other processes). The cluster start (``ray.init``)
is not timed: a cluster is normally up before a run; the actors' start (model loads) is.

    python benchmarks/ray_scale.py [--sentences 2000] [--memory-sizes 1000,10000] [--cpus 2] [--work DIR]

The last line is one JSON object: per method examples/s of ``local``, ``ray_1``, ``ray_2``,
``scaling_2_vs_1`` (ideal about 2 on two cores for CPU-bound work; target >= 1.6),
``ray_vs_local_1_worker`` (target >= 0.85), ``identical`` (every Ray output equals the local one: rows,
report counts and failure reasons); ``driver_peak_rss_mb`` at each memory size (Ray, 2 workers, markers)
and ``mem_ratio`` (largest / smallest; target <= 1.25), and ``loadavg`` (``os.getloadavg()`` before and
after: figures from a busy machine are not comparable).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONLL03 = REPO.parent / "shared" / "data" / "masakhaner" / "data" / "conll_2003_en" / "train.txt"

_CHILD = r"""
import json, resource, sys, time
args = json.loads(sys.argv[1])
engine = None
if args["engine"] == "ray":
    import ray
    ray.init(num_cpus=args["cpus"], include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    engine = {"engine": "ray", "workers": args["workers"]}
from projector.pipeline import translate_train
start = time.perf_counter()
result = translate_train(args["input"], tgt_langs="pt", method=args["method"], output=args["output"], cache=False,
                         mt_options={"intra_threads": 1}, shard_size=args["shard_size"], engine_options=engine)
elapsed = time.perf_counter() - start
rep = result.report.languages["pt"]
print(json.dumps({"seconds": elapsed, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "examples_in": rep.examples_in, "examples_out": rep.examples_out}))
"""


def write_subset(source: Path, n: int, path: Path) -> Path:
    """The first ``n`` sentences of a CoNLL file (blank-line separated, -DOCSTART- left out)."""
    out: list[str] = []
    sentence: list[str] = []
    count = 0
    with open(source, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line.strip():
                if sentence:
                    out.extend(sentence + [""])
                    sentence = []
                    count += 1
                    if count >= n:
                        break
                continue
            if not line.startswith("-DOCSTART-"):
                sentence.append(line)
    if sentence and count < n:
        out.extend(sentence + [""])
        count += 1
    if count < n:
        raise SystemExit(f"{source} has only {count} sentences (asked for {n})")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def run(args: dict, env: dict[str, str]) -> dict:
    res = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(args)], capture_output=True, text=True,
                         env=env, cwd=REPO)
    if res.returncode != 0:
        raise SystemExit(f"{args['engine']} {args.get('workers')} {args['method']} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def same_output(a: Path, b: Path) -> bool:
    """The rows of ``pt`` and the report counts (without timings and the signature) are equal."""
    sys.path.insert(0, str(REPO))
    from projector import read

    def report(out: Path) -> dict:
        d = json.loads((out / "report.json").read_text(encoding="utf-8"))
        d.pop("signature", None)
        for lang in d["languages"].values():
            lang.pop("translation_seconds", None)
            lang.pop("projection_seconds", None)
        return d

    return report(a) == report(b) and list(read(a / "pt").examples()) == list(read(b / "pt").examples())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sentences", type=int, default=2000, help="CoNLL-03 sentences of the speed runs")
    ap.add_argument("--methods", default="markers,align")
    ap.add_argument("--memory-sizes", default="1000,10000", help="examples of the driver memory runs ('' to skip)")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    ap.add_argument("--shard-size", type=int, default=100)
    ap.add_argument("--work", help="working folder (default: a temporary one)")
    ns = ap.parse_args()
    if not CONLL03.is_file():
        raise SystemExit(f"{CONLL03} is missing (../shared beside the project)")
    load_before = os.getloadavg()
    work = Path(ns.work or tempfile.mkdtemp(prefix="ray-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PROJECTOR_CACHE": str(work / "cache"), "HF_HUB_OFFLINE": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    data = write_subset(CONLL03, ns.sentences, work / f"conll03-{ns.sentences}.conll")
    figures: dict = {"sentences": ns.sentences, "cpus": ns.cpus, "methods": {}}
    totals = {"local": [0, 0.0], "ray_1": [0, 0.0], "ray_2": [0, 0.0]}
    identical = True
    for method in ns.methods.split(","):
        row: dict = {}
        outs: dict[str, Path] = {}
        for name, engine, workers in (("local", "local", 1), ("ray_1", "ray", 1), ("ray_2", "ray", 2)):
            out = work / f"{method}-{name}"
            r = run({"engine": engine, "workers": workers, "cpus": ns.cpus, "method": method, "input": str(data),
                     "output": str(out), "shard_size": ns.shard_size}, env)
            outs[name] = out
            row[name] = round(r["examples_in"] / r["seconds"], 2)
            row[f"{name}_peak_rss_mb"] = round(r["peak_rss_mb"], 1)
            totals[name][0] += r["examples_in"]
            totals[name][1] += r["seconds"]
            print(f"{method} {name}: {row[name]} examples/s ({r['seconds']:.1f} s)", file=sys.stderr, flush=True)
        row["identical"] = all(same_output(outs["local"], outs[n]) for n in ("ray_1", "ray_2"))
        identical = identical and row["identical"]
        row["scaling_2_vs_1"] = round(row["ray_2"] / row["ray_1"], 3)
        row["ray_vs_local_1_worker"] = round(row["ray_1"] / row["local"], 3)
        figures["methods"][method] = row
    eps = {k: n / s for k, (n, s) in totals.items()}
    figures["identical"] = identical
    figures["scaling_2_vs_1"] = round(eps["ray_2"] / eps["ray_1"], 3)
    figures["ray_vs_local_1_worker"] = round(eps["ray_1"] / eps["local"], 3)
    sizes = [int(s) for s in ns.memory_sizes.split(",") if s.strip()]
    if sizes:
        rss = {}
        for n in sizes:
            subset = write_subset(CONLL03, n, work / f"conll03-{n}.conll")
            r = run({"engine": "ray", "workers": 2, "cpus": ns.cpus, "method": "markers", "input": str(subset),
                     "output": str(work / f"memory-{n}"), "shard_size": ns.shard_size}, env)
            rss[str(n)] = round(r["peak_rss_mb"], 1)
            print(f"memory {n}: driver peak {rss[str(n)]} MB ({r['seconds']:.1f} s)", file=sys.stderr, flush=True)
        figures["driver_peak_rss_mb"] = rss
        figures["mem_ratio"] = round(rss[str(max(sizes))] / rss[str(min(sizes))], 3)
    figures["loadavg"] = {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
