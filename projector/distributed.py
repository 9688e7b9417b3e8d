"""The Ray engine: translate-train and translate-test on Ray Data actor pools (``engine="ray"``).

What runs where:

* The driver (the process that called :func:`projector.translate_train`) reads the input, decides which
  shards are still to do (the same :class:`~projector.checkpoint.ShardStore` as a local run) and writes
  every finished shard, its per-example records and at the end the datasets, report and card. It never
  loads a model.
* The input becomes a Ray Dataset through a datasource with one read task per pending shard of every
  target language (:class:`ShardSource`): Ray's streaming executor submits read tasks as the actors
  pull, so the input enters the cluster shard by shard and results stream back to the driver, which
  writes each and lets it go (nothing is materialised on the driver).
* ``map_batches`` runs :class:`ShardWorker` actors in one pool (``ActorPoolStrategy``, ``workers``
  actors; ``num_gpus`` = ``gpus_per_worker``). Each actor is shipped a :class:`WorkerSpec` (plain,
  picklable options: :class:`~projector.options.MTOptions`, the method's options class, languages,
  failure policy, batch size) and builds a :class:`~projector.api.Projector`, its MT models and methods
  from it once, in its constructor. Every target language is a stage of the same job: one pool serves
  all of them, so twenty languages share one cluster (and a multilingual model is loaded once per actor,
  not once per language).
* An actor projects a whole shard with the same code and the same batches as a local run
  (``pipeline._project_shard``): the rows, report counts and failure reasons equal a local run's.

Faults: actors are restarted and their tasks retried by Ray (Ray Data's actor pools default to
``max_restarts=-1``, ``max_task_retries=-1``);
a shard is written once, atomically, when its result reaches the driver, so a retried shard is neither
lost nor duplicated. A driver killed (even ``kill -9``) and started again with the same command skips the
shards already written, exactly as a local run does.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .options import EngineOptions, MTOptions, Options, merge_options

__all__ = ["WorkerSpec", "ShardWorker", "ShardSource", "MethodInfo", "engine_options", "worker_spec", "connect",
           "describe_languages", "run_shards", "TestRun", "TEST_CHUNK", "FAULT_ENV"]

logger = logging.getLogger("projector")

#: fault injection for tests: an actor whose environment names a file that does not exist yet creates it
#: and exits (``os._exit``) in the middle of its next shard, once; Ray restarts it and retries the shard
FAULT_ENV = "PROJECTOR_RAY_FAULT_ONCE"


def engine_options(options: EngineOptions | Mapping[str, Any] | None = None, **fields: Any) -> EngineOptions:
    """An :class:`EngineOptions` from an object or dict and the ``engine=`` / ``ray_address=`` shortcuts."""
    return merge_options(EngineOptions, options, {k: v for k, v in fields.items() if v is not None})


@dataclass(frozen=True)
class WorkerSpec:
    """Everything an actor is shipped: options as data, never a loaded model."""

    mt: MTOptions
    method: str
    method_options: Options | None
    src_lang: str
    langs: tuple[str, ...]
    on_failure: str = "keep-partial"
    batch_size: int = 32
    #: the translation cache: True (the worker's default file), False, or a path
    cache: bool | str = True
    #: ``PROJECTOR_*`` variables of the driver (the cache root...), set on the workers
    env: tuple[tuple[str, str], ...] = ()
    #: translate-test: the actor translates (``translate``) or projects back onto templates (``project``)
    task: str = "translate-train"
    #: translate-test, ``project``: give the method the MT model even when it needs none (as a local run
    #: does after translating: the method's signature names it)
    with_mt: bool = False


def worker_spec(projector: Any, method: Any, method_options: Options | None, src_lang: str, langs: Sequence[str],
                **more: Any) -> WorkerSpec:
    """The spec of a run, or a :class:`ConfigError` when it holds live objects that cannot be shipped."""
    if getattr(projector, "fixed_translator", None) is not None or not isinstance(method, str):
        raise ConfigError("engine=ray ships options to its workers, not loaded objects: give the model (model=, "
                          "mt_options=) and the method by name instead of translator= or a method object")
    cache = projector.cache
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("PROJECTOR_")))
    return WorkerSpec(mt=projector.mt, method=method, method_options=method_options, src_lang=src_lang,
                      langs=tuple(langs), cache=str(cache) if isinstance(cache, Path) else cache, env=env, **more)


def connect(engine: EngineOptions) -> Any:
    """The ``ray`` module, connected to ``engine.ray_address`` (``None``: a cluster already joined by this
    process, else a new local one; ``auto``; ``HOST:PORT``; ``ray://HOST:PORT``)."""
    from ._optional import require

    ray = require("ray", extra="ray", purpose="engine=ray (--engine ray)", package="ray[data]")
    require("ray.data", extra="ray", purpose="engine=ray (--engine ray)", package="ray[data]")
    if not ray.is_initialized():
        ray.init(address=engine.ray_address, include_dashboard=False, logging_level=logging.WARNING,
                 log_to_driver=os.environ.get("PROJECTOR_RAY_LOG_TO_DRIVER") == "1",
                 configure_logging=False)
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    data_logger = logging.getLogger("ray.data")
    if not logger.isEnabledFor(logging.INFO):  # Ray Data's progress log lines only with --verbose
        data_logger.setLevel(logging.WARNING)
    if not any(isinstance(f, _QuietProgress) for f in data_logger.filters):
        data_logger.addFilter(_QuietProgress())
    return ray


class _QuietProgress(logging.Filter):
    """Drops Ray Data's notice that its progress bars are off (projector shows its own progress)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Progress bars disabled" not in record.getMessage()


def _actor_resources(spec: WorkerSpec, engine: EngineOptions) -> dict[str, Any]:
    cpus = float(max(1, spec.mt.intra_threads or 1)) if engine.gpus_per_worker == 0 else 1.0
    # restarts and retries: Ray Data's defaults for actor pools (max_restarts=-1, max_task_retries=-1)
    args: dict[str, Any] = {"num_cpus": cpus, "runtime_env": {"env_vars": dict(spec.env)} if spec.env else None}
    if engine.gpus_per_worker > 0:
        args["num_gpus"] = engine.gpus_per_worker
    return {k: v for k, v in args.items() if v is not None}


def _maybe_fault() -> None:
    marker = os.environ.get(FAULT_ENV)
    if marker and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
        logger.warning("fault injection (%s): actor %d exits", FAULT_ENV, os.getpid())
        os._exit(1)


class ShardWorker:
    """A Ray Data actor: builds its Projector (MT, encoder, method) once from a :class:`WorkerSpec` and
    projects whole shards (translate-train), translates chunks or projects chunks back (translate-test)."""

    #: the spec of an actor class made for one run (:func:`_results`), when the constructor gets none
    run_spec: WorkerSpec | None = None

    def __init__(self, spec: WorkerSpec | None = None) -> None:
        spec = spec or self.run_spec
        assert spec is not None, "ShardWorker needs a WorkerSpec"
        for key, value in spec.env:
            os.environ.setdefault(key, value)
        from .api import Projector

        mt = spec.mt
        if mt.intra_threads == 0 and mt.device != "cuda":  # one CTranslate2 thread per CPU the actor holds
            mt = mt.replace(intra_threads=1)
        self.spec = spec
        self.projector = Projector(mt=mt, cache=spec.cache)
        self.node = _node_id()
        for lang in spec.langs:  # load every model and method now, not on the first shard
            self._method(lang)

    def _pair(self, lang: str) -> tuple[str, str]:
        if self.spec.task == "translate":  # translate-test, step 1: target language -> pivot
            return lang, self.spec.src_lang
        return self.spec.src_lang, lang

    def _method(self, lang: str) -> tuple[Any, Any]:
        from .translate_test import method_needs_mt

        src, tgt = self._pair(lang)
        needs_mt = self.spec.task != "project" or self.spec.with_mt or method_needs_mt(self.spec.method)
        tr = self.projector.translator(src, tgt) if needs_mt else None
        if self.spec.task == "translate":
            return tr, None
        return tr, self.projector.method(self.spec.method, self.spec.method_options, translator=tr)

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list[Any]]:
        from .pipeline import _project_shard
        from .projection import project_examples

        out: dict[str, list[Any]] = {"key": [], "result": [], "node": []}
        for key, lang, payload in zip(batch["key"], batch["lang"], batch["payload"]):
            lang = str(lang)
            work = pickle.loads(payload)
            tr, meth = self._method(lang)
            _maybe_fault()
            if self.spec.task == "translate":
                results = tr.translate([ex.text for ex in work], lang, self.spec.src_lang)
                result: Any = [(r.text, r.status) for r in results]
            elif self.spec.task == "project":
                result = list(project_examples([p for p, _ in work], meth, self.spec.src_lang, lang,
                                               templates=[t for _, t in work]))
            else:
                split, shard = work
                records: list[dict[str, Any]] = []
                result = _project_shard(shard, meth, tr, self.spec.src_lang, lang, self.spec.on_failure, split,
                                        self.spec.batch_size, records) + (records,)
            out["key"].append(str(key))
            out["result"].append(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
            out["node"].append(self.node)
        return out


def _node_id() -> str:
    try:
        import ray

        return str(ray.get_runtime_context().get_node_id())
    except Exception:  # noqa: BLE001 - outside Ray (unit tests of the actor class)
        return "local"


try:  # the datasource subclasses Ray's; without ray installed the module still imports (engine=local)
    from ray.data import Datasource as _Datasource
except ImportError:  # pragma: no cover - ray is an extra
    _Datasource = object  # type: ignore[assignment,misc]


class ShardSource(_Datasource):  # type: ignore[misc,valid-type]
    """A Ray datasource with one read task per unit of work (``(key, lang, object)``): the object is
    pickled into its read task, which Ray submits when the pipeline pulls, so the input is streamed
    into the cluster unit by unit."""

    def __init__(self, units: Sequence[tuple[str, str, Any]]) -> None:
        self.units = units

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context: Any = None) -> list[Any]:
        from ray.data import ReadTask
        from ray.data.block import BlockMetadata

        def task(unit: tuple[str, str, Any]) -> Any:
            key, lang, obj = unit

            def read() -> Iterable[Any]:
                import pyarrow as pa

                yield pa.table({"key": [key], "lang": [lang], "payload": [pickle.dumps(obj, protocol=5)]})
            return ReadTask(read, BlockMetadata(num_rows=1, size_bytes=None, exec_stats=None, input_files=None))
        return [task(u) for u in self.units]


def _results(ray: Any, units: Sequence[tuple[str, str, Any]], spec: WorkerSpec,
             engine: EngineOptions) -> Iterable[tuple[str, Any, str]]:
    """Stream ``(key, result, node)`` of every unit through the actor pool, as they finish."""
    import ray.data

    ds = ray.data.read_datasource(ShardSource(units), override_num_blocks=len(units), num_cpus=0)
    # the spec travels inside the actor class (pickled with it), not as constructor arguments in the object
    # store, which a restarted actor could find gone
    worker = type("ShardWorker", (ShardWorker,), {"run_spec": spec})
    ds = ds.map_batches(worker, batch_size=1, batch_format="numpy",
                        compute=ray.data.ActorPoolStrategy(size=max(1, min(engine.workers, len(units)))), **_actor_resources(spec, engine))
    for batch in ds.iter_batches(batch_size=1, batch_format="numpy", prefetch_batches=0):
        for key, payload, node in zip(batch["key"], batch["result"], batch["node"]):
            yield str(key), pickle.loads(payload), str(node)


class MethodInfo:
    """What the driver knows of a method that runs on the workers (name, options, signature)."""

    def __init__(self, name: str, options: Options | None, signature: str) -> None:
        self.name, self.options, self._signature = name, options, signature

    def signature(self) -> str:
        return self._signature


def _probe(spec: WorkerSpec, task: str, extra: Mapping[str, Any] | None,
           engine: EngineOptions) -> dict[str, dict[str, Any]]:
    """On a worker: load each language's MT and method as the actors will and return what the driver's
    run key, signature and card need (with what ``auto`` resolved to on the workers' hardware)."""
    import dataclasses

    from .pipeline import mt_options_of, run_key

    worker = ShardWorker(dataclasses.replace(spec, langs=()))
    out: dict[str, dict[str, Any]] = {}
    for lang in spec.langs:
        tr, meth = worker._method(lang)
        src, tgt = worker._pair(lang)
        info: dict[str, Any] = {"used": mt_options_of(tr, spec.mt) if tr is not None else None}
        if meth is not None:
            info["method"] = MethodInfo(meth.name, getattr(meth, "options", None), meth.signature())
        if extra is not None:
            info["config"] = run_key(task, src, tgt, meth, tr, spec.mt, engine, **extra)
        out[lang] = info
    return out


def describe_languages(engine: EngineOptions, spec: WorkerSpec, task: str,
                       extra: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Per language of ``spec``: ``used`` (the MT options, resolved), ``method`` (a :class:`MethodInfo`) and,
    with ``extra``, ``config`` (the run key), computed in one Ray task with the actors' resources, so that
    the driver loads no model and ``auto`` resolves on the workers' hardware."""
    ray = connect(engine)
    res = _actor_resources(spec, engine)
    remote = ray.remote(num_cpus=res["num_cpus"], num_gpus=res.get("num_gpus", 0), max_retries=3,
                        runtime_env=res.get("runtime_env"))(_probe)
    return ray.get(remote.remote(spec, task, None if extra is None else dict(extra), engine))


def run_shards(engine: EngineOptions, spec: WorkerSpec, corpus: Any, configs: Mapping[str, dict[str, Any]],
               out_root: Path | None, shard_size: int, overwrite: bool,
               progress: Callable[[str, int], None] | None = None) -> dict[str, tuple[Any, dict[str, Any]]]:
    """translate-train on Ray: every pending shard of every language through one actor pool; each finished
    shard written by the language's ShardStore (records first) as it reaches the driver. Returns
    ``{lang: (LanguageReport, splits)}`` as ``pipeline._run_language`` does."""
    from .checkpoint import ShardedExamples, ShardStore
    from .records import translate_train_files, write_records
    from .report import LanguageReport

    ray = connect(engine)
    stores = {lang: ShardStore(out_root / ".projector" / lang, configs[lang], overwrite=overwrite)
              for lang in configs} if out_root is not None else {}
    splits = [(split, list(examples)) for split, examples in corpus.splits.items()]
    n_shards = [max(1, -(-len(ex) // shard_size)) for _, ex in splits]
    units: list[tuple[str, str, Any]] = []
    for lang in configs:
        for split_no, (split, examples) in enumerate(splits):
            for k in range(n_shards[split_no]):
                if lang in stores and stores[lang].done(split, k):
                    continue
                units.append((f"{lang}\t{split_no}\t{k}", lang, (split, examples[k * shard_size:(k + 1) * shard_size])))
    done = {lang: 0 for lang in configs}
    for lang in stores:
        for split_no, (split, examples) in enumerate(splits):
            done[lang] += sum(len(examples[k * shard_size:(k + 1) * shard_size])
                              for k in range(n_shards[split_no]) if stores[lang].done(split, k))
    if progress is not None:
        for lang in configs:
            progress(lang, done[lang])
    in_memory: dict[tuple[str, int, int], tuple[Any, list[Any]]] = {}
    nodes: set[str] = set()
    if units:
        logger.info("ray: %d shards to project (%d languages) on %d actors", len(units), len(configs), engine.workers)
        for key, (shard_report, kept, records), node in _results(ray, units, spec, engine):
            lang, split_no_s, k_s = key.split("\t")
            split_no, k = int(split_no_s), int(k_s)
            nodes.add(node)
            if lang in stores and out_root is not None:
                write_records(translate_train_files(out_root).records(lang), split_no, k, records)
                stores[lang].save(splits[split_no][0], k, kept, shard_report)
            else:
                in_memory[(lang, split_no, k)] = (shard_report, kept)
            done[lang] += shard_report.examples_in
            if progress is not None:
                progress(lang, done[lang])
        logger.info("ray: shards projected by actors on %d node(s): %s", len(nodes), ", ".join(sorted(nodes)))
    out: dict[str, tuple[Any, dict[str, Any]]] = {}
    for lang in configs:
        lang_report = LanguageReport(lang)
        lang_splits: dict[str, Any] = {}
        for split_no, (split, _) in enumerate(splits):
            kept_total, kept_list = 0, []
            for k in range(n_shards[split_no]):  # merged in input order, as a local run merges them
                if lang in stores:
                    shard_report = stores[lang].load_report(split, k)
                else:
                    shard_report, kept = in_memory.pop((lang, split_no, k))
                    kept_list.extend(kept)
                kept_total += shard_report.examples_out
                lang_report.merge(shard_report)
            lang_splits[split] = (ShardedExamples(stores[lang], split, n_shards[split_no], kept_total)
                                  if lang in stores else kept_list)
        out[lang] = (lang_report, lang_splits)
    run_shards.last_nodes = nodes  # type: ignore[attr-defined]
    return out


#: examples per unit of work of translate-test (a multiple of its projection batch, 64: the same batches
#: as a local run)
TEST_CHUNK = 256


class TestRun:
    """translate-test on Ray: the pivot translation and the projection back run on actor pools, in
    chunks of :data:`TEST_CHUNK` examples; the predictor runs where ``translate_test`` is called."""

    def __init__(self, engine: EngineOptions, projector: Any, method: Any, method_options: Options | None,
                 tgt_lang: str, pivot_lang: str, with_mt: bool = True) -> None:
        import dataclasses

        self.engine = engine
        self.ray = connect(engine)
        base = worker_spec(projector, method, method_options, pivot_lang, [tgt_lang])
        self.translate_spec = dataclasses.replace(base, task="translate")
        self.project_spec = dataclasses.replace(base, task="project", with_mt=with_mt)
        self.tgt_lang, self.pivot_lang = tgt_lang, pivot_lang

    def _run(self, spec: WorkerSpec, items: Sequence[Any]) -> list[Any]:
        starts = range(0, len(items), TEST_CHUNK)
        units = [(str(i), self.tgt_lang, items[i:i + TEST_CHUNK]) for i in starts]
        found = {int(key): result for key, result, _ in _results(self.ray, units, spec, self.engine)}
        return [item for i in starts for item in found[i]]

    def pivot(self, originals: Sequence[Any]) -> tuple[list[Any], Any]:
        """The pivot-language examples of ``originals`` and the translation statuses (as a local run's)."""
        from collections import Counter

        from .data import Example

        results = self._run(self.translate_spec, list(originals))
        pivot = [Example(id=ex.id, text=text, lang=self.pivot_lang, meta={"translation_status": status})
                 for ex, (text, status) in zip(originals, results)]
        return pivot, Counter(status for _, status in results)

    def project(self, pivot: Sequence[Any], originals: Sequence[Any]) -> list[Any]:
        """The projections of the labeled ``pivot`` examples back onto the ``originals``' texts."""
        return self._run(self.project_spec, [(p, o.text) for p, o in zip(pivot, originals)])

    def describe(self) -> tuple[MTOptions | None, MethodInfo]:
        """(the MT options used, resolved on a worker; the method) for the signature and the report."""
        info = describe_languages(self.engine, self.project_spec, "translate-test")[self.tgt_lang]
        return info["used"], info["method"]
