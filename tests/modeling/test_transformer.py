"""The shared Transformer pieces reject malformed sizes with one-line errors naming the Head key."""

import pytest

from ppresnet45 import ConfigError
from ppresnet45.modeling.heads.transformer import (
    FeedForward,
    MultiHeadAttention,
    SinusoidalPositionEncoding,
    TransformerBlock,
)


@pytest.mark.parametrize(
    "build, key",
    [
        (lambda: MultiHeadAttention(64, [1, "a"]), "nhead"),
        (lambda: MultiHeadAttention(64, 3), "nhead"),
        (lambda: MultiHeadAttention("x", 2), "d_model"),
        (lambda: MultiHeadAttention(64, 2, dropout=1.5), "dropout"),
        (lambda: FeedForward(64, 10**12), "dim_feedforward"),
        (lambda: TransformerBlock(64, 0), "nhead"),
        (lambda: TransformerBlock(64, 2, dim_feedforward=[]), "dim_feedforward"),
        (lambda: TransformerBlock(64, 2, residual_dropout_rate=-0.1), "dropout"),
    ],
)
def test_bad_transformer_sizes_name_the_head_key(build, key):
    with pytest.raises(ConfigError, match=f"^Architecture.Head.{key}: ") as err:
        build()
    assert "\n" not in str(err.value)


def test_position_table_rejects_non_int_and_huge_sizes():
    for dim, max_len in ((64, [1]), ("x", 8), (64, 10**12), (63, 8)):
        with pytest.raises(ConfigError, match="SinusoidalPositionEncoding: dim .*Architecture.Head.d_model"):
            SinusoidalPositionEncoding(dim, max_len)
