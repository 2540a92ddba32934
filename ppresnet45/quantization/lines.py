"""The lines ``ppresnet45 quantize`` works on, and reading them.

Calibration lines and held-out (evaluation) lines are the user's (``--calib_data``,
``--eval_data``: an image, folder or label file) or rendered by the built-in renderer in every
installed font, from the characters of the model's dictionary that it draws, with different
seeds and strings for the two sets. :func:`calibration_batches` records what the recognizer
feeds the FP32 model for the calibration lines; :func:`measure` reads the held-out lines with
one runtime and precision and times them.
"""

import os
import string
import time

import numpy as np

from ..data.synth import find_fonts, render_dataset
from ..errors import DataError
from ..inference import TextRecognizer, score_against_labels
from ..inference.policy import Measurement
from ..inference.sources import list_image_sources

RENDER_CHARS = string.digits + string.ascii_lowercase + string.ascii_uppercase


class _RecordingRuntime:
    """A runtime that keeps a copy of every batch it runs (the calibration inputs)."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.spec = runtime.spec
        self.batches = []

    def __call__(self, images):
        self.batches.append(np.array(images, dtype=np.float32, copy=True))
        return self.runtime(images)


def calibration_batches(runtime, spec, paths, batch_size):
    """The input batches the recognizer gives ``runtime`` (the FP32 model) for ``paths``: what
    inference will see, widths and padding included. The runtime is let go on return."""
    recorder = _RecordingRuntime(runtime)
    TextRecognizer(runtime=recorder, inference_config=spec, batch_size=batch_size, prefetch=0)(paths)
    return recorder.batches


def render_charset(spec):
    """The characters of the model's dictionary that the built-in renderer draws (letters and digits)."""
    chars = "".join(c for c in RENDER_CHARS if c in set(spec.character_list))
    if len(chars) < 10:
        raise DataError(
            f"the model's dictionary has {len(chars)} of the renderer's letters and digits; give "
            "--calib_data and --eval_data (a folder or label file of your own text lines)"
        )
    return chars


def rendered_lines(workdir, name, num, seed, spec, exclude=()):
    """``num`` rendered lines (label file) for the model's dictionary; returns the label file."""
    out = os.path.join(workdir, name)
    render_dataset(
        out,
        num,
        seed=seed,
        charset=render_charset(spec),
        min_len=1,
        max_len=10,
        fonts=find_fonts(include_packages=True),
        height=spec.height,
        show_progress=False,
        exclude_texts=set(exclude),
        unique=True,
    )
    return os.path.join(out, "labels.txt")


def usable_sources(path, num, what):
    """The first ``num`` usable lines of ``path`` (an image, folder or label file): ``(paths, labels or
    None)``; errors name the option ``what`` (``--calib_data``, ``--eval_data``)."""
    try:
        sources = list_image_sources(path)
    except DataError as exc:
        raise DataError(f"{what}: {exc}") from None
    usable = [i for i in range(len(sources.paths)) if i not in sources.errors][:num]
    if not usable:
        raise DataError(f"{what} '{path}': no usable image")
    labels = [sources.labels[i] for i in usable] if sources.labels is not None else None
    return [sources.paths[i] for i in usable], labels


def measure(name, runtime, spec, paths, labels, batch_size):
    """Read ``paths`` with ``runtime`` (a warm-up pass over the first batches, then a timed
    pass over all): a :class:`Measurement` with the texts, lines/s and word accuracy."""
    rec = TextRecognizer(runtime=runtime, inference_config=spec, batch_size=batch_size)
    rec(paths[: 2 * batch_size])
    t0 = time.perf_counter()
    texts = [r.get("text") for r in rec(paths)]
    speed = len(paths) / max(time.perf_counter() - t0, 1e-9)
    acc = score_against_labels([{"text": t, "path": None} for t in texts], labels)["accuracy"] if labels else None
    return Measurement(name, texts, speed, acc)


def quantize_lines(work, spec, calib_data, eval_data, calib_num, eval_num, seed):
    """The calibration and held-out lines of one run: the user's files or ``calib_num`` /
    ``eval_num`` lines rendered under ``work`` (seeds ``seed + 11`` / ``seed + 12``, held-out
    strings not among the calibration ones). The held-out lines need labels.

    Returns:
        tuple: ``(calibration paths, description, evaluation paths, labels, description)``.
    """
    calib_file = calib_data or rendered_lines(work, "calib", calib_num, seed + 11, spec)
    calib_paths, calib_labels = usable_sources(calib_file, calib_num, "--calib_data")
    calib_desc = (
        f"{len(calib_paths)} rendered lines (seed {seed + 11})"
        if calib_data is None
        else f"{len(calib_paths)} lines from {calib_data}"
    )
    eval_file = eval_data or rendered_lines(work, "eval", eval_num, seed + 12, spec, exclude=calib_labels or ())
    eval_paths, labels = usable_sources(eval_file, eval_num, "--eval_data")
    if labels is None:
        raise DataError(
            f"--eval_data '{eval_data}': expected a 'path<TAB>text' label file (the accuracy check needs the true text)"
        )
    eval_desc = (
        f"{len(eval_paths)} rendered lines (seed {seed + 12}, strings not in the calibration set)"
        if eval_data is None
        else f"{len(eval_paths)} lines from {eval_data}"
    )
    return calib_paths, calib_desc, eval_paths, labels, eval_desc
