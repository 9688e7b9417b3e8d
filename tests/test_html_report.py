"""The HTML report: per-example records (projector.records) and the page builder (projector.html_report)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from projector import records as recs
from projector.cli import main
from projector.data import Argument, Event, Example, Span
from projector.errors import InputError
from projector.html_report import bar_chart, build_html, flatten_options, inspect_output, label_colors
from projector.methods.base import ProjectionOutput, SpanProjection
from projector.pipeline import DEMO_MODEL
from projector.projection import from_output

SCRIPT = "<script>window.pwned = 1</script>"


# --------------------------------------------------------------------------- records: pure functions


@pytest.mark.parametrize(("text", "direction"), [
    ("Angela Merkel met Emmanuel Macron.", "ltr"),
    ("التقى باراك أوباما في القاهرة", "rtl"),
    ("שלום עולם", "rtl"),
    ("زار Obama القاهرة أمس", "rtl"),          # mostly Arabic with a Latin name: still right to left
    ("Obama visited القاهرة yesterday", "ltr"),
    ("", "ltr"),
    ("2024 - 17", "ltr"),                      # no strong character
])
def test_text_direction(text: str, direction: str) -> None:
    assert recs.text_direction(text) == direction


def _rec(status: str, kept: bool = True, span_status: str = "projected", n: int = 0) -> dict[str, Any]:
    return {"id": str(n), "status": status, "kept": kept, "spans": [{"s": 0, "e": 1, "l": "X", "st": span_status}]}


@pytest.mark.parametrize(("record", "problem"), [
    (_rec("projected"), False),
    (_rec("unlabeled"), False),
    (_rec("partial"), True),
    (_rec("failed"), True),
    (_rec("projected", kept=False), True),
    (_rec("projected", span_status="fuzzy"), True),
    ({"id": "e", "status": "projected", "kept": True, "spans": [],
      "events": [{"type": "Attack", "tr": {"st": "projected"}, "args": [{"st": "fuzzy"}]}]}, True),
])
def test_is_problem(record: dict[str, Any], problem: bool) -> None:
    assert recs.is_problem(record) is problem


@pytest.mark.parametrize(("statuses", "limit", "ids"), [
    ("ppp", 5, ["0", "1", "2"]),                     # all fit
    ("pfpfp", 3, ["0", "1", "3"]),                   # problems first, then clean ones in order, in run order
    ("ppppf", 2, ["0", "4"]),                        # a late problem displaces a clean example
    ("ffff", 2, ["0", "1"]),                         # more problems than room: the first ones
    ("", 3, []),
])
def test_select_records(statuses: str, limit: int, ids: list[str]) -> None:
    records = [_rec("failed" if s == "f" else "projected", n=n) for n, s in enumerate(statuses)]
    sel = recs.select_records(iter(records), limit)
    assert [r["id"] for r in sel.records] == ids
    assert (sel.total, sel.problems) == (len(statuses), statuses.count("f"))


def test_select_records_streams_with_bounded_memory() -> None:
    def stream() -> Iterator[dict[str, Any]]:
        for n in range(100_000):
            yield _rec("failed" if n % 1000 == 7 else "projected", n=n)

    sel = recs.select_records(stream(), 50)
    assert (len(sel.records), sel.total, sel.problems) == (50, 100_000, 100)
    assert all(r["status"] == "failed" for r in sel.records)
    assert [r["id"] for r in sel.records][:2] == ["7", "1007"]


def _projected_example() -> Any:
    """An example with an entity that projects, one that fails, and an event with a linked and a free argument."""
    src = Example(id="x1", text=f"Ana met Bob in Rio {SCRIPT}.",
                  spans=(Span(0, 3, "PER"), Span(8, 11, "PER"), Span(15, 18, "LOC")),
                  events=(Event("Meet", Span(4, 7, "Meet"), (Argument("Entity", Span(0, 3, "PER"), 0),
                                                           Argument("Place", Span(15, 18, "Place"), None))),))
    out_text = "Ana encontrou Bob no Rio."
    outs = (SpanProjection(Span(0, 3, "PER"), Span(0, 3, "PER"), "projected", None, -0.51234),
            SpanProjection.failure(Span(8, 11, "PER"), "markers lost"),
            SpanProjection(Span(15, 18, "LOC"), Span(21, 24, "LOC"), "fuzzy", "moved by an overlap"),
            SpanProjection(Span(4, 7, "Meet"), Span(4, 13, "Meet")))
    info = {"template": out_text, "search": "exact", "candidates": [3, 0, 2], "nested": {"a": 1}, "long": "y" * 900}
    return from_output(src, ProjectionOutput(out_text, outs, info=info), "pt")


def test_example_record_keeps_every_projection_and_the_method_figures() -> None:
    rec = recs.example_record(_projected_example(), "train", kept=True)
    assert (rec["id"], rec["split"], rec["status"], rec["kept"]) == ("x1", "train", "partial", True)
    assert rec["src"].endswith(f"{SCRIPT}.") and rec["tgt"] == "Ana encontrou Bob no Rio."
    assert rec["spans"] == [
        {"s": 0, "e": 3, "l": "PER", "st": "projected", "ts": 0, "te": 3, "sc": -0.5123},
        {"s": 8, "e": 11, "l": "PER", "st": "failed", "r": "markers lost"},
        {"s": 15, "e": 18, "l": "LOC", "st": "fuzzy", "ts": 21, "te": 24, "r": "moved by an overlap"}]
    (event,) = rec["events"]
    assert event["type"] == "Meet" and event["tr"]["ts"] == 4
    assert [(a["role"], a.get("ent"), a["st"]) for a in event["args"]] == [("Entity", 0, "projected"),
                                                                          ("Place", None, "fuzzy")]
    # the figures: the template equal to the target text and nested objects are left out, long strings cut
    assert set(rec["info"]) == {"search", "candidates", "long"} and len(rec["info"]["long"]) == 501
    assert "mt" not in rec


def test_records_round_trip_in_run_order(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    recs.write_records(folder, 1, 0, [{"id": "c"}])
    recs.write_records(folder, 0, 1, [{"id": "b"}])
    recs.write_records(folder, 0, 0, [{"id": "a"}, {"id": "a2"}])
    assert [r["id"] for r in recs.read_records(folder)] == ["a", "a2", "b", "c"]
    assert list(recs.read_records(tmp_path / "none")) == []


@pytest.mark.parametrize(("output", "html", "state"), [
    ("out/demo", "out/demo/report.html", "out/demo/.projector/pt/records"),
])
def test_translate_train_files(output: str, html: str, state: str) -> None:
    files = recs.translate_train_files(output)
    assert (str(files.report_html), str(files.records("pt"))) == (html, state)
    assert str(files.report_json) == f"{output}/report.json"


@pytest.mark.parametrize(("output", "report", "html", "records"), [
    ("out/pt_pred.conll", "out/pt_pred.report.json", "out/pt_pred.report.html",
     "out/.projector/pt_pred.conll.translate-test/pt/records"),
    ("out/pred", "out/pred.report.json", "out/pred.report.html", "out/.projector/pred.translate-test/pt/records"),
])
def test_translate_test_files(output: str, report: str, html: str, records: str) -> None:
    files = recs.translate_test_files(output)
    assert [str(files.report_json), str(files.report_html), str(files.records("pt"))] == [report, html, records]


def test_find_run_files_without_a_report_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no projector report"):
        recs.find_run_files(tmp_path / "nothing")


# --------------------------------------------------------------------------- the page builder


def _report() -> dict[str, Any]:
    return {"signature": "task:translate-train|src:en|tgt:pt,ar|method:markers<b>",
            "config": {"src_lang": "en", "tgt_langs": ["pt", "ar"], "options": {"method": {"name": "markers"}}},
            "languages": {lang: {
                "lang": lang, "examples_in": 3, "examples_out": 2,
                "examples_by_status": {"projected": 1, "partial": 1, "failed": 1},
                "spans": {"projected": 4, "failed": 2}, "span_projection_rate": 0.6667,
                "spans_by_label": {"LOC": {"projected": 3}, "PER": {"projected": 1, "failed": 1},
                                   "<img src=x onerror=alert(1)>": {"failed": 1}},
                "triggers": {}, "arguments": {}, "failed_by_reason": {"markers lost": 1, "a <b>reason</b>": 1},
                "fuzzy_by_reason": {}, "translation_status": {"ok": 3}, "output_losses": {}, "method_figures": {},
                "translation_seconds": 0.1, "projection_seconds": 0.2, "dropped": []} for lang in ("pt", "ar")}}


def _selections() -> dict[str, recs.Selection]:
    pt = recs.example_record(_projected_example(), "train", kept=True)
    ar = {**pt, "id": "ar1", "tgt": "التقى آنا مع بوب في ريو."}
    return {"pt": recs.Selection([pt], 3, 1), "ar": recs.Selection([ar], 3, 1)}


class _Collector(HTMLParser):
    """Tags with their attributes and text, and the contents of each script element."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.cells: dict[tuple[str, str, str], str] = {}
        self._table = ""
        self._cell: tuple[str, str] | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag == "table":
            self._table = a.get("data-table") or ""
        if tag == "td" and "data-key" in a:
            self._cell = (a["data-row"] or "", a["data-key"] or "")
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False
        self._cell = None

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        elif self._cell is not None:
            self.cells[(self._table, self._cell[0], self._cell[1])] = data


def _parse(page: str) -> _Collector:
    parser = _Collector()
    parser.feed(page)
    return parser


def test_page_counts_equal_the_report() -> None:
    report = _report()
    page = _parse(build_html(report, _selections()))
    for lang, d in report["languages"].items():
        for status in ("projected", "partial", "failed", "unlabeled"):
            assert page.cells[("examples_by_status", "examples", status)] == str(d["examples_by_status"].get(status, 0))
        for label, counts in d["spans_by_label"].items():
            for status in ("projected", "fuzzy", "failed"):
                assert page.cells[("spans_by_label", label, status)] == str(counts.get(status, 0)), (lang, label)


def test_page_escapes_every_text_from_the_data() -> None:
    page = build_html(_report(), _selections())
    parsed = _parse(page)
    assert [tag for tag, _ in parsed.elements if tag == "script"] == ["script", "script"]  # only the page's own
    assert not any(tag == "img" for tag, _ in parsed.elements)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "a &lt;b&gt;reason&lt;/b&gt;" in page
    assert "method:markers&lt;b&gt;" in page
    data_script = parsed.scripts[0]
    assert "<" not in data_script and ">" not in data_script  # JSON cannot close its script element
    data = json.loads(data_script)
    assert data["langs"]["pt"]["records"][0]["src"].endswith(f"{SCRIPT}.")


def test_page_is_self_contained() -> None:
    page = build_html(_report(), _selections())
    urls = set(re.findall(r"https?://[^\s\"')]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}  # the SVG namespace only: nothing is fetched
    parsed = _parse(page)
    assert not any(tag == "link" or (tag == "script" and "src" in a) for tag, a in parsed.elements)


def test_page_marks_right_to_left_texts_and_colours_labels_once() -> None:
    data = json.loads(_parse(build_html(_report(), _selections())).scripts[0])
    pt, ar = data["langs"]["pt"]["records"][0], data["langs"]["ar"]["records"][0]
    assert "td" not in pt and ar["td"] == "rtl" and "sd" not in ar
    assert data["colors"] == label_colors(["LOC", "PER", "Meet", "Place", "<img src=x onerror=alert(1)>"])


def test_page_summary_reads_without_javascript() -> None:
    page = build_html(_report(), _selections())
    summary = page[: page.index('<script type="application/json"')]
    for needle in ('data-count="examples_in">3<', '<svg class="chart"', 'data-reason="markers lost"',
                   'data-reason-count="markers lost">1<', 'class="nojs"', "options.method.name"):
        assert needle in summary


def test_page_without_records_says_so() -> None:
    page = build_html(_report(), {})
    assert "No per-example records were kept" in page


@pytest.mark.parametrize(("options", "flat"), [
    ({"a": 1, "b": {"c": "x", "d": {"e": None}}}, {"a": "1", "b.c": '"x"', "b.d.e": "null"}),
    ({"langs": ["pt", "ar"], "empty": {}}, {"langs": '["pt", "ar"]', "empty": "{}"}),
])
def test_flatten_options(options: dict[str, Any], flat: dict[str, str]) -> None:
    assert flatten_options(options) == flat


@pytest.mark.parametrize(("label", "expected"), [("A", "#1f77b4"), ("B", "#9467bd"), ("C", "#17becf")])
def test_label_colors_follow_sorted_labels(label: str, expected: str) -> None:
    assert label_colors(["C", "A", "B", "A"])[label] == expected


def test_bar_chart_widths_are_proportional() -> None:
    svg = bar_chart([("LOC", {"projected": 30, "failed": 10}), ("PER", {"projected": 20})],
                    ("projected", "fuzzy", "failed"), title="t <x>")
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
    assert widths == [195.0, 65.0, 130.0]
    assert "t &lt;x&gt;" in svg and ">40<" in svg and ">20<" in svg


# --------------------------------------------------------------------------- the page of a run


def _fake_run(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text(json.dumps(_report()), encoding="utf-8")
    recs.write_records(recs.translate_train_files(out).records("pt"), 0, 0, [recs.example_record(_projected_example(), "train", True)])
    return out


def test_inspect_writes_the_page_of_an_existing_run(tmp_path: Path) -> None:
    out = _fake_run(tmp_path)
    result = CliRunner().invoke(main, ["inspect", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out / "report.html")
    data = json.loads(_parse((out / "report.html").read_text(encoding="utf-8")).scripts[0])
    assert [r["id"] for r in data["langs"]["pt"]["records"]] == ["x1"] and data["langs"]["ar"]["records"] == []
    assert inspect_output(out, limit=1) == out / "report.html"


@pytest.mark.parametrize(("opened", "message"), [(True, ""), (False, "no web browser found")])
def test_inspect_open_opens_the_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opened: bool,
                                     message: str) -> None:
    import webbrowser

    out = _fake_run(tmp_path)
    urls: list[str] = []
    def fake_open(url: str) -> bool:
        urls.append(url)
        return opened

    monkeypatch.setattr(webbrowser, "open", fake_open)
    result = CliRunner().invoke(main, ["inspect", str(out), "--open"])
    assert result.exit_code == 0 and urls == [(out / "report.html").resolve().as_uri()]
    assert (message in result.output) if message else "no web browser" not in result.output


def test_inspect_without_a_run_is_one_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["inspect", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "error: " in result.output and "no projector report" in result.output


needs_demo = pytest.mark.skipif(not (DEMO_MODEL / "model.bin").is_file(), reason="the demo model is not in this tree")


@pytest.mark.slow
@needs_demo
def test_translate_train_writes_the_page_and_keeps_records_out_of_the_dataset(tmp_path: Path,
                                                                             projector_cache: Path) -> None:
    import datasets

    from projector.pipeline import translate_train

    sample = Path(__file__).resolve().parents[1] / "examples" / "en_sample.conll"
    out = tmp_path / "run"
    result = translate_train(str(sample), tgt_langs="pt", method="markers", output=out, shard_size=3)
    records = list(recs.read_records(recs.translate_train_files(out).records("pt")))
    assert len(records) == result.report.languages["pt"].examples_in == 8
    assert len(list(recs.translate_train_files(out).records("pt").glob("*.jsonl"))) == 3  # one file per shard
    assert (out / "report.html").is_file()
    ds = datasets.load_dataset(str(out / "pt"))
    assert set(ds["train"].column_names) >= {"tokens", "ner_tags"} and ds["train"].num_rows == 8
    assert not any(p.name.startswith("report") or "records" in p.parts for p in (out / "pt").rglob("*"))
    # a resumed run shows every example once: killed before its last shard (shard and records gone), or
    # between the records and the shard of the second one (records there, shard not)
    folder = recs.translate_train_files(out).records("pt")
    (out / ".projector" / "pt" / "train" / "shard-000002.jsonl").unlink()
    (folder / "000-000002.jsonl").unlink()
    (out / ".projector" / "pt" / "train" / "shard-000001.jsonl").unlink()
    (out / "report.html").unlink()
    translate_train(str(sample), tgt_langs="pt", method="markers", output=out, shard_size=3)
    page = _parse((out / "report.html").read_text(encoding="utf-8"))
    shown = json.loads(page.scripts[0])["langs"]["pt"]["records"]
    assert [r["id"] for r in shown] == [r["id"] for r in records] == [str(k) for k in range(8)]


class _NamePredictor:
    """Labels the names it knows wherever they occur in the pivot text (a stand-in for an English NER model)."""

    name = "names"
    NAMES = {"Lula": "PER", "Lisbon": "LOC", "Petrobras": "ORG", "Luanda": "LOC", "Maria Santos": "PER"}

    def predict(self, texts: list[str]) -> list[list[Span]]:
        return [[Span(t.index(n), t.index(n) + len(n), label) for n, label in self.NAMES.items() if n in t]
                for t in texts]


@pytest.mark.slow
@needs_demo
def test_translate_test_writes_its_report_and_page_beside_the_output(tmp_path: Path, projector_cache: Path) -> None:
    from projector.translate_test import translate_test

    sample = Path(__file__).resolve().parents[1] / "examples" / "pt_sample.conll"
    output = tmp_path / "pred" / "pt_pred.conll"
    result = translate_test(str(sample), tgt_lang="pt", predictor=_NamePredictor(), output=output)
    files = recs.translate_test_files(output)
    assert json.loads(files.report_json.read_text(encoding="utf-8")) == json.loads(json.dumps(result.report.to_dict()))
    records = list(recs.read_records(files.records("pt")))
    assert [r["id"] for r in records] == [ex.id for ex in result.predictions.examples()]
    assert sum(len(r["spans"]) for r in records) == sum(result.report.languages["pt"].span_totals().values()) > 0
    data = json.loads(_parse(files.report_html.read_text(encoding="utf-8")).scripts[0])
    assert (data["langs"]["pt"]["src_lang"], data["langs"]["pt"]["tgt_lang"]) == ("en", "pt")
    assert sorted(p.name for p in output.parent.iterdir()) == [".projector", "pt_pred.conll", "pt_pred.report.html",
                                                                "pt_pred.report.json"]
    assert recs.find_run_files(output) == files


@pytest.mark.parametrize(("examples_in", "selection", "says"), [
    (3, None, "No per-example records were kept"),
    (3, recs.Selection([{"id": "a"}] * 3, 3, 1), "3 examples."),
    (9, recs.Selection([{"id": "a"}] * 2, 9, 1), "the 2 shown: the 1 that need a look first"),
    (5, recs.Selection([{"id": "a"}] * 3, 3, 0), "Records of 2 examples are missing"),
])
def test_records_note(examples_in: int, selection: recs.Selection | None, says: str) -> None:
    from projector.html_report import _records_note

    assert says in _records_note(examples_in, selection)
