"""VisionLAN's Transformer encoder: PaddleOCR's parameter names, the position table, the maths."""

import numpy as np
import paddle
import pytest

from ppresnet45.modeling.heads.transformer import sinusoid_table
from ppresnet45.modeling.heads.visionlan_encoder import (
    MultiHeadAttention,
    PositionalEncoding,
    PositionwiseFeedForward,
    TransformerEncoder,
)


def _layer_norm(x, eps=1e-5):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)  # fresh LayerNorm: w=1, b=0


def test_the_encoder_carries_paddleocrs_names_and_the_table_is_a_buffer():
    enc = TransformerEncoder(n_layers=2, n_position=12, d_model=16)
    keys = set(enc.state_dict())
    layer = {"slf_attn.w_qs", "slf_attn.w_ks", "slf_attn.w_vs", "slf_attn.fc", "slf_attn.layer_norm"}
    layer |= {"pos_ffn.w_1", "pos_ffn.w_2", "pos_ffn.layer_norm"}
    expected = {"position_enc.pos_table", "layer_norm.weight", "layer_norm.bias"}
    expected |= {f"layer_stack.{i}.{name}.{p}" for i in (0, 1) for name in layer for p in ("weight", "bias")}
    assert keys == expected
    assert not any(name.endswith("pos_table") for name, _ in enc.named_parameters())
    np.testing.assert_array_equal(enc.position_enc.pos_table.numpy(), sinusoid_table(12, 16)[None])
    assert enc.layer_stack[0].slf_attn.w_qs.weight.shape == [16, 16]  # 8 heads of 16 // 8


def test_the_position_table_is_added_up_to_the_sequence_length():
    pe = PositionalEncoding(d_hid=8, n_position=10)
    x = paddle.zeros([2, 4, 8])
    out = pe(x).numpy()
    np.testing.assert_allclose(out, np.broadcast_to(sinusoid_table(10, 8)[:4], (2, 4, 8)), rtol=1e-6)


def test_self_attention_and_feed_forward_compute_the_post_norm_formulas():
    paddle.seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 16)).astype("float32")
    attn = MultiHeadAttention(n_head=2, d_model=16, d_k=4, d_v=6, dropout=0.1)
    attn.eval()
    w = {k: v.numpy() for k, v in attn.state_dict().items()}

    def heads(y, depth):  # [B, L, n*depth] -> [B, n, L, depth]
        return y.reshape(2, 5, 2, depth).transpose(0, 2, 1, 3)

    q, k, v = (heads(x @ w[f"w_{n}s.weight"] + w[f"w_{n}s.bias"], d) for n, d in (("q", 4), ("k", 4), ("v", 6)))
    scores = q @ k.transpose(0, 1, 3, 2) / 2.0  # sqrt(d_k)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    mixed = (weights @ v).transpose(0, 2, 1, 3).reshape(2, 5, 12)
    ref = _layer_norm(mixed @ w["fc.weight"] + w["fc.bias"] + x)
    np.testing.assert_allclose(attn(paddle.to_tensor(x)).numpy(), ref, rtol=1e-4, atol=1e-4)

    ffn = PositionwiseFeedForward(d_in=16, d_hid=32)
    ffn.eval()
    f = {k: v.numpy() for k, v in ffn.state_dict().items()}
    hidden = np.maximum(x @ f["w_1.weight"][:, :, 0].T + f["w_1.bias"], 0)  # Conv1D 1x1: [out, in, 1]
    ref = _layer_norm(hidden @ f["w_2.weight"][:, :, 0].T + f["w_2.bias"] + x)
    np.testing.assert_allclose(ffn(paddle.to_tensor(x)).numpy(), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("length", [3, 12])
def test_the_encoder_keeps_the_shape_of_any_length_up_to_its_table(length):
    enc = TransformerEncoder(n_layers=1, n_position=12, d_model=16)
    enc.eval()
    out = enc(paddle.randn([2, length, 16])).numpy()
    assert out.shape == (2, length, 16) and np.isfinite(out).all()
    np.testing.assert_allclose(out.mean(-1), 0.0, atol=1e-4)  # the final LayerNorm (w=1, b=0)
