"""Readers and writers on small fixtures: every format reads, writes and reads back identically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from projector import Example, Span, read, write
from projector.errors import FormatError, InputError, UnknownNameError
from projector.formats import corpus_stats, detect_format, output_format

CONLL_3COL = """-DOCSTART- -X- O

# sent_id = a
John NNP B-PER
Smith NNP I-PER
lives VBZ O
in IN O
New NNP B-LOC
York NNP I-LOC
. . O

Apple NNP B-ORG
rocks VBZ O
"""

WIKIEVENTS = {
    "doc_id": "d1", "tokens": ["Rebels", "attacked", "Kabul", "on", "Monday", "."],
    "text": "Rebels attacked Kabul on Monday.",
    "sentences": [[[["Rebels", 0, 6], ["attacked", 7, 15], ["Kabul", 16, 21], ["on", 22, 24], ["Monday", 25, 31],
                    [".", 31, 32]], "Rebels attacked Kabul on Monday."]],
    "entity_mentions": [{"id": "d1-T1", "sent_idx": 0, "start": 0, "end": 1, "entity_type": "PER",
                         "mention_type": "NOM", "text": "Rebels"},
                        {"id": "d1-T2", "sent_idx": 0, "start": 2, "end": 3, "entity_type": "GPE",
                         "mention_type": "NAM", "text": "Kabul"}],
    "relation_mentions": [],
    "event_mentions": [{"id": "d1-E1", "event_type": "Conflict.Attack", "trigger":
                        {"start": 1, "end": 2, "text": "attacked", "sent_idx": 0},
                        "arguments": [{"entity_id": "d1-T1", "role": "Attacker", "text": "Rebels"},
                                      {"entity_id": "d1-T2", "role": "Place", "text": "Kabul"}]}],
}

ACE = {
    "wnd_id": "w1", "tokens": ["Troops", "left", "Iraq", "in", "2011", "."],
    "entity_mentions": [{"id": "e1", "start": 0, "end": 1, "entity_type": "PER", "text": "Troops"},
                        {"id": "e2", "start": 2, "end": 3, "entity_type": "GPE", "text": "Iraq"}],
    "event_mentions": [{"id": "ev1", "event_type": "Movement:Transport", "trigger": {"start": 1, "end": 2, "text": "left"},
                        "arguments": [{"start": 0, "end": 1, "role": "Artifact", "text": "Troops"},
                                      {"start": 2, "end": 3, "role": "Origin", "text": "Iraq"},
                                      {"start": 4, "end": 5, "role": "Time", "text": "2011"}]}],
}

RAMS = {
    "doc_key": "r1", "sentences": [["He", "was", "killed", "in", "Mosul", "."], ["Police", "said", "so", "."]],
    "ent_spans": [[0, 0, [["evt1arg01victim", 1.0]]], [4, 4, [["evt1arg02place", 1.0]]]],
    "evt_triggers": [[2, 2, [["life.die.n/a", 1.0]]]],
    "gold_evt_links": [[[2, 2], [0, 0], "evt1arg01victim"], [[2, 2], [4, 4], "evt1arg02place"]],
    "split": "dev", "language_id": "eng",
}


def _write(tmp: Path, name: str, content: str | bytes) -> Path:
    path = tmp / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _same(a, b) -> None:  # type: ignore[no-untyped-def]
    assert list(a.splits) == list(b.splits)
    assert [list(v) for v in a.splits.values()] == [list(v) for v in b.splits.values()]


def test_conll_read_columns_docstart_comments(tmp_path: Path) -> None:
    corpus = read(_write(tmp_path, "train.conll", CONLL_3COL))
    assert list(corpus.splits) == ["train"]
    first, second = corpus.splits["train"]
    assert first.text == "John Smith lives in New York."
    assert [(s.text_of(first.text), s.label) for s in first.spans] == [("John Smith", "PER"), ("New York", "LOC")]
    assert first.meta["docstart"] == ["-DOCSTART-", "-X-", "O"]
    assert first.meta["comments"] == ["# sent_id = a"]
    assert first.meta["conll_columns"] == {"1": ["NNP", "NNP", "VBZ", "IN", "NNP", "NNP", "."]}
    assert second.spans == (Span(0, 5, "ORG"),)


@pytest.mark.parametrize("fmt,ext", [("conll", "conll"), ("jsonl", "jsonl"), ("hf", "")])
def test_conll_roundtrip_through_every_ner_format(tmp_path: Path, fmt: str, ext: str) -> None:
    corpus = read(_write(tmp_path, "train.conll", CONLL_3COL))
    out = tmp_path / (f"out.{ext}" if ext else "out_hf")
    write(corpus, out, format=fmt)
    again = read(out, format=fmt)
    _same(corpus, again)
    if fmt == "conll":  # the file itself comes back with every column
        assert "John NNP B-PER" in out.read_text()


def test_conll_tab_separated_token_with_space_and_column_choice(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.tsv", "B-LOC\tNew York\nO\tis\nO\tbig\n")
    corpus = read(path, format="conll", token_col=1, tag_col=0)
    ex = corpus.splits["train"][0]
    assert ex.words == ["New York", "is", "big"]
    assert ex.spans == (Span(0, 8, "LOC"),)
    out = tmp_path / "y.conll"
    write(corpus, out)
    assert out.read_text().splitlines()[0] == "B-LOC\tNew York"


def test_conll_iob1_and_bioes_preserved(tmp_path: Path) -> None:
    corpus = read(_write(tmp_path, "a.conll", "Ann I-PER\nBob B-PER\nran O\n"))
    assert corpus.info.scheme == "iob1"
    assert len(corpus.splits["train"][0].spans) == 2
    write(corpus, tmp_path / "b.conll")
    assert (tmp_path / "b.conll").read_text().split() == ["Ann", "I-PER", "Bob", "B-PER", "ran", "O"]
    write(corpus, tmp_path / "c.conll", scheme="bioes")
    assert (tmp_path / "c.conll").read_text().split() == ["Ann", "S-PER", "Bob", "S-PER", "ran", "O"]


def test_conll_repairs_are_counted(tmp_path: Path) -> None:
    corpus = read(_write(tmp_path, "a.conll", "x B-PER\ny I-LOC\nz O\nw I-ORG\n\nv B-PER\nu I-PER\n"))
    assert corpus.stats["tags_repaired"] == 2
    assert corpus_stats(corpus)["tags_repaired"] == 2


BAD_CONLL = [
    ("ragged", "a O\nb B-PER x\n", "a.conll:2: expected 2 columns"),
    ("empty", "", "empty"),
    ("blank only", "\n\n\n", "no sentences"),
    ("bad tag for scheme", "a B-PER\nb E-PER\n", None),  # E- makes it BIOES: valid
    ("missing tag col", "a\nb\n", "cannot tell the format"),
]


@pytest.mark.parametrize("name,content,message", BAD_CONLL)
def test_conll_bad_input(tmp_path: Path, name: str, content: str, message: str | None) -> None:
    path = _write(tmp_path, "a.conll" if name != "missing tag col" else "a.txt", content)
    if message is None:
        read(path)
        return
    with pytest.raises((FormatError, InputError), match=message):
        read(path)


def test_conll_explicit_scheme_mismatch_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.conll", "a O\n\nb B-PER\nc E-PER\n")
    with pytest.raises(FormatError, match=r"a.conll:4: tag 'E-PER' is not valid in the IOB2 scheme \(token 2 of the sentence at line 3\)"):
        read(path, scheme="iob2")


def test_conll_tag_col_out_of_range(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="tag column 5 does not exist"):
        read(_write(tmp_path, "a.conll", "a O\n"), tag_col=5)


def test_undecodable_bytes_name_the_line_and_encoding_option(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.conll", "caf\xe9 O\n".encode("latin-1"))
    with pytest.raises(FormatError, match=r"a.conll:1: cannot decode .* --encoding"):
        read(path)
    assert read(path, encoding="latin-1").splits["train"][0].words == ["café"]


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read(tmp_path / "nope.conll")
    with pytest.raises(UnknownNameError, match="Available: ace, conll"):
        read(_write(tmp_path, "a.conll", "a O\n"), format="xml")
    with pytest.raises(FormatError, match="cannot tell the output format"):
        output_format(tmp_path / "x.xml")


def test_jsonl_canonical_roundtrip_with_nested_spans_and_events(tmp_path: Path) -> None:
    ex = Example(id="1", lang="en", text="Bank of America sued Bob.",
                 spans=(Span(0, 15, "ORG"), Span(8, 15, "LOC"), Span(21, 24, "PER")),
                 meta={"source": "x"})
    corpus_path = tmp_path / "in.jsonl"
    corpus_path.write_text(json.dumps({"id": "1", "lang": "en", "text": ex.text,
                                       "spans": [[0, 15, "ORG"], {"start": 8, "end": 15, "label": "LOC"},
                                                 [21, 24, "PER"]], "meta": {"source": "x"}}) + "\n")
    corpus = read(corpus_path)
    assert corpus.splits["train"][0] == ex
    write(corpus, tmp_path / "out.jsonl")
    _same(corpus, read(tmp_path / "out.jsonl"))
    # CoNLL cannot hold the nested LOC: dropped by the documented rule, and counted
    stats = write(corpus, tmp_path / "out.conll")
    assert stats["spans_dropped_overlap"] == 1
    assert (tmp_path / "out.conll").read_text().split()[:6] == ["Bank", "B-ORG", "of", "I-ORG", "America", "I-ORG"]


def test_jsonl_token_tag_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, "t.jsonl", json.dumps({"tokens": ["Ana", "lives", "in", "Rio", "."],
                                                    "tags": ["B-PER", "O", "O", "B-LOC", "O"]}) + "\n")
    ex = read(path).splits["train"][0]
    assert ex.text == "Ana lives in Rio."
    assert [s.text_of(ex.text) for s in ex.spans] == ["Ana", "Rio"]


BAD_JSONL = [
    ('{"text": "abc", "spans": [[0, 9, "X"]]}', "t.jsonl:1: .*outside its text"),
    ('{"text": "abc", "spans": [[2, 1, "X"]]}', "t.jsonl:1: invalid span offsets"),
    ('{"text": "abc"\n', "t.jsonl:1: invalid JSON"),
    ('{"text": "abc"}\n[1, 2]', "t.jsonl:2: expected a JSON object"),
    ('{"spans": []}', "t.jsonl:1: needs 'text'"),
    ('{"text": "ab", "tokens": ["x"]}', "cannot be found"),
]


@pytest.mark.parametrize("content,message", BAD_JSONL)
def test_jsonl_bad_input(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        read(_write(tmp_path, "t.jsonl", content + "\n"), format="jsonl")


@pytest.mark.parametrize("record,fmt,name", [(WIKIEVENTS, "wikievents", "dev.jsonl"), (ACE, "ace", "test.json"),
                                             (RAMS, "rams", "dev.jsonlines")])
def test_event_formats_detect_read_roundtrip(tmp_path: Path, record: dict, fmt: str, name: str) -> None:
    path = _write(tmp_path, name, json.dumps(record) + "\n")
    assert detect_format(path) == fmt
    corpus = read(path)
    ex = next(corpus.examples())
    assert len(ex.events) == 1
    event = ex.events[0]
    assert event.trigger.text_of(ex.text) in ("attacked", "left", "killed")
    for arg in event.arguments:  # every argument keeps its role, its text and, where given, its entity
        assert arg.span.label == arg.role
        if arg.entity is not None:
            assert (ex.spans[arg.entity].start, ex.spans[arg.entity].end) == (arg.span.start, arg.span.end)
    for out_fmt, out_name in [(fmt, "out." + name.split(".")[-1]), ("jsonl", "out2.jsonl"), ("hf", "out_hf")]:
        write(corpus, tmp_path / out_name, format=out_fmt)
        _same(corpus, read(tmp_path / out_name, format=out_fmt, split=list(corpus.splits)[0]))


def test_wikievents_fields_survive(tmp_path: Path) -> None:
    corpus = read(_write(tmp_path, "dev.jsonl", json.dumps(WIKIEVENTS) + "\n"))
    write(corpus, tmp_path / "o.jsonl", format="wikievents")
    rec = json.loads((tmp_path / "o.jsonl").read_text())
    assert rec["event_mentions"][0]["arguments"] == WIKIEVENTS["event_mentions"][0]["arguments"]
    assert rec["entity_mentions"] == WIKIEVENTS["entity_mentions"]
    assert rec["relation_mentions"] == []
    assert rec["text"] == WIKIEVENTS["text"]


def test_ace_argument_without_entity_and_unknown_entity(tmp_path: Path) -> None:
    ex = next(read(_write(tmp_path, "a.json", json.dumps(ACE) + "\n")).examples())
    time_arg = ex.events[0].arguments[2]
    assert time_arg.entity is None and time_arg.span.text_of(ex.text) == "2011"
    bad = dict(WIKIEVENTS, event_mentions=[{**WIKIEVENTS["event_mentions"][0],
                                            "arguments": [{"entity_id": "zz", "role": "X"}]}])
    with pytest.raises(FormatError, match=r"x.jsonl:1: argument refers to unknown entity 'zz'"):
        read(_write(tmp_path, "x.jsonl", json.dumps(bad) + "\n"), format="wikievents")
    bad = dict(ACE, entity_mentions=[{"id": "e1", "start": 0, "end": 9, "entity_type": "PER"}])
    with pytest.raises(FormatError, match="outside the 6 tokens"):
        read(_write(tmp_path, "y.json", json.dumps(bad) + "\n"), format="ace")


def test_events_to_conll_counts_dropped_events(tmp_path: Path) -> None:
    corpus = read(_write(tmp_path, "a.json", json.dumps(ACE) + "\n"))
    stats = write(corpus, tmp_path / "a.conll")
    assert stats["events_dropped"] == 1
    assert (tmp_path / "a.conll").read_text().split()[:2] == ["Troops", "B-PER"]


def test_hf_write_hub_layout_and_reload_with_datasets(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    corpus = read(_write(tmp_path, "train.conll", CONLL_3COL))
    out = tmp_path / "hub"
    write(corpus, out)
    assert sorted(p.name for p in (out / "data").iterdir()) == ["train-00000-of-00001.parquet"]
    card = (out / "README.md").read_text()
    assert card.startswith("---\nconfigs:") and "class_label" in card
    loaded = datasets.load_dataset(str(out))
    feature = loaded["train"].features["ner_tags"].feature
    assert isinstance(feature, datasets.ClassLabel)
    assert feature.names == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    assert [feature.names[i] for i in loaded["train"][0]["ner_tags"]][:2] == ["B-PER", "I-PER"]


def test_hf_keeps_source_classlabel_order_and_columns(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    names = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]  # wikiann order
    feats = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                               "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names)),
                               "langs": datasets.Sequence(datasets.Value("string"))})
    dd = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"tokens": [["Ana", "em", "Lisboa"]], "ner_tags": [[1, 0, 5]],
                                             "langs": [["pt", "pt", "pt"]]}, features=feats),
        "validation": datasets.Dataset.from_dict({"tokens": [["ONU"]], "ner_tags": [[3]],
                                                  "langs": [["pt"]]}, features=feats)})
    dd.save_to_disk(str(tmp_path / "saved"))
    corpus = read(tmp_path / "saved")
    assert corpus.info.label_names == tuple(names)
    assert list(corpus.splits) == ["train", "validation"]
    ex = corpus.splits["train"][0]
    assert [(s.text_of(ex.text), s.label) for s in ex.spans] == [("Ana", "PER"), ("Lisboa", "LOC")]
    write(corpus, tmp_path / "hub")
    back = datasets.load_dataset(str(tmp_path / "hub"))
    assert back["train"].features["ner_tags"].feature.names == names
    assert back["train"]["langs"] == [["pt", "pt", "pt"]]
    assert back["train"]["ner_tags"] == [[1, 0, 5]]
    only = read(tmp_path / "saved", split="validation")
    assert list(only.splits) == ["validation"]
    with pytest.raises(UnknownNameError, match="unknown split 'dev'.*Available: train, validation"):
        read(tmp_path / "saved", split="dev")
    with pytest.raises(UnknownNameError, match="unknown column 'labels'.*langs"):
        read(tmp_path / "saved", tags_column="labels")


def test_hf_unreachable_or_missing_hub_id_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    with pytest.raises(InputError, match="no-such-org/no-such-dataset: cannot load Hugging Face dataset"):
        read("no-such-org/no-such-dataset")


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    corpus = read(_write(tmp_path, "train.conll", CONLL_3COL))
    target = tmp_path / "out.conll"
    target.write_text("previous content\n")
    with pytest.raises(UnknownNameError):
        write(corpus, target, scheme="nonsense")
    assert target.read_text() == "previous content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.conll", "train.conll"]


@pytest.mark.parametrize(("name", "fmt"), [
    ("x.conll", "conll"), ("x.iob2", "conll"), ("x.txt", "conll"), ("x.tsv", "conll"), ("x.jsonl", "jsonl"),
    ("x.ndjson", "jsonl"), ("x.json", "ace"), ("x.jsonlines", "rams"), ("x.parquet", "hf"), ("x", "hf"),
])
def test_output_format_from_the_formats_own_extensions(name: str, fmt: str) -> None:
    from projector.formats import FORMATS, file_extension, output_format

    assert output_format(name) == fmt
    for f in FORMATS:  # the ending a format is written with reads back as that format's family
        if f != "hf":
            assert file_extension(f) in FORMATS.get(f).extensions
