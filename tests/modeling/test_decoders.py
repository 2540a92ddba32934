"""Character dictionaries (PaddleOCR format) and CTC greedy decoding."""

import numpy as np
import pytest

from ppresnet45 import ConfigError
from ppresnet45.charset import DEFAULT_CHARACTERS, CTCCharset, load_character_list
from ppresnet45.modeling.decoders.ctc import CTCLabelDecode


def test_dictionary_file_with_space_char_and_blank_at_zero(tmp_path):
    d = tmp_path / "dict.txt"
    d.write_bytes("a\r\nb\n中\n".encode("utf-8"))
    chars = load_character_list(d, use_space_char=True)
    assert chars == ["a", "b", "中", " "]
    cs = CTCCharset(chars)
    assert cs.labels[0] == "blank" and cs.index["a"] == 1 and cs.num_classes == 5
    assert cs.encode("ab?a") == ([1, 2, 1], 1)


def test_default_dictionary_is_digits_and_lowercase():
    assert load_character_list(None) == list(DEFAULT_CHARACTERS)


def test_bad_dictionaries_are_reported(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(ConfigError, match="is empty"):
        load_character_list(empty)
    dup = tmp_path / "dup.txt"
    dup.write_text("a\nb\na\n")
    with pytest.raises(ConfigError, match="duplicate entries"):
        load_character_list(dup)
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00a")
    with pytest.raises(ConfigError, match="is not UTF-8"):
        load_character_list(binary)


def _one_hot_probs(index_rows, classes, peak=0.9):
    out = np.full((len(index_rows), len(index_rows[0]), classes), (1 - peak) / (classes - 1), dtype=np.float32)
    for b, row in enumerate(index_rows):
        for t, i in enumerate(row):
            out[b, t, i] = peak
    return out


def test_ctc_greedy_decode_merges_repeats_and_drops_blanks():
    post = CTCLabelDecode(character_list=list("abc"))
    probs = _one_hot_probs([[1, 1, 0, 1, 2, 2, 0, 3], [0, 0, 0, 0, 0, 0, 0, 0]], 4)
    (text0, score0), (text1, score1) = post(probs)
    assert text0 == "aabc"
    assert score0 == pytest.approx(0.9, abs=1e-6)
    assert text1 == "" and score1 == 0.0


def test_ctc_decode_score_is_mean_of_kept_step_maxima():
    post = CTCLabelDecode(character_list=list("ab"))
    probs = np.array([[[0.1, 0.8, 0.1], [0.2, 0.6, 0.2], [0.9, 0.05, 0.05], [0.3, 0.1, 0.6]]], dtype=np.float32)
    ((text, score),) = post(probs)
    assert text == "ab"
    assert score == pytest.approx((0.8 + 0.6) / 2, abs=1e-6)
