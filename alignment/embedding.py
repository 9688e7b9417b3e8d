"""Batched simalign-style embedding aligner on any Hugging Face encoder.

SimAlign (Jalili Sabet et al., 2020) aligns words with the contextual embeddings of a multilingual
encoder: subword similarities -> argmax in both directions (``inter``), iterative argmax (``itermax``),
maximum-weight matching (``mwmf``) or one direction (``fwd``/``rev``). ``simalign.SentenceAligner``
runs one sentence pair per forward pass through the whole encoder and silently truncates (or crashes
on) inputs longer than the encoder's limit. :class:`EmbeddingAligner` computes the same links:

* the encoder is cut at the alignment layer (layers above it are never computed);
* all sentences of a batch of pairs are encoded together, sorted by length, in padding-aware
  batches bounded by a token budget; repeated sentences are encoded once;
* inputs longer than the encoder's limit are split into overlapping windows; each subword takes its
  vector from the window where it has the most context;
* the similarity and matching steps are simalign's own functions, so in ``exact`` mode (a torch
  encoder in float32) the links equal ``simalign.SentenceAligner``'s for the same model, layer and
  method;
* ``fast`` mode runs the truncated encoder with CTranslate2 (int8 by default), converted once and
  cached on disk: several times faster, with almost all links identical.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .base import AlignmentResult, check_batch
from .units import Unit, has_words, piece_tokens, text_units

__all__ = ["EmbeddingAligner", "METHODS", "MODEL_ALIASES", "encoder_windows"]

logger = logging.getLogger("projector.alignment")

#: simalign's matching methods (the same links as simalign's ``matching_methods="maifr"``)
SIMALIGN_METHODS = ("inter", "itermax", "mwmf", "fwd", "rev")
#: every method: simalign's, and awesome-align's softmax extraction (:func:`softmax_links`)
METHODS = (*SIMALIGN_METHODS, "softmax")
#: awesome-align's extraction threshold: a ``softmax`` link needs this probability in both directions
SOFTMAX_THRESHOLD = 1e-3
#: what the aligner compares: the encoder's pieces, or each word's average piece vector
TOKEN_TYPES = ("bpe", "word")
#: what the encoder sees of unspaced-script words (``unspaced``; see :class:`EmbeddingAligner`)
UNSPACED_VIEWS = ("auto", "text", "split", "words")
_METHOD_ALIASES = {"argmax": "inter", "a": "inter", "i": "itermax", "match": "mwmf", "m": "mwmf",
                   "f": "fwd", "r": "rev", "s": "softmax", "awesome": "softmax"}
MODEL_ALIASES = {"bert": "bert-base-multilingual-cased", "xlmr": "xlm-roberta-base"}
_PURPOSE = "the embedding aligner"


def similarity_matrix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """simalign's ``get_similarity`` ((cosine + 1) / 2), computed the way scikit-learn's
    ``cosine_similarity`` computes it (same dtype rule, norms, zero guard and product: the same bits)
    without its input validation, which costs most of the time of a small matrix."""
    dtype = np.float32 if x.dtype == np.float32 and y.dtype == np.float32 else np.float64
    units = []
    for a in (x, y):
        a = np.array(a, dtype=dtype)
        norms = np.sqrt(np.einsum("ij,ij->i", a, a))
        norms[norms < 10 * np.finfo(norms.dtype).eps] = 1.0
        a /= norms[:, None]
        units.append(a)
    sim: np.ndarray = (units[0] @ units[1].T + 1.0) / 2.0
    return sim


def softmax_links(dots: np.ndarray, threshold: float = SOFTMAX_THRESHOLD) -> np.ndarray:
    """awesome-align's extraction: 1 where the softmax of the dot products over the target (each row)
    and the one over the source (each column) both exceed ``threshold`` (the probabilities its
    self-training objective is trained on, so a fine-tuned encoder's own links; a source piece may
    link to several target pieces and the other way round, e.g. both words of a name to one compound)."""
    if dots.size == 0:
        return np.zeros(dots.shape)
    s2t = np.exp(dots - dots.max(axis=1, keepdims=True))
    s2t /= s2t.sum(axis=1, keepdims=True)
    t2s = np.exp(dots - dots.max(axis=0, keepdims=True))
    t2s /= t2s.sum(axis=0, keepdims=True)
    return ((s2t > threshold) & (t2s > threshold)).astype(float)


def _checked_token_type(token_type: str) -> str:
    """``token_type`` when it is one of :data:`TOKEN_TYPES`, else an error listing them."""
    if token_type not in TOKEN_TYPES:
        from projector.errors import UnknownNameError

        raise UnknownNameError("token type", token_type, TOKEN_TYPES)
    return token_type


def native_bfloat16(device: str = "cpu") -> bool:
    """Whether ``device`` computes in bfloat16 natively (CPU: AVX512-BF16 or AMX; CUDA: Ampere+)."""
    try:
        import torch
    except ImportError:
        return False
    if device.startswith("cuda"):
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    probes = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(bool(probe()) for probe in probes if probe is not None)


def _require(module: str) -> Any:
    from projector._optional import require

    return require(module, extra="align", purpose=_PURPOSE)


def canonical_method(method: str) -> str:
    """The simalign name of a matching method (``argmax`` -> ``inter``, ``match`` -> ``mwmf``...)."""
    key = _METHOD_ALIASES.get(method.lower(), method.lower())
    if key not in METHODS:
        from projector.errors import UnknownNameError

        raise UnknownNameError("alignment method", method, METHODS + tuple(_METHOD_ALIASES))
    return key


def encoder_windows(length: int, size: int, stride: int | None = None) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Overlapping windows ``[(start, end)]`` over ``length`` positions, at most ``size`` long.

    Returns the windows and, per position, the index of the window in which it is farthest from an
    edge (the window whose vector it takes). ``stride`` defaults to half the size.
    """
    if length <= size:
        return [(0, length)], np.zeros(length, dtype=np.int64)
    stride = max(1, stride or size // 2)
    windows: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(start + size, length)
        windows.append((end - size, end) if end - start < size else (start, end))
        if end == length:
            break
        start += stride
    pos = np.arange(length)[:, None]
    starts = np.array([s for s, _ in windows])[None, :]
    ends = np.array([e for _, e in windows])[None, :]
    inside = (pos >= starts) & (pos < ends)
    margin = np.where(inside, np.minimum(pos - starts, ends - 1 - pos), -1)
    return windows, margin.argmax(axis=1)


def _max_weight_match(sim: np.ndarray, sentence_aligner: Any) -> np.ndarray:
    """simalign's ``mwmf``: the maximum-weight matching of the similarity matrix, as a 0/1 matrix.

    simalign solves it with networkx's general-graph matching (slow, pure Python). When every
    similarity is positive (always, unless a distortion zeroes some), a maximum-cardinality
    maximum-weight matching of the complete bipartite graph is the assignment problem, solved here
    with scipy's Hungarian algorithm; the result is the same matching (barring exact ties).
    """
    if sim.size == 0 or not np.all(sim > 0):
        return np.asarray(sentence_aligner.get_max_weight_match(sim))
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(sim, maximize=True)
    out = np.zeros_like(sim)
    out[rows, cols] = 1
    return out


@dataclass
class _Encoded:
    """One sentence: subword vectors (n_subwords x hidden) and the words each subword covers (one word
    per subword for words encoded on their own; none, one or several for the pieces of a unit of
    unspaced-script words, see :mod:`alignment.units`)."""

    vectors: np.ndarray
    words_of: list[tuple[int, ...]]
    n_words: int


class EmbeddingAligner:
    """Word aligner on a Hugging Face encoder (simalign's methods, batched, windowed).

    ``model`` is a Hugging Face id or a local folder (``bert``/``xlmr`` as in simalign); ``layer`` the
    hidden layer whose vectors are compared (8, as simalign); ``method`` one of :data:`METHODS` (or
    ``argmax``/``match``); ``token_type`` ``bpe`` (compare subwords, as simalign's default) or
    ``word`` (average subwords first); ``distortion`` simalign's distortion ratio. ``mode`` is
    ``exact`` (torch, float32: simalign's links) or ``fast`` (CTranslate2 ``compute_type``, default
    int8, the truncated encoder converted once into ``cache_dir``). ``max_tokens`` bounds the padded
    tokens per forward batch and ``max_batch`` the sentences; ``threads`` sets the CPU threads (0: the
    library default). ``unspaced`` says what the encoder sees of consecutive words of a script written
    without spaces (Japanese, Chinese, Thai... characters or segmenter words): ``text`` the
    text they form, tokenized by the encoder's own tokenizer, each piece linked through the words whose
    characters it covers (:mod:`alignment.units`); ``split`` the same text with its pieces cut at the words'
    boundaries (every word after the first tokenized by the tokenizer's model alone, as inside text: one
    word per piece); ``auto`` (default) ``split`` where the words are a segmenter's
    (:func:`alignment.units.has_words`) and ``text`` where they are single characters (which ``split``
    would reduce to one-character pieces); ``words`` every word on its own, as simalign. Words
    of spaced scripts are encoded on their own either way (simalign's links).

    Fast mode's ``compute_type``: ``int8`` (CTranslate2, the fastest; about 97% of simalign's links on
    multilingual-e5-small), ``float32`` (CTranslate2, simalign's links), ``bfloat16`` (PyTorch autocast:
    matrix products in bfloat16, the rest in float32; over 99% of the links, and faster than float32
    where the CPU has native bfloat16, e.g. AVX512-BF16 or AMX) or ``auto`` (the default:
    ``bfloat16`` where it is native, else ``int8``). ``benchmarks/alignment_speed.py`` measures all.
    """

    name = "embedding"

    def __init__(self, model: str = "bert-base-multilingual-cased", layer: int = 8, method: str = "itermax",
                 *, mode: str = "exact", token_type: str = "bpe", distortion: float = 0.0,
                 device: str = "cpu", max_tokens: int = 4096, max_batch: int = 32,
                 compute_type: str = "auto", cache_dir: str | os.PathLike[str] | None = None,
                 threads: int = 0, window_stride: int | None = None, unspaced: str = "auto") -> None:
        from projector.errors import ConfigError, UnknownNameError

        if mode not in ("exact", "fast"):
            raise UnknownNameError("embedding aligner mode", mode, ("exact", "fast"))
        _checked_token_type(token_type)
        if unspaced not in UNSPACED_VIEWS:
            raise UnknownNameError("unspaced-script encoding", unspaced, UNSPACED_VIEWS)
        if layer < 1:
            raise ConfigError(f"layer must be >= 1 (0 is the embedding layer), got {layer}")
        from .e5 import resolve_encoder

        self.model_name = resolve_encoder(MODEL_ALIASES.get(model, model))
        self.layer = layer
        self.method = canonical_method(method)
        self.mode = mode
        self.token_type = token_type
        self.distortion = distortion
        self.device = device
        self.max_tokens = max_tokens
        self.max_batch = max_batch
        self.threads = threads
        self.window_stride = window_stride
        self.unspaced = unspaced
        if compute_type == "auto":
            compute_type = "bfloat16" if native_bfloat16(device) else "int8"
        self.compute_type = compute_type
        self.stats = {"pairs": 0}
        _require("torch")  # before simalign, which imports it: a clear MissingDependencyError
        transformers = _require("transformers")
        self._simalign = _require("simalign").SentenceAligner
        from projector.errors import ModelError

        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(self.model_name)
            self.config = transformers.AutoConfig.from_pretrained(self.model_name)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load the encoder {self.model_name!r}: {exc}") from exc
        n_layers = getattr(self.config, "num_hidden_layers", None)
        if n_layers is not None and layer > n_layers:
            raise ConfigError(f"layer {layer} requested but {self.model_name!r} has {n_layers} layers")
        self._prefix, self._suffix = self._special_tokens()
        self.max_length = self._max_length()
        self._content = self.max_length - len(self._prefix) - len(self._suffix)
        self._use_type_ids = "token_type_ids" in getattr(self.tokenizer, "model_input_names", ())
        from projector.cache import cache_root

        self._cache_dir = Path(cache_dir) if cache_dir else cache_root() / "ct2-align"
        self._torch_model: Any = None
        self._ct2: Any = None
        # once with_method() made views, the encodings of the last batch are kept and shared with
        # them: an ensemble of several methods on one encoder runs the encoder once per batch
        self._last_batch: dict[str, Any] = {}
        self._share = [False]
        self._autocast: Any = None
        if mode == "exact" or compute_type == "bfloat16":
            self._load_torch()
            if mode == "fast":
                torch = _require("torch")
                self._autocast = torch.bfloat16
                # autocast would cast every linear layer's weights to bfloat16 at every call: cast them
                # once (the same numbers; layer norms and embeddings stay float32)
                net: Any = self._torch_model
                for module in net.modules():
                    if isinstance(module, torch.nn.Linear):
                        module.to(torch.bfloat16)
        else:
            self._load_ct2()

    # -- setup -------------------------------------------------------------------------------------
    def _special_tokens(self) -> tuple[list[int], list[int]]:
        inner = self.tokenizer("x", add_special_tokens=False)["input_ids"]
        full = self.tokenizer("x", add_special_tokens=True)["input_ids"]
        for k in range(len(full) - len(inner) + 1):
            if full[k:k + len(inner)] == inner:
                return list(full[:k]), list(full[k + len(inner):])
        return [], []

    def _max_length(self) -> int:
        limit = getattr(self.tokenizer, "model_max_length", None) or 512
        positions = getattr(self.config, "max_position_embeddings", None)
        if positions:
            if getattr(self.config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
                positions -= 2  # position ids start after the padding index
            limit = min(limit, positions) if limit < 10**6 else positions
        return int(min(limit, 10**6))

    def _truncated_model(self) -> Any:
        transformers = _require("transformers")
        level = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()  # "weights not used" for the layers we drop
        try:
            config = transformers.AutoConfig.from_pretrained(self.model_name)
            if hasattr(config, "num_hidden_layers"):
                config.num_hidden_layers = self.layer
            model = transformers.AutoModel.from_pretrained(self.model_name, config=config)
        except (OSError, ValueError) as exc:
            from projector.errors import ModelError

            raise ModelError(f"cannot load the encoder {self.model_name!r}: {exc}") from exc
        finally:
            transformers.logging.set_verbosity(level)
        return model.eval()

    def _load_torch(self) -> None:
        torch = _require("torch")
        if self.threads:
            torch.set_num_threads(self.threads)
        self._torch_model = self._truncated_model().to(self.device)
        logger.info("embedding aligner: %s cut at layer %d (torch, %s)", self.model_name, self.layer,
                    "exact" if self.mode == "exact" else "bfloat16 autocast")

    def ct2_path(self) -> Path:
        """Where the CTranslate2 copy of the truncated encoder is (or will be) cached."""
        src = Path(self.model_name)
        ident = str(src.resolve()) if src.exists() else self.model_name
        stamp = ""
        if src.exists():
            stamp = "".join(f"{p.name}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in sorted(src.iterdir()))
        digest = hashlib.sha1(f"{ident}|{stamp}|{self.layer}|{self.compute_type}".encode()).hexdigest()[:16]
        return self._cache_dir / f"{Path(ident).name}-L{self.layer}-{self.compute_type}-{digest}"

    def _load_ct2(self) -> None:
        ctranslate2 = _require("ctranslate2")
        out = self.ct2_path()
        if not (out / "model.bin").exists():
            import tempfile

            out.parent.mkdir(parents=True, exist_ok=True)
            logger.info("converting %s (first %d layers) to CTranslate2 %s in %s", self.model_name,
                        self.layer, self.compute_type, out)
            with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
                model = self._truncated_model()
                if not hasattr(model.config, "position_embedding_type"):
                    # transformers 5 no longer writes the default; CTranslate2's BERT loader reads it
                    model.config.position_embedding_type = "absolute"
                model.save_pretrained(tmp)
                self.tokenizer.save_pretrained(tmp)
                quant = self.compute_type if self.compute_type != "default" else None
                staging = Path(tmp) / "ct2"
                try:
                    ctranslate2.converters.TransformersConverter(tmp).convert(str(staging), quantization=quant)
                except Exception as exc:  # the converter raises plain ValueError/NotImplementedError
                    from projector.errors import ModelError

                    raise ModelError(f"cannot convert {self.model_name!r} to CTranslate2: {exc}") from exc
                if not out.exists():
                    os.replace(staging, out)
        try:
            self._ct2 = ctranslate2.Encoder(str(out), device=self.device, compute_type=self.compute_type,
                                            intra_threads=self.threads)
        except ValueError as exc:  # e.g. a compute type this CPU does not support
            from projector.errors import ConfigError

            raise ConfigError(f"CTranslate2 cannot run {self.model_name!r} here: {exc}") from exc
        logger.info("embedding aligner: %s cut at layer %d (CTranslate2 %s)", self.model_name, self.layer,
                    self.compute_type)

    # -- encoding ----------------------------------------------------------------------------------
    def _word_pieces(self, words: Sequence[str]) -> list[list[int]]:
        if not words:
            return []
        backend = getattr(self.tokenizer, "_tokenizer", None)  # the Rust tokenizer of a fast tokenizer
        if backend is not None and hasattr(backend, "encode_batch"):
            # the same ids as calling the tokenizer, without building a Python encoding per word
            return [enc.ids for enc in backend.encode_batch(list(words), add_special_tokens=False)]
        return [list(ids) for ids in self.tokenizer(list(words), add_special_tokens=False)["input_ids"]]

    def _forward(self, batch: list[list[int]]) -> list[np.ndarray]:
        """Hidden states at the alignment layer for each id sequence (special tokens included)."""
        if self._ct2 is not None:
            out = self._ct2.forward_batch(batch)
            hidden = np.array(out.last_hidden_state)
            return [hidden[k, :len(ids)] for k, ids in enumerate(batch)]
        torch = _require("torch")
        # pad to a multiple of 8: far fewer distinct shapes, so far fewer one-off kernel set-ups
        width = -(-max(len(ids) for ids in batch) // 8) * 8
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for k, seq in enumerate(batch):
            ids[k, :len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[k, :len(seq)] = 1
        inputs = {"input_ids": ids.to(self.device), "attention_mask": mask.to(self.device)}
        if self._use_type_ids:
            inputs["token_type_ids"] = torch.zeros_like(ids).to(self.device)
        with torch.inference_mode(), torch.autocast(self.device.split(":")[0], dtype=self._autocast,
                                                    enabled=self._autocast is not None):
            hidden = self._torch_model(**inputs, output_hidden_states=True).hidden_states[self.layer]
        hidden = hidden.float().cpu().numpy()
        return [hidden[k, :len(seq)] for k, seq in enumerate(batch)]

    def _unit_pieces(self, units: Sequence[Unit]) -> list[tuple[list[int], list[tuple[int, ...]]]]:
        """Piece ids of each unit and the unit's words each piece covers (one call for all units)."""
        if all(len(spans) == 1 for _, spans in units):  # words encoded on their own
            return [(ids, [(0,)] * len(ids)) for ids in self._word_pieces([text for text, _ in units])]
        backend = self.tokenizer._tokenizer
        split = [self.unspaced == "split" or (self.unspaced == "auto" and len(spans) > 1 and has_words(text, spans))
                 for text, spans in units]
        natural = [u for u, cut in zip(units, split, strict=True) if not cut]
        encoded = iter(backend.encode_batch([text for text, _ in natural], add_special_tokens=False))
        out: list[tuple[list[int], list[tuple[int, ...]]]] = []
        for (text, spans), cut in zip(units, split, strict=True):
            if cut:
                out.append(self._split_pieces(text, spans))
                continue
            enc = next(encoded)
            covers: list[tuple[int, ...]] = [(0,)] * len(enc.ids) if len(spans) == 1 else piece_tokens(enc.tokens, enc.offsets, spans)
            out.append((list(enc.ids), covers))
        return out

    def _split_pieces(self, text: str, spans: Sequence[tuple[int, int]]) -> tuple[list[int], list[tuple[int, ...]]]:
        """The pieces of a unit split at its words' boundaries: the first word as the tokenizer writes a
        word, every later word by the tokenizer's model alone (no word-start marker: as inside text)."""
        backend = self.tokenizer._tokenizer
        first = backend.encode(text[spans[0][0]:spans[0][1]], add_special_tokens=False)
        ids = list(first.ids)
        covers: list[tuple[int, ...]] = [(0,) if p.replace("▁", "") else () for p in first.tokens]
        for k, (a, b) in enumerate(spans[1:], start=1):
            word = text[a:b]
            if backend.normalizer is not None:
                word = backend.normalizer.normalize_str(word)
            pieces = backend.model.tokenize(word)
            ids += [p.id for p in pieces]
            covers += [(k,)] * len(pieces)
        return ids, covers

    def _sentence_pieces(self, sentences: Sequence[Sequence[str]]) -> list[tuple[list[int], list[tuple[int, ...]]]]:
        """Each sentence's piece ids and the words each piece covers (see ``unspaced``)."""
        backend = getattr(self.tokenizer, "_tokenizer", None)  # offsets need the Rust tokenizer
        join = self.unspaced != "words" and backend is not None and hasattr(backend, "encode_batch")
        per_sentence = [text_units(words, join) for words in sentences]
        # one tokenizer call for every unit of every sentence (a call per sentence costs more)
        flat = self._unit_pieces([u for units in per_sentence for u in units])
        out, pos = [], 0
        for units in per_sentence:
            ids: list[int] = []
            covers: list[tuple[int, ...]] = []
            first = 0
            for _, spans in units:
                u_ids, u_covers = flat[pos]
                pos += 1
                ids += u_ids
                covers += [tuple(first + w for w in c) for c in u_covers]
                first += len(spans)
            out.append((ids, covers))
        return out

    def encode(self, sentences: Sequence[Sequence[str]]) -> list[_Encoded]:
        """Subword vectors at the alignment layer for each sentence (token list), batched."""
        pieces = self._sentence_pieces(sentences)
        flat = [ids for ids, _ in pieces]
        units: list[tuple[int, int, int, list[int]]] = []  # (sentence, window start, window no., ids)
        plans: list[tuple[list[tuple[int, int]], np.ndarray]] = []
        for s, ids in enumerate(flat):
            windows, owner = encoder_windows(len(ids), self._content, self.window_stride)
            if len(windows) > 1:
                logger.info("sentence %d has %d subwords (> %d): encoded in %d windows", s, len(ids),
                            self._content, len(windows))
            plans.append((windows, owner))
            for w, (a, b) in enumerate(windows):
                if b > a:
                    units.append((s, a, w, self._prefix + ids[a:b] + self._suffix))
        order = sorted(range(len(units)), key=lambda u: -len(units[u][3]))
        window_vecs: dict[tuple[int, int], np.ndarray] = {}
        k = 0
        while k < len(order):
            width = len(units[order[k]][3])
            size = max(1, min(self.max_batch, self.max_tokens // max(width, 1)))
            chunk = order[k:k + size]
            hidden = self._forward([units[u][3] for u in chunk])
            for u, h in zip(chunk, hidden):
                s, _, w, seq = units[u]
                window_vecs[(s, w)] = h[len(self._prefix):len(seq) - len(self._suffix)]
            k += size
        encoded = []
        for s, (_, covers) in enumerate(pieces):
            windows, owner = plans[s]
            n = len(flat[s])
            if n == 0:
                vectors = np.zeros((0, 0), dtype=np.float32)
            elif len(windows) == 1:
                vectors = window_vecs[(s, 0)]
            else:
                vectors = np.stack([window_vecs[(s, int(owner[q]))][q - windows[int(owner[q])][0]]
                                    for q in range(n)])
            encoded.append(_Encoded(np.asarray(vectors, dtype=np.float32), covers, len(sentences[s])))
        return encoded

    # -- alignment ---------------------------------------------------------------------------------
    def _word_average(self, enc: _Encoded) -> np.ndarray:
        dim = enc.vectors.shape[1] if enc.vectors.size else 0
        out = np.zeros((enc.n_words, dim), dtype=np.float32)
        for w in range(enc.n_words):
            rows = enc.vectors[[k for k, c in enumerate(enc.words_of) if w in c]]
            out[w] = rows.mean(0) if len(rows) else 0.0  # simalign would produce NaN and fail
        return out

    def _matrices(self, sim: np.ndarray, methods: Sequence[str]) -> dict[str, np.ndarray]:
        sa = self._simalign
        mats: dict[str, np.ndarray] = {}
        mats["fwd"], mats["rev"] = sa.get_alignment_matrix(sim)
        mats["inter"] = mats["fwd"] * mats["rev"]
        if "mwmf" in methods:
            mats["mwmf"] = _max_weight_match(sim, sa)
        if "itermax" in methods:
            mats["itermax"] = sa.iter_max(sim)
        return mats

    def _similarity(self, src: _Encoded, tgt: _Encoded) -> tuple[np.ndarray, list[tuple[int, ...]],
                                                                 list[tuple[int, ...]], np.ndarray, np.ndarray] | None:
        """The (distorted) similarity matrix, the words each row / column stands for, and the vectors
        of the rows and columns (whose dot products awesome-align's softmax extraction normalises)."""
        if self.token_type == "word":
            if src.n_words == 0 or tgt.n_words == 0:
                return None
            xs, ys = self._word_average(src), self._word_average(tgt)
            src_map: list[tuple[int, ...]] = [(w,) for w in range(src.n_words)]
            tgt_map: list[tuple[int, ...]] = [(w,) for w in range(tgt.n_words)]
        else:  # pieces covering no word (a bare ▁ of a unit) take no part
            src_rows = [k for k, c in enumerate(src.words_of) if c]
            tgt_rows = [k for k, c in enumerate(tgt.words_of) if c]
            if not src_rows or not tgt_rows:
                return None
            xs, ys = src.vectors[src_rows], tgt.vectors[tgt_rows]
            src_map = [src.words_of[k] for k in src_rows]
            tgt_map = [tgt.words_of[k] for k in tgt_rows]
        sim = similarity_matrix(xs, ys)
        return self._simalign.apply_distortion(sim, self.distortion), src_map, tgt_map, xs, ys

    def _align_pair(self, src: _Encoded, tgt: _Encoded, methods: Sequence[str]) -> dict[str, AlignmentResult]:
        empty = {m: AlignmentResult(frozenset(), {}) for m in methods}
        prepared = self._similarity(src, tgt)
        if prepared is None:
            return empty
        sim, src_map, tgt_map, xs, ys = prepared
        mats = self._matrices(sim, methods)
        if "softmax" in methods:
            mats["softmax"] = softmax_links(np.asarray(xs, dtype=np.float64) @ np.asarray(ys, dtype=np.float64).T)
        out = {}
        for m in methods:
            scores: dict[tuple[int, int], float] = {}
            for i, j in zip(*np.nonzero(mats[m] > 0)):
                for link in ((a, b) for a in src_map[i] for b in tgt_map[j]):
                    scores[link] = max(scores.get(link, -np.inf), float(sim[i, j]))
            out[m] = AlignmentResult(frozenset(scores), scores)
        return out

    def align_methods(self, src_tokens_batch: Sequence[Sequence[str]], tgt_tokens_batch: Sequence[Sequence[str]],
                      methods: Sequence[str] = METHODS) -> dict[str, list[AlignmentResult]]:
        """Align the batch once with several methods (the encoder runs once): method -> results."""
        src_batch, tgt_batch = check_batch(src_tokens_batch, tgt_tokens_batch)
        methods = [canonical_method(m) for m in methods]
        unique: dict[tuple[str, ...], int] = {}
        for sent in src_batch + tgt_batch:
            unique.setdefault(tuple(sent), len(unique))
        key = (tuple(map(tuple, src_batch)), tuple(map(tuple, tgt_batch)))
        if self._last_batch.get("key") == key:
            encoded = self._last_batch["encoded"]
        else:
            encoded = self.encode([list(s) for s in unique])
            self._last_batch.clear()
            if self._share[0]:
                self._last_batch.update(key=key, encoded=encoded)
        out: dict[str, list[AlignmentResult]] = {m: [] for m in methods}
        for src, tgt in zip(src_batch, tgt_batch):
            pair = self._align_pair(encoded[unique[tuple(src)]], encoded[unique[tuple(tgt)]], methods)
            for m in methods:
                out[m].append(pair[m])
        self.stats["pairs"] += len(src_batch)
        return out

    def with_method(self, method: str, token_type: str | None = None) -> EmbeddingAligner:
        """A view of this aligner with another matching method (and ``token_type``: ``word`` compares
        each word's average piece vector), sharing the encoder and batch cache: an ensemble of views
        runs the encoder once per batch."""
        view = copy.copy(self)
        view.method = canonical_method(method)
        if token_type is not None:
            view.token_type = _checked_token_type(token_type)
        self._share[0] = True
        return view

    def align(self, src_tokens_batch: Sequence[Sequence[str]],
              tgt_tokens_batch: Sequence[Sequence[str]]) -> list[AlignmentResult]:
        """Align each pair with :attr:`method`; links are (source word, target word), scores similarities."""
        return self.align_methods(src_tokens_batch, tgt_tokens_batch, [self.method])[self.method]

    def __repr__(self) -> str:
        fast = f", compute_type={self.compute_type!r}" if self.mode == "fast" else ""
        word = ", token_type='word'" if self.token_type == "word" else ""
        return (f"EmbeddingAligner({self.model_name!r}, layer={self.layer}, method={self.method!r}{word}, "
                f"mode={self.mode!r}{fast})")
