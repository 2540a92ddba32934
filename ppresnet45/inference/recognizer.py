"""The recognition engine under :class:`ppresnet45.inference.Recognizer` (the entry point that
``ppresnet45 infer`` and the API use): one runtime, lists of inputs to rows of text.

The path from files to text, built for throughput:

1. **Plan.** Each image's size is read from its header (Pillow, no decoding) and its
   width after resizing to the model height is computed. Images are sorted by that
   width and cut into batches, so a batch pads little; results are put back in input
   order at the end (see :mod:`.chunking`).
2. **Pre-process in the background.** A worker thread decodes the next batch and runs
   the pre-processing ``inference.yml`` names (:mod:`.preprocess`: for CTC models
   :func:`ppresnet45.data.imgproc.resize_norm_img`, the code training uses; for ABINet and
   VisionLAN a stretch to the fixed size with their normalisation, in the channel order
   the file states) while the model runs on the current one. Runtimes whose ``run()``
   keeps the GIL (``Runtime.holds_gil``: Paddle Inference) cannot overlap with a thread,
   so for them the batches are prepared in the calling thread between model calls.
3. **Run** the model on ``[N, C, H, W_batch]``: ``W_batch`` is the batch's widest line
   rounded up to a multiple of 8 (fewer distinct shapes for oneDNN's primitive cache),
   at least the nominal width ``W`` (what training pads every line to), capped at
   ``max_width`` from ``inference.yml``.
4. **Decode** each row with the decoder ``PostProcess.name`` names (:mod:`.decoding`),
   over the time steps that cover the line itself, or ``W`` for a shorter line (a CTC
   model may emit its characters over the padding it was trained with); for padded (CTC)
   rows the steps over the rest of the padding are dropped, so padding a line to its
   batch's width adds no characters (its last few steps still see the padding through the
   network's receptive field; a trained model reads blank there, so batched and
   one-by-one results agree).

Long lines. A line whose resized width exceeds ``max_width`` is not squeezed: it is cut
into overlapping chunks (:mod:`.chunking`), each chunk is recognized, and the chunks'
per-step probabilities are joined at the middle of each overlap before CTC decoding, so a
character on a seam is read once; the result carries ``"chunks": n``. At most
``max_chunks`` chunks are used; a longer line is squeezed to fit them. Models exported
with a fixed width (``dynamic_width: false``), ``padding: false`` or a stretching resize op
(ABINet, VisionLAN) get PaddleOCR's behaviour instead: every line is resized to the fixed
width, in one piece.

PaddleOCR's own exports (``batching: paddleocr``, :mod:`.spec`) are batched, padded and
decoded as PaddleOCR's ``predict_rec`` does instead (:mod:`.chunking`, :mod:`.preprocess`),
so the text is PaddleOCR's.

Nothing an input can be stops a run: a missing, empty, truncated or undecodable file, a
folder, a decompression bomb (more than ``max_pixels``, read from the header before any
decoding), a bad array, a malformed label-file line (:class:`.sources.BadInput`): its result
has ``text`` and ``score`` set to ``null`` and an ``error`` reason.

Windows. :meth:`TextRecognizer.stream` works through the inputs ``window`` at a time (plan,
batches, results in input order) and yields each window's results as soon as it is done, so
a caller can write them out while the rest is recognized (``ppresnet45 infer`` does).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from tqdm import tqdm

from ..data.imgproc import resize_norm_img
from ..errors import DataError
from .batches import PreparedBatch, Results
from .chunking import WIDTH_ALIGN, batch_width, decoded_steps, plan_pieces
from .decoding import OutputDecoder
from .formats import open_model
from .images import DEFAULT_MAX_PIXELS, ImageLoadError, check_max_pixels
from .loading import InputLoader
from .model_dir import CONFIG_FILE
from .prefetch import in_background
from .preprocess import in_channel_order, model_input
from .runtime import create_runtime
from .scoring import score_against_labels  # noqa: F401 - kept importable from here
from .spec import InferenceSpec

if TYPE_CHECKING:
    from .._types import Row, StrPath
    from .chunking import Piece
    from .formats import ModelFiles
    from .sources import ImageInput

DEFAULT_BATCH_SIZE = 8  # lines per model call, for the engine, the entry point, auto and the CLI
# With PaddleOCR's batching a line's padding depends on its batch's widest line, so the text can
# depend on the batch: the default is then the batch of predict_rec and RapidOCR (rec_batch_num 6).
PADDLEOCR_BATCH_SIZE = 6
DEFAULT_MAX_CHUNKS = 16  # most chunks one over-wide line is cut into
STAT_KEYS = (
    "failed",
    "pieces",
    "batches",
    "preprocess_s",
    "model_s",
    "postprocess_s",
    "wait_s",
    "plan_s",
    "padded_pixels",
    "content_pixels",
)


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(f"{name}: expected a positive int, got {value!r}")
    return value


def default_batch_size(spec: InferenceSpec) -> int:
    """Lines per model call when none is given: :data:`PADDLEOCR_BATCH_SIZE` for a model run
    with PaddleOCR's batching (same batches, same text), else :data:`DEFAULT_BATCH_SIZE`."""
    return PADDLEOCR_BATCH_SIZE if spec.paddleocr_batching else DEFAULT_BATCH_SIZE


def _resolve_spec(
    inference_config: InferenceSpec | dict[str, Any] | None, runtime: Any, model_dir: StrPath | ModelFiles | None
) -> InferenceSpec:
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
    return open_model(model_dir).spec


class TextRecognizer:
    """Load an exported model once and recognize lists of text-line images.

    Args:
        model_dir (str | ModelFiles | None): the model: an export folder (``inference.json`` /
            ``.pdiparams`` / ``inference.yml``, ``model.onnx`` for ONNX Runtime / OpenVINO) or
            any format :func:`.formats.open_model` opens.
        backend (str): a registered runtime: ``paddle`` (Paddle Inference + oneDNN),
            ``paddle-nomkl``, ``onnxruntime``, ``openvino``, ``eager`` or a plugin's.
        precision (str): ``fp32`` or ``bf16``.
        cpu_threads (int | None): math-library threads (``None``: the runtime's default).
        use_gpu (bool): run on the GPU (Paddle backends).
        use_onednn (bool): let Paddle Inference use oneDNN on CPU.
        batch_size (int | None): lines per model call (None: :func:`default_batch_size`).
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
        max_pixels (int | None): images of more pixels are refused with an error row
            (:data:`.images.DEFAULT_MAX_PIXELS`; None: no limit of ours).

    A recognizer is not thread-safe (its runtime is not): use one per thread.

    Raises:
        ModelDirError: ``model_dir`` is missing or incomplete, or holds a model this
            recognizer cannot run (another decoder or normalisation).
    """

    def __init__(
        self,
        model_dir: StrPath | ModelFiles | None = None,
        backend: str = "paddle",
        precision: str = "fp32",
        cpu_threads: int | None = None,
        use_gpu: bool = False,
        use_onednn: bool = True,
        batch_size: int | None = None,
        prefetch: int | None = None,
        max_chunks: int = DEFAULT_MAX_CHUNKS,
        width_align: int = WIDTH_ALIGN,
        runtime: Callable[[np.ndarray], Any] | None = None,
        inference_config: InferenceSpec | dict[str, Any] | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.max_chunks = _check_positive_int(max_chunks, "max_chunks")
        self.max_pixels = check_max_pixels(max_pixels)
        if runtime is None:
            if model_dir is None:
                raise DataError("TextRecognizer: give model_dir, or a runtime and its inference_config")
            runtime = create_runtime(
                model_dir,
                backend=backend,
                precision=precision,
                cpu_threads=cpu_threads,
                use_gpu=use_gpu,
                use_onednn=use_onednn,
            )
        self.model_dir = model_dir
        self.spec = _resolve_spec(inference_config, runtime, model_dir)
        self.batch_size = _check_positive_int(
            default_batch_size(self.spec) if batch_size is None else batch_size, "batch_size"
        )
        self.output = OutputDecoder(self.spec, where=model_dir or "model")
        self.inference_config = self.spec.raw
        self.runtime = runtime
        if prefetch is None:
            prefetch = 0 if getattr(runtime, "holds_gil", False) else 2
        self.prefetch = int(prefetch)
        self.width_align = int(width_align)
        self.last_stats: dict[str, Any] = {}

    @property
    def decoder(self) -> Any:
        """The decoder in use (``PostProcess.name``'s, over the dictionary the output fits)."""
        return self.output.decoder

    # -- pre-processing -----------------------------------------------------------------
    def _prepare(self, img: np.ndarray, piece: Piece, width: int) -> tuple[np.ndarray, int]:
        """One model-input row ``[C, H, width]`` and its content width."""
        spec = self.spec
        if not piece.is_chunk:
            return model_input(img, spec, width)
        full, _ = resize_norm_img(
            in_channel_order(img, spec),
            [spec.channels, spec.height, piece.full_width],
            padding=True,
            target_width=piece.full_width,
        )
        part = full[:, :, piece.x0 : piece.x0 + piece.width]
        row = np.zeros((spec.channels, spec.height, width), np.float32)
        row[:, :, : part.shape[2]] = part
        return row, piece.width

    @staticmethod
    def _image(piece: Piece, loader: InputLoader, cache: dict[str, Any]) -> np.ndarray:
        """The piece's decoded image; the last chunked image is kept in ``cache`` (its chunks are adjacent)."""
        if piece.is_chunk and cache.get("index") == piece.index:
            return cache["image"]
        img = loader(piece.index)
        if piece.is_chunk:
            cache.update(index=piece.index, image=img)
        return img

    def _build_batch(self, pieces: list[Piece], loader: InputLoader, cache: dict[str, Any]) -> PreparedBatch:
        """Decode and pre-process one batch; a file that fails is recorded, not raised."""
        t0 = time.thread_time()  # CPU time: wall time would count the model's threads preempting us
        batch = PreparedBatch(width=batch_width(pieces, self.spec, self.width_align))
        rows: list[np.ndarray] = []
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

    def _batches(
        self, plan: list[list[Piece]], loader: InputLoader, stats: dict[str, Any]
    ) -> Generator[PreparedBatch, None, None]:
        """The prepared batches of ``plan``, ``prefetch`` ahead in a worker thread when > 0."""
        cache: dict[str, Any] = {}
        built = (self._build_batch(pieces, loader, cache) for pieces in plan)
        return in_background(built, self.prefetch, stats) if self.prefetch > 0 else built

    # -- model and decoding -----------------------------------------------------------
    def _run_batch(self, batch: PreparedBatch, results: Results, stats: dict[str, Any]) -> None:
        """Run the model on one batch and decode (or, for chunks, collect) its rows."""
        stats["preprocess_s"] += batch.seconds
        for i, reason in batch.failed.items():
            results.fail(i, reason)
        if batch.array is None:
            return
        t0 = time.perf_counter()
        out = np.asarray(self.runtime(batch.array))
        t1 = time.perf_counter()
        stats["model_s"] += t1 - t0
        stats["batches"] += 1
        stats["padded_pixels"] += batch.array.shape[0] * batch.array.shape[3]
        stats["content_pixels"] += int(sum(batch.widths))
        probs = self.output.rows(out, batch.array.shape[0])
        steps, every_step = probs.shape[1], self.spec.paddleocr_batching
        for row, (p, w) in enumerate(zip(batch.pieces, batch.widths)):
            if results.rows[p.index] is not None:
                continue
            kept = probs[row, decoded_steps(p, None if every_step else w, steps, batch.array.shape[3], self.spec.width)]
            if not p.is_chunk:
                text, score = self.output(kept)
                results.finish(p.index, text=text, score=score)
                continue
            joined = results.add_chunk(p, kept)
            if joined is not None:
                text, score = self.output(joined)
                results.finish(p.index, text=text, score=score, chunks=results.n_chunks[p.index])
        stats["postprocess_s"] += time.perf_counter() - t1

    def _recognize(self, images: list[ImageInput], bs: int, stats: dict[str, Any], bar: Any) -> list[Row]:
        """The results of one window of inputs, in input order."""
        t0 = time.perf_counter()
        loader = InputLoader(images, self.max_pixels)
        pieces = plan_pieces(loader.sizes, self.spec, self.max_chunks)
        plan = [pieces[i : i + bs] for i in range(0, len(pieces), bs)]
        stats["plan_s"] += time.perf_counter() - t0
        stats["pieces"] += len(pieces)
        results = Results(images, pieces)
        for i, reason in loader.failures.items():
            results.fail(i, reason)
        bar.update(results.done)
        with contextlib.closing(self._batches(plan, loader, stats)) as batches:
            for batch in batches:
                before = results.done
                self._run_batch(batch, results, stats)
                bar.update(results.done - before)
        out = results.collect()
        stats["failed"] += sum("error" in r for r in out)
        return out

    # -- public -------------------------------------------------------------------------
    def stream(
        self,
        images: ImageInput | Iterable[ImageInput] | list[ImageInput],
        batch_size: int | None = None,
        progress: bool = False,
        window: int | None = None,
    ) -> Iterator[list[Row]]:
        """Recognize text lines window by window, yielding each window's results when it is done.

        Args:
            images (list[str | os.PathLike | ndarray | BadInput]): as for :meth:`__call__`.
            batch_size (int | None): lines per model call (default: the constructor's).
            progress (bool): show a tqdm progress bar on stderr.
            window (int | None): inputs planned and batched together (sorted by width within a
                window); None: all of them. With PaddleOCR's batching always all of them, as
                ``predict_rec`` sorts and batches everything it is given.

        Yields:
            list[dict]: the results of the next ``window`` inputs, in input order. Timings of
            the whole call are in :attr:`last_stats` once the generator is exhausted.
        """
        if isinstance(images, (str, os.PathLike, np.ndarray)):
            images = [images]
        else:
            images = list(cast("Iterable[ImageInput]", images))  # not one path or array: a list of inputs
        bs = _check_positive_int(self.batch_size if batch_size is None else batch_size, "batch_size")
        window = (len(images) or 1) if window is None else _check_positive_int(window, "window")
        if self.spec.paddleocr_batching:  # predict_rec sorts and batches all its lines at once: so must we
            window = max(window, len(images), 1)
        stats: dict[str, Any] = dict(dict.fromkeys(STAT_KEYS, 0), images=len(images))
        stats.update({k: 0.0 for k in STAT_KEYS if k.endswith("_s")}, wall_s=0.0)
        t_start = time.perf_counter()
        self.last_stats = stats
        with tqdm(total=len(images), desc="recognize", unit="img", dynamic_ncols=True, disable=not progress) as bar:
            for lo in range(0, len(images), window):
                yield self._recognize(images[lo : lo + window], bs, stats, bar)
                stats["wall_s"] = time.perf_counter() - t_start
        stats["wall_s"] = time.perf_counter() - t_start
        done = len(images) - stats["failed"]
        stats["images_per_s"] = done / stats["wall_s"] if stats["wall_s"] > 0 else 0.0

    def __call__(
        self, images: ImageInput | Iterable[ImageInput], batch_size: int | None = None, progress: bool = False
    ) -> list[Row]:
        """Recognize text lines.

        Args:
            images (list[str | os.PathLike | ndarray | BadInput]): image files or decoded
                images (``H×W`` gray or ``H×W×3`` BGR / ``H×W×4`` BGRA arrays,
                uint8/uint16/float), or inputs known to be bad (:class:`.sources.BadInput`).
            batch_size (int | None): lines per model call (default: the constructor's).
            progress (bool): show a tqdm progress bar on stderr.

        Returns:
            list[dict]: per input, in input order: ``path`` (None for arrays), ``text``,
            ``score`` (the decoder's: the mean probability of the kept steps for CTC and
            ABINet, their geometric mean for VisionLAN), plus ``error`` (with text
            and score None) for an input that could not be read, and ``chunks`` for a
            line recognized in several chunks. Timings of the call are in :attr:`last_stats`.
        """
        out: list[Row] = []
        for rows in self.stream(images, batch_size=batch_size, progress=progress):
            out.extend(rows)
        return out
