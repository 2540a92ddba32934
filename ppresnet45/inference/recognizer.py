"""``ppresnet45 infer``: recognize text-line images with an exported inference model.

The path from files to text, built for throughput:

1. **Plan.** Each image's size is read from its header (Pillow, no decoding) and its
   width after resizing to the model height is computed. Images are sorted by that
   width and cut into batches, so a batch pads little; results are put back in input
   order at the end.
2. **Pre-process in the background.** A worker thread decodes the next batch and runs
   the shared pre-processing (:func:`ppresnet45.data.imgproc.resize_norm_img`, the same
   code training uses) while the model runs on the current one. ONNX Runtime, OpenVINO
   and the eager model release the GIL while they compute, so there the two overlap.
   Paddle Inference's ``predictor.run()`` holds the GIL (Paddle 3.3), so a thread
   cannot overlap with it: for the ``paddle`` backends the batches are prepared in the
   calling thread between model calls; at ~0.3 ms of CPU per 32×128 line against
   ~35 ms of model (FP32), that costs about 1 %.
3. **Run** the model on ``[N, C, H, W_batch]``: ``W_batch`` is the batch's widest line
   rounded up to a multiple of 8 (fewer distinct shapes for oneDNN's primitive cache),
   capped at ``max_width`` from ``inference.yml``.
4. **Decode** greedily (arg-max for the whole batch at once, then
   :meth:`ppresnet45.modeling.decoders.ctc.CTCLabelDecode.decode_indices` per line) over the time
   steps that cover the line itself; steps over the right-hand padding are dropped, so
   padding a line to its batch's width adds no characters (its last few steps still see
   the padding through the network's receptive field; a trained model reads blank there,
   so batched and one-by-one results agree).

Long lines. A line whose resized width exceeds ``max_width`` from ``inference.yml``
(an aspect ratio above ``max_width / H``; 800 px = 25:1 for exports at H = 32) is not
squeezed: it is cut into overlapping chunks ``max_width`` wide (overlap at least
``max(4·H, max_width/8)``, at most half a chunk; chunk starts on an 8-px grid so their
time steps line up with a single pass), each chunk is recognized, and the chunks'
per-step predictions are joined at the middle of each overlap before CTC decoding, so a
character on a seam is read once; the result carries ``"chunks": n``. At most
``max_chunks`` (default 16; 10 880 px = 340:1 at H = 32 with max_width 800) chunks are
used; a longer line (a degenerate input such as a 1×100000 px strip) is squeezed
horizontally to fit them. Models exported with a fixed width (``dynamic_width: false``)
or ``padding: false`` get PaddleOCR's behaviour instead: every line is resized to the
fixed width.

Bad files (missing, empty, truncated, not an image) do not stop a run: their result has
``text`` and ``score`` set to ``null`` and an ``error`` reason; the CLI exits 1 if any
file failed.
"""

import math
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np

from ..data.imgproc import MEAN, SCALE, STD, resize_norm_img, resized_width
from ..errors import DataError, ModelDirError
from .images import ImageLoadError, check_array_image, list_image_sources, load_image, read_image_size

BACKENDS = ("paddle", "paddle-nomkl", "onnxruntime", "openvino", "eager")
PRECISIONS = ("fp32", "bf16")
DEFAULT_MAX_WIDTH = 1600
WIDTH_ALIGN = 8
MAX_LISTED_FAILURES = 20
GIL_HOLDING_BACKENDS = ("paddle", "paddle-nomkl")  # Paddle Inference's predictor.run() keeps the GIL


# --------------------------------------------------------------------------------------
# inference.yml → what pre- and post-processing need
# --------------------------------------------------------------------------------------
def _parse_number(value, where):
    """A number that PaddleOCR configs may spell as a string like ``"1./255."``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            if "/" in value:
                num, den = value.split("/", 1)
                return float(num) / float(den)
            return float(value)
        except (ValueError, ZeroDivisionError):
            pass
    raise ModelDirError(f"{where}: expected a number, got {value!r}")


@dataclass
class InferenceSpec:
    """Pre/post-processing settings of an exported model (from its ``inference.yml``).

    Attributes:
        channels (int): model input channels.
        height (int): model input height.
        width (int): nominal input width (``image_shape[2]``).
        padding (bool): keep the aspect ratio and right-pad (``RecResizeImg.padding``).
        dynamic_width (bool): the model accepts any width (batches pad to their widest line).
        max_width (int): widest input the model is run on; wider lines are chunked.
        img_mode (str): ``"BGR"``, ``"RGB"`` or ``"GRAY"`` (``DecodeImage.img_mode``).
        character_list (list[str]): the CTC dictionary (without the blank).
        macs_per_image (int | None): multiply-adds of one image at the nominal width.
        model_name (str): name recorded at export.
    """

    channels: int
    height: int
    width: int
    padding: bool
    dynamic_width: bool
    max_width: int
    img_mode: str
    character_list: list
    macs_per_image: int = None
    model_name: str = ""

    @property
    def image_shape(self):
        """``[C, H, W]`` at the nominal width."""
        return [self.channels, self.height, self.width]

    @classmethod
    def from_config(cls, cfg, source="inference.yml"):
        """Read the settings from a parsed ``inference.yml``.

        Raises:
            ModelDirError: a key is missing or holds an unsupported value (named in the message).
        """
        glob = cfg.get("Global") or {}
        ops = {}
        for op in (cfg.get("PreProcess") or {}).get("transform_ops") or []:
            if isinstance(op, dict):
                for name, args in op.items():
                    ops[name] = args or {}
        resize = ops.get("RecResizeImg", {})
        shape = resize.get("image_shape") or glob.get("image_shape")
        valid = isinstance(shape, (list, tuple)) and len(shape) == 3
        if not (valid and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape)):
            raise ModelDirError(f"{source}: PreProcess RecResizeImg.image_shape (or Global.image_shape): "
                                f"expected [C, H, W] of positive ints, got {shape!r}")
        c, h, w = (int(v) for v in shape)
        norm = ops.get("NormalizeImage")
        if norm:
            scale = _parse_number(norm.get("scale", SCALE), f"{source}: NormalizeImage.scale")
            mean = [float(v) for v in (norm.get("mean") or MEAN)]
            std = [float(v) for v in (norm.get("std") or STD)]
            if (abs(scale - SCALE) > 1e-6 or any(abs(a - b) > 1e-6 for a, b in zip(mean, MEAN))
                    or any(abs(a - b) > 1e-6 for a, b in zip(std, STD))):
                raise ModelDirError(f"{source}: NormalizeImage scale={scale:g} mean={mean} std={std} differs from the "
                                    f"recognizer's pre-processing (scale=1/255, mean={list(MEAN)}, std={list(STD)})")
        img_mode = str((ops.get("DecodeImage") or {}).get("img_mode", "BGR")).upper()
        if img_mode not in ("BGR", "RGB", "GRAY"):
            raise ModelDirError(f"{source}: DecodeImage.img_mode: expected BGR, RGB or GRAY, got {img_mode!r}")
        post = cfg.get("PostProcess") or {}
        if post.get("name", "CTCLabelDecode") != "CTCLabelDecode":
            raise ModelDirError(f"{source}: PostProcess.name: only CTCLabelDecode is supported, "
                                f"got {post.get('name')!r}")
        chars = post.get("character_dict")
        if not isinstance(chars, list) or not chars:
            raise ModelDirError(f"{source}: PostProcess.character_dict: expected the list of characters, got "
                                f"{type(chars).__name__}")
        input_shape = glob.get("input_shape") or [c, h, -1]
        dynamic = bool(glob.get("dynamic_width", input_shape[-1] in (-1, None)))
        padding = bool(resize.get("padding", True))
        max_width = glob.get("max_width") or max(DEFAULT_MAX_WIDTH, w)
        if not isinstance(max_width, int) or max_width < 1:
            raise ModelDirError(f"{source}: Global.max_width: expected a positive int, got {max_width!r}")
        if not dynamic or not padding:
            max_width = w
        macs = glob.get("macs_per_image")
        return cls(channels=c, height=h, width=w, padding=padding, dynamic_width=dynamic,
                   max_width=int(max(max_width, 1)), img_mode=img_mode, character_list=[str(x) for x in chars],
                   macs_per_image=int(macs) if isinstance(macs, (int, float)) and macs > 0 else None,
                   model_name=str(glob.get("model_name", "")))

    @property
    def chunking(self):
        """Whether over-wide lines are split into chunks (dynamic width with padding)."""
        return self.dynamic_width and self.padding


# --------------------------------------------------------------------------------------
# Planning: pieces (model input rows) and batches
# --------------------------------------------------------------------------------------
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


def chunk_layout(full_width, chunk_width, overlap, align=WIDTH_ALIGN):
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


def plan_pieces(sizes, spec, max_chunks=16):
    """Turn image sizes into model-input pieces.

    Args:
        sizes (list[tuple[int, int] | None]): ``(h, w)`` per image; ``None`` skips the image.
        spec (InferenceSpec): the model's settings.
        max_chunks (int): most chunks one line is split into.

    Returns:
        list[Piece]: sorted by width (then input order), ready to cut into batches.
    """
    pieces = []
    cw = spec.max_width
    overlap = min(cw // 2, max(4 * spec.height, cw // 8))
    step = max(WIDTH_ALIGN, (cw - overlap) // WIDTH_ALIGN * WIDTH_ALIGN)
    limit = cw + (max_chunks - 1) * step
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


def batch_width(pieces, spec, align=WIDTH_ALIGN):
    """Padded input width of a batch: its widest row, rounded up to a multiple of ``align``, ≤ max_width."""
    if not spec.chunking:
        return spec.width
    widest = max(p.width for p in pieces)
    return int(min(spec.max_width, max(widest, -(-widest // align) * align)))


# --------------------------------------------------------------------------------------
# Recognizer
# --------------------------------------------------------------------------------------
class _Failure:
    __slots__ = ("reason",)

    def __init__(self, reason):
        self.reason = reason


class TextRecognizer:
    """Load an exported model once and recognize lists of text-line images.

    Args:
        model_dir (str | None): folder with ``inference.json``/``.pdiparams``/``inference.yml``
            (``model.onnx`` for ONNX Runtime / OpenVINO).
        backend (str): ``paddle`` (Paddle Inference + oneDNN), ``paddle-nomkl``,
            ``onnxruntime``, ``openvino`` or ``eager``.
        precision (str): ``fp32`` or ``bf16``.
        cpu_threads (int | None): math-library threads (``None``: the runtime's default).
        use_gpu (bool): run on the GPU (Paddle backends).
        use_onednn (bool): let Paddle Inference use oneDNN on CPU.
        batch_size (int): lines per model call.
        prefetch (int | None): batches pre-processed ahead in a background thread; 0
            pre-processes in the calling thread. ``None`` (default): 0 for the Paddle
            Inference backends (their ``run()`` holds the GIL, so a thread cannot overlap
            and only adds hand-off cost), 2 for the others.
        max_chunks (int): most chunks a long line is split into (see the module docs).
        width_align (int): batch widths are rounded up to a multiple of this (fewer
            distinct input shapes for the runtime to prepare).
        runtime (callable | None): an already created runtime to reuse (``images -> probs``).
        inference_config (dict | None): a parsed ``inference.yml`` to use instead of reading it.

    A recognizer is not thread-safe (its runtime is not): use one per thread.

    Raises:
        ModelDirError: ``model_dir`` is missing or incomplete.
    """

    def __init__(self, model_dir=None, backend="paddle", precision="fp32", cpu_threads=None, use_gpu=False,
                 use_onednn=True, batch_size=8, prefetch=None, max_chunks=16, width_align=WIDTH_ALIGN, runtime=None,
                 inference_config=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise DataError(f"batch_size: expected a positive int, got {batch_size!r}")
        if isinstance(max_chunks, bool) or not isinstance(max_chunks, int) or max_chunks < 1:
            raise DataError(f"max_chunks: expected a positive int, got {max_chunks!r}")
        if inference_config is None or runtime is None:
            from .runtime import create_runtime, load_inference_config

            if inference_config is None:
                inference_config = load_inference_config(model_dir)
            if runtime is None:
                runtime = create_runtime(model_dir, backend=backend, precision=precision, cpu_threads=cpu_threads,
                                         use_gpu=use_gpu, use_onednn=use_onednn)
        from ..modeling.decoders import CTCLabelDecode

        self.model_dir = model_dir
        self.inference_config = inference_config
        self.spec = InferenceSpec.from_config(
            inference_config, os.path.join(model_dir, "inference.yml") if model_dir else "inference.yml")
        self.runtime = runtime
        self.decoder = CTCLabelDecode(character_list=self.spec.character_list)
        self.batch_size = batch_size
        if prefetch is None:
            prefetch = 0 if getattr(runtime, "backend", None) in GIL_HOLDING_BACKENDS else 2
        self.prefetch = int(prefetch)
        self.max_chunks = max_chunks
        self.width_align = int(width_align)
        self.last_stats = {}

    # -- loading ------------------------------------------------------------------
    def _sizes_and_loader(self, images):
        """Header sizes for planning and a loader ``i -> array`` (raising ImageLoadError)."""
        n = len(images)
        sizes = [None] * n
        failures = {}
        arrays = {}
        for i, item in enumerate(images):
            if isinstance(item, np.ndarray):
                try:
                    arrays[i] = check_array_image(item, where=f"image {i}")
                    sizes[i] = arrays[i].shape[:2]
                except DataError as exc:
                    failures[i] = str(exc)
                continue
            path = os.fspath(item)
            hw = read_image_size(path)
            if hw is None:  # unknown header: decode now to learn the size (or the error)
                try:
                    img = load_image(path)
                    hw = img.shape[:2]
                except ImageLoadError as exc:
                    failures[i] = exc.reason
                    continue
            sizes[i] = hw

        def loader(i):
            if i in arrays:
                return arrays[i]
            return load_image(os.fspath(images[i]))

        return sizes, failures, loader

    def _prepare(self, img, piece, width):
        """One model-input row ``[C, H, width]`` and its content width."""
        spec = self.spec
        if spec.img_mode == "RGB" and img.ndim == 3 and img.shape[2] == 3:
            img = img[:, :, ::-1]
        if piece.width == piece.full_width:  # a whole line
            row, ratio = resize_norm_img(img, spec.image_shape, padding=spec.padding, target_width=width)
            return row, max(1, int(round(ratio * width)))
        full, _ = resize_norm_img(img, [spec.channels, spec.height, piece.full_width], padding=True,
                                  target_width=piece.full_width)
        part = full[:, :, piece.x0:piece.x0 + piece.width]
        row = np.zeros((spec.channels, spec.height, width), np.float32)
        row[:, :, :part.shape[2]] = part
        return row, piece.width

    def _produce(self, batches, loader):
        """Yield ``(pieces, array, content_widths, failures, seconds)`` per batch."""
        cache_key, cache_val = None, None  # the last chunked image (its chunks are adjacent)
        for pieces in batches:
            t0 = time.thread_time()  # CPU time: wall time would count the model's threads preempting us
            width = batch_width(pieces, self.spec, self.width_align)
            rows, ok, widths, failed = [], [], [], {}
            for p in pieces:
                if p.index in failed:
                    continue
                try:
                    if p.index == cache_key:
                        img = cache_val
                    else:
                        img = loader(p.index)
                    if p.width != p.full_width:
                        cache_key, cache_val = p.index, img
                    row, w = self._prepare(img, p, width)
                except ImageLoadError as exc:
                    failed[p.index] = exc.reason
                    if p.width != p.full_width:
                        cache_key, cache_val = None, None
                    continue
                except Exception as exc:  # noqa: BLE001 - a bad file must not stop the run
                    failed[p.index] = f"pre-processing failed: {type(exc).__name__}: {exc}"
                    continue
                rows.append(row)
                ok.append(p)
                widths.append(w)
            array = np.stack(rows) if rows else None
            yield ok, array, widths, failed, time.thread_time() - t0

    def _iter_batches(self, batches, loader, stats):
        """Batches from :meth:`_produce`, computed ``prefetch`` ahead in a worker thread."""
        if self.prefetch <= 0:
            for item in self._produce(batches, loader):
                stats["preprocess_s"] += item[4]
                yield item
            return
        q = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()
        done = object()

        def put(item):
            """Queue ``item`` unless the consumer has stopped; False once it has."""
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def work():
            try:
                for item in self._produce(batches, loader):
                    if not put(item):
                        return
                put(done)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
                put(exc)

        worker = threading.Thread(target=work, name="ppresnet45-preprocess", daemon=True)
        worker.start()
        try:
            while True:
                t0 = time.perf_counter()
                item = q.get()
                stats["wait_s"] += time.perf_counter() - t0
                if item is done:
                    return
                if isinstance(item, BaseException):
                    raise item
                stats["preprocess_s"] += item[4]
                yield item
        finally:
            stop.set()
            worker.join(timeout=5)

    # -- decoding -----------------------------------------------------------------
    def _check_classes(self, probs):
        k = probs.shape[-1]
        if k != len(self.decoder.character):
            raise ModelDirError(
                f"{self.model_dir or 'model'}: the model outputs {k} classes but inference.yml's character_dict "
                f"has {len(self.decoder.character) - 1} characters + blank = {len(self.decoder.character)}")

    # -- public -------------------------------------------------------------------
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
        if isinstance(images, (str, os.PathLike, np.ndarray)):
            images = [images]
        images = list(images)
        bs = self.batch_size if batch_size is None else batch_size
        if isinstance(bs, bool) or not isinstance(bs, int) or bs < 1:
            raise DataError(f"batch_size: expected a positive int, got {bs!r}")
        stats = dict(images=len(images), failed=0, pieces=0, batches=0, preprocess_s=0.0, model_s=0.0,
                     postprocess_s=0.0, wait_s=0.0, plan_s=0.0, wall_s=0.0, padded_pixels=0, content_pixels=0)
        t_start = time.perf_counter()
        sizes, failures, loader = self._sizes_and_loader(images)
        pieces = plan_pieces(sizes, self.spec, self.max_chunks)
        batches = [pieces[i:i + bs] for i in range(0, len(pieces), bs)]
        n_chunks = {}
        for p in pieces:
            n_chunks[p.index] = n_chunks.get(p.index, 0) + 1
        stats["plan_s"] = time.perf_counter() - t_start
        stats["pieces"] = len(pieces)

        results = [None] * len(images)
        pending = {}  # image index -> list of (chunk, idx, prob) for chunked lines
        done = [0]

        def path_of(i):
            return None if isinstance(images[i], np.ndarray) else os.fspath(images[i])

        def finish(i, result):
            results[i] = result
            done[0] += 1

        def fail(i, reason):
            if results[i] is None:
                finish(i, {"path": path_of(i), "text": None, "score": None, "error": reason})
                pending.pop(i, None)

        for i, reason in failures.items():
            fail(i, reason)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(images), desc="recognize", unit="img", file=sys.stderr, dynamic_ncols=True)
            bar.update(len(failures))
        try:
            for ok, array, widths, failed, _ in self._iter_batches(batches, loader, stats):
                done_before = done[0]
                for i, reason in failed.items():
                    fail(i, reason)
                if array is None:
                    if bar is not None:
                        bar.update(done[0] - done_before)
                    continue
                t0 = time.perf_counter()
                probs = np.asarray(self.runtime(array))
                t1 = time.perf_counter()
                stats["model_s"] += t1 - t0
                stats["batches"] += 1
                stats["padded_pixels"] += array.shape[0] * array.shape[3]
                stats["content_pixels"] += int(sum(widths))
                if probs.ndim != 3 or probs.shape[0] != array.shape[0]:
                    raise ModelDirError(f"{self.model_dir or 'model'}: expected probabilities [N, T, K] for "
                                        f"{array.shape[0]} images, got shape {list(probs.shape)}")
                self._check_classes(probs)
                steps = probs.shape[1]
                idx = probs.argmax(axis=2)
                prob = np.take_along_axis(probs, idx[..., None], axis=2)[..., 0]
                width = array.shape[3]
                for row, (p, w) in enumerate(zip(ok, widths)):
                    if results[p.index] is not None:
                        continue
                    if p.width == p.full_width:
                        tv = min(steps, max(1, int(math.ceil(steps * w / width))))
                        text, score = self.decoder.decode_indices(idx[row, :tv], prob[row, :tv])
                        finish(p.index, {"path": path_of(p.index), "text": text, "score": float(score)})
                        continue
                    # a chunk: keep the steps whose centres fall in the part this chunk decodes
                    # (the last chunk keeps every step that touches the line, as a whole line does)
                    centres = p.x0 + (np.arange(steps) + 0.5) * (width / steps)
                    keep = centres >= p.own_lo
                    if p.own_hi >= p.full_width:
                        keep[int(math.ceil(steps * (p.full_width - p.x0) / width)):] = False
                    else:
                        keep &= centres < p.own_hi
                    parts = pending.setdefault(p.index, [])
                    parts.append((p.chunk, idx[row][keep], prob[row][keep]))
                    if len(parts) == n_chunks[p.index]:
                        parts.sort(key=lambda t: t[0])
                        text, score = self.decoder.decode_indices(np.concatenate([t[1] for t in parts]),
                                                                  np.concatenate([t[2] for t in parts]))
                        finish(p.index, {"path": path_of(p.index), "text": text, "score": float(score),
                                         "chunks": len(parts)})
                        del pending[p.index]
                stats["postprocess_s"] += time.perf_counter() - t1
                if bar is not None:
                    bar.update(done[0] - done_before)
        finally:
            if bar is not None:
                bar.close()
        for i, r in enumerate(results):
            if r is None:  # cannot happen unless a runtime dropped rows; never return holes
                results[i] = {"path": path_of(i), "text": None, "score": None, "error": "no result"}
        stats["failed"] = sum("error" in r for r in results)
        stats["wall_s"] = time.perf_counter() - t_start
        stats["images_per_s"] = (len(images) - stats["failed"]) / stats["wall_s"] if stats["wall_s"] > 0 else 0.0
        self.last_stats = stats
        return results


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


# --------------------------------------------------------------------------------------
# Accuracy against a label file
# --------------------------------------------------------------------------------------
def score_against_labels(results, labels):
    """Exact-match accuracy (spaces and case count) and 1 - normalised edit distance; failed
    images count as wrong.

    Returns:
        dict: ``accuracy``, ``correct``, ``total``, ``norm_edit_dis``.
    """
    from ..modeling.metrics import normalized_edit_distance

    correct, ned = 0, 0.0
    for r, label in zip(results, labels):
        text = r.get("text")
        if text is None:
            continue
        correct += text == label
        ned += 1.0 - normalized_edit_distance(text, label)
    total = len(labels)
    return {"accuracy": correct / total if total else 0.0, "correct": correct, "total": total,
            "norm_edit_dis": ned / total if total else 0.0}
