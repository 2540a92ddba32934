"""VisionLAN's Transformer encoder (PaddleOCR's ``Transformer_Encoder`` of the VisionLAN head):
a sinusoid position table and dropout, ``n_layers`` post-norm layers of multi-head
self-attention and a 1x1-convolution feed-forward, then a LayerNorm.

Its attribute names (``position_enc.pos_table``, ``layer_stack.N.slf_attn.w_qs`` /
``w_ks`` / ``w_vs`` / ``fc`` / ``layer_norm``, ``layer_stack.N.pos_ffn.w_1`` / ``w_2``,
``layer_norm``) are PaddleOCR's, so VisionLAN checkpoints load unchanged; that is why it is
not built from :mod:`.transformer`'s blocks, whose names are those of PaddleOCR's NRTR
pieces (ABINet). The position table is the one :func:`.transformer.sinusoid_table` computes.
Tensors are batch-first: ``[B, L, d]``.
"""

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn

from .transformer import sinusoid_table


class PositionalEncoding(nn.Layer):
    """Adds a fixed sinusoid table (persistable buffer ``pos_table``) to ``[B, L, d]``.

    Args:
        d_hid (int): feature width ``d``.
        n_position (int): rows of the table (longest sequence).
    """

    def __init__(self, d_hid, n_position):
        super().__init__()
        table = sinusoid_table(n_position, d_hid)[None]  # [1, n_position, d_hid]
        self.register_buffer("pos_table", paddle.to_tensor(table), persistable=True)

    def forward(self, x):
        return x + self.pos_table[:, : x.shape[1]].detach()


class MultiHeadAttention(nn.Layer):
    """Post-norm multi-head self-attention: ``LayerNorm(x + Dropout(fc(Attention(x))))``.

    Scores are ``q·k / sqrt(d_k)``, softmax over the keys, attention dropout, then ``·v``.

    Args:
        n_head (int): attention heads.
        d_model (int): feature width.
        d_k (int): query/key width per head.
        d_v (int): value width per head.
        dropout (float): attention and output dropout.
    """

    def __init__(self, n_head, d_model, d_k, d_v, dropout=0.1):
        super().__init__()
        self.n_head, self.d_k, self.d_v = n_head, d_k, d_v
        qk_std = float(np.sqrt(2.0 / (d_model + d_k)))
        v_std = float(np.sqrt(2.0 / (d_model + d_v)))
        self.w_qs = nn.Linear(d_model, n_head * d_k, weight_attr=nn.initializer.Normal(0.0, qk_std))
        self.w_ks = nn.Linear(d_model, n_head * d_k, weight_attr=nn.initializer.Normal(0.0, qk_std))
        self.w_vs = nn.Linear(d_model, n_head * d_v, weight_attr=nn.initializer.Normal(0.0, v_std))
        self.layer_norm = nn.LayerNorm(d_model)
        self.fc = nn.Linear(n_head * d_v, d_model, weight_attr=nn.initializer.XavierNormal())
        self.attn_dropout = nn.Dropout(dropout)
        self.dropout = nn.Dropout(dropout)
        self.scale = float(np.power(d_k, 0.5))

    def _split(self, x, depth):
        # [B, L, n*depth] -> [B, n, L, depth]; head h owns columns h*depth:(h+1)*depth
        return x.reshape([0, 0, self.n_head, depth]).transpose([0, 2, 1, 3])

    def forward(self, x):
        q = self._split(self.w_qs(x), self.d_k)
        k = self._split(self.w_ks(x), self.d_k)
        v = self._split(self.w_vs(x), self.d_v)
        attn = paddle.matmul(q, k, transpose_y=True) / self.scale
        attn = self.attn_dropout(F.softmax(attn, axis=-1))
        out = paddle.matmul(attn, v).transpose([0, 2, 1, 3])
        out = out.reshape([0, 0, self.n_head * self.d_v])
        return self.layer_norm(self.dropout(self.fc(out)) + x)


class PositionwiseFeedForward(nn.Layer):
    """``LayerNorm(x + Dropout(w_2(ReLU(w_1(x)))))`` with 1x1 ``Conv1D`` layers ``w_1``/``w_2``.

    Args:
        d_in (int): feature width.
        d_hid (int): hidden width.
        dropout (float): dropout before the residual add.
    """

    def __init__(self, d_in, d_hid, dropout=0.1):
        super().__init__()
        self.w_1 = nn.Conv1D(d_in, d_hid, 1)
        self.w_2 = nn.Conv1D(d_hid, d_in, 1)
        self.layer_norm = nn.LayerNorm(d_in)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        y = self.w_2(F.relu(self.w_1(x.transpose([0, 2, 1])))).transpose([0, 2, 1])
        return self.layer_norm(self.dropout(y) + x)


class EncoderLayer(nn.Layer):
    """Self-attention (``slf_attn``) then the feed-forward block (``pos_ffn``).

    Args:
        d_model (int): feature width.
        d_inner (int): feed-forward hidden width.
        n_head (int): attention heads.
        d_k (int): query/key width per head.
        d_v (int): value width per head.
        dropout (float): dropout inside both blocks.
    """

    def __init__(self, d_model, d_inner, n_head, d_k, d_v, dropout=0.1):
        super().__init__()
        self.slf_attn = MultiHeadAttention(n_head, d_model, d_k, d_v, dropout)
        self.pos_ffn = PositionwiseFeedForward(d_model, d_inner, dropout)

    def forward(self, x):
        return self.pos_ffn(self.slf_attn(x))


class TransformerEncoder(nn.Layer):
    """Position table + dropout, ``n_layers`` :class:`EncoderLayer`, final LayerNorm (eps 1e-6).

    Args:
        n_layers (int): encoder layers (``layer_stack``).
        n_position (int): rows of the position table.
        d_model (int): feature width; 8 heads of width ``d_model // 8``, FFN ``4 * d_model``.
        dropout (float): dropout probability everywhere inside.
    """

    def __init__(self, n_layers, n_position, d_model=512, dropout=0.1):
        super().__init__()
        n_head = 8
        d_k = d_model // n_head
        self.position_enc = PositionalEncoding(d_model, n_position)
        self.dropout = nn.Dropout(dropout)
        self.layer_stack = nn.LayerList(
            [EncoderLayer(d_model, 4 * d_model, n_head, d_k, d_k, dropout) for _ in range(n_layers)]
        )
        self.layer_norm = nn.LayerNorm(d_model, epsilon=1e-6)

    def forward(self, x):
        x = self.dropout(self.position_enc(x))
        for layer in self.layer_stack:
            x = layer(x)
        return self.layer_norm(x)
