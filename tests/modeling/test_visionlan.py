"""VisionLAN (VLHead + VLLoss) from PaddleOCR's own config: state dict, forward rules, training steps, export."""

import copy
import os
import pathlib

import numpy as np
import paddle
import pytest
from paddleocr_archs import VISIONLAN_ARCH

import ppresnet45
from ppresnet45 import ConfigError, DataError
from ppresnet45.config import load_config
from ppresnet45.modeling.heads.transformer import sinusoid_table
from ppresnet45.modeling.heads.visionlan import VLHead
from ppresnet45.modeling.losses.visionlan import VLLoss
from ppresnet45.modeling.model import RecModel
from ppresnet45.modeling.summary import count_parameters

pytestmark = pytest.mark.slow  # training, exports or third-party clients: over ~10 s on 2 cores

SHARED = pathlib.Path("/work/shared/third_party/paddleocr")
CONFIG = SHARED / "configs" / "rec" / "rec_r45_visionlan.yml"
KEYS = SHARED / "state_dict_keys" / "rec_r45_visionlan.keys.tsv"
needs_shared = pytest.mark.skipif(
    not CONFIG.is_file() or not KEYS.is_file(), reason=f"PaddleOCR reference files not found under {SHARED}"
)

# PaddleOCR's Architecture section of rec_r45_visionlan.yml, with out_channels as its
# tools/train.py sets it for VLLabelDecode (36 characters; the head adds the end class).
ARCH = {**VISIONLAN_ARCH, "Head": {**VISIONLAN_ARCH["Head"], "out_channels": 36}}


def _shared_model():
    """The model of the shared config: ``build_model`` when it sets VisionLAN's class count,
    else the config's Architecture with ``out_channels`` 36 (PaddleOCR's train.py rule)."""
    config = load_config(str(CONFIG))
    model = ppresnet45.build_model(config)
    if model.head.out_channels != 36:
        arch = copy.deepcopy(config["Architecture"])
        arch["Head"]["out_channels"] = 36
        model = RecModel(arch)
    return model


def _reference_keys():
    rows = [
        line.split("\t") for line in KEYS.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")
    ]
    return [(k, [int(v) for v in s.strip("[]").split(",")], d) for k, s, d in rows]


def _batch(n=2, seed=0):
    """A batch in PaddleOCR's keep_keys order; line 1 has 25 characters (no 0 in its row)."""
    rng = np.random.default_rng(seed)
    label = np.zeros([n, 25], np.int64)
    label[0, :3] = [1, 2, 3]
    label[1:, :] = rng.integers(1, 37, size=(n - 1, 25))
    res = np.zeros_like(label)
    res[0, :2] = [1, 3]
    res[1:, :24] = label[1:, 1:]
    sub = np.zeros_like(label)
    sub[:, 0] = [2] + list(label[1:, 0])
    label_id = np.array([1] + [0] * (n - 1), np.int64)
    length = np.array([3] + [25] * (n - 1), np.int64)
    image = rng.standard_normal([n, 3, 64, 256]).astype(np.float32)
    return [paddle.to_tensor(v) for v in (image, label, res, sub, label_id, length)]


@pytest.fixture(scope="module")
def model():
    paddle.seed(0)
    return RecModel(copy.deepcopy(ARCH))


# ----------------------------------------------------------------------------- state dict
@needs_shared
def test_shared_config_state_dict_equals_paddleocr_key_list():
    model = _shared_model()
    mine = [(k, list(v.shape), str(v.dtype).replace("paddle.", "")) for k, v in model.state_dict().items()]
    assert mine == _reference_keys()  # keys, order, shapes, dtypes
    assert count_parameters(model) == 32_819_039
    assert len(mine) == 380


@needs_shared
def test_build_model_sets_visionlan_class_count_from_the_dictionary():
    # The decoder decides: VisionLAN's head gets the dictionary size and adds the end class.
    model = ppresnet45.build_model(load_config(str(CONFIG)))
    assert model.head.out_channels == 36
    assert list(model.state_dict()["head.MLM_VRM.Prediction.w_vrm.weight"].shape) == [512, 37]


@needs_shared
def test_a_paddleocr_state_dict_loads_with_nothing_missing_or_unexpected():
    model = RecModel(copy.deepcopy(ARCH))
    rng = np.random.default_rng(1)
    sd = {k: rng.standard_normal(shape).astype(dtype) for k, shape, dtype in _reference_keys()}
    missing, unexpected = model.set_state_dict(sd)
    assert list(missing) == [] and list(unexpected) == []
    got = model.state_dict()
    for key in (
        "head.MLM_VRM.Prediction.w_vrm.weight",
        "head.MLM_VRM.SequenceModeling.position_enc.pos_table",
        "backbone.layer5.2.bn2._variance",
    ):
        np.testing.assert_array_equal(got[key].numpy(), sd[key])


def test_position_tables_are_the_sinusoid_buffers(model):
    table = sinusoid_table(256, 512)[None]  # VisionLAN's layout: [1, n_position, d]
    assert table.shape == (1, 256, 512)
    np.testing.assert_allclose(
        table[0, 3, :4],
        [np.sin(3), np.cos(3), np.sin(3 / 10000 ** (2 / 512)), np.cos(3 / 10000 ** (2 / 512))],
        rtol=1e-6,
    )
    fresh = RecModel(copy.deepcopy(ARCH)).state_dict()
    buffers = [k for k in fresh if k.endswith("pos_table")]
    assert len(buffers) == 3
    for k in buffers:
        np.testing.assert_array_equal(fresh[k].numpy(), table)
        assert fresh[k].stop_gradient
    assert not any(n.endswith("pos_table") for n, _ in model.named_parameters())


def test_head_arguments_are_checked():
    with pytest.raises(ConfigError, match="Architecture.Head.training_step"):
        VLHead(512, training_step="LF_3")
    with pytest.raises(ConfigError, match="Architecture.Head.n_dim"):
        VLHead(256)
    with pytest.raises(ConfigError, match="Architecture.Head.max_text_length"):
        VLHead(512, max_text_length=0)
    head = VLHead(512)
    head.eval()
    with pytest.raises(DataError, match="VLHead.n_position"):
        head(paddle.zeros([1, 512, 8, 16]))
    head.train()
    with pytest.raises(DataError, match="label_id"):
        head(paddle.zeros([2, 512, 8, 32]))


# ----------------------------------------------------------------------------- forward rules
def _np_ln(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


def _np_encoder(x, sd, p, n_layers):
    """The VisionLAN Transformer encoder restated in float64 numpy from its description."""

    def lin(v, q):
        return v @ sd[q + ".weight"] + sd[q + ".bias"]

    x = x + sd[p + ".position_enc.pos_table"][:, : x.shape[1]]
    for i in range(n_layers):
        a = f"{p}.layer_stack.{i}.slf_attn"
        heads = [
            lin(x, f"{a}.{w}").reshape(x.shape[0], x.shape[1], 8, 64).transpose(2, 0, 1, 3)
            for w in ("w_qs", "w_ks", "w_vs")
        ]
        s = heads[0] @ heads[1].transpose(0, 1, 3, 2) / 8.0
        s = np.exp(s - s.max(-1, keepdims=True))
        o = (s / s.sum(-1, keepdims=True)) @ heads[2]  # [8, B, L, 64]
        o = o.transpose(1, 2, 0, 3).reshape(x.shape)
        x = _np_ln(lin(o, a + ".fc") + x, sd[a + ".layer_norm.weight"], sd[a + ".layer_norm.bias"], 1e-5)
        f = f"{p}.layer_stack.{i}.pos_ffn"
        h = np.maximum(x @ sd[f + ".w_1.weight"][:, :, 0].T + sd[f + ".w_1.bias"], 0)
        y = h @ sd[f + ".w_2.weight"][:, :, 0].T + sd[f + ".w_2.bias"]
        x = _np_ln(y + x, sd[f + ".layer_norm.weight"], sd[f + ".layer_norm.bias"], 1e-5)
    return _np_ln(x, sd[p + ".layer_norm.weight"], sd[p + ".layer_norm.bias"], 1e-6)


def _np_pp(x, sd, p):
    order = (sd[p + ".f0_embedding.weight"].T @ sd[p + ".w0.weight"] + sd[p + ".w0.bias"]).T  # [L, d]
    t = np.tanh(order[None] + x @ sd[p + ".wv.weight"] + sd[p + ".wv.bias"]) @ sd[p + ".we.weight"] + sd[p + ".we.bias"]
    t = np.exp(t - t.max(1, keepdims=True))
    return (t / t.sum(1, keepdims=True)).transpose(0, 2, 1) @ x


def _np_head(feat, label_id, sd, step):
    b, c, h, w = feat.shape
    x = feat.transpose(0, 3, 2, 1).reshape(b, w * h, c)  # column by column

    def out(f, pp, cls):
        return _np_pp(f, sd, pp) @ sd[cls + ".weight"] + sd[cls + ".bias"]

    if step is None:
        return out(_np_encoder(x, sd, "SequenceModeling", 3), "Prediction.pp", "Prediction.w_vrm")
    feats = _np_encoder(x, sd, "MLM.MLM_SequenceModeling_mask", 2)
    pos = sd["MLM.pos_embedding.weight"][label_id][:, :, None] @ sd["MLM.w0_linear.weight"] + sd["MLM.w0_linear.bias"]
    att = np.tanh(pos.transpose(0, 2, 1) + feats @ sd["MLM.wv.weight"] + sd["MLM.wv.bias"])
    mask = 1 / (1 + np.exp(-(att @ sd["MLM.we.weight"] + sd["MLM.we.bias"])))  # [B, L, 1]
    rem = out(
        _np_encoder(x * (1 - mask), sd, "MLM.MLM_SequenceModeling_WCL", 1), "Prediction.pp_share", "Prediction.w_share"
    )
    mas = out(_np_encoder(x * mask, sd, "MLM.MLM_SequenceModeling_WCL", 1), "Prediction.pp_share", "Prediction.w_share")
    if step == "LA":
        occlude = np.concatenate([mask[: b // 2], np.zeros_like(mask[b // 2 :])])
        x = x * (1 - occlude)
    pre = out(_np_encoder(x, sd, "SequenceModeling", 3), "Prediction.pp", "Prediction.w_vrm")
    return pre, rem, mas, mask[:, :, 0].reshape(b, w, h).transpose(0, 2, 1)[:, None]


@pytest.fixture(scope="module")
def head_and_weights():
    paddle.seed(3)
    head = VLHead(512, out_channels=36)
    sd = {k[len("MLM_VRM.") :]: v.numpy().astype(np.float64) for k, v in head.state_dict().items()}
    feat = np.random.default_rng(2).standard_normal([2, 512, 8, 32]).astype(np.float32)
    return head, sd, feat


def test_eval_outputs_match_the_formulas(head_and_weights):
    head, sd, feat = head_and_weights
    head.eval()
    text_pre, features = head(paddle.to_tensor(feat))
    assert list(text_pre.shape) == [26, 2, 37] and list(features.shape) == [2, 256, 512]
    np.testing.assert_array_equal(features.numpy()[:, 8 * 3 + 5], feat[:, :, 5, 3])  # column 3, row 5
    ref = _np_head(feat.astype(np.float64), None, sd, None)
    np.testing.assert_allclose(text_pre.numpy().transpose(1, 0, 2), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("step", ["LF_2", "LA"])
def test_train_outputs_match_the_formulas_without_dropout(head_and_weights, step):
    head, sd, feat = head_and_weights
    head.train()
    head.training_step = step
    dropouts = [m for m in head.sublayers() if isinstance(m, paddle.nn.Dropout)]
    for m in dropouts:
        m.p = 0.0
    try:
        outs = head(paddle.to_tensor(feat), [None, None, None, paddle.to_tensor([4, 0]), None])
    finally:
        for m in dropouts:
            m.p = 0.1
    ref = _np_head(feat.astype(np.float64), np.array([4, 0]), sd, step)
    assert [list(o.shape) for o in outs] == [[2, 26, 37]] * 3 + [[2, 1, 8, 32]]
    for got, want in zip(outs, ref):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- training steps
@pytest.mark.parametrize("step", ["LF_1", "LF_2", "LA"])
def test_train_step_forward_loss_backward_gives_finite_gradients(model, step):
    batch = _batch()
    model.train()
    model.head.training_step = step
    model.clear_gradients()
    out = model.head(model.backbone(batch[0]), batch[1:])  # PaddleOCR passes targets = batch[1:]
    assert len(out) == 4
    loss = VLLoss(step)(out, batch)["loss"]
    assert np.isfinite(float(loss))
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if not p.stop_gradient}
    assert all(np.isfinite(g.numpy()).all() for g in grads.values() if g is not None)
    mlm = {n for n in grads if ".MLM." in n or "pp_share" in n or "w_share" in n}
    with_grad = {n for n, g in grads.items() if g is not None}
    assert "backbone.conv1.weight" in with_grad and "head.MLM_VRM.Prediction.w_vrm.weight" in with_grad
    assert ((mlm & with_grad) == set()) if step == "LF_1" else (mlm <= with_grad)
    if step == "LF_1":
        assert out[0] is out[1] is out[2] is out[3]
    model.clear_gradients()


def test_mlm_parameters_are_the_lf2_full_rate_group(model):
    names = {id(p): n for n, p in model.named_parameters()}
    group = {names[id(p)] for p in model.head.mlm_parameters()}
    assert group == {
        n
        for n in names.values()
        if n.startswith(("head.MLM_VRM.MLM.", "head.MLM_VRM.Prediction.pp_share.", "head.MLM_VRM.Prediction.w_share."))
    }
    assert len(group) == 68


def test_vlloss_matches_cross_entropy_with_the_end_class_appended():
    rng = np.random.default_rng(5)
    logits = rng.standard_normal([2, 26, 37]).astype(np.float32)
    label = np.zeros([2, 25], np.int64)
    label[0, :2] = [7, 9]
    label[1] = 3  # 25 characters: PaddleOCR's VLLoss fails with "0 is not in list"
    res, sub = np.zeros_like(label), np.zeros_like(label)
    res[0, 0], sub[0, 0] = 9, 7

    def ce(rows):
        lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        return -np.mean([lp[b, t, c] for b, t, c in rows])

    ori = ce([(0, 0, 7), (0, 1, 9), (0, 2, 0)] + [(1, t, 3) for t in range(25)] + [(1, 25, 0)])
    loss_res = ce([(0, 0, 9), (0, 1, 0), (1, 0, 0)])
    loss_mas = ce([(0, 0, 7), (0, 1, 0), (1, 0, 0)])
    preds = [paddle.to_tensor(logits)] * 4
    batch = [None] + [paddle.to_tensor(v) for v in (label, res, sub)]
    assert float(VLLoss("LF_1")(preds, batch)["loss"]) == pytest.approx(ori, rel=1e-5)
    got = float(VLLoss("LF_2", weight_res=0.5, weight_mas=0.25)(preds, batch)["loss"])
    assert got == pytest.approx(ori + 0.5 * loss_res + 0.25 * loss_mas, rel=1e-5)
    assert float(VLLoss("LA")(preds, {"label": label, "label_res": res, "label_sub": sub})["loss"]) > 0


def test_vlloss_rejects_a_label_longer_than_the_head_reads_and_bad_arguments():
    label = np.full([1, 26], 4, np.int64)
    with pytest.raises(DataError, match="VLLoss label: line 0 has 26 characters"):
        VLLoss("LF_1")([paddle.zeros([1, 26, 37])] * 4, [None, label])
    with pytest.raises(ConfigError, match="Loss.mode"):
        VLLoss("LB")
    with pytest.raises(ConfigError, match="Loss.weight_res"):
        VLLoss("LA", weight_res=-1)


# ----------------------------------------------------------------------------- export
def _assert_close_to_scale(got, want, tol):
    """Largest difference within ``tol`` times the largest magnitude (float32 ops reordered)."""
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= tol * np.abs(want).max()


@pytest.fixture(scope="module")
def exported(tmp_path_factory, model):
    """The whole model through to_static + jit.save (PIR) at [N, 3, 64, 256], dynamic N."""
    from paddle.static import InputSpec

    model.eval()
    x = paddle.to_tensor(np.random.default_rng(7).standard_normal([3, 3, 64, 256]).astype(np.float32))
    with paddle.no_grad():
        eager = [t.numpy() for t in model(x)]
    path = str(tmp_path_factory.mktemp("vl") / "inference")
    twin = RecModel(copy.deepcopy(ARCH))  # to_static replaces forward: convert a copy
    twin.set_state_dict(model.state_dict())
    twin.eval()
    static = paddle.jit.to_static(
        twin, input_spec=[InputSpec([None, 3, 64, 256], "float32", name="x")], full_graph=True
    )
    paddle.jit.save(static, path)
    return path, x.numpy(), eager


def test_jit_save_pir_loads_and_matches_eager_at_any_batch(exported):
    path, x, eager = exported
    assert os.path.isfile(path + ".json") and os.path.isfile(path + ".pdiparams")
    loaded = paddle.jit.load(path)
    loaded.eval()
    for n in (1, 3):
        with paddle.no_grad():
            out = loaded(paddle.to_tensor(x[:n]))
        assert len(out) == 2
        np.testing.assert_allclose(out[0].numpy(), eager[0][:, :n], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(out[1].numpy(), eager[1][:n], rtol=1e-5, atol=1e-5)


def test_onnx_export_matches_eager(exported):
    paddle2onnx = pytest.importorskip("paddle2onnx")
    ort = pytest.importorskip("onnxruntime")
    path, x, eager = exported
    data = paddle2onnx.export(path + ".json", path + ".pdiparams", None, opset_version=17, enable_onnx_checker=True)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape[1:] == [3, 64, 256]
    for n in (2, 3):
        text_pre, features = sess.run(None, {sess.get_inputs()[0].name: x[:n]})
        _assert_close_to_scale(text_pre, eager[0][:, :n], 1e-4)
        _assert_close_to_scale(features, eager[1][:n], 1e-5)
