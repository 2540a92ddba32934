"""One label-file parser for datasets, the renderer's hold-out lists and the recognizer."""

import os

import pytest

from ppresnet45.data.datasets import parse_label_file
from ppresnet45.data.label_file import iter_label_lines, read_label_file, read_label_texts
from ppresnet45.errors import DataError


def _write(tmp_path, data):
    path = tmp_path / "labels.txt"
    path.write_bytes(data)
    return str(path)


def test_lines_are_split_at_the_first_tab_with_bom_crlf_and_blank_lines_handled(tmp_path):
    path = _write(tmp_path, "\ufeffa.png\thello\tworld\r\n\n  \nsub/b.png\t \n".encode("utf-8"))
    lines = list(iter_label_lines(path))
    assert [(x.lineno, x.path, x.text, x.error) for x in lines] == [
        (1, "a.png", "hello\tworld", None),
        (4, "sub/b.png", " ", None),
    ]
    paths, texts = read_label_file(path)
    assert paths == [os.path.join(str(tmp_path), "a.png"), os.path.join(str(tmp_path), "sub", "b.png")]
    assert texts == ["hello\tworld", " "]
    assert read_label_texts(path) == {"hello\tworld", " "}


def test_malformed_lines_carry_their_line_number(tmp_path):
    path = _write(tmp_path, b"a.png\tok\nno tab here\n\tno path\nc.png\t\xff\xfe\n")
    lines = list(iter_label_lines(path))
    assert [x.error is None for x in lines] == [True, False, False, False]
    assert "expected 'image_path<TAB>text'" in lines[1].error and lines[1].lineno == 2
    assert "empty image path" in lines[2].error
    assert "not UTF-8" in lines[3].error
    with pytest.raises(DataError, match=r"labels.txt:2: expected 'image_path<TAB>text'"):
        read_label_file(path)
    # the dataset reader reports malformed lines as (raw, None) and goes on
    assert list(parse_label_file(path))[:2] == [("a.png", "ok"), ("no tab here", None)]


def test_a_label_file_without_entries_or_missing_is_an_error(tmp_path):
    with pytest.raises(DataError, match="has no 'image_path<TAB>text' lines"):
        read_label_file(_write(tmp_path, b"\n\n"))
    with pytest.raises(DataError, match="cannot read"):
        read_label_file(str(tmp_path / "missing.txt"))
