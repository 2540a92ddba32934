"""The bookkeeping of one recognizer call: prepared model inputs and the results so far."""

from dataclasses import dataclass, field

import numpy as np

from .loading import input_path


@dataclass
class PreparedBatch:
    """One prepared model input: its pieces, their rows ``array`` ``[N, C, H, width]`` (None
    when every file failed) and content widths."""

    width: int
    pieces: list = field(default_factory=list)
    widths: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)  # image index -> reason
    seconds: float = 0.0  # CPU time spent preparing it
    array: np.ndarray = None


class Results:
    """What one recognizer call has produced so far: a result per input, the chunks of long
    lines waiting for their neighbours, and how many inputs are finished."""

    def __init__(self, images, pieces):
        self.images = images
        self.rows = [None] * len(images)
        self.done = 0
        self.pending = {}  # image index -> [(chunk number, kept probabilities [T, K])]
        self.n_chunks = {}
        for p in pieces:
            self.n_chunks[p.index] = self.n_chunks.get(p.index, 0) + 1

    def path(self, i):
        return input_path(self.images[i])

    def finish(self, i, **result):
        self.rows[i] = {"path": self.path(i), **result}
        self.done += 1

    def fail(self, i, reason):
        if self.rows[i] is None:
            self.finish(i, text=None, score=None, error=reason)
            self.pending.pop(i, None)

    def add_chunk(self, piece, probs):
        """Keep one chunk's probabilities; once a line's chunks are all in, return them joined in order."""
        parts = self.pending.setdefault(piece.index, [])
        parts.append((piece.chunk, probs))
        if len(parts) < self.n_chunks[piece.index]:
            return None
        del self.pending[piece.index]
        return np.concatenate([p for _, p in sorted(parts, key=lambda t: t[0])])

    def collect(self):
        """The results in input order (a row a runtime dropped becomes an error, never a hole)."""
        return [r if r is not None else {"path": self.path(i), "text": None, "score": None, "error": "no result"}
                for i, r in enumerate(self.rows)]
