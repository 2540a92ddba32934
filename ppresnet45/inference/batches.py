"""The bookkeeping of one recognizer call: prepared model inputs and the results so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .loading import input_path

if TYPE_CHECKING:
    from .._types import Row
    from .chunking import Piece
    from .sources import ImageInput


@dataclass
class PreparedBatch:
    """One prepared model input: its pieces, their rows ``array`` ``[N, C, H, width]`` (None
    when every file failed) and content widths."""

    width: int
    pieces: list[Piece] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # image index -> reason
    seconds: float = 0.0  # CPU time spent preparing it
    array: np.ndarray | None = None


class Results:
    """What one recognizer call has produced so far: a result per input, the chunks of long
    lines waiting for their neighbours, and how many inputs are finished."""

    def __init__(self, images: list[ImageInput], pieces: list[Piece]) -> None:
        self.images = images
        self.rows: list[Row | None] = [None] * len(images)
        self.done = 0
        # image index -> [(chunk number, kept probabilities [T, K])]
        self.pending: dict[int, list[tuple[int, np.ndarray]]] = {}
        self.n_chunks: dict[int, int] = {}
        for p in pieces:
            self.n_chunks[p.index] = self.n_chunks.get(p.index, 0) + 1

    def path(self, i: int) -> Any:
        return input_path(self.images[i])

    def finish(self, i: int, **result: Any) -> None:
        self.rows[i] = {"path": self.path(i), **result}
        self.done += 1

    def fail(self, i: int, reason: str) -> None:
        if self.rows[i] is None:
            self.finish(i, text=None, score=None, error=reason)
            self.pending.pop(i, None)

    def add_chunk(self, piece: Piece, probs: np.ndarray) -> np.ndarray | None:
        """Keep one chunk's probabilities; once a line's chunks are all in, return them joined in order."""
        parts = self.pending.setdefault(piece.index, [])
        parts.append((piece.chunk, probs))
        if len(parts) < self.n_chunks[piece.index]:
            return None
        del self.pending[piece.index]
        return np.concatenate([p for _, p in sorted(parts, key=lambda t: t[0])])

    def collect(self) -> list[Row]:
        """The results in input order (a row a runtime dropped becomes an error, never a hole)."""
        return [
            r if r is not None else {"path": self.path(i), "text": None, "score": None, "error": "no result"}
            for i, r in enumerate(self.rows)
        ]
