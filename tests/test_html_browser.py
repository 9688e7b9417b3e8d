"""The report page of a real small run (the demo model, markers), opened in headless Chromium.

Asserts on the rendered DOM: the counts shown equal report.json, a failed span is listed under its
reason, filtering by a label hides the other examples, search finds an example, and the ``<script>`` and
``<img onerror>`` in the data did not run. Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run``
installs them) and selenium (the ``dev`` extra); skips with the reason where they are missing, unless
``PROJECTOR_REQUIRE_BROWSER=1`` (set by ``.ci/run`` once Chromium is there) turns that into a failure.
``PROJECTOR_REPORT_SCREENSHOT=PATH`` also saves the screenshot there.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from projector.pipeline import DEMO_MODEL, translate_train
from projector.records import is_problem, read_records, translate_train_files

pytestmark = pytest.mark.slow
needs_demo = pytest.mark.skipif(not (DEMO_MODEL / "model.bin").is_file(), reason="the demo model is not in this tree")

SCRIPT = "<script>window.pwned = 1</script>"
IMG = '<img src="x" onerror="window.pwned = 2">'
EXAMPLES: list[dict[str, Any]] = [
    # the injected markup is one MISC span; the page must show it as text
    {"id": "inject", "text": f"The file {SCRIPT} {IMG} was opened by John in Berlin.", "spans": [
        (9, 9 + len(SCRIPT) + 1 + len(IMG), "MISC"), ("John", "PER"), ("Berlin", "LOC")]},
    # "New York" and "York City" cross: markers cannot express it, so one of them fails with that reason
    {"id": "cross", "text": "He lives in New York City with Mary Smith.",
     "spans": [(12, 20, "LOC"), (16, 25, "ORG"), ("Mary Smith", "PER")]},
    {"id": "merkel", "text": "Angela Merkel visited Paris on Tuesday.", "spans": [("Angela Merkel", "PER"), ("Paris", "LOC")]},
    {"id": "un", "text": "The United Nations opened an office in Geneva.", "spans": [("United Nations", "ORG"),
                                                                                       ("Geneva", "LOC")]},
    {"id": "plain", "text": "The house is very big.", "spans": []},
]


def _jsonl(path: Path) -> Path:
    lines = []
    for ex in EXAMPLES:
        spans = []
        for span in ex["spans"]:
            if isinstance(span[0], str):
                start = ex["text"].index(span[0])
                spans.append({"start": start, "end": start + len(span[0]), "label": span[1]})
            else:
                spans.append({"start": span[0], "end": span[1], "label": span[2]})
        lines.append(json.dumps({"id": ex["id"], "text": ex["text"], "spans": spans}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report_run")
    out = folder / "out"
    translate_train(str(_jsonl(folder / "in.jsonl")), tgt_langs="pt", method="markers", output=out, cache=False)
    return out


def _missing(reason: str) -> NoReturn:
    if os.environ.get("PROJECTOR_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (PROJECTOR_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def _start_browser(javascript: bool = True) -> Any:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed (pip install -e '.[dev]')")
    binary = next((b for b in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if b), None)
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        _missing("no Chromium or chromedriver here: install Debian's chromium and chromium-driver (.ci/run does "
                 "when apt-get is available)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(service=Service(driver_path), options=options)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = _start_browser()
    try:
        yield driver
    finally:
        driver.quit()


def _rows(driver: Any) -> list[Any]:
    return driver.find_elements("css selector", "#examples-pt article.ex")


@needs_demo
def test_report_page_in_a_real_browser(browser: Any, run: Path, tmp_path: Path) -> None:
    from selenium.webdriver.support.ui import Select

    report = json.loads((run / "report.json").read_text(encoding="utf-8"))["languages"]["pt"]
    records = {r["id"]: r for r in read_records(translate_train_files(run).records("pt"))}
    browser.get((run / "report.html").resolve().as_uri())
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("PROJECTOR_REPORT_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["PROJECTOR_REPORT_SCREENSHOT"])

    # the injected markup did not run, and shows as text
    assert browser.execute_script("return window.pwned") is None
    inject = browser.find_element("css selector", '#examples-pt article[data-id="inject"] .src')
    assert SCRIPT in inject.text and IMG in inject.text
    assert not browser.find_elements("css selector", "#examples-pt img, #examples-pt article script")

    # the counts shown equal report.json
    def count(selector: str) -> int:
        return int(browser.find_element("css selector", selector).text)

    assert count('[data-count="examples_in"]') == report["examples_in"] == len(EXAMPLES)
    assert count('[data-count="examples_out"]') == report["examples_out"]
    for status in ("projected", "partial", "failed", "unlabeled"):
        cell = f'table[data-table="examples_by_status"] td[data-key="{status}"]'
        assert count(cell) == report["examples_by_status"].get(status, 0)
    for label, by_status in report["spans_by_label"].items():
        for status in ("projected", "fuzzy", "failed"):
            cell = f'table[data-table="spans_by_label"] td[data-row="{label}"][data-key="{status}"]'
            assert count(cell) == by_status.get(status, 0), (label, status)
    for reason, n in report["failed_by_reason"].items():
        assert browser.find_element("css selector", f'a[data-reason="{reason}"]').text == reason
        assert count(f'td[data-reason-count="{reason}"]') == n
    assert len(_rows(browser)) == len(EXAMPLES) and not browser.find_elements("css selector", ".nojs")

    # a failed span is listed under its reason: the reason's link shows the examples with it
    reason = next(r for r in report["failed_by_reason"] if r.startswith("crosses another span"))
    browser.find_element("css selector", f'a[data-reason="{reason}"]').click()
    rows = _rows(browser)
    assert [r.get_attribute("data-id") for r in rows] == ["cross"]
    failed = rows[0].find_elements("css selector", '.src mark[data-status="failed"]')
    assert any(reason in (m.get_attribute("title") or "") for m in failed)

    # filtering by a label hides the examples without it
    Select(browser.find_element("css selector", '#examples-pt select[data-filter="reason"]')).select_by_value("")
    Select(browser.find_element("css selector", '#examples-pt select[data-filter="label"]')).select_by_value("ORG")
    shown = {r.get_attribute("data-id") for r in _rows(browser)}
    assert shown == {k for k, r in records.items() if any(p["l"] == "ORG" for p in r["spans"])} == {"cross", "un"}
    for row in _rows(browser):
        assert row.find_elements("css selector", 'mark[data-label="ORG"]')
        assert all("dim" in m.get_attribute("class") for m in row.find_elements("css selector", "mark")
                   if m.get_attribute("data-label") != "ORG")

    # the examples that need a look (not fully projected, fuzzy, or not in the output)
    Select(browser.find_element("css selector", '#examples-pt select[data-filter="label"]')).select_by_value("")
    by_status = Select(browser.find_element("css selector", '#examples-pt select[data-filter="status"]'))
    by_status.select_by_value("look")
    assert {r.get_attribute("data-id") for r in _rows(browser)} == {k for k, r in records.items() if is_problem(r)}
    assert "cross" in {r.get_attribute("data-id") for r in _rows(browser)}
    by_status.select_by_value("")

    # search
    browser.find_element("css selector", '#examples-pt input[data-filter="search"]').send_keys("merkel")
    assert [r.get_attribute("data-id") for r in _rows(browser)] == ["merkel"]

    severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert not severe, severe


def _synthetic_records(n: int) -> list[dict[str, Any]]:
    """``n`` records made by the real record builder: every 7th fails, one has an event, one is Arabic."""
    from projector.data import Argument, Event, Example, Span
    from projector.methods.base import ProjectionOutput, SpanProjection
    from projector.projection import from_output
    from projector.records import example_record

    records = []
    for k in range(n):
        src = Example(id=f"ex{k:05d}", text=f"Ana met Bob in Rio number {k}.",
                      spans=(Span(0, 3, "PER"), Span(15, 18, "LOC")),
                      events=(Event("Meet", Span(4, 7, "Meet"), (Argument("Place", Span(15, 18, "LOC"), 1),)),)
                      if k == 1 else ())
        tgt = f"التقت آنا ببوب في ريو رقم {k}." if k == 2 else f"Ana encontrou Bob no Rio número {k}."
        loc = tgt.index("ريو") if k == 2 else tgt.index("Rio")
        outs = [SpanProjection(Span(0, 3, "PER"), Span(0, 3, "PER") if k != 2 else Span(6, 9, "PER"), score=-0.25),
                SpanProjection.failure(Span(15, 18, "LOC"), "markers lost") if k % 7 == 6 else
                SpanProjection(Span(15, 18, "LOC"), Span(loc, loc + 3, "LOC"))]
        if k == 1:
            outs.append(SpanProjection(Span(4, 7, "Meet"), Span(4, 13, "Meet")))
        records.append(example_record(from_output(src, ProjectionOutput(tgt, tuple(outs)), "pt"), "train", True))
    return records


def test_thousands_of_examples_render_one_page_at_a_time(browser: Any, tmp_path: Path) -> None:
    from projector.html_report import build_html
    from projector.records import select_records

    n = 3000
    selection = select_records(iter(_synthetic_records(n)))
    statuses = {"projected": sum(r["status"] == "projected" for r in selection.records)}
    statuses["partial"] = n - statuses["projected"]
    report = {"signature": "task:translate-train", "config": {"src_lang": "en", "tgt_langs": ["pt"]},
              "languages": {"pt": {"lang": "pt", "examples_in": n, "examples_out": n, "examples_by_status": statuses,
                                   "spans_by_label": {}, "failed_by_reason": {"markers lost": statuses["partial"]}}}}
    page = tmp_path / "report.html"
    page.write_text(build_html(report, {"pt": selection}), encoding="utf-8")
    browser.get(page.resolve().as_uri())
    rows = _rows(browser)
    assert len(rows) == 25 and len(browser.find_elements("css selector", "article")) == 25
    assert browser.execute_script("return document.getElementsByTagName('*').length") < 2000  # not one huge DOM
    pager = browser.find_element("css selector", "#examples-pt .pager")
    assert f"of {n} matching" in pager.text
    # rows in run order; next and prev turn the pages
    assert [r.get_attribute("data-id") for r in rows[:3]] == ["ex00000", "ex00001", "ex00002"]
    browser.find_element("css selector", '#examples-pt button[data-page="next"]').click()
    assert _rows(browser)[0].get_attribute("data-id") == "ex00025"
    browser.find_element("css selector", '#examples-pt button[data-page="prev"]').click()
    # the event: trigger and role-labelled argument
    event = browser.find_element("css selector", 'article[data-id="ex00001"] ul.events li')
    assert event.text.startswith("Meet trigger") and "Place" in event.text and "“Rio”" in event.text
    # right to left: the Arabic target renders right to left, the English source left to right
    arabic = browser.find_element("css selector", 'article[data-id="ex00002"]')
    direction = "return getComputedStyle(arguments[0]).direction"
    assert browser.execute_script(direction, arabic.find_element("css selector", ".tgt")) == "rtl"
    assert browser.execute_script(direction, arabic.find_element("css selector", ".src")) == "ltr"
    # filter by status: the partial ones only
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("css selector", '#examples-pt select[data-filter="status"]')).select_by_value("partial")
    assert f"of {statuses['partial']} matching" in pager.text
    assert {r.get_attribute("data-status") for r in _rows(browser)} == {"partial"}


@needs_demo
def test_summary_reads_without_javascript(run: Path) -> None:
    driver = _start_browser(javascript=False)
    try:
        driver.get((run / "report.html").resolve().as_uri())
        report = json.loads((run / "report.json").read_text(encoding="utf-8"))["languages"]["pt"]
        assert driver.find_element("css selector", '[data-count="examples_in"]').text == str(report["examples_in"])
        assert driver.find_elements("css selector", "svg.chart rect")
        reason = next(iter(report["failed_by_reason"]))
        assert driver.find_element("css selector", f'a[data-reason="{reason}"]').is_displayed()
        note = driver.find_element("css selector", "#examples-pt .nojs")
        assert note.is_displayed() and "needs JavaScript" in note.text and not _rows(driver)  # no script ran
    finally:
        driver.quit()
