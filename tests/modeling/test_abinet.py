"""ABINet (ResNet45 + ABINetHead) built from PaddleOCR's unchanged config: state-dict layout,
parameter count, numerics against a reference written in PaddleOCR's formulation, training
gradients, and the two export regressions (PIR jit.save, ONNX without ``diag``)."""

import math
import pathlib

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from ppresnet45 import ConfigError
from ppresnet45.config import load_config
from ppresnet45.modeling import build_model
from ppresnet45.modeling.heads.abinet import ABINetHead, predicted_length
from ppresnet45.modeling.heads.transformer import padding_mask
from ppresnet45.modeling.losses.abinet import CELoss

REPO = pathlib.Path(__file__).resolve().parents[2]
_SHARED = [p for p in (REPO.parent / "shared", REPO / "shared", pathlib.Path("/work/shared")) if p.is_dir()]
PADDLEOCR = _SHARED[0] / "third_party" / "paddleocr" if _SHARED else None
CONFIG = PADDLEOCR / "configs" / "rec" / "rec_r45_abinet.yml" if PADDLEOCR else None
KEYS = PADDLEOCR / "state_dict_keys" / "rec_r45_abinet.keys.tsv" if PADDLEOCR else None
needs_shared = pytest.mark.skipif(
    CONFIG is None or not CONFIG.is_file() or not KEYS.is_file(),
    reason="PaddleOCR's ABINet config / key list not found (expected ../shared/third_party/paddleocr)",
)
TRAINABLE = 36_738_703
STEPS, CLASSES = 26, 37  # max_text_length + 1 (</s>), 36 characters + </s>


@pytest.fixture(scope="module")
def config():
    if CONFIG is None or not CONFIG.is_file():
        pytest.skip("PaddleOCR's ABINet config not found (expected ../shared/third_party/paddleocr)")
    return load_config(str(CONFIG))


@pytest.fixture(scope="module")
def model(config):
    paddle.seed(1)
    return build_model(config)


def _reference_keys():
    rows = []
    for line in KEYS.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape, dtype = line.split("\t")
        rows.append((key, [int(v) for v in shape.strip("[]").split(",") if v.strip()], dtype))
    return rows


# ----------------------------------------------------------------------------- layout
@needs_shared
def test_state_dict_equals_paddleocr_key_list(model):
    ours = [(k, list(v.shape), str(v.dtype).replace("paddle.", "")) for k, v in model.state_dict().items()]
    ref = _reference_keys()
    assert len(ref) == 405
    assert ours == ref  # same keys, shapes, dtypes and order


@needs_shared
def test_trainable_parameter_count(model):
    n = sum(int(np.prod(p.shape)) for p in model.parameters() if not p.stop_gradient)
    assert n == TRAINABLE


@needs_shared
def test_paddleocr_state_dict_loads_without_missing_or_unexpected(model, tmp_path):
    rng = np.random.default_rng(0)
    state = {}
    for key, shape, dtype in _reference_keys():
        if key.endswith("._variance"):
            state[key] = rng.uniform(0.5, 1.5, shape).astype(dtype)
        else:
            state[key] = (rng.standard_normal(shape) * 0.02).astype(dtype)
    path = tmp_path / "abinet.pdparams"
    paddle.save(state, str(path))
    missing, unexpected = model.set_state_dict(paddle.load(str(path)))
    assert list(missing) == [] and list(unexpected) == []
    got = model.state_dict()
    for key in ("head.language.pos_encoder.pe", "head.cls_align.bias", "backbone.conv1.weight"):
        if key in state:
            np.testing.assert_array_equal(got[key].numpy(), state[key])


# ----------------------------------------------------------- reference (PaddleOCR's formulation)
def _pe_add(x, pe):
    """Add the table in the [N, B, C] layout, as PaddleOCR's PositionalEncoding does."""
    xt = x.transpose([1, 0, 2])
    return (xt + pe[: xt.shape[0]]).transpose([1, 0, 2])


def _mha(p, pre, query, key=None, mask=None, heads=8):
    b, nq, c = query.shape
    hd = c // heads
    if key is None:
        qkv = F.linear(query, p[pre + "qkv.weight"], p[pre + "qkv.bias"])
        qkv = qkv.reshape([b, nq, 3, heads, hd]).transpose([2, 0, 3, 1, 4])
        q, k, v = qkv[0], qkv[1], qkv[2]
    else:
        q = F.linear(query, p[pre + "q.weight"], p[pre + "q.bias"]).reshape([b, nq, heads, hd]).transpose([0, 2, 1, 3])
        kv = F.linear(key, p[pre + "kv.weight"], p[pre + "kv.bias"])
        kv = kv.reshape([b, key.shape[1], 2, heads, hd]).transpose([2, 0, 3, 1, 4])
        k, v = kv[0], kv[1]
    attn = q.matmul(k.transpose([0, 1, 3, 2])) * hd**-0.5
    if mask is not None:
        attn = attn + mask
    out = F.softmax(attn, axis=-1).matmul(v).transpose([0, 2, 1, 3]).reshape([b, nq, c])
    return F.linear(out, p[pre + "out_proj.weight"], p[pre + "out_proj.bias"])


def _ln(p, pre, x):
    return F.layer_norm(x, x.shape[-1:], p[pre + "weight"], p[pre + "bias"], 1e-5)


def _block(p, pre, tgt, memory=None, mask=None):
    if memory is None:
        tgt = _ln(p, pre + "norm1.", tgt + _mha(p, pre + "self_attn.", tgt))
    else:
        tgt = _ln(p, pre + "norm2.", tgt + _mha(p, pre + "cross_attn.", tgt, memory, mask))
    h = F.linear(
        F.relu(F.linear(tgt, p[pre + "mlp.fc1.weight"], p[pre + "mlp.fc1.bias"])),
        p[pre + "mlp.fc2.weight"],
        p[pre + "mlp.fc2.bias"],
    )
    return _ln(p, pre + "norm3.", tgt + h)


def _length(logit):
    """First </s> + 1 via cumsum, else N (PaddleOCR's _get_length)."""
    out = logit.argmax(-1) == 0
    first = ((out.astype("int32").cumsum(-1) == 1) & out).astype("int32").argmax(-1) + 1
    return paddle.where(out.any(-1), first, paddle.full_like(first, logit.shape[1]))


def _mask(length, n):
    """-inf key padding + -inf diagonal, via tile/where/diag (PaddleOCR's _get_mask)."""
    b = length.shape[0]
    grid = paddle.arange(0, n).unsqueeze(0).tile([b, 1])
    pad = paddle.where(grid >= length.unsqueeze(-1), paddle.full([b, n], -math.inf), paddle.zeros([b, n]))
    return (pad.unsqueeze(1) + paddle.diag(paddle.full([n], -math.inf))).unsqueeze(1)


def _cbr(p, pre, conv, bn, x, stride=1):
    x = F.conv2d(x, p[f"{pre}{conv}.weight"], p[f"{pre}{conv}.bias"], stride=stride, padding=1)
    x = F.batch_norm(
        x,
        p[f"{pre}{bn}._mean"],
        p[f"{pre}{bn}._variance"],
        p[f"{pre}{bn}.weight"],
        p[f"{pre}{bn}.bias"],
        training=False,
        epsilon=1e-5,
    )
    return F.relu(x)


def _position_attention(p, x, n):
    b, c, h, w = x.shape
    feats, k = [], x
    for i, s in enumerate([(1, 2), (2, 2), (2, 2), (2, 2)]):
        k = _cbr(p, f"decoder.k_encoder.{i}.", 0, 1, k, s)
        feats.append(k)
    for i in range(3):
        k = _cbr(p, f"decoder.k_decoder.{i}.", 1, 2, F.interpolate(k, scale_factor=2, mode="nearest"))
        k = k + feats[2 - i]
    k = _cbr(p, "decoder.k_decoder.3.", 1, 2, F.interpolate(k, size=(h, w), mode="nearest"))
    q = _pe_add(paddle.zeros([b, n, c]), p["decoder.pos_encoder.pe"])
    q = F.linear(q, p["decoder.project.weight"], p["decoder.project.bias"])
    scores = F.softmax(q @ k.flatten(2) / c**0.5, axis=-1)
    return scores @ x.flatten(2).transpose([0, 2, 1])


def _reference_head(p, x, iter_size=3, n=STEPS):
    """Eval-mode ABINet head from its state dict ``p``, following PaddleOCR's operations."""
    b, c, h, w = x.shape
    feat = _pe_add(x.transpose([0, 2, 3, 1]).flatten(1, 2), p["pos_encoder.pe"])
    for i in range(3):
        feat = _block(p, f"encoder.{i}.", feat)
    v_feat = _position_attention(p, feat.reshape([b, h, w, c]).transpose([0, 3, 1, 2]), n)
    logits = F.linear(v_feat, p["cls.weight"], p["cls.bias"])
    lengths_seen = [_length(logits)]
    for _ in range(iter_size):
        lengths = paddle.clip(_length(logits), 2, n)
        embed = _pe_add(F.linear(F.softmax(logits, -1), p["language.proj.weight"]), p["language.token_encoder.pe"])
        query = _pe_add(paddle.zeros_like(embed), p["language.pos_encoder.pe"])
        for i in range(4):
            query = _block(p, f"language.decoder.{i}.", query, embed, _mask(lengths, n))
        gate = F.sigmoid(F.linear(paddle.concat([query, v_feat], -1), p["w_att_align.weight"], p["w_att_align.bias"]))
        logits = F.linear(gate * v_feat + (1 - gate) * query, p["cls_align.weight"], p["cls_align.bias"])
        lengths_seen.append(_length(logits))
    return F.softmax(logits, -1), lengths_seen


def _random_head_state(head, seed):
    rng = np.random.default_rng(seed)
    state = {}
    for k, v in head.state_dict().items():
        if k.endswith(".pe"):
            state[k] = v.numpy()
        elif k.endswith("._variance") or (k.endswith(".weight") and len(v.shape) == 1):  # BN / LN scales
            state[k] = rng.uniform(0.5, 1.5, v.shape).astype("float32")
        else:
            state[k] = (rng.standard_normal(v.shape) * (0.5 if k.endswith("._mean") else 0.08)).astype("float32")
    return state


def _config_head(config):
    args = {k: v for k, v in config["Architecture"]["Head"].items() if k != "name"}
    return ABINetHead(in_channels=512, out_channels=CLASSES, **args)


@needs_shared
def test_head_matches_paddleocr_formulation(config):
    paddle.seed(3)
    head = _config_head(config)
    state = _random_head_state(head, seed=5)
    # Favour </s> a little so the predicted lengths (and the language mask) vary per sample.
    state["cls.bias"][0] += 1.5
    state["cls_align.bias"][0] += 0.6
    head.set_state_dict(state)
    head.eval()
    x = paddle.to_tensor(np.random.default_rng(7).standard_normal([3, 512, 8, 32]).astype("float32"))
    with paddle.no_grad():
        ours = head(x).numpy()
        ref, lengths = _reference_head({k: paddle.to_tensor(v) for k, v in state.items()}, x)
    assert ours.shape == (3, STEPS, CLASSES)
    np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-4, atol=1e-5)
    seen = np.concatenate([t.numpy() for t in lengths])
    assert (seen == STEPS).any() and ((seen > 2) & (seen < STEPS)).any() and (seen < 2).any(), seen


def test_sinusoid_tables_equal_paddleocrs_formula():
    head = ABINetHead(in_channels=512, out_channels=CLASSES, use_lang=True)
    dim = 512
    position = paddle.arange(0, 256, dtype="float32").unsqueeze(1)
    div = paddle.exp(paddle.arange(0, dim, 2).astype("float32") * (-math.log(10000.0) / dim))
    table = np.zeros([256, dim], dtype="float32")
    table[:, 0::2] = paddle.sin(position * div).numpy()
    table[:, 1::2] = paddle.cos(position * div).numpy()
    np.testing.assert_allclose(head.pos_encoder.pe.numpy()[:, 0], table, atol=1e-4)
    np.testing.assert_allclose(head.language.token_encoder.pe.numpy()[:, 0], table[:STEPS], atol=1e-5)


def test_predicted_length_and_mask_equal_paddleocrs():
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 4, size=(64, STEPS))
    idx[0] = 1  # no </s> at all
    logits = paddle.to_tensor(np.eye(4, dtype="float32")[idx])
    lengths = predicted_length(logits)
    np.testing.assert_array_equal(lengths.numpy(), _length(logits).numpy())
    assert int(lengths[0]) == STEPS
    clipped = paddle.clip(lengths, 2, STEPS)
    ours = padding_mask(clipped, STEPS, mask_self=True).numpy()
    ref = _mask(clipped, STEPS).numpy()
    assert ours.shape == ref.shape == (64, 1, STEPS, STEPS)
    assert np.isfinite(ours).all()  # regression: a real number, not the string "-inf"
    np.testing.assert_array_equal(ours < -1e8, np.isinf(ref))


# ----------------------------------------------------------------------------- training
@needs_shared
def test_train_forward_loss_backward_gives_finite_gradients(model, config):
    model.train()
    out = model(paddle.randn([2, 3, 32, 128]))
    assert set(out) == {"align", "lang", "vision"}
    assert len(out["align"]) == len(out["lang"]) == config["Architecture"]["Head"]["iter_size"]
    assert out["vision"].shape == [2, STEPS, CLASSES]
    label = np.full([2, STEPS], 100, dtype="int64")
    label[0, :4] = [5, 6, 7, 0]
    label[1, :2] = [9, 0]
    batch = [None, paddle.to_tensor(label), paddle.to_tensor(np.array([3, 1]))]
    loss_fn = CELoss(**{k: v for k, v in config["Loss"].items() if k != "name"})
    losses = loss_fn(out, batch)
    assert set(losses) == {"align_loss", "lang_loss", "vision_loss", "loss"}
    assert np.isfinite(float(losses["loss"]))
    model.clear_gradients()
    losses["loss"].backward()
    missing = [n for n, p in model.named_parameters() if not p.stop_gradient and p.grad is None]
    assert missing == []
    bad = [n for n, p in model.named_parameters() if p.grad is not None and not np.isfinite(p.grad.numpy()).all()]
    assert bad == []
    model.clear_gradients()
    model.eval()


# A small ABINet head: 64 channels, 5 classes, 4 steps, language model on, 2 iterations.
SMALL_HEAD = dict(
    in_channels=64,
    out_channels=5,
    d_model=64,
    nhead=2,
    num_layers=1,
    dim_feedforward=64,
    max_length=4,
    use_lang=True,
    iter_size=2,
)


def test_language_model_input_is_detached():
    """The language loss alone must not reach the vision model (ABINet's gradient block)."""
    paddle.seed(2)
    head = ABINetHead(**SMALL_HEAD)
    head.train()
    x = paddle.randn([2, 64, 8, 32])
    x.stop_gradient = False
    out = head(x)
    label = paddle.to_tensor(np.array([[1, 2, 0, 100, 100], [3, 0, 100, 100, 100]]))
    F.cross_entropy(
        paddle.concat(out["lang"], 0).reshape([-1, 5]), paddle.concat([label, label], 0).reshape([-1]), ignore_index=100
    ).backward()
    assert x.grad is None or float(x.grad.abs().max()) == 0.0
    assert head.cls.weight.grad is None or float(head.cls.weight.grad.abs().max()) == 0.0
    assert head.language.proj.weight.grad is not None and float(head.language.proj.weight.grad.abs().max()) > 0


def test_eval_output_is_probabilities_over_max_length_plus_one_steps():
    head = ABINetHead(**SMALL_HEAD)
    head.eval()
    probs = head(paddle.randn([3, 64, 8, 32]))
    assert probs.shape == [3, 5, 5]
    np.testing.assert_allclose(probs.sum(-1).numpy(), 1.0, rtol=1e-5)
    vision_only = ABINetHead(
        in_channels=64, out_channels=5, d_model=64, nhead=2, num_layers=1, dim_feedforward=64, max_length=4
    )
    assert not hasattr(vision_only, "language")
    vision_only.train()
    assert set(vision_only(paddle.randn([1, 64, 8, 32]))) == {"vision"}


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"out_channels": None}, "out_channels"),
        ({"out_channels": 37, "d_model": 256}, "d_model"),
        ({"out_channels": 37, "max_length": 0}, "max_length"),
        ({"out_channels": 37, "iter_size": 0}, "iter_size"),
        ({"out_channels": 37, "image_size": [32, 100]}, "image_size"),
    ],
)
def test_bad_head_arguments_are_one_line_config_errors(kwargs, key):
    with pytest.raises(ConfigError, match=f"Architecture.Head.{key}") as err:
        ABINetHead(in_channels=512, **kwargs)
    assert "\n" not in str(err.value)


# ----------------------------------------------------------------------------- export
@pytest.fixture(scope="module")
def saved_model(model, tmp_path_factory):
    """Regression 1: PaddleOCR's ``_get_mask`` fills with the string "-inf", which breaks
    Paddle 3 PIR export; the whole model must save with a dynamic batch."""
    from paddle.static import InputSpec

    model.eval()
    rng = np.random.default_rng(11)
    x = rng.standard_normal([3, 3, 32, 128]).astype("float32")
    with paddle.no_grad():
        eager = model(paddle.to_tensor(x)).numpy()
    prefix = str(tmp_path_factory.mktemp("abinet") / "inference")
    static = paddle.jit.to_static(
        model, input_spec=[InputSpec([None, 3, 32, 128], "float32", name="x")], full_graph=True
    )
    paddle.jit.save(static, prefix)
    return prefix, x, eager


@pytest.mark.slow
@needs_shared
def test_pir_jit_save_with_dynamic_batch(saved_model):
    prefix, x, eager = saved_model
    loaded = paddle.jit.load(prefix)
    loaded.eval()
    for n in (1, 3):
        out = loaded(paddle.to_tensor(x[:n])).numpy()
        assert out.shape == (n, STEPS, CLASSES)
        np.testing.assert_allclose(out, eager[:n], atol=1e-5)


@needs_shared
def test_onnx_export_without_diag_matches_eager(saved_model, tmp_path):
    """Regression 2: paddle2onnx has no ``diag`` converter; the mask is built without it."""
    paddle2onnx = pytest.importorskip("paddle2onnx")
    ort = pytest.importorskip("onnxruntime")
    prefix, x, eager = saved_model
    data = paddle2onnx.export(prefix + ".json", prefix + ".pdiparams", None, opset_version=17, enable_onnx_checker=True)
    path = tmp_path / "abinet.onnx"
    path.write_bytes(data)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    # The declared output batch stays dynamic (a broadcast matmul once pinned it to 1).
    assert not isinstance(sess.get_outputs()[0].shape[0], int)
    for n in (1, 3):
        out = sess.run(None, {name: x[:n]})[0]
        assert out.shape == (n, STEPS, CLASSES)
        assert np.abs(out - eager[:n]).max() < 1e-4


@pytest.mark.parametrize(
    "kwargs, key, shown",
    [
        ({"nhead": [1, "a"]}, "nhead", "[1, 'a']"),
        ({"nhead": 3}, "nhead", "d_model=64"),
        ({"num_layers": []}, "num_layers", "[]"),
        ({"num_layers": 10**12}, "num_layers", "1000000000000"),
        ({"dim_feedforward": 10**12}, "dim_feedforward", "1000000000000"),
        ({"dim_feedforward": "x"}, "dim_feedforward", "'x'"),
        ({"dropout": 1.0}, "dropout", "[0, 1)"),
        ({"dropout": "x"}, "dropout", "'x'"),
        ({"max_length": 10**12}, "max_length", "1000000000000"),
        ({"iter_size": 10**12}, "iter_size", "1000000000000"),
        ({"iter_size": 2.5}, "iter_size", "2.5"),
        ({"use_lang": "x"}, "use_lang", "'x'"),
        ({"image_size": [32, 10**12]}, "image_size", "1000000000000"),
    ],
)
def test_malformed_head_sizes_are_one_line_errors_naming_the_key(kwargs, key, shown):
    # Regression (fuzz): Head.nhead=[1, 'a'] failed with "list < int" in transformer.py,
    # Head.num_layers=[] with range(list) in abinet.py.
    args = dict(in_channels=64, out_channels=5, d_model=64, nhead=2, num_layers=1, dim_feedforward=64, max_length=4)
    with pytest.raises(ConfigError, match=f"^Architecture.Head.{key}: ") as err:
        ABINetHead(**{**args, **kwargs})
    assert shown in str(err.value) and "\n" not in str(err.value)
