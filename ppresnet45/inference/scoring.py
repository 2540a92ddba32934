"""Accuracy of recognizer results against ground truth, by the rule of ``ppresnet45 eval``.

:class:`RecMetric` with its defaults (spaces are ignored); a failed image counts as wrong
(normalised edit distance 1); an entry without ground truth (a malformed label-file line,
label None) is left out of the score. :class:`LabelScore` accumulates results as they come
(``infer`` scores rows window by window); :func:`score_against_labels` scores one list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..modeling.metrics import RecMetric

if TYPE_CHECKING:
    from .._types import Row

_FAILED = "\ufffd"  # no label equals it: a failed image is simply wrong


class LabelScore:
    """Accumulated accuracy of results against their labels."""

    def __init__(self) -> None:
        self.metric = RecMetric()
        self.total = 0

    def update(self, results: Iterable[Row], labels: Iterable[str | None]) -> None:
        """Add ``results`` (rows with ``text``, ``path``) scored against ``labels`` (None: skipped)."""
        pairs = [(r, label) for r, label in zip(results, labels) if label is not None]
        if not pairs:
            return
        preds = [r["text"] if r.get("text") is not None else _FAILED for r, _ in pairs]
        self.metric.update(preds, [label for _, label in pairs], [{"img_path": r.get("path")} for r, _ in pairs])
        self.total += len(pairs)

    def result(self) -> dict[str, Any]:
        """``accuracy``, ``correct``, ``total``, ``norm_edit_dis`` (1 - mean normalised edit
        distance) and, when the images lie in two or more folders, ``by_group``
        (``{folder: {"acc", "norm_edit_dis", "count"}}``, e.g. per held-out font)."""
        m = self.metric.get_metric(reset=False)
        out = {
            "accuracy": m["acc"],
            "correct": int(round(m["acc"] * self.total)),
            "total": self.total,
            "norm_edit_dis": m["norm_edit_dis"],
        }
        if "acc_by_group" in m:
            out["by_group"] = m["acc_by_group"]
        return out


def score_against_labels(results: Sequence[Row], labels: Iterable[str | None]) -> dict[str, Any]:
    """Accuracy of recognizer results against ground-truth texts (see the module docs).

    Returns:
        dict: ``accuracy``, ``correct``, ``total``, ``norm_edit_dis`` and, for images in two
        or more folders, ``by_group``.
    """
    labels = list(labels)
    score = LabelScore()
    score.update(results[: len(labels)], labels)
    return score.result()
