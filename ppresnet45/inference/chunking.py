"""Planning model inputs: which rows to run, how wide, and which time steps each row decodes.

A *piece* is one model-input row: a whole text line, or one chunk of a line wider than the
model's ``max_width``. Long lines are cut into overlapping chunks ``max_width`` wide (overlap
at least ``max(4·H, max_width/8)``, at most half a chunk), starting on an 8-px grid so that
their time steps line up with a single pass over the whole line; each chunk decodes the part
of the line from the middle of its left overlap to the middle of its right one, so the
chunks' steps joined in order cover the line exactly once. A line longer than ``max_chunks``
chunks is squeezed horizontally to fit them.

Pieces are sorted by width so that a batch pads little; a batch is padded to its widest
row rounded up to a multiple of :data:`WIDTH_ALIGN` (fewer distinct shapes for the runtime
to prepare), never beyond ``max_width``, and never below the nominal width ``W``: training
pads every line to ``W`` (``RecResizeImg``), and a CTC model may emit a short line's
characters over that padding, so a line keeps the steps up to ``max(its width, W)``; the
steps over the padding beyond that (up to its batch's widest line) are dropped.

With ``paddleocr`` batching (PaddleOCR's own exports, :mod:`.spec`) every line is one piece;
lines are sorted by aspect ratio ``w / h`` as ``predict_rec`` sorts them, and a batch's width is PaddleOCR's
``predict_rec`` width, ``int(H * max(W / H, widest ratio))``, capped at ``max_width``; each
line keeps its resized width up to that, and every time step is decoded, padding included,
so the text is what PaddleOCR reads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..data.imgproc import resized_width
from .spec_parse import PREDICT_REC

if TYPE_CHECKING:
    from .spec import InferenceSpec

WIDTH_ALIGN = 8


@dataclass
class Piece:
    """One model-input row: a whole line, or one chunk of a long line.

    Attributes:
        index (int): position of the image in the input list.
        chunk (int): chunk number (0 for a whole line).
        x0 (int): left edge of the chunk in the resized line (0 for a whole line).
        width (int): resized width of the row's content.
        full_width (int): resized width of the whole line (after the length limit).
        own_lo (float): left edge (pixels of the resized line) of the part this chunk decodes.
        own_hi (float): right edge of that part.
    """

    index: int
    chunk: int
    x0: int
    width: int
    full_width: int
    own_lo: float = 0.0
    own_hi: float = math.inf
    ratio: float = 0.0  # w / h of the image (the sort key of ``paddleocr`` batching)

    @property
    def is_chunk(self) -> bool:
        """True for a part of a longer line (False for a whole line)."""
        return self.width != self.full_width


def chunk_layout(
    full_width: int, chunk_width: int, overlap: int, align: int = WIDTH_ALIGN
) -> list[tuple[int, float, float]]:
    """Split a line ``full_width`` px wide into overlapping chunks.

    Chunks start at multiples of ``align`` so their time steps fall on the same grid as a
    single pass over the whole line would (the model's width stride divides 8).

    Args:
        full_width (int): resized line width (> ``chunk_width``).
        chunk_width (int): width of every chunk.
        overlap (int): pixels (at least) shared by neighbouring chunks (< ``chunk_width``).
        align (int): chunk starts are multiples of this.

    Returns:
        list[tuple[int, float, float]]: ``(x0, own_lo, own_hi)`` per chunk: its left edge and
        the part of the line it decodes (neighbours meet at the middle of their overlap;
        together the parts cover ``[0, full_width)`` exactly once).
    """
    step = max(align, (chunk_width - overlap) // align * align)
    starts = [0]
    while starts[-1] + chunk_width < full_width:
        starts.append(starts[-1] + step)
    if len(starts) > 1:  # pull the last chunk left to the end of the line: less padding, more overlap
        starts[-1] = -(-(full_width - chunk_width) // align) * align
    bounds = [0.0]
    for a, b in zip(starts[:-1], starts[1:]):
        bounds.append((b + a + chunk_width) / 2.0)
    bounds.append(float(full_width))
    return [(x0, bounds[i], bounds[i + 1]) for i, x0 in enumerate(starts)]


def plan_pieces(sizes: Sequence[tuple[int, int] | None], spec: InferenceSpec, max_chunks: int = 16) -> list[Piece]:
    """Turn image sizes into model-input pieces.

    Args:
        sizes (list[tuple[int, int] | None]): ``(h, w)`` per image; ``None`` skips the image.
        spec (InferenceSpec): the model's settings.
        max_chunks (int): most chunks one line is split into.

    Returns:
        list[Piece]: sorted by width (then input order), ready to cut into batches.
    """
    pieces: list[Piece] = []
    cw = spec.max_width
    overlap = min(cw // 2, max(4 * spec.height, cw // 8))
    step = max(WIDTH_ALIGN, (cw - overlap) // WIDTH_ALIGN * WIDTH_ALIGN)
    limit = cw + (max_chunks - 1) * step
    if spec.paddleocr_batching:
        return _paddleocr_pieces(sizes, spec)
    for i, hw in enumerate(sizes):
        if hw is None:
            continue
        if not spec.chunking:
            pieces.append(Piece(i, 0, 0, spec.width, spec.width))
            continue
        rw = resized_width(hw[0], hw[1], spec.height)
        if rw <= cw:
            pieces.append(Piece(i, 0, 0, rw, rw))
            continue
        full = min(rw, limit)
        for k, (x0, lo, hi) in enumerate(chunk_layout(full, cw, overlap)):
            pieces.append(Piece(i, k, x0, cw, full, lo, hi))
    pieces.sort(key=lambda p: (p.width, p.index, p.chunk))
    return pieces


def _paddleocr_pieces(sizes: Sequence[tuple[int, int] | None], spec: InferenceSpec) -> list[Piece]:
    """One piece per line, in the order PaddleOCR batches them: by aspect ratio, ties in input
    order (PaddleX), or with ``predict_rec`` batching in the order of numpy's default sort, as
    PaddleOCR 2.x's ``predict_rec`` and RapidOCR call ``np.argsort`` (among equal ratios its
    order is its own). A model that mixes the whole line (SVTR) reads a line differently in a
    batch of another width, so the batches must be theirs."""
    pieces: list[Piece] = []
    for i, hw in enumerate(sizes):
        if hw is not None:
            rw = resized_width(hw[0], hw[1], spec.height, spec.max_width)
            pieces.append(Piece(i, 0, 0, rw, rw, ratio=hw[1] / float(max(hw[0], 1))))
    ratios = np.array([p.ratio for p in pieces], dtype=np.float64)
    # predict_rec: numpy's default sort, as PaddleOCR 2.x and RapidOCR call it; PaddleX: a stable sort
    order = np.argsort(ratios) if spec.batching == PREDICT_REC else np.argsort(ratios, kind="stable")
    return [pieces[k] for k in order]


def paddleocr_batch_width(ratios: Iterable[float], spec: InferenceSpec) -> int:
    """PaddleOCR's batch width for lines of aspect ratios ``ratios``: ``int(H * max(W / H, ...))``
    (its ``predict_rec`` arithmetic, in the same float operations), at most ``max_width``."""
    h, w = spec.height, spec.width
    return min(int(spec.max_width), int(h * max([w / h] + list(ratios))))


def batch_width(pieces: Sequence[Piece], spec: InferenceSpec, align: int = WIDTH_ALIGN) -> int:
    """Padded input width of a batch: its widest row, rounded up to a multiple of ``align``, ≤ max_width
    (PaddleOCR's width with ``paddleocr`` batching; the nominal width for a fixed-width model)."""
    if spec.paddleocr_batching:
        return paddleocr_batch_width([p.ratio for p in pieces], spec)
    if not spec.chunking:
        return spec.width
    widest = max([p.width for p in pieces] + [spec.width])
    return int(min(spec.max_width, max(widest, -(-widest // align) * align)))


def decoded_steps(
    piece: Piece, content_width: int | None, steps: int, padded_width: int, nominal_width: int = 0
) -> slice | np.ndarray:
    """The time steps of one output row that belong to its piece.

    A whole line keeps the steps covering its content, or the nominal width when it is
    narrower (what training padded it to): the steps over the rest of the right-hand
    padding are dropped, so padding a line to its batch's width adds no characters. A chunk keeps
    the steps whose centres fall in the part of the line it decodes (the last chunk keeps
    every step that touches the line, as a whole line does).

    Args:
        piece (Piece): the row's piece.
        content_width (int): width of the row's content in the model input.
        steps (int): time steps of the output row.
        padded_width (int): width of the model input (the batch's width).
        nominal_width (int): the model's nominal width ``W``.

    Returns:
        slice | np.ndarray: an index (slice or boolean mask) into the row's time steps.
    """
    if content_width is None:  # paddleocr batching: every step, as PaddleOCR decodes
        return slice(0, steps)
    if not piece.is_chunk:
        width = max(content_width, min(nominal_width, padded_width))
        return slice(0, min(steps, max(1, int(math.ceil(steps * width / padded_width)))))
    centres = piece.x0 + (np.arange(steps) + 0.5) * (padded_width / steps)
    keep = centres >= piece.own_lo
    if piece.own_hi >= piece.full_width:
        keep[int(math.ceil(steps * (piece.full_width - piece.x0) / padded_width)) :] = False
    else:
        keep &= centres < piece.own_hi
    return keep
