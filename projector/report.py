"""The projection report: what happened to every example and span, per target language.

Reports merge (a resumed run merges the reports of its shards) and serialize to JSON; :meth:`Report.table`
renders the printed table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .data import SpanStatus
from .projection import ProjectedExample

__all__ = ["LanguageReport", "Report", "MAX_LISTED"]

#: how many dropped/failed example ids a report lists by name (the counts are always complete)
MAX_LISTED = 1000


def _counter_dict(c: Mapping[str, int]) -> dict[str, int]:
    return {k: int(v) for k, v in sorted(c.items()) if v}


@dataclass
class LanguageReport:
    """Counts for one target language."""

    lang: str
    examples_in: int = 0
    examples_out: int = 0
    examples_by_status: Counter[str] = field(default_factory=Counter)
    spans_by_label: dict[str, Counter[str]] = field(default_factory=dict)
    triggers: Counter[str] = field(default_factory=Counter)
    arguments: Counter[str] = field(default_factory=Counter)
    failed_by_reason: Counter[str] = field(default_factory=Counter)
    fuzzy_by_reason: Counter[str] = field(default_factory=Counter)
    translation_status: Counter[str] = field(default_factory=Counter)
    output_losses: Counter[str] = field(default_factory=Counter)
    method_figures: Counter[str] = field(default_factory=Counter)
    translation_seconds: float = 0.0
    projection_seconds: float = 0.0
    dropped: list[dict[str, Any]] = field(default_factory=list)

    def add(self, result: ProjectedExample, *, split: str, kept: bool) -> None:
        """Account for one projected example (``kept``: whether it is in the output)."""
        status = result.status
        self.examples_in += 1
        self.examples_out += int(kept)
        self.examples_by_status[status] += 1
        self.translation_status[result.output.status] += 1
        for p in result.spans:
            self.spans_by_label.setdefault(p.source.label, Counter())[p.status] += 1
        for p in result.triggers:
            self.triggers[p.status] += 1
        for args in result.arguments:
            for p in args:
                self.arguments[p.status] += 1
        reasons: Counter[str] = Counter()
        for p in result.all_projections():
            if p.status == SpanStatus.FAILED:
                self.failed_by_reason[p.reason or "unknown"] += 1
                reasons[p.reason or "unknown"] += 1
            elif p.status == SpanStatus.FUZZY:
                self.fuzzy_by_reason[p.reason or "unknown"] += 1
        for key, value in result.output.info.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.method_figures[key] += value  # type: ignore[assignment]
        if not kept and len(self.dropped) < MAX_LISTED:
            self.dropped.append({"id": result.source.id, "split": split, "status": status,
                                 "reasons": sorted(reasons) or [result.output.reason or status]})

    def merge(self, other: LanguageReport) -> None:
        """Add ``other``'s counts to this report."""
        self.examples_in += other.examples_in
        self.examples_out += other.examples_out
        for name in ("examples_by_status", "triggers", "arguments", "failed_by_reason", "fuzzy_by_reason",
                     "translation_status", "output_losses", "method_figures"):
            getattr(self, name).update(getattr(other, name))
        for label, c in other.spans_by_label.items():
            self.spans_by_label.setdefault(label, Counter()).update(c)
        self.translation_seconds += other.translation_seconds
        self.projection_seconds += other.projection_seconds
        self.dropped.extend(other.dropped[: max(0, MAX_LISTED - len(self.dropped))])

    def span_totals(self) -> Counter[str]:
        """Entity spans by status, all labels together."""
        total: Counter[str] = Counter()
        for c in self.spans_by_label.values():
            total.update(c)
        return total

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (inverse of :meth:`from_dict`)."""
        totals = self.span_totals()
        n = sum(totals.values())
        return {
            "lang": self.lang,
            "examples_in": self.examples_in,
            "examples_out": self.examples_out,
            "examples_by_status": _counter_dict(self.examples_by_status),
            "spans": _counter_dict(totals),
            "span_projection_rate": round((totals[SpanStatus.PROJECTED] + totals[SpanStatus.FUZZY]) / n, 4) if n else None,
            "spans_by_label": {k: _counter_dict(v) for k, v in sorted(self.spans_by_label.items())},
            "triggers": _counter_dict(self.triggers),
            "arguments": _counter_dict(self.arguments),
            "failed_by_reason": _counter_dict(self.failed_by_reason),
            "fuzzy_by_reason": _counter_dict(self.fuzzy_by_reason),
            "translation_status": _counter_dict(self.translation_status),
            "output_losses": _counter_dict(self.output_losses),
            "method_figures": {k: round(float(v), 4) for k, v in sorted(self.method_figures.items())},
            "translation_seconds": round(self.translation_seconds, 3),
            "projection_seconds": round(self.projection_seconds, 3),
            "dropped": self.dropped,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LanguageReport:
        """Rebuild a report saved with :meth:`to_dict`."""
        rep = cls(d["lang"], d["examples_in"], d["examples_out"], Counter(d["examples_by_status"]),
                  {k: Counter(v) for k, v in d["spans_by_label"].items()}, Counter(d["triggers"]),
                  Counter(d["arguments"]), Counter(d["failed_by_reason"]), Counter(d["fuzzy_by_reason"]),
                  Counter(d["translation_status"]), Counter(d["output_losses"]), Counter(d["method_figures"]),
                  d["translation_seconds"], d["projection_seconds"], list(d["dropped"]))
        return rep


@dataclass
class Report:
    """The report of a run: what produced it, and one :class:`LanguageReport` per target language."""

    signature: str
    config: dict[str, Any]
    languages: dict[str, LanguageReport] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"signature": self.signature, "config": self.config,
                "languages": {k: v.to_dict() for k, v in self.languages.items()}, **self.extra}

    def table(self) -> str:
        """A plain-text table per language: examples, spans by label and status, failure reasons, times."""
        lines: list[str] = []
        for lang, rep in self.languages.items():
            d = rep.to_dict()
            lines.append(f"== {lang}: {rep.examples_in} examples in, {rep.examples_out} out "
                         f"({', '.join(f'{k} {v}' for k, v in d['examples_by_status'].items()) or 'none'})")
            header = f"  {'label':<20} {'projected':>10} {'fuzzy':>8} {'failed':>8}"
            lines.append(header)
            rows: Iterable[tuple[str, Counter[str]]] = sorted(rep.spans_by_label.items())
            for label, c in [*rows, ("(all spans)", rep.span_totals())]:
                lines.append(f"  {label:<20} {c[SpanStatus.PROJECTED]:>10} {c[SpanStatus.FUZZY]:>8} {c[SpanStatus.FAILED]:>8}")
            if rep.triggers or rep.arguments:
                for name, c in (("(triggers)", rep.triggers), ("(arguments)", rep.arguments)):
                    lines.append(f"  {name:<20} {c[SpanStatus.PROJECTED]:>10} {c[SpanStatus.FUZZY]:>8} {c[SpanStatus.FAILED]:>8}")
            for title, c in (("failed", rep.failed_by_reason), ("fuzzy", rep.fuzzy_by_reason)):
                for reason, n in c.most_common(8):
                    lines.append(f"  {title}: {reason}: {n}")
            if rep.output_losses:
                lines.append("  output: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(rep.output_losses.items())))
            lines.append(f"  time: translation {rep.translation_seconds:.1f}s, projection {rep.projection_seconds:.1f}s")
        lines.append(f"signature: {self.signature}")
        return "\n".join(lines)
