"""The HTML report of a run: one self-contained page (inline CSS, SVG and a little JavaScript; no network).

The summary (signature, options, counts per language as tables and SVG bar charts, failure and fuzzy
reasons) is plain HTML and reads without JavaScript. The examples (source and target side by side, spans
coloured by label, filters and search) are embedded as JSON and rendered one page of rows at a time by
``report_assets/report.js``, so a page of thousands of examples stays fast. Every text from the data is
escaped: HTML in the summary, JSON with ``<``, ``>`` and ``&`` as ``\\u`` escapes in the embedded data,
and ``textContent`` in the browser.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from .data import SpanStatus
from .formats.base import atomic_file
from .records import (
    DEFAULT_LIMIT,
    RunFiles,
    Selection,
    find_run_files,
    is_problem,
    read_records,
    select_records,
    text_direction,
    translate_test_files,
    write_records,
)
from .report import Report

__all__ = ["build_html", "write_report_html", "inspect_output", "save_test_run", "label_colors", "bar_chart",
           "flatten_options", "STATUS_COLORS"]

logger = logging.getLogger("projector")

#: colours of span and example statuses (charts and badges)
STATUS_COLORS = {"projected": "#2e7d32", "fuzzy": "#b58900", "failed": "#c62828", "partial": "#ef6c00",
                 "unlabeled": "#78909c"}
SPAN_STATUSES = SpanStatus.ALL
#: the statuses of :attr:`projector.projection.ProjectedExample.status`, in chart order
EXAMPLE_STATUSES = ("projected", "partial", "failed", "unlabeled")
#: label colours, assigned in sorted label order (a span and its projection share its label's colour)
#: (the status colours, green, amber and red, come late: a label colour should not read as a status)
PALETTE = ("#1f77b4", "#9467bd", "#17becf", "#e377c2", "#8c564b", "#bcbd22", "#393b79", "#7b4173", "#637939",
           "#3182bd", "#843c39", "#7f7f7f", "#2ca02c", "#ff7f0e", "#e6550d", "#d62728")


def label_colors(labels: Iterable[str]) -> dict[str, str]:
    """A colour per label (sorted order through :data:`PALETTE`, cycling)."""
    return {label: PALETTE[k % len(PALETTE)] for k, label in enumerate(sorted(set(labels)))}


def _asset(name: str) -> str:
    return (resources.files("projector") / "report_assets" / name).read_text(encoding="utf-8")


def _status_css() -> str:
    """The status colours as CSS variables and badge classes (one definition: :data:`STATUS_COLORS`)."""
    variables = "".join(f"--st-{k}:{v};" for k, v in STATUS_COLORS.items())
    return f":root{{{variables}}}" + "".join(f".st-{k}{{background:var(--st-{k})}}" for k in STATUS_COLORS)


def _json_for_script(data: Any) -> str:
    """JSON that cannot close or comment out the ``<script>`` element holding it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def bar_chart(rows: Sequence[tuple[str, Mapping[str, int]]], order: Sequence[str], *, title: str) -> str:
    """A horizontal stacked bar chart as inline SVG: one bar per row, one segment per key of ``order``."""
    label_w, bar_w, row_h, count_w = 130, 260, 22, 60
    top = max((sum(c.get(k, 0) for k in order) for _, c in rows), default=0) or 1
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{label_w + bar_w + count_w}" '
             f'height="{row_h * len(rows) + 4}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for n, (name, counts) in enumerate(rows):
        y = n * row_h + 2
        parts.append(f'<text x="0" y="{y + 15}">{escape(name)}</text>')
        x = float(label_w)
        for key in order:
            value = counts.get(key, 0)
            if not value:
                continue
            w = bar_w * value / top
            parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{max(w, 1.5):.1f}" height="{row_h - 6}" '
                         f'fill="{STATUS_COLORS.get(key, "#888")}"><title>{escape(f"{name} · {key}: {value}")}'
                         f'</title></rect>')
            x += w
        total = sum(counts.get(k, 0) for k in order)
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}">{total}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _legend(keys: Iterable[str]) -> str:
    return '<div class="legend">' + "".join(
        f'<span class="swatch" style="background:{STATUS_COLORS.get(k, "#888")}"></span>{escape(k)}' for k in keys) + "</div>"


def _count_table(name: str, rows: Sequence[tuple[str, Mapping[str, int]]], order: Sequence[str]) -> str:
    head = "".join(f'<th class="n">{escape(k)}</th>' for k in order)
    body = []
    for row, counts in rows:
        cells = "".join(f'<td class="n" data-row="{escape(row)}" data-key="{escape(k)}">{int(counts.get(k, 0))}</td>'
                        for k in order)
        body.append(f"<tr><th>{escape(row)}</th>{cells}<td class='n muted'>{sum(counts.get(k, 0) for k in order)}</td></tr>")
    return (f'<table class="counts" data-table="{escape(name)}"><tr><th></th>{head}<th class="n">total</th></tr>'
            f'{"".join(body)}</table>')


def _reasons(lang: str, title: str, kind: str, counts: Mapping[str, int]) -> str:
    if not counts:
        return ""
    rows = "".join(f'<tr><td><a href="#examples-{escape(lang)}" data-lang="{escape(lang)}" data-reason="{escape(r)}">'
                   f'{escape(r)}</a></td><td class="n" data-reason-count="{escape(r)}">{int(n)}</td></tr>'
                   for r, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return f'<div><h3>{escape(title)}</h3><table class="reasons" data-kind="{kind}">{rows}</table></div>'


def _key_values(title: str, values: Mapping[str, Any]) -> str:
    if not values:
        return ""
    rows = "".join(f"<tr><td>{escape(str(k))}</td><td class='n'>{escape(str(v))}</td></tr>" for k, v in values.items())
    return f"<div><h3>{escape(title)}</h3><table>{rows}</table></div>"


def flatten_options(options: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested options as ``a.b.c`` keys and JSON values (for the options table)."""
    flat: dict[str, str] = {}
    for key, value in options.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_options(value, name + "."))
        else:
            flat[name] = json.dumps(value, ensure_ascii=False, default=str)
    return flat


def _card(key: str, value: Any, caption: str) -> str:
    return f'<div class="card"><b data-count="{key}">{escape(str(value))}</b><span>{escape(caption)}</span></div>'


def _records_note(examples_in: int, selection: Selection | None) -> str:
    """What the example browser holds: all examples, a bounded selection, or none (a run without records)."""
    if selection is None or not selection.total:
        return ("<p class='muted'>No per-example records were kept for this language (a run from before records "
                "existed); run it again to see its examples.</p>")
    cut = "" if len(selection.records) == selection.total else (
        f" (the {len(selection.records)} shown: the {selection.problems} that need a look first, then the others "
        f"in order; <code>projector inspect --limit</code> shows more)")
    missing = examples_in - selection.total
    gap = f" Records of {missing} examples are missing (shards finished before records existed)." if missing > 0 else ""
    return f"<p class='muted'>{selection.total} examples{cut}.{gap}</p>"


def _language_html(lang: str, d: Mapping[str, Any], selection: Selection | None) -> str:
    """The summary of one language and the (script-filled) box of its examples."""
    rate = d.get("span_projection_rate")
    cards = (_card("examples_in", d["examples_in"], "examples in") + _card("examples_out", d["examples_out"], "examples out")
             + _card("spans", sum(d.get("spans", {}).values()), "entity spans")
             + _card("span_projection_rate", f"{rate:.1%}" if rate is not None else "–", "spans projected or fuzzy"))
    status_rows = [(s, {s: d["examples_by_status"].get(s, 0)}) for s in EXAMPLE_STATUSES if d["examples_by_status"].get(s)]
    span_rows = [(label, c) for label, c in d["spans_by_label"].items()]
    if d.get("triggers"):
        span_rows.append(("(triggers)", d["triggers"]))
    if d.get("arguments"):
        span_rows.append(("(arguments)", d["arguments"]))
    charts = (f'<figure><figcaption>Examples by status</figcaption>'
              f'{bar_chart(status_rows, EXAMPLE_STATUSES, title=f"{lang}: examples by status")}'
              f'{_count_table("examples_by_status", [("examples", d["examples_by_status"])], EXAMPLE_STATUSES)}</figure>'
              f'<figure><figcaption>Spans by label and status</figcaption>'
              f'{bar_chart(span_rows, SPAN_STATUSES, title=f"{lang}: spans by label and status")}{_legend(SPAN_STATUSES)}'
              f'{_count_table("spans_by_label", span_rows, SPAN_STATUSES)}</figure>')
    times = {"translation seconds": d.get("translation_seconds"), "projection seconds": d.get("projection_seconds"),
             "examples not in the output": d["examples_in"] - d["examples_out"]}
    details = (_reasons(lang, "Failure reasons", "failed", d.get("failed_by_reason", {}))
               + _reasons(lang, "Fuzzy reasons", "fuzzy", d.get("fuzzy_by_reason", {}))
               + _key_values("Translation status", d.get("translation_status", {}))
               + _key_values("Output losses", d.get("output_losses", {}))
               + _key_values("Method figures (sums)", d.get("method_figures", {})) + _key_values("Run", times))
    shown = _records_note(d["examples_in"], selection)
    return (f'<section id="lang-{escape(lang)}"><h2>{escape(lang)}</h2><div class="cards">{cards}</div>'
            f'<div class="grid">{charts}</div><div class="grid">{details}</div>'
            f'<h3>Examples</h3>{shown}<div class="examples" id="examples-{escape(lang)}" data-lang="{escape(lang)}">'
            f'<p class="nojs">The example browser needs JavaScript; the summary above does not.</p></div></section>')


def _page_data(report: Mapping[str, Any], selections: Mapping[str, Selection]) -> dict[str, Any]:
    """What the script needs: label colours and, per language, the records with their text directions."""
    config = report.get("config", {})
    src_lang = config.get("pivot_lang") or config.get("src_lang", "")
    labels: set[str] = set()
    langs: dict[str, Any] = {}
    for lang, d in report.get("languages", {}).items():
        labels.update(d.get("spans_by_label", {}))
        sel = selections.get(lang) or Selection()
        records = []
        for rec in sel.records:
            rec = dict(rec)
            labels.update(p["l"] for p in rec.get("spans", ()))
            for ev in rec.get("events", ()):
                labels.update([ev["tr"]["l"], *(a["l"] for a in ev["args"])])
            if is_problem(rec):
                rec["look"] = 1  # the "needs a look" filter
            for key, text in (("sd", rec.get("src", "")), ("td", rec.get("tgt", ""))):
                if text_direction(text) == "rtl":
                    rec[key] = "rtl"
            records.append(rec)
        langs[lang] = {"src_lang": src_lang, "tgt_lang": config.get("tgt_lang") or lang, "records": records,
                       "total": sel.total}
    return {"colors": label_colors(labels), "langs": langs}


def build_html(report: Mapping[str, Any], selections: Mapping[str, Selection], *, title: str = "projector report") -> str:
    """The page of a report (``report.json``'s content) and the selected records of each language."""
    options_rows = "".join(f"<div><b>{escape(k)}</b> <code>{escape(v)}</code></div>"
                           for k, v in flatten_options(report.get("config", {})).items())
    languages = report.get("languages", {})
    nav = "".join(f'<a href="#lang-{escape(lang)}">{escape(lang)}</a>' for lang in languages)
    scores = report.get("scores")
    scores_html = _key_values("Scores (seqeval)", {k: v for k, v in scores.items() if k != "per_label"}) if scores else ""
    body = "".join(_language_html(lang, d, selections.get(lang)) for lang, d in languages.items())
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
            f'script-src \'unsafe-inline\'; img-src data:">'
            f'<title>{escape(title)}</title><style>{_status_css()}{_asset("report.css")}</style></head><body>'
            f'<header><h1>{escape(title)}</h1><code data-signature>{escape(str(report.get("signature", "")))}</code></header>'
            f'<main><details class="options" open><summary>Options</summary><div class="kv">{options_rows}</div></details>'
            f'<nav>{nav}</nav>{scores_html}{body}</main>'
            f'<script type="application/json" id="projector-data">{_json_for_script(_page_data(report, selections))}</script>'
            f'<script>{_asset("report.js")}</script></body></html>')


def write_report_html(files: RunFiles, *, limit: int = DEFAULT_LIMIT, title: str | None = None) -> Path:
    """Write ``files.report_html`` from the run's ``report.json`` and records (read streaming, at most
    ``limit`` examples per language) and return its path."""
    with open(files.report_json, encoding="utf-8") as fh:
        report = json.load(fh)
    selections = {lang: select_records(read_records(files.records(lang)), limit) for lang in report.get("languages", {})}
    task = str(report.get("signature", "")).split("|", 1)[0].removeprefix("task:") or "run"
    page = build_html(report, selections, title=title or f"projector {task}: {files.name}")
    with atomic_file(files.report_html) as fh:
        fh.write(page)
    logger.info("report page: %s", files.report_html)
    return files.report_html


def inspect_output(output: str | Path, *, limit: int = DEFAULT_LIMIT) -> Path:
    """(Re)write the page of an existing run (translate-train folder or translate-test output)."""
    return write_report_html(find_run_files(output), limit=limit)


def save_test_run(output: str | Path, report: Report, records: Iterable[Mapping[str, Any]]) -> Path:
    """Beside a translate-test output: its report (``NAME.report.json``), records and page; the page's path."""
    files = translate_test_files(output)
    for lang in report.languages:
        write_records(files.records(lang), 0, 0, records)
    with atomic_file(files.report_json) as fh:
        json.dump(report.to_dict(), fh, indent=1, ensure_ascii=False)
    return write_report_html(files)
