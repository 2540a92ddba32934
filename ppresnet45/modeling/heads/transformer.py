"""Generic Transformer pieces shared by attention heads (ABINet, and later VisionLAN).

The attribute names follow PaddleOCR's NRTR building blocks, so state dicts of heads built
from them carry PaddleOCR's keys: a block has ``self_attn`` / ``cross_attn`` (each with
``qkv`` or ``q`` + ``kv``, and ``out_proj``), ``mlp.fc1`` / ``mlp.fc2`` and the layer norms
``norm1`` (after self-attention), ``norm2`` (after cross-attention), ``norm3`` (after the
feed-forward). Tensors are batch-first: ``[B, N, C]``.

Attention masks are additive float tensors. A masked position gets :data:`MASK_VALUE`, a
finite large negative number rather than the string ``"-inf"`` (which Paddle 3's PIR export
cannot lower); after the softmax it weighs exactly 0 in float32, as ``-inf`` would.
"""

import math

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn

from ...errors import ConfigError

MASK_VALUE = -1e9
"""Additive attention-mask value of a masked position (exp underflows to 0 after softmax)."""

# Sane bounds of the Head's sizes: beyond them a config value is a typo, and building it would
# allocate until memory runs out (or overflow Paddle's int32 shapes) instead of failing fast.
MAX_WIDTH = 65536  # d_model, dim_feedforward
MAX_DEPTH = 1000  # num_layers, iter_size: modules built one by one
MAX_STEPS = 100000  # max_length, rows of a position table


def check_int(value, key, low=1, high=None):
    """Return ``value`` if it is an int in ``[low, high]``, else raise a one-line
    :class:`ConfigError` naming ``Architecture.Head.<key>``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        expected = f"an int >= {low}" if high is None else f"an int in [{low}, {high}]"
        raise ConfigError(f"Architecture.Head.{key}: expected {expected}, got {value!r}")
    return value


def check_rate(value, key):
    """Return a dropout rate as a float in ``[0, 1)``, else raise a one-line :class:`ConfigError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(f"Architecture.Head.{key}: expected a number in [0, 1), got {value!r}")
    return float(value)


def check_heads(d_model, nhead):
    """``nhead`` must be a positive int dividing ``d_model``."""
    check_int(d_model, "d_model", high=MAX_WIDTH)
    check_int(nhead, "nhead", high=MAX_WIDTH)
    if d_model % nhead:
        raise ConfigError(f"Architecture.Head.nhead: must divide Architecture.Head.d_model={d_model}, got {nhead}")


def sinusoid_table(max_len, dim):
    """The ``[max_len, dim]`` float32 sinusoid table of "Attention Is All You Need":
    ``sin(pos / 10000^(2i/dim))`` at even columns, ``cos(...)`` at odd columns."""
    position = np.arange(max_len, dtype=np.float64)[:, None]
    rate = np.exp(np.arange(0, dim, 2, dtype=np.float64) * (-math.log(10000.0) / dim))
    table = np.zeros((max_len, dim), dtype=np.float64)
    table[:, 0::2] = np.sin(position * rate)
    table[:, 1::2] = np.cos(position * rate)
    return table.astype(np.float32)


def padding_mask(lengths, max_len, mask_self=False):
    """Additive key mask ``[B, 1, max_len, max_len]`` from valid lengths ``[B]``.

    Key ``j`` is masked for every query when ``j >= lengths[b]``; with ``mask_self`` key
    ``i`` is also masked for query ``i`` (the diagonal), as ABINet's language model does.
    Built from ``arange`` comparisons only (no ``diag``), so it exports to PIR and ONNX.
    """
    steps = paddle.arange(max_len, dtype=lengths.dtype)
    pad = (steps.unsqueeze(0) >= lengths.unsqueeze(-1)).astype("float32")  # [B, L]
    mask = pad.unsqueeze(1) * MASK_VALUE  # [B, 1, L]: the same key mask for every query
    if mask_self:
        diag = (steps.unsqueeze(1) == steps.unsqueeze(0)).astype("float32")  # [L, L]
        mask = mask + diag.unsqueeze(0) * MASK_VALUE  # [B, L, L]
    return mask.unsqueeze(1)


class SinusoidalPositionEncoding(nn.Layer):
    """Add a fixed sinusoid table to a ``[B, N, C]`` sequence, then dropout.

    The table is the persistable buffer ``pe`` of shape ``[max_len, 1, dim]`` (PaddleOCR's
    layout, so checkpoints load unchanged).

    Args:
        dim (int): feature size ``C``.
        max_len (int): longest sequence ``N`` the table covers.
        dropout (float): dropout rate applied after the addition.
    """

    def __init__(self, dim, max_len, dropout=0.0):
        super().__init__()
        if (
            isinstance(dim, bool)
            or not isinstance(dim, int)
            or isinstance(max_len, bool)
            or not isinstance(max_len, int)
            or not 1 <= max_len <= MAX_STEPS
            or not 2 <= dim <= MAX_WIDTH
            or dim % 2
        ):
            raise ConfigError(
                f"SinusoidalPositionEncoding: dim (Architecture.Head.d_model) must be an even int in [2, {MAX_WIDTH}] "
                f"and max_len an int in [1, {MAX_STEPS}], got dim={dim!r}, max_len={max_len!r}"
            )
        self.max_len = max_len
        self.register_buffer("pe", paddle.to_tensor(sinusoid_table(max_len, dim)[:, None, :]))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        n = x.shape[1]
        return self.dropout(x + self.pe[:n, 0].unsqueeze(0))


class MultiHeadAttention(nn.Layer):
    """Scaled dot-product attention over ``num_heads`` heads.

    Self-attention projects the input once to q, k and v (``qkv``, ``[C, 3C]``); otherwise
    queries and memory are projected separately (``q`` and ``kv``).

    Args:
        embed_dim (int): feature size ``C`` (divisible by ``num_heads``).
        num_heads (int): number of heads.
        dropout (float): dropout on the attention weights.
        self_attn (bool): self-attention (one ``qkv`` projection) or cross-attention.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, self_attn=False):
        super().__init__()
        check_heads(embed_dim, num_heads)
        check_rate(dropout, "dropout")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.scale = self.head_dim**-0.5
        self.self_attn = self_attn
        if self_attn:
            self.qkv = nn.Linear(embed_dim, 3 * embed_dim)
        else:
            self.q = nn.Linear(embed_dim, embed_dim)
            self.kv = nn.Linear(embed_dim, 2 * embed_dim)
        self.attn_drop = nn.Dropout(dropout)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def _split(self, x, n, parts):
        """``[B, n, parts*C]`` -> ``[parts, B, heads, n, head_dim]``."""
        return x.reshape([-1, n, parts, self.num_heads, self.head_dim]).transpose([2, 0, 3, 1, 4])

    def forward(self, query, key=None, attn_mask=None):
        """Args:
        query (Tensor): ``[B, Nq, C]``.
        key (Tensor | None): memory ``[B, Nk, C]`` (cross-attention only).
        attn_mask (Tensor | None): additive mask broadcastable to ``[B, heads, Nq, Nk]``.
        """
        nq = query.shape[1]
        if self.self_attn:
            qkv = self._split(self.qkv(query), nq, 3)
            q, k, v = qkv[0], qkv[1], qkv[2]
        else:
            q = self._split(self.q(query), nq, 1)[0]
            kv = self._split(self.kv(key), key.shape[1], 2)
            k, v = kv[0], kv[1]
        scores = paddle.matmul(q, k, transpose_y=True) * self.scale
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = self.attn_drop(F.softmax(scores, axis=-1))
        out = paddle.matmul(weights, v).transpose([0, 2, 1, 3]).reshape([-1, nq, self.embed_dim])
        return self.out_proj(out)


class FeedForward(nn.Layer):
    """``fc1`` -> ReLU -> dropout -> ``fc2`` -> dropout.

    Args:
        dim (int): input and output size.
        hidden (int): inner size.
        dropout (float): dropout rate.
    """

    def __init__(self, dim, hidden, dropout=0.0):
        super().__init__()
        check_int(dim, "d_model", high=MAX_WIDTH)
        check_int(hidden, "dim_feedforward", high=MAX_WIDTH)
        check_rate(dropout, "dropout")
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(F.relu(self.fc1(x)))))


class TransformerBlock(nn.Layer):
    """Post-norm Transformer layer: [self-attention] -> [cross-attention] -> feed-forward,
    each followed by dropout, the residual sum and a LayerNorm.

    Args:
        d_model (int): feature size.
        nhead (int): attention heads.
        dim_feedforward (int): inner size of the feed-forward.
        attention_dropout_rate (float): dropout on attention weights.
        residual_dropout_rate (float): dropout on each sub-layer output (and inside the
            feed-forward).
        with_self_attn (bool): include self-attention (``self_attn``, ``norm1``).
        with_cross_attn (bool): include cross-attention (``cross_attn``, ``norm2``).
        epsilon (float): LayerNorm epsilon.
    """

    def __init__(
        self,
        d_model,
        nhead,
        dim_feedforward=2048,
        attention_dropout_rate=0.0,
        residual_dropout_rate=0.1,
        with_self_attn=True,
        with_cross_attn=False,
        epsilon=1e-5,
    ):
        super().__init__()
        check_heads(d_model, nhead)
        check_int(dim_feedforward, "dim_feedforward", high=MAX_WIDTH)
        check_rate(attention_dropout_rate, "dropout")
        check_rate(residual_dropout_rate, "dropout")
        self.with_self_attn = with_self_attn
        self.with_cross_attn = with_cross_attn
        if with_self_attn:
            self.self_attn = MultiHeadAttention(d_model, nhead, attention_dropout_rate, self_attn=True)
            self.norm1 = nn.LayerNorm(d_model, epsilon=epsilon)
            self.dropout1 = nn.Dropout(residual_dropout_rate)
        if with_cross_attn:
            self.cross_attn = MultiHeadAttention(d_model, nhead, attention_dropout_rate, self_attn=False)
            self.norm2 = nn.LayerNorm(d_model, epsilon=epsilon)
            self.dropout2 = nn.Dropout(residual_dropout_rate)
        self.mlp = FeedForward(d_model, dim_feedforward, residual_dropout_rate)
        self.norm3 = nn.LayerNorm(d_model, epsilon=epsilon)
        self.dropout3 = nn.Dropout(residual_dropout_rate)

    def forward(self, tgt, memory=None, self_mask=None, cross_mask=None):
        """Args:
        tgt (Tensor): ``[B, N, C]``.
        memory (Tensor | None): ``[B, M, C]`` for cross-attention.
        self_mask, cross_mask (Tensor | None): additive attention masks.
        """
        if self.with_self_attn:
            tgt = self.norm1(tgt + self.dropout1(self.self_attn(tgt, attn_mask=self_mask)))
        if self.with_cross_attn:
            tgt = self.norm2(tgt + self.dropout2(self.cross_attn(tgt, key=memory, attn_mask=cross_mask)))
        return self.norm3(tgt + self.dropout3(self.mlp(tgt)))
