"""Planning model inputs: chunk layout, pieces, batch widths and the steps each row decodes."""

import numpy as np
import pytest

from ppresnet45.inference import InferenceSpec
from ppresnet45.inference.chunking import WIDTH_ALIGN, Piece, batch_width, chunk_layout, decoded_steps, plan_pieces


def spec(dynamic_width=True):
    """H = 32, nominal W = 128; dynamic: max_width = 25 * 32 = 800."""
    return InferenceSpec.for_model([3, 32, 128], list("abc"), dynamic_width=dynamic_width)


@pytest.mark.parametrize("full", [801, 1000, 5000, 12345])
def test_chunk_layout_covers_the_line_exactly_once(full):
    layout = chunk_layout(full, 800, 128)
    assert layout[0][1] == 0 and layout[-1][2] == full
    for (x0, lo, hi), (nx0, nlo, _) in zip(layout, layout[1:]):
        assert hi == nlo and x0 < nx0 and lo >= x0 and hi <= x0 + 800  # each part lies inside its chunk
        assert x0 + 800 - nx0 >= 128 and nx0 % 8 == 0  # overlap kept, starts on the step grid
    assert full - 8 < layout[-1][0] + 800


def test_plan_pieces_sorts_by_width_and_chunks_only_long_lines():
    sizes = [(32, 500), None, (16, 10), (32, 2000), (64, 64)]  # resized widths 500, -, 20, 2000, 32
    pieces = plan_pieces(sizes, spec())
    assert [(p.index, p.chunk) for p in pieces][:3] == [(2, 0), (4, 0), (0, 0)]
    chunks = [p for p in pieces if p.index == 3]
    assert len(chunks) == 3 and all(p.is_chunk and p.width == 800 and p.full_width == 2000 for p in chunks)
    assert chunks[0].own_lo == 0 and chunks[-1].own_hi == 2000
    assert 1 not in {p.index for p in pieces}  # a failed image has no piece


def test_plan_pieces_squeezes_lines_beyond_max_chunks():
    pieces = plan_pieces([(32, 100000)], spec(), max_chunks=3)
    assert len(pieces) == 3 and pieces[-1].x0 + 800 >= pieces[-1].full_width


def test_fixed_width_models_run_every_line_at_the_nominal_width():
    s = spec(dynamic_width=False)
    pieces = plan_pieces([(32, 5000), (32, 10)], s)
    assert [(p.width, p.full_width) for p in pieces] == [(128, 128), (128, 128)]
    assert batch_width(pieces, s) == 128


def test_batch_width_rounds_up_to_the_alignment_and_caps_at_max_width():
    s = spec()
    assert batch_width([Piece(0, 0, 0, 133, 133), Piece(1, 0, 0, 20, 20)], s) == 136
    assert batch_width([Piece(0, 0, 0, 797, 797)], s) == 800
    assert batch_width([Piece(0, 0, 0, 200, 200)], s) == 200 and 200 % WIDTH_ALIGN == 0


def test_short_lines_are_padded_to_the_nominal_width_and_keep_its_steps():
    # training pads every line to W = 128: a CTC model may emit a short line's characters there
    s = spec()
    assert batch_width([Piece(0, 0, 0, 33, 33), Piece(1, 0, 0, 20, 20)], s) == 128
    short = Piece(0, 0, 0, 20, 20)
    assert decoded_steps(short, 20, 64, 256, nominal_width=128) == slice(0, 32)  # up to W, not the batch's 256
    assert decoded_steps(short, 20, 32, 128, nominal_width=128) == slice(0, 32)
    assert decoded_steps(Piece(0, 0, 0, 200, 200), 200, 64, 256, nominal_width=128) == slice(0, 50)


def test_decoded_steps_drop_the_padding_and_split_chunks_at_their_overlap_middles():
    whole = Piece(0, 0, 0, 100, 100)
    assert decoded_steps(whole, 100, 50, 200) == slice(0, 25)
    full, steps = 2000, 200  # a 800-px chunk gives 200 steps at stride 4
    layout = chunk_layout(full, 800, 128)
    owned = []
    for k, (x0, lo, hi) in enumerate(layout):
        keep = decoded_steps(Piece(0, k, x0, 800, full, lo, hi), 800, steps, 800)
        owned.extend(x0 // 4 + np.flatnonzero(keep))
    assert owned == list(range(full // 4))  # every step of the line exactly once, in order
