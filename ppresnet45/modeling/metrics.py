"""Recognition metrics: word accuracy, normalized edit distance, accuracy by text length.

:class:`RecMetric` keeps PaddleOCR's calling convention: ``metric((preds, labels))`` with
two lists of ``(text, score)`` returns the batch's numbers and accumulates them;
``get_metric()`` returns the totals and resets. It also keeps per-sample records when
asked, from which :func:`worst_samples` picks the worst-recognized lines.
"""

import os

from rapidfuzz.distance import Levenshtein

from ..registry import METRICS


def edit_distance(a, b):
    """Levenshtein distance between two strings (insertions, deletions, substitutions cost 1)."""
    return Levenshtein.distance(a, b)


def normalized_edit_distance(pred, target):
    """``edit_distance / max(len(pred), len(target), 1)``: 0 for a perfect match, at most 1."""
    return edit_distance(pred, target) / max(len(pred), len(target), 1)


@METRICS.register()
class RecMetric:
    """Word accuracy and normalized edit distance of recognized text lines.

    Args:
        main_indicator (str): the key that decides the best checkpoint (``acc``).
        is_filter (bool): compare only letters and digits, lower-cased (PaddleOCR's option).
        ignore_space (bool): remove spaces before comparing (PaddleOCR's default: true).
        keep_records (bool): keep ``(pred, target, score, distance)`` of every sample so
            that :meth:`records` / :func:`worst_samples` can report them.
        eps (float): accepted for PaddleOCR configs; unused (empty counts give 0).

    Any other keyword (a typo in the config's ``Metric`` section) is an error.

    Metrics (``get_metric``): ``acc`` (exact word accuracy), ``acc_case_insensitive``,
    ``norm_edit_dis`` (``1 -`` mean normalized edit distance, as PaddleOCR reports it: higher
    is better, 1.0 = every line exact; the only edit-distance metric, in configs, logs and
    reports alike), ``num_samples``, ``acc_by_length``
    (``{length: {"acc", "count"}}`` over the ground-truth length) and, when the samples'
    ``img_path`` (in ``extras``) lie in two or more folders, ``acc_by_group``
    (``{folder: {"acc", "norm_edit_dis", "count"}}``): the folder says where a line comes
    from, e.g. the font of a rendered held-out set (``holdout/<font family>/``).
    """

    def __init__(self, main_indicator="acc", is_filter=False, ignore_space=True, keep_records=False, eps=1e-5):
        self.main_indicator = main_indicator
        self.is_filter = bool(is_filter)
        self.ignore_space = bool(ignore_space)
        self.keep_records = bool(keep_records)
        self.eps = eps
        self.reset()

    def _normalize(self, text):
        if self.ignore_space:
            text = text.replace(" ", "")
        if self.is_filter:
            text = "".join(ch for ch in text if ch.isalnum()).lower()
        return text

    def reset(self):
        """Clear the accumulated counts and records."""
        self.correct = 0
        self.correct_ci = 0
        self.total = 0
        self.ned_sum = 0.0
        self.by_length = {}
        self.by_group = {}
        self._records = []

    def update(self, preds, targets, extras=None):
        """Accumulate one batch.

        Args:
            preds (list[tuple[str, float] | str]): recognized texts (with scores).
            targets (list[tuple[str, float] | str]): ground-truth texts.
            extras (list[dict] | None): per-sample data stored with the records
                (e.g. ``{"img_path": ...}``).

        Returns:
            dict: this batch's ``acc``, ``norm_edit_dis``.
        """
        if len(preds) != len(targets):
            raise ValueError(f"RecMetric: {len(preds)} predictions for {len(targets)} labels")
        correct = 0
        ned = 0.0
        for i, (pred, target) in enumerate(zip(preds, targets)):
            pred_text, score = (pred if isinstance(pred, (tuple, list)) else (pred, None))[:2]
            target_text = target[0] if isinstance(target, (tuple, list)) else target
            p, t = self._normalize(pred_text), self._normalize(target_text)
            dist = edit_distance(p, t)
            n = dist / max(len(p), len(t), 1)
            ok = p == t
            correct += ok
            ned += n
            self.correct_ci += p.lower() == t.lower()
            bucket = self.by_length.setdefault(len(t), [0, 0])
            bucket[0] += ok
            bucket[1] += 1
            path = (extras[i] or {}).get("img_path") if extras is not None else None
            if path:
                group = self.by_group.setdefault(line_group(path), [0, 0.0, 0])
                group[0] += ok
                group[1] += n
                group[2] += 1
            if self.keep_records:
                rec = {
                    "pred": pred_text,
                    "label": target_text,
                    "score": None if score is None else float(score),
                    "edit_distance": dist,
                    "norm_edit_dis": 1.0 - n,
                    "correct": bool(ok),
                }
                if extras is not None:
                    rec.update(extras[i])
                self._records.append(rec)
        self.correct += correct
        self.total += len(preds)
        self.ned_sum += ned
        n = max(len(preds), 1)
        return {"acc": correct / len(preds) if preds else 0.0, "norm_edit_dis": 1 - ned / n}

    def __call__(self, pred_label, *args, **kwargs):
        """PaddleOCR's call: ``metric((preds, labels))``; returns this batch's metrics."""
        preds, labels = pred_label
        return self.update(preds, labels)

    def records(self):
        """Per-sample records kept so far (``keep_records=True``)."""
        return list(self._records)

    def get_metric(self, reset=True):
        """Totals since the last reset; resets unless ``reset=False``."""
        total = self.total
        mean_ned = self.ned_sum / total if total else 0.0
        out = {
            "acc": self.correct / total if total else 0.0,
            "acc_case_insensitive": self.correct_ci / total if total else 0.0,
            "norm_edit_dis": 1.0 - mean_ned,
            "num_samples": total,
            "acc_by_length": {int(k): {"acc": v[0] / v[1], "count": v[1]} for k, v in sorted(self.by_length.items())},
        }
        if len(self.by_group) > 1:
            out["acc_by_group"] = {
                k: {"acc": v[0] / v[2], "norm_edit_dis": 1.0 - v[1] / v[2], "count": v[2]}
                for k, v in sorted(self.by_group.items())
            }
        if reset:
            self.reset()
        return out


def line_group(path):
    """The group a line belongs to for ``acc_by_group``: the name of its image's folder."""
    return os.path.basename(os.path.dirname(os.fspath(path))) or "."


def worst_samples(records, num=50):
    """The ``num`` records with the highest edit distance (ties: lower ``norm_edit_dis``, then
    lower score), wrong ones only."""
    wrong = [r for r in records if not r.get("correct")]
    wrong.sort(
        key=lambda r: (-r["edit_distance"], r["norm_edit_dis"], r["score"] if r.get("score") is not None else 0.0)
    )
    return wrong[:num]
