"""Find a model (CTranslate2 folder, local Hugging Face folder or Hub id) and convert Hugging Face
models to CTranslate2 once, into a cache shared by processes.

Cache layout: ``$PROJECTOR_CACHE/ct2/<model>-<revision>-<quantization>`` (default root
``~/.cache/projector``). A conversion holds a file lock (``filelock`` when installed, else
``fcntl``), converts into a temporary folder beside the target and renames it into place, so a
reader never sees a half-written model and two processes never convert the same model at once.
The model's tokenizer files are copied next to the converted weights, with ``projector_mt.json``
(family, source model, revision, limits).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from projector._optional import require
from projector.cache import cache_root
from projector.errors import ModelError

logger = logging.getLogger("projector.mt")

__all__ = ["ResolvedModel", "resolve_model", "is_ct2_folder", "is_hf_folder", "cache_root", "ensure_ct2",
           "read_hf_metadata", "marian_start_as_trained", "folder_fingerprint", "METADATA_FILE", "TOKENIZER_FILES"]

METADATA_FILE = "projector_mt.json"
TOKENIZER_FILES = (
    "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json", "added_tokens.json",
    "sentencepiece.bpe.model", "spiece.model", "source.spm", "target.spm", "vocab.json",
    "target_vocab.json", "generation_config.json",
)
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")


@dataclass(frozen=True)
class ResolvedModel:
    """A model located on disk: ``kind`` is "ct2" or "hf"; ``revision`` identifies its content."""

    path: Path
    kind: str
    name: str
    revision: str
    local: bool = True


def is_ct2_folder(path: Path) -> bool:
    """A CTranslate2 model folder (``model.bin`` and ``config.json``)."""
    return (path / "model.bin").is_file() and (path / "config.json").is_file()


def is_hf_folder(path: Path) -> bool:
    """A Hugging Face model folder (``config.json`` with a ``model_type`` and weights)."""
    cfg = path / "config.json"
    if not cfg.is_file():
        return False
    try:
        data = json.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return "model_type" in data or "architectures" in data


def _looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or model.count("/") > 1 or "\\" in model


def folder_fingerprint(path: Path) -> str:
    """A short hash of a local folder's files (names, sizes, mtimes): changes when the model does."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.iterdir() if p.is_file()):
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return "local" + h.hexdigest()[:12]


def resolve_model(model: str | os.PathLike[str], *, revision: str | None = None,
                  local_files_only: bool | None = None, timeout: float = 10.0) -> ResolvedModel:
    """Locate ``model``: a CTranslate2 folder, a Hugging Face folder, or a Hub id (downloaded).

    Fails fast with :class:`ModelError`: a missing path is reported at once; a Hub id is looked up
    in the local Hugging Face cache first, then (unless ``HF_HUB_OFFLINE`` or ``local_files_only``)
    downloaded with ``timeout``-second network timeouts and no retry loop.
    """
    text = os.fspath(model)
    path = Path(text).expanduser()
    if path.is_dir():
        if is_ct2_folder(path):
            return ResolvedModel(path.resolve(), "ct2", path.name, folder_fingerprint(path))
        if is_hf_folder(path):
            return ResolvedModel(path.resolve(), "hf", path.name, revision or folder_fingerprint(path))
        raise ModelError(f"{text}: neither a CTranslate2 model folder (model.bin + config.json) nor a "
                         "Hugging Face model folder (config.json with model_type)")
    if _looks_like_path(text) or not _HUB_ID.fullmatch(text):
        raise ModelError(f"model {text!r} not found: no such folder, and not a Hugging Face Hub id")
    return _download(text, revision=revision, local_files_only=local_files_only, timeout=timeout)


def _download(repo_id: str, *, revision: str | None, local_files_only: bool | None,
              timeout: float) -> ResolvedModel:
    hub = require("huggingface_hub", purpose="downloading models from the Hugging Face Hub")
    from huggingface_hub import constants

    env_offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    offline = bool(local_files_only) or bool(constants.HF_HUB_OFFLINE) or env_offline
    # configs, tokenizers, safetensors weights, CTranslate2 files; PyTorch .bin only when needed (below)
    patterns = ["*.json", "*.model", "*.spm", "*.txt", "*.safetensors", "model.bin"]
    try:
        snap = hub.snapshot_download(repo_id, revision=revision, local_files_only=True, allow_patterns=patterns)
    except Exception:  # noqa: BLE001 - not cached: download below
        snap = None
    if snap is None:
        if offline:
            raise ModelError(f"model {repo_id!r}: no such local folder, not in the local Hugging Face cache, and "
                             "the Hub is offline (HF_HUB_OFFLINE=1 or local_files_only); pass a model folder")
        logger.info("downloading %s from the Hugging Face Hub", repo_id)
        t0 = time.monotonic()
        try:
            snap = hub.snapshot_download(repo_id, revision=revision, allow_patterns=patterns,
                                         etag_timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - network, auth, not found...
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"cannot download model {repo_id!r} from the Hugging Face Hub "
                             f"({type(exc).__name__}: {first}); no such local folder either: check the id and "
                             f"the network, or pass a model folder") from exc
        if not any(Path(snap).glob("*.safetensors")) and not (Path(snap) / "model.bin").is_file():
            try:  # an older repository with PyTorch weights only
                snap = hub.snapshot_download(repo_id, revision=revision, allow_patterns=["pytorch_model*.bin"],
                                             etag_timeout=timeout)
            except Exception as exc:  # noqa: BLE001
                raise ModelError(f"cannot download the weights of {repo_id!r}: {exc}") from exc
        logger.info("downloaded %s in %.1fs", repo_id, time.monotonic() - t0)
    path = Path(snap)
    kind = "ct2" if is_ct2_folder(path) else "hf"
    if kind == "hf" and not is_hf_folder(path):
        raise ModelError(f"{repo_id}: the Hub repository is neither a CTranslate2 nor a Hugging Face model")
    return ResolvedModel(path, kind, repo_id, path.name, local=False)  # snapshot folder = commit hash


def read_hf_metadata(path: Path) -> dict[str, Any]:
    """The facts of a Hugging Face folder the backends need: model_type, architectures,
    tokenizer_class, max source positions, declared language pair."""
    def load(name: str) -> dict[str, Any]:
        f = path / name
        try:
            return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else {}
        except ValueError:
            return {}

    cfg, tok = load("config.json"), load("tokenizer_config.json")
    # T5/MADLAD use relative positions: no hard input limit
    max_pos = None if cfg.get("model_type") in ("t5", "mt5", "umt5") else cfg.get("max_position_embeddings")
    return {
        "model_type": cfg.get("model_type"),
        "architectures": cfg.get("architectures") or [],
        "tokenizer_class": tok.get("tokenizer_class") or cfg.get("tokenizer_class"),
        "max_source_tokens": int(max_pos) if max_pos else None,
        "source_lang": tok.get("source_lang"),
        "target_lang": tok.get("target_lang"),
    }


def _sanitize(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "--", name).strip("-.") or "model"


@contextlib.contextmanager
def _file_lock(path: Path, timeout: float) -> Iterator[None]:
    try:
        import filelock
    except ImportError:
        filelock = None  # type: ignore[assignment]
    if filelock is not None:
        lock = filelock.FileLock(str(path), timeout=timeout)
        try:
            with lock:
                yield
        except filelock.Timeout as exc:
            raise ModelError(f"timed out after {timeout:.0f}s waiting for the conversion lock {path}") from exc
        return
    import fcntl

    with open(path, "a+") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ModelError(f"timed out after {timeout:.0f}s waiting for the conversion lock {path}") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def converted_path(resolved: ResolvedModel, quantization: str | None, root: Path | None = None) -> Path:
    """Where the conversion of ``resolved`` with ``quantization`` lives in the cache."""
    name = _sanitize(resolved.name)
    if resolved.local:  # two local folders may share a name: disambiguate by path
        name = f"{name}-{hashlib.sha256(str(resolved.path).encode()).hexdigest()[:8]}"
    return (root or cache_root()) / "ct2" / f"{name}-{_sanitize(resolved.revision)}-{quantization or 'float32'}"


def ensure_ct2(resolved: ResolvedModel, *, quantization: str | None = None, cache_dir: Path | None = None,
               lock_timeout: float = 3600.0, family: str | None = None) -> Path:
    """The CTranslate2 folder of ``resolved``: itself, or its cached conversion (converted once)."""
    if resolved.kind == "ct2":
        return resolved.path
    target = converted_path(resolved, quantization, cache_dir)
    if is_ct2_folder(target):
        logger.debug("using cached conversion %s", target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(target.parent / f"{target.name}.lock", lock_timeout):
        if is_ct2_folder(target):  # converted by another process while we waited
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            _convert(resolved, tmp / "model", quantization, family)
            os.replace(tmp / "model", target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


class _VocabProxy:
    """Tokenizer fixes for CTranslate2's converter under transformers 5: ``get_vocab()`` with the
    language tokens (see ``pieces.full_vocab``), a ``bos_token`` for mBART-50."""

    def __init__(self, tokenizer: Any) -> None:
        self._tok = tokenizer

    def get_vocab(self) -> dict[str, int]:
        from .pieces import full_vocab

        return full_vocab(self._tok)

    @property
    def bos_token(self) -> Any:
        # transformers 5's MBart50Tokenizer has no bos_token (only cls_token "<s>"); CTranslate2 needs one
        return self._tok.bos_token or getattr(self._tok, "cls_token", None) or "<s>"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tok, name)


@contextlib.contextmanager
def marian_start_as_trained() -> Iterator[None]:
    """Within this context CTranslate2 converts Marian models so that they decode as transformers does.

    transformers feeds the ``<pad>`` embedding as a Marian decoder's first input. CTranslate2's
    converter assumes that row is zero (true of the Opus-MT conversions), starts from a zero
    embedding and drops ``<pad>`` from the vocabulary. A model trained or fine-tuned with
    transformers and tied output embeddings has moved that row (the gradient of the ``<pad>`` logit
    reaches it), and the standard conversion then decodes the first token from another input than
    the model was trained with. For such a model (``<pad>`` row not zero) the converter here keeps
    ``<pad>`` as the decoder start token, embedded as trained, and out of the output distribution
    (a -1e9 logit bias); other models convert as before.
    """
    conv = require("ctranslate2", extra=None, purpose="converting Hugging Face models to CTranslate2").converters
    loaders = conv.transformers._MODEL_LOADERS
    standard = loaders.get("MarianConfig")
    if standard is None:
        yield
        return
    bart = conv.transformers.BartLoader
    torch = require("torch", extra="convert", purpose="converting Hugging Face models to CTranslate2")

    class StartAsTrained(type(standard)):  # type: ignore[misc]
        learned = False

        def get_model_spec(self, model: Any) -> Any:
            emb = model.get_input_embeddings().weight
            pad = model.config.pad_token_id
            self.learned = pad is not None and bool(emb[pad].abs().max() > 0)
            if not self.learned:
                return super().get_model_spec(model)
            model.config.normalize_before = False
            model.config.normalize_embedding = False
            spec = bart.get_model_spec(self, model)  # the <pad> rows stay
            # ... but <pad> is never an output, as in transformers' generation and projector's
            # transformers backend: a -1e9 logit bias takes it out of the distribution
            proj = spec.decoder.projection
            rows = proj.weight.shape[0]
            bias = proj.bias.detach().clone().float() if proj.has_bias() else torch.zeros(rows)
            bias[pad] = -1e9
            proj.bias = bias
            return spec

        def set_config(self, config: Any, model: Any, tokenizer: Any) -> None:
            super().set_config(config, model, tokenizer)
            if self.learned:
                config.decoder_start_token = tokenizer.pad_token

        def set_decoder(self, spec: Any, decoder: Any) -> None:
            if self.learned:
                bart.set_decoder(self, spec, decoder)  # no start_from_zero_embedding
            else:
                super().set_decoder(spec, decoder)

        def get_vocabulary(self, model: Any, tokenizer: Any) -> list[str]:
            if self.learned:
                return list(bart.get_vocabulary(self, model, tokenizer))
            return list(super().get_vocabulary(model, tokenizer))

    loaders["MarianConfig"] = StartAsTrained()
    try:
        yield
    finally:
        loaders["MarianConfig"] = standard


def _convert(resolved: ResolvedModel, out: Path, quantization: str | None, family: str | None) -> None:
    ct2 = require("ctranslate2", extra=None, purpose="converting Hugging Face models to CTranslate2")
    require("torch", extra="convert", purpose="converting Hugging Face models to CTranslate2")
    converters = ct2.converters
    copy = [f for f in TOKENIZER_FILES if (resolved.path / f).is_file()]

    class _Converter(converters.TransformersConverter):  # type: ignore[misc, name-defined]
        def load_model(self, model_class: Any, name: str, **kwargs: Any) -> Any:
            cfg = kwargs.get("config")
            # transformers 5 dropped these mBART config fields; CTranslate2's loader reads them
            if cfg is not None and getattr(cfg, "model_type", "") == "mbart":
                for attr in ("normalize_before", "normalize_embedding"):
                    if not hasattr(cfg, attr):
                        setattr(cfg, attr, True)
            model = super().load_model(model_class, name, **kwargs)
            # transformers 5's T5 scales decoder outputs by ``scale_decoder_outputs``; CTranslate2's
            # loader decides from ``tie_word_embeddings``: make it read the flag that is applied
            scale = getattr(model.config, "scale_decoder_outputs", None)
            if scale is not None and getattr(model.config, "model_type", "") in ("t5", "mt5", "umt5"):
                model.config.tie_word_embeddings = bool(scale)
            return model

        def load_tokenizer(self, tokenizer_class: Any, name: str, **kwargs: Any) -> Any:
            return _VocabProxy(super().load_tokenizer(tokenizer_class, name, **kwargs))

    t0 = time.monotonic()
    logger.info("converting %s to CTranslate2 (%s) in %s", resolved.name, quantization or "float32", out)
    try:
        with marian_start_as_trained():
            _Converter(str(resolved.path), copy_files=copy).convert(str(out), quantization=quantization, force=True)
    except Exception as exc:  # noqa: BLE001 - converters raise ValueError, KeyError, OSError...
        raise ModelError(f"cannot convert {resolved.name} to CTranslate2: {type(exc).__name__}: {exc}") from exc
    meta = read_hf_metadata(resolved.path)
    meta.update(source=resolved.name, source_path=str(resolved.path), revision=resolved.revision,
                quantization=quantization or "float32", family=family)
    (out / METADATA_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    logger.info("converted %s in %.1fs", resolved.name, time.monotonic() - t0)
