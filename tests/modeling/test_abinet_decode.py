"""ABINet post-processing (stop token at class 0) and the CELoss it trains with."""

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from ppresnet45 import ConfigError
from ppresnet45.modeling.decoders.abinet import ABINetLabelDecode
from ppresnet45.modeling.losses.abinet import CELoss
from ppresnet45.registry import LOSSES, POSTPROCESS


def _probs(rows, classes, peak=0.8):
    out = np.full((len(rows), len(rows[0]), classes), (1 - peak) / (classes - 1), dtype=np.float32)
    for b, row in enumerate(rows):
        for t, i in enumerate(row):
            out[b, t, i] = peak
    return out


def test_registered_and_built_like_ctc_decode(tmp_path):
    d = tmp_path / "dict.txt"
    d.write_text("a\nb\n", encoding="utf-8")
    post = POSTPROCESS.build({"name": "ABINetLabelDecode"}, character_dict_path=str(d), use_space_char=True)
    assert post.character == ["</s>", "a", "b", " "] and post.num_classes == 4
    default = POSTPROCESS.build({"name": "ABINetLabelDecode"})
    assert default.num_classes == 37 and default.character[1] == "0"


def test_text_ends_at_first_stop_token_and_keeps_repeats():
    post = ABINetLabelDecode(character_list=list("abc"))
    probs = _probs([[1, 1, 2, 0, 3, 3], [3, 2, 1, 3, 2, 1], [0, 1, 2, 3, 0, 0]], 4)
    probs[0, 1, 1] = 0.6  # the second "a" is less sure
    (t0, s0), (t1, s1), (t2, s2) = post(probs)
    assert t0 == "aab" and s0 == pytest.approx((0.8 + 0.6 + 0.8) / 3, abs=1e-6)
    assert t1 == "cbacba" and s1 == pytest.approx(0.8, abs=1e-6)  # no </s>: every step counts
    assert t2 == "" and s2 == 0.0  # PaddleOCR would give NaN (mean of nothing)


def test_accepts_tensors_and_the_train_output_dict():
    post = ABINetLabelDecode(character_list=list("ab"))
    logits = np.log(_probs([[2, 1, 0, 0]], 3, peak=0.9))
    assert post(paddle.to_tensor(np.exp(logits)))[0][0] == "ba"
    other = np.log(_probs([[1, 0, 0, 0]], 3))
    train_out = {
        "align": [paddle.to_tensor(other), paddle.to_tensor(logits)],
        "lang": [],
        "vision": paddle.to_tensor(other),
    }
    text, score = post(train_out)[0]
    assert text == "ba" and score == pytest.approx(0.9, abs=1e-5)  # the last alignment, softmax-ed
    assert post({"vision": paddle.to_tensor(logits)})[0][0] == "ba"  # vision-only model


# ----------------------------------------------------------------------------- CELoss
def _label(rows, n, ignore=100):
    out = np.full((len(rows), n), ignore, dtype=np.int64)
    for b, row in enumerate(rows):
        out[b, : len(row)] = row
    return out


def test_dict_loss_sums_parts_and_ignores_padding():
    rng = np.random.default_rng(0)
    label = _label([[1, 2, 0], [3, 0]], 5)
    batch = [None, paddle.to_tensor(label), paddle.to_tensor(np.array([2, 1]))]
    parts = {
        k: [paddle.to_tensor(rng.standard_normal([2, 5, 4]).astype("float32")) for _ in range(3)]
        for k in ("align", "lang")
    }
    parts["vision"] = paddle.to_tensor(rng.standard_normal([2, 5, 4]).astype("float32"))
    loss_fn = LOSSES.build({"name": "CELoss", "ignore_index": 100})
    out = loss_fn(parts, batch)
    assert set(out) == {"align_loss", "lang_loss", "vision_loss", "loss"}

    def manual(logits):  # mean over the kept positions of -log softmax at the label
        logp = F.log_softmax(logits, -1).numpy()
        lab = np.concatenate([label] * (logp.shape[0] // 2))
        keep = lab != 100
        return -np.mean(np.take_along_axis(logp, np.where(keep, lab, 0)[..., None], -1)[..., 0][keep])

    expected = {
        "align_loss": manual(paddle.concat(parts["align"])),
        "lang_loss": manual(paddle.concat(parts["lang"])),
        "vision_loss": manual(parts["vision"]),
    }
    for k, v in expected.items():
        assert float(out[k]) == pytest.approx(v, rel=1e-5)
    assert float(out["loss"]) == pytest.approx(sum(expected.values()), rel=1e-5)


def test_vision_only_output_and_tensor_modes():
    rng = np.random.default_rng(1)
    logits = paddle.to_tensor(rng.standard_normal([2, 5, 4]).astype("float32"))
    label = paddle.to_tensor(_label([[1, 2, 0], [3, 0]], 5))
    batch = [None, label, paddle.to_tensor(np.array([2, 1]))]
    vision_only = CELoss(ignore_index=100)({"vision": logits}, batch)
    assert set(vision_only) == {"vision_loss", "loss"}
    with_all = CELoss(ignore_index=100, with_all=True)(logits, batch)["loss"]
    assert float(with_all) == pytest.approx(float(vision_only["loss"]), rel=1e-6)
    # NRTR style: label[:, 1 : 2 + max(length)] against logits of that many steps.
    nrtr_label = paddle.to_tensor(np.array([[2, 5, 6, 3, 0], [2, 7, 3, 0, 0]]))
    nrtr_logits = paddle.to_tensor(rng.standard_normal([2, 3, 8]).astype("float32"))
    plain = CELoss()(nrtr_logits, [None, nrtr_label, paddle.to_tensor(np.array([2, 1]))])["loss"]
    ref = F.cross_entropy(nrtr_logits.reshape([-1, 8]), nrtr_label[:, 1:4].reshape([-1]))
    assert float(plain) == pytest.approx(float(ref), rel=1e-6)
    smooth = CELoss(smoothing=True)(nrtr_logits, [None, nrtr_label, paddle.to_tensor(np.array([2, 1]))])["loss"]
    assert np.isfinite(float(smooth)) and float(smooth) != pytest.approx(float(plain))


def test_bad_loss_arguments():
    with pytest.raises(ConfigError, match="Loss.ignore_index"):
        CELoss(ignore_index="100")
    with pytest.raises(Exception, match="unexpected argument"):
        LOSSES.build({"name": "CELoss", "ignore_idx": 100})
