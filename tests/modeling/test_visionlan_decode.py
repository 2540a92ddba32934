"""VLLabelDecode: PaddleOCR's end / length / score rules on hand-made logits."""

import numpy as np
import paddle
import pytest

from ppresnet45 import POSTPROCESS
from ppresnet45.modeling.decoders.visionlan import VLLabelDecode

CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _steps(classes, peak=4.0, n_class=37):
    """Logits ``[len(classes), n_class]`` peaking at ``classes`` with step-dependent heights."""
    out = np.zeros([len(classes), n_class], np.float32)
    for t, c in enumerate(classes):
        out[t, c] = peak + 0.1 * t
    return out


def _max_prob(logits):
    e = np.exp(logits.astype(np.float64) - logits.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).max(-1)


def _geo(p):
    return float(np.exp(np.log(p).sum() / (len(p) + 1e-6)))


def test_eval_outputs_end_at_the_first_end_class_and_score_includes_it():
    a, b = CHARS.index("a") + 1, CHARS.index("b") + 1
    lines = [
        _steps([a, b, 0, a] + [a] * 22),  # "ab", the end at step 2 (a later "a" is ignored)
        _steps([b] * 25 + [0]),  # no end within 25 steps: 25 characters, step 26 unread
        _steps([0] + [a] * 25),  # ends at once
    ]
    text_pre = np.stack(lines, axis=1)  # time-major [26, 3, 37], as the head's eval output
    out = VLLabelDecode()((paddle.to_tensor(text_pre), paddle.zeros([3, 256, 512])))
    assert [t for t, _ in out] == ["ab", "b" * 25, ""]
    assert out[0][1] == pytest.approx(_geo(_max_prob(lines[0][:3])), rel=1e-6)
    assert out[1][1] == pytest.approx(_geo(_max_prob(lines[1][:25])), rel=1e-6)
    assert out[2][1] == pytest.approx(_geo(_max_prob(lines[2][:1])), rel=1e-6)
    assert all(isinstance(s, float) for _, s in out)


def test_text_pre_alone_and_numpy_inputs_decode_the_same():
    rng = np.random.default_rng(0)
    text_pre = rng.standard_normal([26, 4, 37]).astype(np.float32)
    dec = VLLabelDecode()
    assert dec(text_pre) == dec([text_pre, None]) == dec((paddle.to_tensor(text_pre), None))


def test_train_outputs_use_the_given_lengths():
    c = CHARS.index("c") + 1
    line0 = _steps([c, c, c] + [0] * 23)
    line1 = _steps([c] * 26)
    pre = paddle.to_tensor(np.stack([line0, line1]))  # batch-major [2, 26, 37]
    preds = (pre, pre, pre, paddle.zeros([2, 1, 8, 32]))
    out = VLLabelDecode()(preds, label=None, length=paddle.to_tensor([2, 0]))
    assert out[0] == ("cc", pytest.approx(_geo(_max_prob(line0[:2])), rel=1e-6))
    assert out[1] == ("", 1.0)  # PaddleOCR: exp(0 / 1e-6)
    # Without lengths the end rule applies to train outputs as well.
    assert [t for t, _ in VLLabelDecode()(preds)] == ["ccc", "c" * 25]


def test_max_text_length_caps_the_steps_read():
    d = CHARS.index("d") + 1
    text_pre = _steps([d] * 26)[:, None]
    assert VLLabelDecode(max_text_length=5)(text_pre)[0][0] == "ddddd"
    assert VLLabelDecode()(text_pre)[0][0] == "d" * 25


def test_classes_outside_the_dictionary_give_no_character():
    dec = VLLabelDecode(character_list=["x", "y", "z"])
    assert dec.num_classes == 4
    text_pre = _steps([1, 5, 3, 2, 0], n_class=6)[:, None]
    assert dec(text_pre)[0][0] == "xzy"


def test_decode_label_and_the_registered_build():
    dec = POSTPROCESS.build({"name": "VLLabelDecode"}, character_dict_path=None, use_space_char=False)
    assert dec.character == list(CHARS) and dec.num_classes == 37
    labels = np.array([[11, 12, 0, 0], [1, 2, 3, 4]])
    assert dec.decode_label(labels) == [("ab", 1.0), ("0123", 1.0)]


def test_dictionary_file_and_space(tmp_path):
    path = tmp_path / "dict.txt"
    path.write_text("a\nb\n", encoding="utf-8")
    dec = VLLabelDecode(character_dict_path=str(path), use_space_char=True)
    assert dec.character == ["a", "b", " "]
    assert dec(_steps([1, 3, 2, 0], n_class=4)[:, None])[0][0] == "a b"


def test_the_decoder_sets_the_head_size_without_a_blank():
    from ppresnet45.modeling.decoders import ABINetLabelDecode, CTCLabelDecode

    assert VLLabelDecode.head_out_channels(36) == 36  # the head adds the end class
    assert ABINetLabelDecode.head_out_channels(36) == 37 and CTCLabelDecode.head_out_channels(36) == 37
