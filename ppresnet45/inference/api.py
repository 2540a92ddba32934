"""The one recognition entry point: :class:`Recognizer`.

``ppresnet45 infer``, the Python API (:func:`recognize`) and whatever runs recognition at a
larger scale call this class and nothing below it. It owns, with the same defaults as the CLI:

* the model and the runtime choice (``backend="auto"``: measured on the first lines of the
  first call, cached; an int8 model measured on another CPU kind re-checked, see
  :func:`.auto.resolve_runtime`), made once and reused by every later call;
* batching by width, chunking of long lines and decoding (:class:`.recognizer.TextRecognizer`,
  the engine underneath);
* for a whole source (:meth:`Recognizer.run`): listing it (an image, a folder, a label file),
  resuming from an existing results file (the inputs already there are skipped), writing each
  window of rows as it finishes (an interrupted run keeps what it finished), and scoring the
  rows against the labels by the rule of ``ppresnet45 eval``. What recognizes the inputs is an
  engine: this process by default (:class:`LocalEngine`), or Ray Data actors
  (:mod:`ppresnet45.engines.ray_batch`, ``infer --engine ray``), each making this class again.

Nothing an input can be stops a run: a bad file becomes a row with an ``error``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ..errors import DataError, PPResNetError
from .auto import AUTO, resolve_runtime
from .formats import open_model
from .images import DEFAULT_MAX_PIXELS
from .recognizer import DEFAULT_MAX_CHUNKS, TextRecognizer
from .results_file import ResultsWriter, read_rows, row_key
from .scoring import LabelScore
from .sources import BadInput, list_image_sources

if TYPE_CHECKING:
    from .._types import LogFn, Row, StrPath
    from .sources import ImageInput, ImageSources

MAX_LISTED_FAILURES = 20  # failed rows kept in a run's summary; the rest are counted
WINDOW_BATCHES = 8  # batches planned together (sorted by width: little padding) and written out together


@dataclass
class RunSummary:
    """What :meth:`Recognizer.run` did.

    Attributes:
        images (int): inputs recognized by this run (not counting those resumed).
        skipped (int): inputs already in the results file (``resume``).
        n_failed (int): inputs of this run that got an ``error`` row.
        failed (list[dict]): the first :data:`MAX_LISTED_FAILURES` of those rows.
        score (dict | None): accuracy against the labels (resumed rows included), or None.
        backend, precision (str): the runtime that ran.
        stats (dict): the engine's timings (:attr:`.recognizer.TextRecognizer.last_stats`).
        output (str | None): the results file.
    """

    images: int = 0
    skipped: int = 0
    n_failed: int = 0
    failed: list[Row] = field(default_factory=list)
    score: dict[str, Any] | None = None
    backend: str | None = None
    precision: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    output: str | None = None


class Recognizer:
    """Recognize text-line images with an exported model (see the module docs).

    Args:
        model_dir (str | ModelFiles): the model: an export folder, a PaddleOCR 2.x inference
            folder or a PP-OCR ONNX file or folder (:func:`.formats.open_model`).
        backend (str): ``"auto"`` (default: the fastest runtime × precision that reads like FP32
            here) or a runtime name (``paddle``, ``onnxruntime``, ``openvino``, ...).
        precision (str | None): ``fp32``, ``bf16`` or ``int8``; None: auto's choice, else fp32.
        cpu_threads (int | None): math-library threads (default: the cores this process may use).
        use_gpu (bool): run on the GPU.
        batch_size (int | None): lines per model call (None: 8, or 6 for a model run with
            PaddleOCR's batching, as ``predict_rec`` and RapidOCR batch).
        max_chunks (int): most chunks a line wider than the model's ``max_width`` is cut into.
        max_pixels (int | None): images of more pixels become error rows (None: no limit).
        use_cache (bool): ``auto`` reads and writes its cached choice.
        int8_other_cpu (str): ``recheck``, ``fp32`` or ``run`` (:data:`.int8.INT8_OTHER_CPU`).
        log (callable | None): receives the one-line notes (what auto picked, int8 re-checks).
        dict_path (str | None): PaddleOCR's ``rec_char_dict_path``, for a model without a
            dictionary of its own (a 2.x folder, an ONNX file without ``character`` metadata).
        image_shape (str | list | None): ``C,H,W`` of such a model (default 3,48,320).
        use_space_char (bool): append the space to ``dict_path``'s characters (PP-OCR's default).

    Raises:
        ModelDirError: the model is missing, incomplete or not a text recognizer.
    """

    def __init__(
        self,
        model_dir: StrPath,
        backend: str = AUTO,
        precision: str | None = None,
        cpu_threads: int | None = None,
        use_gpu: bool = False,
        batch_size: int | None = None,
        max_chunks: int = DEFAULT_MAX_CHUNKS,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        use_cache: bool = True,
        int8_other_cpu: str = "recheck",
        log: LogFn | None = None,
        dict_path: str | None = None,
        image_shape: Sequence[int] | None = None,
        use_space_char: bool = True,
    ) -> None:
        self.model_options: dict[str, Any] = {
            "dict_path": dict_path,
            "image_shape": image_shape,
            "use_space_char": use_space_char,
        }
        self.model = open_model(model_dir, **self.model_options)
        self.model_dir = self.model.folder
        self.requested = (backend, precision)
        self.backend: str | None = None  # what runs, once chosen
        self.precision: str | None = None
        self.options: dict[str, Any] = {
            "cpu_threads": cpu_threads,
            "use_gpu": use_gpu,
            "batch_size": batch_size,
            "max_chunks": max_chunks,
            "max_pixels": max_pixels,
        }
        self.use_cache, self.int8_other_cpu = use_cache, int8_other_cpu
        self.log: LogFn = log or (lambda line: None)
        self.engine: TextRecognizer | None = None

    def settings(self) -> dict[str, Any]:
        """The keyword arguments that make this recognizer again, in another process (no ``log``)."""
        backend, precision = self.requested
        return dict(
            self.options,
            **self.model_options,
            model_dir=self.model_dir,
            backend=backend,
            precision=precision,
            use_cache=self.use_cache,
            int8_other_cpu=self.int8_other_cpu,
        )

    def _engine_for(self, probe: list[ImageInput]) -> TextRecognizer:
        """The engine, made on first use: the runtime chosen with ``probe`` (the run's inputs)."""
        if self.engine is None:
            o = self.options
            self.backend, self.precision, runtime = resolve_runtime(
                self.model,
                *self.requested,
                probe,
                batch_size=o["batch_size"],
                cpu_threads=o["cpu_threads"],
                use_gpu=o["use_gpu"],
                use_cache=self.use_cache,
                int8_other_cpu=self.int8_other_cpu,
                log=self.log,
            )
            self.engine = TextRecognizer(
                self.model,
                backend=self.backend,
                precision=self.precision,
                cpu_threads=o["cpu_threads"],
                use_gpu=o["use_gpu"],
                batch_size=o["batch_size"],
                max_chunks=o["max_chunks"],
                max_pixels=o["max_pixels"],
                runtime=runtime,
            )
        return self.engine

    def __call__(self, images: ImageInput | Iterable[ImageInput], progress: bool = False) -> list[Row]:
        """Recognize a list of inputs (paths, arrays, :class:`.sources.BadInput`).

        Returns:
            list[dict]: per input, in input order: ``path``, ``text``, ``score`` (+ ``error``,
            ``chunks``), as :meth:`.recognizer.TextRecognizer.__call__` describes them.
        """
        if isinstance(images, (str, os.PathLike)) or hasattr(images, "shape"):
            items = [cast("ImageInput", images)]
        else:
            items = list(cast("Iterable[ImageInput]", images))  # not one path or array: a list of inputs
        return self._engine_for(_probe(items))(items, progress=progress)

    def run(
        self,
        source: StrPath,
        output: str | None = None,
        resume: bool = False,
        progress: bool = False,
        on_rows: Callable[[list[Row]], Any] | None = None,
        engine: Any = None,
    ) -> RunSummary:
        """Recognize everything in ``source`` and write the rows (see the module docs).

        Args:
            source (str): an image, a folder (searched recursively) or a ``path<TAB>text`` label
                file (rows then carry ``label`` and ``line``, and the run is scored).
            output (str | None): the JSON-lines results file (appended and flushed window by
                window); None writes to stdout.
            resume (bool): keep the rows already in ``output`` and recognize only the rest.
            progress (bool): a progress bar on stderr.
            on_rows (callable | None): called with each window's rows after they are written.
            engine (object | None): what recognizes the inputs still to do: None runs them in this
                process; another engine (e.g. :class:`ppresnet45.engines.ray_batch.RayBatchEngine`)
                has ``windows(recognizer, inputs, progress)`` yielding ``(positions, rows)`` in any
                order, and ``backend``, ``precision``, ``stats`` once done. A position given twice
                (a retried task) is written once.

        Returns:
            RunSummary: what was done.

        Raises:
            PPResNetError: an engine gave no row for some input (a rerun with ``resume`` finishes).
        """
        sources = list_image_sources(source)
        score = LabelScore()
        done = _previous(output, resume, score)
        todo, extra = _todo(sources, done)
        inputs = sources.inputs()
        engine = engine or LocalEngine()
        summary = RunSummary(images=len(todo), skipped=len(sources.paths) - len(todo), output=output)
        written: set[int] = set()
        with ResultsWriter(output, resume=resume) as out:
            for positions, rows in engine.windows(self, [inputs[i] for i in todo], progress):
                fresh = [(p, r) for p, r in zip(positions, rows) if p not in written]
                written.update(p for p, _ in fresh)
                rows = [dict(r, **extra[p]) for p, r in fresh]
                out.write(rows)
                score.update(rows, [r.get("label") for r in rows])
                bad = [r for r in rows if "error" in r]
                summary.n_failed += len(bad)
                summary.failed.extend(bad[: MAX_LISTED_FAILURES - len(summary.failed)])
                if on_rows is not None:
                    on_rows(rows)
        if len(written) != len(todo):
            raise PPResNetError(
                f"{len(todo) - len(written)} of {len(todo)} inputs came back without a row "
                f"from the {type(engine).__name__}; run again with --resume to finish them"
            )
        summary.backend, summary.precision = engine.backend, engine.precision
        summary.stats = engine.stats or {"images": 0, "wall_s": 0.0}
        summary.score = score.result() if score.total else None
        return summary


class LocalEngine:
    """The default engine of :meth:`Recognizer.run`: this process, window by window, in input order."""

    backend: str | None = None
    precision: str | None = None
    stats: dict[str, Any] | None = None

    def windows(
        self, recognizer: Recognizer, inputs: list[ImageInput], progress: bool
    ) -> Iterator[tuple[range, list[Row]]]:
        """Yield ``(positions, rows)`` for ``inputs``, one window of batches at a time."""
        engine = recognizer._engine_for(_probe(inputs))
        self.backend, self.precision = recognizer.backend, recognizer.precision
        pos = 0
        for rows in engine.stream(inputs, progress=progress, window=engine.batch_size * WINDOW_BATCHES):
            yield range(pos, pos + len(rows)), rows
            pos += len(rows)
        self.stats = engine.last_stats


def _probe(inputs: Sequence[ImageInput]) -> list[ImageInput]:
    """The inputs auto may measure with (not the ones known to be bad)."""
    return [x for x in inputs if not isinstance(x, BadInput)]


def _todo(sources: ImageSources, done_keys: set[tuple[str, Any]]) -> tuple[list[int], list[dict[str, Any]]]:
    """Indices of the source entries still to recognize, and the fields each row gets besides the result."""
    todo: list[int] = []
    extra: list[dict[str, Any]] = []
    for i, path in enumerate(sources.paths):
        more = (
            {"label": sources.labels[i], "line": sources.lines[i]}  # type: ignore[index]  # lines come with labels
            if sources.labels is not None
            else {}
        )
        if row_key(dict(more, path=path)) in done_keys:
            continue
        todo.append(i)
        extra.append(more)
    return todo, extra


def _previous(output: str | None, resume: bool, score: LabelScore) -> set[tuple[str, Any]]:
    """Keys of the rows an earlier run wrote (``resume``); their labels count in ``score``."""
    if not resume:
        return set()
    if not output:
        raise DataError("--resume needs --output (the results file to carry on)")
    rows = read_rows(output)
    score.update(rows, [r.get("label") for r in rows])
    return {row_key(r) for r in rows}


def recognize(
    model_dir: StrPath,
    images: ImageInput | Iterable[ImageInput],
    backend: str = AUTO,
    precision: str | None = None,
    batch_size: int | None = None,
    cpu_threads: int | None = None,
    use_gpu: bool = False,
    progress: bool = False,
    **kwargs: Any,
) -> list[Row]:
    """Recognize text-line images with an exported model (one-shot :class:`Recognizer`).

    Args:
        model_dir (str): the exported model folder.
        images (list | str): paths or arrays, or one image / folder / label file path.
        backend, precision, batch_size, cpu_threads, use_gpu: as for :class:`Recognizer`
            (the same defaults as ``ppresnet45 infer``).
        progress (bool): show a progress bar.
        **kwargs: more :class:`Recognizer` arguments (``max_chunks``, ``max_pixels``, ``use_cache``,
            ``dict_path``, ``image_shape``).

    Returns:
        list[dict]: ``{"path", "text", "score"}`` (+ ``"error"``) per image, in input order.
    """
    if isinstance(images, (str, os.PathLike)):
        images = list_image_sources(images).inputs()
    rec = Recognizer(
        model_dir,
        backend=backend,
        precision=precision,
        batch_size=batch_size,
        cpu_threads=cpu_threads,
        use_gpu=use_gpu,
        **kwargs,
    )
    return rec(images, progress=progress)
