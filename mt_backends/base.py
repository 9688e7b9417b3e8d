"""The MT protocol every backend implements, and its result types.

Conventions shared by all backends:

* Languages are given as ISO 639-1, ISO 639-3 or BCP-47 codes (``pt``, ``por``, ``pt-BR``,
  ``zh-Hant``) or as the model's own language token (``por_Latn``, ``__pt__``...); each backend maps
  them per model family (:mod:`mt_backends.languages`).
* *Pieces* are the model's own subword tokens (sentencepiece pieces such as ``▁gato``).
  :meth:`Translator.tokenize` returns the *content* pieces of a text, without the language tokens
  and EOS that the family adds around them; ``special_tokens=True`` returns the full sequence the
  model sees on that side. :meth:`Translator.score` takes targets as text or as content-piece lists
  (callers may insert marker pieces such as ``▁[`` between pieces) and returns exactly one
  log-probability per given content piece, plus the EOS log-probability apart.
* Nothing is silently truncated: an input the model cannot take whole gets a status and a reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "OK", "SPLIT", "TOO_LONG", "MAX_LENGTH", "EMPTY", "FAILED", "STATUSES",
    "Hypothesis", "TranslationResult", "TokenScores", "Translator", "Target",
]

OK = "ok"
"""Translated (or scored) whole."""
SPLIT = "split"
"""Longer than the model's limit: translated sentence by sentence and joined."""
TOO_LONG = "too_long"
"""Longer than the model's limit and could not be split small enough: no output."""
MAX_LENGTH = "max_length"
"""The best hypothesis reached ``max_length`` tokens without EOS: the output may be cut."""
EMPTY = "empty"
"""Blank input: empty output, the model was not called."""
FAILED = "failed"
"""The backend failed on this example (reason says why)."""
STATUSES = (OK, SPLIT, TOO_LONG, MAX_LENGTH, EMPTY, FAILED)

Target = str | Sequence[str]
"""A target given as text, or as a list of the model's content pieces."""


@dataclass(frozen=True)
class Hypothesis:
    """One translation hypothesis.

    ``tokens`` are the model's content pieces (no language token, no EOS); ``score`` is the sum of
    the log-probabilities of those pieces and of EOS (not length-normalised), or ``nan`` when a
    backend does not expose it.
    """

    text: str
    tokens: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class TranslationResult:
    """The hypotheses of one input, best first, with the input's status (one of :data:`STATUSES`)."""

    hypotheses: tuple[Hypothesis, ...]
    status: str = OK
    reason: str | None = None

    @property
    def best(self) -> Hypothesis | None:
        """The best hypothesis, or ``None`` when there is none (status ``too_long``/``failed``)."""
        return self.hypotheses[0] if self.hypotheses else None

    @property
    def text(self) -> str:
        """The best hypothesis' text ("" when there is none)."""
        return self.hypotheses[0].text if self.hypotheses else ""


@dataclass(frozen=True)
class TokenScores:
    """Teacher-forced log-probabilities of a target given its source.

    ``logprobs[i]`` is log P(tokens[i] | source, tokens[:i]) — one per given content piece, the
    forced target-language token excluded; ``eos_logprob`` is log P(EOS | source, tokens). When the
    pair cannot be scored (``status`` ``too_long``/``failed``) both are empty/``nan``.
    ``probe_logprobs[k]`` (when a probe piece was asked for) is log P(probe | source, tokens[:k]) for
    k = 0..len(tokens): what the model gives the probe instead of each piece and instead of EOS.
    """

    tokens: tuple[str, ...]
    logprobs: tuple[float, ...]
    eos_logprob: float = float("nan")
    status: str = OK
    reason: str | None = None
    probe_logprobs: tuple[float, ...] | None = None

    @property
    def total(self) -> float:
        """log P(tokens + EOS | source)."""
        return float(sum(self.logprobs) + self.eos_logprob)


@dataclass(frozen=True)
class ModelInfo:
    """What a loaded translator knows about its model."""

    backend: str
    family: str
    path: str
    languages: tuple[str, ...] = field(default_factory=tuple)
    max_source_tokens: int | None = None
    #: the model's name as the user gave it (a Hub id, or a local folder's name): portable, unlike ``path``
    name: str = ""


@runtime_checkable
class Translator(Protocol):
    """An MT engine: translate, score (teacher forcing), and the model's own pieces."""

    info: ModelInfo

    def translate(self, texts: Sequence[str], src_lang: str, tgt_lang: str, *, beam_size: int | None = None,
                  num_hypotheses: int = 1, max_length: int = 256, min_length: int = 0) -> list[TranslationResult]:
        """Translate ``texts``; one result per input, in input order (``beam_size`` None: the
        translator's own default)."""
        ...

    def translate_iter(self, texts: Sequence[str], src_lang: str, tgt_lang: str, *, beam_size: int | None = None,
                       num_hypotheses: int = 1, max_length: int = 256,
                       min_length: int = 0) -> Iterator[TranslationResult]:
        """Like :meth:`translate`, streaming results in input order as batches complete."""
        ...

    def score(self, sources: Sequence[Target], targets: Sequence[Target], src_lang: str,
              tgt_lang: str, *, probe: str | Sequence[str | None] | None = None) -> list[TokenScores]:
        """Teacher-forced log-probability of each target piece (see :class:`TokenScores`); with
        ``probe`` (a vocabulary piece, or one per pair), also the probe's log-probability at every
        position (:attr:`TokenScores.probe_logprobs`)."""
        ...

    def tokenize(self, texts: Sequence[str], lang: str, *, side: str = "target",
                 special_tokens: bool = False) -> list[list[str]]:
        """The model's pieces of each text (content only, unless ``special_tokens``)."""
        ...

    def detokenize(self, pieces: Sequence[Sequence[str]], *, side: str = "target") -> list[str]:
        """Texts of piece lists (the inverse of :meth:`tokenize`; special tokens are dropped)."""
        ...

    def marker_pieces(self, marker: str) -> list[tuple[str, ...]]:
        """How the model writes ``marker`` (e.g. ``[``) in its pieces, single vocabulary pieces first."""
        ...
