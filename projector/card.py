"""Dataset cards for projected datasets: languages, source, method, model, signature, statistics."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .formats import Corpus
from .options import Options, portable_model
from .report import LanguageReport

__all__ = ["dataset_card"]


def options_table(options: Mapping[str, Any]) -> list[str]:
    """Markdown rows ``| group | option | value |`` of options objects (models by portable name)."""
    rows = ["| | option | value |", "|---|---|---|"]
    for group, opts in options.items():
        if isinstance(opts, Options):
            for name, value in opts.key().items():
                rows.append(f"| {group} | `{name}` | `{json.dumps(value, ensure_ascii=False)}` |")
    return rows if len(rows) > 2 else []


def dataset_card(*, source: Corpus, target: Corpus, report: LanguageReport, signature: str, src_lang: str,
                 tgt_lang: str, options: Mapping[str, Any] | None = None) -> str:
    """The Markdown body of the card (the YAML metadata is added by the Hugging Face writer)."""
    table = options_table(options or {})
    name = portable_model(str(source.info.source))  # a local input by its file name: no machine paths
    figures = report.to_dict()
    splits = {s: len(v) for s, v in target.splits.items()}
    lines = [
        f"# {tgt_lang} data projected from {src_lang} by projector",
        "",
        f"Machine-translated from `{name}` ({source.info.format}, {len(source)} examples) into "
        f"**{tgt_lang}**, with every labeled span projected onto the translation.",
        "",
        "| | |",
        "|---|---|",
        f"| languages | {src_lang} -> {tgt_lang} |",
        f"| source dataset | `{name}` |",
        f"| examples in / out | {report.examples_in} / {report.examples_out} |",
        f"| splits | {', '.join(f'{k}: {v}' for k, v in splits.items())} |",
        f"| span projection rate | {figures['span_projection_rate']} |",
        "",
        "## Signature",
        "",
        "Everything that produced this dataset (method and its options, MT model, versions):",
        "",
        f"    {signature}",
        "",
        *(["## Options", "", *table, ""] if table else []),
        "## Projection statistics",
        "",
        "```json",
        json.dumps({k: figures[k] for k in ("examples_by_status", "spans", "spans_by_label", "triggers", "arguments",
                                             "failed_by_reason", "fuzzy_by_reason") if figures[k]}, indent=1),
        "```",
        "",
        "Examples whose spans did not all project are kept or dropped by the run's failure policy "
        "(see `meta.projection_status`); the run's `report.json` lists every dropped example with its reason.",
    ]
    return "\n".join(lines) + "\n"
