"""When may a faster runtime or precision stand in for the FP32 reference? One rule, used by
``--backend auto`` (which candidate to run), ``ppresnet45 quantize`` (which int8 model to
keep) and the benchmark report (which rows ``auto`` would pick).

A candidate is measured on the same lines as the reference (:class:`Measurement`: its
texts, its speed and, on labelled lines, its word accuracy). It *agrees* when at least
``min_same_text`` of the lines read exactly as the reference reads them; it *holds* when,
in addition, its word accuracy is at most ``max_drop_points`` below the reference's (on
labelled lines) and it is more than ``min_speedup`` times as fast. ``auto`` needs agreement
only (speed is what it ranks by); the int8 gate needs the candidate to hold.

``ppresnet45 export`` asks the same question one level down, of the output that decides the
text (:meth:`AgreementPolicy.outputs_match`): a saved model stands in for the eager model
when its probabilities ``[N, T, K]`` are within ``prob_tolerance`` of the eager ones (or
``logit_rtol * max|z| / 2`` for huge logits, see :mod:`ppresnet45.export.parity`), so that
no decoded character can change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_SAME_TEXT = 0.95
MAX_DROP_POINTS = 0.5
MIN_SPEEDUP = 1.0
PROB_TOLERANCE = 1e-4  # the export parity check's absolute tolerance on probabilities
LOGIT_RTOL = 1e-6  # ... widened to LOGIT_RTOL * max|logit| / 2 for huge (untrained) logits
# Relative differences are taken against max(|reference|, REL_FLOOR): a probability of
# 1e-9 vs 3e-9 is a 200% "relative" difference that means nothing for decoding.
REL_FLOOR = 1e-3


def compare_outputs(reference: np.ndarray, output: np.ndarray) -> dict:
    """Difference statistics of two probability arrays ``[N, T, K]``.

    Returns:
        dict: ``max_abs``, ``max_rel`` (relative to ``max(|ref|, REL_FLOOR)``),
        ``mean_abs``, ``argmax_agreement`` (fraction of time steps with the same best
        class), ``same_path`` (fraction of lines whose best class agrees at every step: the
        greedy decoders then read the same text) and ``finite``.
    """
    ref = np.asarray(reference, dtype=np.float64)
    out = np.asarray(output, dtype=np.float64)
    diff = np.abs(out - ref)
    agree = out.argmax(-1) == ref.argmax(-1)
    return {
        "max_abs": float(diff.max()),
        "max_rel": float((diff / np.maximum(np.abs(ref), REL_FLOOR)).max()),
        "mean_abs": float(diff.mean()),
        "argmax_agreement": float(agree.mean()),
        "same_path": float(agree.reshape(agree.shape[0], -1).all(axis=1).mean())
        if agree.ndim > 1
        else float(agree.all()),
        "finite": bool(np.isfinite(out).all()),
    }


@dataclass
class Measurement:
    """What one runtime × precision read on a set of lines, and how fast.

    Attributes:
        name (str): e.g. ``"openvino/int8"``.
        texts (list[str | None]): the text per line, in line order.
        images_per_s (float | None): lines per second over the timed pass.
        accuracy (float | None): word accuracy (0-1) when the lines have labels.
    """

    name: str
    texts: list[str | None]
    images_per_s: float | None = None
    accuracy: float | None = None

    def figures(self) -> dict[str, Any]:
        """A JSON-friendly summary (the texts left out)."""
        out = {"images_per_s": None if self.images_per_s is None else round(self.images_per_s, 1)}
        if self.accuracy is not None:
            out["word_accuracy"] = round(self.accuracy, 4)
        return out


@dataclass
class Verdict:
    """The judgement of one candidate against the reference (see :meth:`AgreementPolicy.judge`)."""

    holds: bool
    same_text: float
    drop_points: float | None = None
    speedup: float | None = None
    reason: str = ""

    def figures(self) -> dict[str, Any]:
        out = {"holds": self.holds, "same_text": round(self.same_text, 4), "reason": self.reason}
        if self.drop_points is not None:
            out["drop_points"] = round(self.drop_points, 3)
        if self.speedup is not None:
            out["speedup"] = round(self.speedup, 3)
        return out


@dataclass(frozen=True)
class AgreementPolicy:
    """The rule (see the module docs).

    Args:
        min_same_text (float): share of lines (0-1) that must read as the reference reads them.
        max_drop_points (float): most word accuracy (points, 0-100) a candidate may lose on
            labelled lines.
        min_speedup (float): a candidate that holds is more than this many times as fast as
            the reference (1.0: faster).
        prob_tolerance (float): most absolute difference of the probabilities that decide the
            text (:meth:`outputs_match`).
        logit_rtol (float): relative logit error allowed on top (0: ``prob_tolerance`` only).
    """

    min_same_text: float = MIN_SAME_TEXT
    max_drop_points: float = MAX_DROP_POINTS
    min_speedup: float = MIN_SPEEDUP
    prob_tolerance: float = PROB_TOLERANCE
    logit_rtol: float = LOGIT_RTOL

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.min_same_text) <= 1.0:
            raise ValueError(f"min_same_text: expected a share in [0, 1], got {self.min_same_text!r}")
        if not 0.0 <= float(self.max_drop_points) <= 100.0:
            raise ValueError(f"max_drop_points: expected points in [0, 100], got {self.max_drop_points!r}")
        if float(self.min_speedup) < 0.0:
            raise ValueError(f"min_speedup: expected a factor >= 0, got {self.min_speedup!r}")
        if not float(self.prob_tolerance) > 0.0 or float(self.logit_rtol) < 0.0:
            raise ValueError(
                f"prob_tolerance/logit_rtol: expected > 0 and >= 0, got {self.prob_tolerance!r}/{self.logit_rtol!r}"
            )

    @staticmethod
    def same_text(reference: Sequence[str | None], candidate: Sequence[str | None]) -> float:
        """Share of lines ``candidate`` reads exactly as ``reference`` (lists of texts)."""
        if not reference:
            return 1.0
        return sum(a == b for a, b in zip(reference, candidate)) / len(reference)

    def agrees(self, reference: Sequence[str | None], candidate: Sequence[str | None]) -> bool:
        """Whether ``candidate``'s texts agree with ``reference``'s (lists of texts)."""
        return self.same_text(reference, candidate) >= self.min_same_text

    def judge(self, reference: Measurement, candidate: Measurement, need_same_text: bool = False) -> Verdict:
        """Judge ``candidate`` against ``reference`` (two :class:`Measurement` of the same lines).

        With labels (both accuracies known) the accuracy drop decides and the share of
        identical texts is reported; without labels, or with ``need_same_text``, the share
        must reach ``min_same_text``. Speed must beat ``min_speedup`` when both are measured.

        Returns:
            Verdict: ``holds`` and a one-line ``reason`` with the measured figures.
        """
        same = self.same_text(reference.texts, candidate.texts)
        drop: float | None = None
        speedup: float | None = None
        problems, facts = [], [f"same text as {reference.name} on {same:.1%} of {len(reference.texts)} lines"]
        ref_acc, cand_acc = reference.accuracy, candidate.accuracy
        labelled = ref_acc is not None and cand_acc is not None
        if ref_acc is not None and cand_acc is not None:
            drop = (ref_acc - cand_acc) * 100.0
            facts.append(f"word accuracy {cand_acc:.2%} vs {ref_acc:.2%}")
            if drop > self.max_drop_points:
                problems.append(f"loses {drop:.2f} points (> {self.max_drop_points:g})")
        if (not labelled or need_same_text) and same < self.min_same_text:
            problems.append(f"reads like {reference.name} on fewer than {self.min_same_text:.0%} of the lines")
        if reference.images_per_s and candidate.images_per_s:
            speedup = candidate.images_per_s / reference.images_per_s
            facts.append(f"{candidate.images_per_s:.1f} vs {reference.images_per_s:.1f} lines/s ({speedup:.2f}x)")
            if speedup <= self.min_speedup:
                problems.append(f"not faster than {self.min_speedup:g}x {reference.name}")
        reason = f"{candidate.name}: " + ", ".join(facts) + (": " + "; ".join(problems) if problems else ": holds")
        return Verdict(holds=not problems, same_text=same, drop_points=drop, speedup=speedup, reason=reason)

    def output_tolerance(self, logit_absmax: float = 0.0) -> float:
        """The tolerance on probabilities for one batch whose largest logit is ``logit_absmax``:
        ``max(prob_tolerance, logit_rtol * logit_absmax / 2)`` (a logit error ``dz`` moves a
        softmax probability by at most ``dz / 2``)."""
        return max(float(self.prob_tolerance), float(self.logit_rtol) * float(logit_absmax) / 2.0)

    def outputs_match(
        self, reference: np.ndarray, candidate: np.ndarray, logit_absmax: float = 0.0, reference_name: str = "reference"
    ) -> tuple[bool, dict]:
        """Whether ``candidate``'s probabilities ``[N, T, K]`` stand in for ``reference``'s.

        Returns:
            tuple[bool, dict]: the answer and the :func:`compare_outputs` figures with the
            ``tolerance`` used. A shape mismatch, a non-finite value or a difference over the
            tolerance fails.
        """
        tol = self.output_tolerance(logit_absmax)
        if np.shape(reference) != np.shape(candidate):
            return False, {
                "tolerance": tol,
                "error": f"output shape {list(np.shape(candidate))} != {reference_name} {list(np.shape(reference))}",
            }
        stats = compare_outputs(reference, candidate)
        stats["tolerance"] = tol
        return bool(stats["finite"] and stats["max_abs"] <= tol), stats


DEFAULT_POLICY = AgreementPolicy()
