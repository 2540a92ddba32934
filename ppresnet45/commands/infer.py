"""``ppresnet45 infer`` / ``tools/infer_rec.py``: recognize text-line images with an exported model.

Argument parsing and printing only: :class:`ppresnet45.inference.Recognizer` does the work
(runtime choice, batching, resume, writing, scoring). Rows go out as each window of batches
finishes, appended to ``--output`` and flushed (the one output that is not written
atomically, so that an interrupted run keeps what it finished); ``--resume`` skips the inputs
already there. No input stops the run: an unreadable image, a decompression bomb, a
malformed label-file line each get a row with an ``error``, and the exit code is 1.
``--engine ray --workers N [--address ADDR]`` runs the same entry point in Ray Data actors
(:mod:`ppresnet45.engines.ray_batch`; docs/scale_out.md).
"""

import sys

from ..errors import DataError
from ..inference import AUTO, PRECISIONS, Recognizer, backend_names
from ..inference.auto import ANY
from ..inference.images import DEFAULT_MAX_PIXELS
from ..inference.int8 import INT8_OTHER_CPU
from ..inference.recognizer import DEFAULT_BATCH_SIZE, DEFAULT_MAX_CHUNKS, PADDLEOCR_BATCH_SIZE
from ._args import add_model_arguments, model_options, non_negative_int, positive_int


def add_arguments(parser):
    """Arguments of ``ppresnet45 infer`` / ``tools/infer_rec.py``."""
    add_model_arguments(parser)
    parser.add_argument(
        "--image_dir",
        required=True,
        help="an image, a folder (searched recursively) or a 'path<TAB>text' label file "
        "(then accuracy is reported, by the rule of `ppresnet45 eval`)",
    )
    parser.add_argument(
        "--batch_size",
        type=positive_int,
        default=None,
        help=f"lines per model call (default {DEFAULT_BATCH_SIZE}; {PADDLEOCR_BATCH_SIZE} for models "
        "run with PaddleOCR's batching, as predict_rec and RapidOCR)",
    )
    parser.add_argument("--cpu_threads", type=positive_int, default=None, help="math-library threads")
    parser.add_argument(
        "--precision",
        choices=(*PRECISIONS, ANY),
        default=None,
        help="fp32 (default), bf16 (CPUs with AVX512-BF16 or AMX) or int8 (after `ppresnet45 "
        "quantize`); with --backend auto, auto chooses among the runtimes of that precision, "
        "and `any` lets it pick a lower precision whose text agrees with fp32",
    )
    parser.add_argument(
        "--backend",
        choices=(AUTO,) + backend_names(),
        default=AUTO,
        help="inference runtime (default auto: for a job large enough to pay for it, the fastest "
        "runtime whose text agrees with paddle fp32, measured on the first lines and cached per "
        "model and CPU in ~/.cache/ppresnet45; one line says what it chose and why)",
    )
    parser.add_argument(
        "--int8_other_cpu",
        choices=INT8_OTHER_CPU,
        default="recheck",
        help="an int8 model measured on another CPU kind (AVX2 / AVX-512 / VNNI / AMX): re-measure "
        "it on the first lines against fp32 and keep it only if it still holds (recheck, "
        "default), run fp32 instead, or run it regardless",
    )
    parser.add_argument(
        "--no_auto_cache",
        action="store_true",
        help="with --backend auto: probe again instead of reusing the cached choice",
    )
    parser.add_argument("--use_gpu", action="store_true", help="run on the GPU")
    parser.add_argument(
        "--max_chunks",
        type=positive_int,
        default=DEFAULT_MAX_CHUNKS,
        help="most chunks a line wider than max_width is split into (default 16)",
    )
    parser.add_argument(
        "--max_pixels",
        type=non_negative_int,
        default=DEFAULT_MAX_PIXELS,
        help=f"refuse images of more pixels, read from the header before decoding (default "
        f"{DEFAULT_MAX_PIXELS}; 0 = no limit)",
    )
    parser.add_argument(
        "--output",
        default=None,
        help="write JSON lines here instead of stdout (appended and flushed as batches finish)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="with --output: keep its rows and recognize only the inputs not in it yet"
    )
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process (default); ray: Ray Data actors, one model each "
        "(pip install ppresnet45[ray]; see docs/scale_out.md)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="with --engine ray: actors (default 1); each gets --cpu_threads threads "
        "(default: the cluster's CPUs shared among them)",
    )
    parser.add_argument(
        "--address",
        default=None,
        help="with --engine ray: join this running cluster (default: $RAY_ADDRESS, else start a local Ray for the run)",
    )


def _summary(args, done, batch_size):
    stats = done.stats
    where = f", ray: {stats['workers']} workers x {stats['threads']} threads" if "threads" in stats else ""
    line = (
        f"infer: {stats['images']} images, {done.n_failed} failed, {stats['wall_s']:.2f} s, "
        f"{stats.get('images_per_s', 0.0):.1f} images/s ({done.backend}/{done.precision}, batch {batch_size}"
        f"{where})"
    )
    if done.skipped:
        line += f"; {done.skipped} already in {args.output} (--resume)"
    if done.score:
        acc = done.score
        line += (
            f", accuracy {acc['accuracy']:.4f} ({acc['correct']}/{acc['total']}), "
            f"norm_edit_dis {acc['norm_edit_dis']:.4f}"
        )
        if acc.get("by_group"):
            line += "; by folder: " + ", ".join(
                f"{k} {v['acc']:.4f} (n={v['count']})" for k, v in acc["by_group"].items()
            )
    if args.output:
        line += f"; results in {args.output}"
    return line


def _warn_failures(done):
    for r in done.failed:  # a malformed label-file line has no path; its error names the file and line
        where = f"{r['path']}: " if r.get("path") is not None else ""
        print(f"warning: {where}{r['error']}", file=sys.stderr)
    if done.n_failed > len(done.failed):
        print(
            f"warning: ... and {done.n_failed - len(done.failed)} more failed images (see 'error' in the results)",
            file=sys.stderr,
        )


def run(args):
    """Run ``infer``; returns 0, or 1 when any input failed."""
    recognizer = Recognizer(
        args.model_dir,
        backend=args.backend,
        precision=args.precision,
        cpu_threads=args.cpu_threads,
        use_gpu=args.use_gpu,
        batch_size=args.batch_size,
        max_chunks=args.max_chunks,
        max_pixels=args.max_pixels or None,
        use_cache=not args.no_auto_cache,
        int8_other_cpu=args.int8_other_cpu,
        log=lambda line: print(line, file=sys.stderr),
        **model_options(args),
    )
    engine = None
    if args.engine == "ray":
        from ..engines.ray_batch import RayBatchEngine

        engine = RayBatchEngine(workers=args.workers, address=args.address, cpu_threads=args.cpu_threads)
    elif args.workers != 1 or args.address:
        raise DataError("--workers and --address need --engine ray")
    done = recognizer.run(
        args.image_dir, output=args.output, resume=args.resume, progress=not args.no_progress, engine=engine
    )
    _warn_failures(done)
    print(_summary(args, done, recognizer.engine.batch_size if recognizer.engine else args.batch_size), file=sys.stderr)
    return 1 if done.n_failed else 0
