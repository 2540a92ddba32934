"""Recognize text-line images with an exported model (what ``ppresnet45 infer`` runs).

The path from files to text, built for throughput:

1. **Plan.** Each image's size is read from its header (Pillow, no decoding) and its
   width after resizing to the model height is computed. Images are sorted by that
   width and cut into batches, so a batch pads little; results are put back in input
   order at the end (see :mod:`.chunking`).
2. **Pre-process in the background.** A worker thread decodes the next batch and runs
   the shared pre-processing (:func:`ppresnet45.data.imgproc.resize_norm_img`, the same
   code training uses) while the model runs on the current one. Runtimes whose ``run()``
   keeps the GIL (``Runtime.holds_gil``: Paddle Inference) cannot overlap with a thread,
   so for them the batches are prepared in the calling thread between model calls.
3. **Run** the model on ``[N, C, H, W_batch]``: ``W_batch`` is the batch's widest line
   rounded up to a multiple of 8 (fewer distinct shapes for oneDNN's primitive cache),
   capped at ``max_width`` from ``inference.yml``.
4. **Decode** each row with :class:`ppresnet45.modeling.decoders.CTCLabelDecode` over the
   time steps that cover the line itself; steps over the right-hand padding are dropped,
   so padding a line to its batch's width adds no characters (its last few steps still
   see the padding through the network's receptive field; a trained model reads blank
   there, so batched and one-by-one results agree).

Long lines. A line whose resized width exceeds ``max_width`` is not squeezed: it is cut
into overlapping chunks (:mod:`.chunking`), each chunk is recognized, and the chunks'
per-step probabilities are joined at the middle of each overlap before CTC decoding, so a
character on a seam is read once; the result carries ``"chunks": n``. At most
``max_chunks`` chunks are used; a longer line is squeezed to fit them. Models exported
with a fixed width (``dynamic_width: false``) or ``padding: false`` get PaddleOCR's
behaviour instead: every line is resized to the fixed width.

Bad files (missing, empty, truncated, not an image) do not stop a run: their result has
``text`` and ``score`` set to ``null`` and an ``error`` reason.
"""

import contextlib
import os
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ..data.imgproc import MEAN, SCALE, STD, resize_norm_img
from ..errors import DataError, ModelDirError
from ..modeling.decoders import CTCLabelDecode
from ..modeling.metrics import RecMetric
from .chunking import WIDTH_ALIGN, batch_width, decoded_steps, plan_pieces
from .images import ImageLoadError, check_array_image, list_image_sources, load_image, read_image_size
from .prefetch import in_background
from .runtime import create_runtime
from .spec import CONFIG_FILE, InferenceSpec, check_model_dir


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(f"{name}: expected a positive int, got {value!r}")
    return value


def _check_supported(spec):
    """Raise ModelDirError unless the shared pre-processing and CTC decoding fit this model."""
    if spec.postprocess != "CTCLabelDecode":
        raise ModelDirError(f"{spec.source}: PostProcess.name: only CTCLabelDecode is supported, "
                            f"got {spec.postprocess!r}")
    close = lambda a, b: len(a) <= len(b) and all(abs(x - y) <= 1e-6 for x, y in zip(a, b))  # noqa: E731
    if abs(spec.scale - SCALE) > 1e-6 or not close(spec.mean, MEAN) or not close(spec.std, STD):
        raise ModelDirError(f"{spec.source}: NormalizeImage scale={spec.scale:g} mean={list(spec.mean)} "
                            f"std={list(spec.std)} differs from the recognizer's pre-processing "
                            f"(scale=1/255, mean={list(MEAN)}, std={list(STD)})")


def _resolve_spec(inference_config, runtime, model_dir):
    """The spec from an InferenceSpec, a parsed ``inference.yml``, the runtime, or ``model_dir``."""
    if isinstance(inference_config, InferenceSpec):
        return inference_config
    if inference_config is not None:
        source = os.path.join(os.fspath(model_dir), CONFIG_FILE) if model_dir else CONFIG_FILE
        return InferenceSpec.from_config(inference_config, source)
    if isinstance(getattr(runtime, "spec", None), InferenceSpec):
        return runtime.spec
    if model_dir is None:
        raise DataError("TextRecognizer: give model_dir, or a runtime and its inference_config")
    return InferenceSpec.from_yaml(check_model_dir(model_dir))


@dataclass
class _Batch:
    """One prepared model input: its pieces, their rows ``array`` ``[N, C, H, width]`` (None
    when every file failed) and content widths."""

    width: int
    pieces: list = field(default_factory=list)
    widths: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)  # image index -> reason
    seconds: float = 0.0  # CPU time spent preparing it
    array: np.ndarray = None


class _Results:
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
        return None if isinstance(self.images[i], np.ndarray) else os.fspath(self.images[i])

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


class TextRecognizer:
    """Load an exported model once and recognize lists of text-line images.

    Args:
        model_dir (str | None): folder with ``inference.json``/``.pdiparams``/``inference.yml``
            (``model.onnx`` for ONNX Runtime / OpenVINO).
        backend (str): a registered runtime: ``paddle`` (Paddle Inference + oneDNN),
            ``paddle-nomkl``, ``onnxruntime``, ``openvino``, ``eager`` or a plugin's.
        precision (str): ``fp32`` or ``bf16``.
        cpu_threads (int | None): math-library threads (``None``: the runtime's default).
        use_gpu (bool): run on the GPU (Paddle backends).
        use_onednn (bool): let Paddle Inference use oneDNN on CPU.
        batch_size (int): lines per model call.
        prefetch (int | None): batches pre-processed ahead in a background thread; 0
            pre-processes in the calling thread. ``None`` (default): 0 for runtimes whose
            ``run()`` holds the GIL (a thread cannot overlap and only adds hand-off cost),
            2 for the others.
        max_chunks (int): most chunks a long line is split into (see the module docs).
        width_align (int): batch widths are rounded up to a multiple of this (fewer
            distinct input shapes for the runtime to prepare).
        runtime (callable | None): an already created runtime to reuse (``images -> probs``).
        inference_config (InferenceSpec | dict | None): the model's spec, or a parsed
            ``inference.yml``, to use instead of reading it.

    A recognizer is not thread-safe (its runtime is not): use one per thread.

    Raises:
        ModelDirError: ``model_dir`` is missing or incomplete, or holds a model this
            recognizer cannot run (another decoder or normalisation).
    """

    def __init__(self, model_dir=None, backend="paddle", precision="fp32", cpu_threads=None, use_gpu=False,
                 use_onednn=True, batch_size=8, prefetch=None, max_chunks=16, width_align=WIDTH_ALIGN, runtime=None,
                 inference_config=None):
        self.batch_size = _check_positive_int(batch_size, "batch_size")
        self.max_chunks = _check_positive_int(max_chunks, "max_chunks")
        if runtime is None:
            if model_dir is None:
                raise DataError("TextRecognizer: give model_dir, or a runtime and its inference_config")
            runtime = create_runtime(model_dir, backend=backend, precision=precision, cpu_threads=cpu_threads,
                                     use_gpu=use_gpu, use_onednn=use_onednn)
        self.model_dir = model_dir
        self.spec = _resolve_spec(inference_config, runtime, model_dir)
        _check_supported(self.spec)
        self.inference_config = self.spec.raw
        self.runtime = runtime
        self.decoder = CTCLabelDecode(character_list=self.spec.character_list)
        if prefetch is None:
            prefetch = 0 if getattr(runtime, "holds_gil", False) else 2
        self.prefetch = int(prefetch)
        self.width_align = int(width_align)
        self.last_stats = {}

    # -- loading and pre-processing -------------------------------------------------
    def _sizes_and_loader(self, images):
        """Header sizes for planning, failures found on the way, and a loader ``i -> array``."""
        sizes = [None] * len(images)
        failures, arrays = {}, {}
        for i, item in enumerate(images):
            try:
                if isinstance(item, np.ndarray):
                    arrays[i] = check_array_image(item, where=f"image {i}")
                    sizes[i] = arrays[i].shape[:2]
                else:  # an unknown header: decode now to learn the size (or the error)
                    sizes[i] = read_image_size(os.fspath(item)) or load_image(os.fspath(item)).shape[:2]
            except ImageLoadError as exc:
                failures[i] = exc.reason
            except DataError as exc:
                failures[i] = str(exc)

        def loader(i):
            return arrays[i] if i in arrays else load_image(os.fspath(images[i]))

        return sizes, failures, loader

    def _prepare(self, img, piece, width):
        """One model-input row ``[C, H, width]`` and its content width."""
        spec = self.spec
        if spec.img_mode == "RGB" and img.ndim == 3 and img.shape[2] == 3:
            img = img[:, :, ::-1]
        if not piece.is_chunk:
            row, ratio = resize_norm_img(img, spec.image_shape, padding=spec.padding, target_width=width)
            return row, max(1, int(round(ratio * width)))
        full, _ = resize_norm_img(img, [spec.channels, spec.height, piece.full_width], padding=True,
                                  target_width=piece.full_width)
        part = full[:, :, piece.x0:piece.x0 + piece.width]
        row = np.zeros((spec.channels, spec.height, width), np.float32)
        row[:, :, :part.shape[2]] = part
        return row, piece.width

    @staticmethod
    def _image(piece, loader, cache):
        """The piece's decoded image; the last chunked image is kept in ``cache`` (its chunks are adjacent)."""
        if piece.is_chunk and cache.get("index") == piece.index:
            return cache["image"]
        img = loader(piece.index)
        if piece.is_chunk:
            cache.update(index=piece.index, image=img)
        return img

    def _build_batch(self, pieces, loader, cache):
        """Decode and pre-process one batch; a file that fails is recorded, not raised."""
        t0 = time.thread_time()  # CPU time: wall time would count the model's threads preempting us
        batch = _Batch(width=batch_width(pieces, self.spec, self.width_align))
        rows = []
        for p in pieces:
            if p.index in batch.failed:
                continue
            try:
                row, w = self._prepare(self._image(p, loader, cache), p, batch.width)
            except ImageLoadError as exc:
                batch.failed[p.index] = exc.reason
                continue
            except Exception as exc:  # noqa: BLE001 - a bad file must not stop the run
                batch.failed[p.index] = f"pre-processing failed: {type(exc).__name__}: {exc}"
                continue
            batch.pieces.append(p)
            batch.widths.append(w)
            rows.append(row)
        batch.array = np.stack(rows) if rows else None
        batch.seconds = time.thread_time() - t0
        return batch

    def _batches(self, plan, loader, stats):
        """The prepared batches of ``plan``, ``prefetch`` ahead in a worker thread when > 0."""
        cache = {}
        built = (self._build_batch(pieces, loader, cache) for pieces in plan)
        return in_background(built, self.prefetch, stats) if self.prefetch > 0 else built

    # -- model and decoding -----------------------------------------------------------
    def _check_output(self, probs, array):
        where = self.model_dir or "model"
        if probs.ndim != 3 or probs.shape[0] != array.shape[0]:
            raise ModelDirError(f"{where}: expected probabilities [N, T, K] for {array.shape[0]} images, got shape "
                                f"{list(probs.shape)}")
        k, n = probs.shape[-1], len(self.decoder.character)
        if k != n:
            raise ModelDirError(f"{where}: the model outputs {k} classes but inference.yml's character_dict has "
                                f"{n - 1} characters + blank = {n}")

    def _decode(self, probs):
        """``(text, score)`` of one line's probabilities ``[T, K]``."""
        text, score = self.decoder(probs[None])[0]
        return text, float(score)

    def _run_batch(self, batch, results, stats):
        """Run the model on one batch and decode (or, for chunks, collect) its rows."""
        stats["preprocess_s"] += batch.seconds
        for i, reason in batch.failed.items():
            results.fail(i, reason)
        if batch.array is None:
            return
        t0 = time.perf_counter()
        probs = np.asarray(self.runtime(batch.array))
        t1 = time.perf_counter()
        stats["model_s"] += t1 - t0
        stats["batches"] += 1
        stats["padded_pixels"] += batch.array.shape[0] * batch.array.shape[3]
        stats["content_pixels"] += int(sum(batch.widths))
        self._check_output(probs, batch.array)
        steps = probs.shape[1]
        for row, (p, w) in enumerate(zip(batch.pieces, batch.widths)):
            if results.rows[p.index] is not None:
                continue
            kept = probs[row, decoded_steps(p, w, steps, batch.array.shape[3])]
            if not p.is_chunk:
                text, score = self._decode(kept)
                results.finish(p.index, text=text, score=score)
                continue
            joined = results.add_chunk(p, kept)
            if joined is not None:
                text, score = self._decode(joined)
                results.finish(p.index, text=text, score=score, chunks=results.n_chunks[p.index])
        stats["postprocess_s"] += time.perf_counter() - t1

    # -- public -------------------------------------------------------------------------
    def __call__(self, images, batch_size=None, progress=False):
        """Recognize text lines.

        Args:
            images (list[str | os.PathLike | ndarray]): image files or decoded images
                (``H×W`` gray or ``H×W×3`` BGR / ``H×W×4`` BGRA arrays, uint8/uint16/float).
            batch_size (int | None): lines per model call (default: the constructor's).
            progress (bool): show a tqdm progress bar on stderr.

        Returns:
            list[dict]: per input, in input order: ``path`` (None for arrays), ``text``,
            ``score`` (mean probability of the kept CTC steps), plus ``error`` (with text
            and score None) for an image that could not be read, and ``chunks`` for a
            line recognized in several chunks. Timings of the call are in :attr:`last_stats`.
        """
        images = [images] if isinstance(images, (str, os.PathLike, np.ndarray)) else list(images)
        bs = _check_positive_int(self.batch_size if batch_size is None else batch_size, "batch_size")
        stats = dict(images=len(images), failed=0, pieces=0, batches=0, preprocess_s=0.0, model_s=0.0,
                     postprocess_s=0.0, wait_s=0.0, plan_s=0.0, wall_s=0.0, padded_pixels=0, content_pixels=0)
        t_start = time.perf_counter()
        sizes, failures, loader = self._sizes_and_loader(images)
        pieces = plan_pieces(sizes, self.spec, self.max_chunks)
        plan = [pieces[i:i + bs] for i in range(0, len(pieces), bs)]
        stats.update(plan_s=time.perf_counter() - t_start, pieces=len(pieces))
        results = _Results(images, pieces)
        for i, reason in failures.items():
            results.fail(i, reason)
        with tqdm(total=len(images), desc="recognize", unit="img", dynamic_ncols=True, disable=not progress) as bar, \
                contextlib.closing(self._batches(plan, loader, stats)) as batches:
            bar.update(results.done)
            for batch in batches:
                before = results.done
                self._run_batch(batch, results, stats)
                bar.update(results.done - before)
        out = results.collect()
        stats["failed"] = sum("error" in r for r in out)
        stats["wall_s"] = time.perf_counter() - t_start
        stats["images_per_s"] = (len(images) - stats["failed"]) / stats["wall_s"] if stats["wall_s"] > 0 else 0.0
        self.last_stats = stats
        return out


def recognize(model_dir, paths, batch_size=8, backend="paddle", precision="fp32", cpu_threads=None, use_gpu=False,
              use_onednn=True, progress=False, **kwargs):
    """Recognize text-line images with an exported model (one-shot helper over :class:`TextRecognizer`).

    Args:
        model_dir (str): the exported model folder.
        paths (list[str] | str): image files, or one image / folder / label file path.
        batch_size (int): lines per model call.
        backend (str): see :class:`TextRecognizer`.
        precision (str): ``fp32`` or ``bf16``.
        cpu_threads (int | None): math-library threads.
        use_gpu (bool): run on the GPU.
        use_onednn (bool): use oneDNN in Paddle Inference on CPU.
        progress (bool): show a progress bar.
        **kwargs: more :class:`TextRecognizer` arguments (``prefetch``, ``max_chunks``).

    Returns:
        list[dict]: ``{"path", "text", "score"}`` (+ ``"error"``) per image, in input order.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = list_image_sources(paths).paths
    rec = TextRecognizer(model_dir, backend=backend, precision=precision, cpu_threads=cpu_threads, use_gpu=use_gpu,
                         use_onednn=use_onednn, batch_size=batch_size, **kwargs)
    return rec(paths, progress=progress)


def score_against_labels(results, labels):
    """Accuracy of recognizer results against ground-truth texts, by the rule of
    ``ppresnet45 eval`` (:class:`ppresnet45.modeling.metrics.RecMetric` with its defaults:
    spaces are ignored); failed images count as wrong.

    Returns:
        dict: ``accuracy``, ``correct``, ``total``, ``norm_edit_dis`` (1 - mean normalised
        edit distance, a failed image counting as distance 1).
    """
    labels = list(labels)
    pairs = [(r["text"], label) for r, label in zip(results, labels) if r.get("text") is not None]
    metric = RecMetric()
    metric.update([text for text, _ in pairs], [label for _, label in pairs])
    m = metric.get_metric()
    total, n = len(labels), len(pairs)
    correct = int(round(m["acc"] * n))
    return {"accuracy": correct / total if total else 0.0, "correct": correct, "total": total,
            "norm_edit_dis": n * m["norm_edit_dis"] / total if total else 0.0}
