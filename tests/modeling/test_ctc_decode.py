"""CTC greedy decoding: repeats merged, blanks dropped, score = mean of kept step maxima."""

import numpy as np
import pytest

from ppresnet45.modeling.decoders.ctc import CTCLabelDecode


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
