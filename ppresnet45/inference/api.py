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
  rows against the labels by the rule of ``ppresnet45 eval``.

Nothing an input can be stops a run: a bad file becomes a row with an ``error``.
"""

import os
from dataclasses import dataclass, field

from .auto import AUTO, resolve_runtime
from .images import DEFAULT_MAX_PIXELS
from .formats import open_model
from .recognizer import DEFAULT_MAX_CHUNKS, TextRecognizer
from .results_file import ResultsWriter, read_rows, row_key
from .scoring import LabelScore
from .sources import BadInput, list_image_sources
from ..errors import DataError

MAX_LISTED_FAILURES = 20  # failed rows kept in a run's summary; the rest are counted
WINDOW_BATCHES = 8  # batches planned together and written out together


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
    failed: list = field(default_factory=list)
    score: dict = None
    backend: str = None
    precision: str = None
    stats: dict = field(default_factory=dict)
    output: str = None


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

    def __init__(self, model_dir, backend=AUTO, precision=None, cpu_threads=None, use_gpu=False,
                 batch_size=None, max_chunks=DEFAULT_MAX_CHUNKS, max_pixels=DEFAULT_MAX_PIXELS,
                 use_cache=True, int8_other_cpu="recheck", log=None, dict_path=None, image_shape=None,
                 use_space_char=True):
        self.model = open_model(model_dir, dict_path=dict_path, image_shape=image_shape,
                                use_space_char=use_space_char)
        self.model_dir = self.model.folder
        self.requested = (backend, precision)
        self.backend, self.precision = None, None  # what runs, once chosen
        self.options = {"cpu_threads": cpu_threads, "use_gpu": use_gpu, "batch_size": batch_size,
                        "max_chunks": max_chunks, "max_pixels": max_pixels}
        self.use_cache, self.int8_other_cpu = use_cache, int8_other_cpu
        self.log = log or (lambda line: None)
        self.engine = None

    def _engine_for(self, probe):
        """The engine, made on first use: the runtime chosen with ``probe`` (the run's inputs)."""
        if self.engine is None:
            o = self.options
            self.backend, self.precision, runtime = resolve_runtime(
                self.model, *self.requested, probe, batch_size=o["batch_size"], cpu_threads=o["cpu_threads"],
                use_gpu=o["use_gpu"], use_cache=self.use_cache, int8_other_cpu=self.int8_other_cpu, log=self.log)
            self.engine = TextRecognizer(self.model, backend=self.backend, precision=self.precision,
                                         cpu_threads=o["cpu_threads"], use_gpu=o["use_gpu"],
                                         batch_size=o["batch_size"], max_chunks=o["max_chunks"],
                                         max_pixels=o["max_pixels"], runtime=runtime)
        return self.engine

    def __call__(self, images, progress=False):
        """Recognize a list of inputs (paths, arrays, :class:`.sources.BadInput`).

        Returns:
            list[dict]: per input, in input order: ``path``, ``text``, ``score`` (+ ``error``,
            ``chunks``), as :meth:`.recognizer.TextRecognizer.__call__` describes them.
        """
        images = [images] if isinstance(images, (str, os.PathLike)) or hasattr(images, "shape") else list(images)
        return self._engine_for(_probe(images))(images, progress=progress)

    def run(self, source, output=None, resume=False, progress=False, on_rows=None):
        """Recognize everything in ``source`` and write the rows (see the module docs).

        Args:
            source (str): an image, a folder (searched recursively) or a ``path<TAB>text`` label
                file (rows then carry ``label`` and ``line``, and the run is scored).
            output (str | None): the JSON-lines results file (appended and flushed window by
                window); None writes to stdout.
            resume (bool): keep the rows already in ``output`` and recognize only the rest.
            progress (bool): a progress bar on stderr.
            on_rows (callable | None): called with each window's rows after they are written.

        Returns:
            RunSummary: what was done.
        """
        sources = list_image_sources(source)
        score = LabelScore()
        done = _previous(output, resume, score)
        todo, extra = _todo(sources, done)
        inputs = sources.inputs()
        engine = self._engine_for(_probe([inputs[i] for i in todo]))
        summary = RunSummary(images=len(todo), skipped=len(sources.paths) - len(todo), backend=self.backend,
                             precision=self.precision, output=output)
        pos = 0
        with ResultsWriter(output, resume=resume) as out:
            for rows in engine.stream([inputs[i] for i in todo], progress=progress,
                                      window=engine.batch_size * WINDOW_BATCHES):
                rows = [dict(r, **more) for r, more in zip(rows, extra[pos:pos + len(rows)])]
                pos += len(rows)
                out.write(rows)
                score.update(rows, [r.get("label") for r in rows])
                bad = [r for r in rows if "error" in r]
                summary.n_failed += len(bad)
                summary.failed.extend(bad[:MAX_LISTED_FAILURES - len(summary.failed)])
                if on_rows is not None:
                    on_rows(rows)
        summary.stats = engine.last_stats or {"images": 0, "wall_s": 0.0}
        summary.score = score.result() if score.total else None
        return summary


def _probe(inputs):
    """The inputs auto may measure with (not the ones known to be bad)."""
    return [x for x in inputs if not isinstance(x, BadInput)]


def _todo(sources, done_keys):
    """Indices of the source entries still to recognize, and the fields each row gets besides the result."""
    todo, extra = [], []
    for i, path in enumerate(sources.paths):
        more = {"label": sources.labels[i], "line": sources.lines[i]} if sources.labels is not None else {}
        if row_key(dict(more, path=path)) in done_keys:
            continue
        todo.append(i)
        extra.append(more)
    return todo, extra


def _previous(output, resume, score):
    """Keys of the rows an earlier run wrote (``resume``); their labels count in ``score``."""
    if not resume:
        return set()
    if not output:
        raise DataError("--resume needs --output (the results file to carry on)")
    rows = read_rows(output)
    score.update(rows, [r.get("label") for r in rows])
    return {row_key(r) for r in rows}


def recognize(model_dir, images, backend=AUTO, precision=None, batch_size=None, cpu_threads=None,
              use_gpu=False, progress=False, **kwargs):
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
    rec = Recognizer(model_dir, backend=backend, precision=precision, batch_size=batch_size, cpu_threads=cpu_threads,
                     use_gpu=use_gpu, **kwargs)
    return rec(images, progress=progress)
