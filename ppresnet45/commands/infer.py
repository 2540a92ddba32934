"""``ppresnet45 infer`` / ``tools/infer_rec.py``: recognize text-line images with an exported model.

Rows go out as each window of :data:`WINDOW_BATCHES` batches finishes (in input order within
the run), appended to ``--output`` and flushed (:mod:`ppresnet45.inference.results_file`:
the one output that is not written atomically, so that an interrupted run keeps what it
finished); ``--resume`` skips the inputs already there. No input stops the run: an
unreadable image, a decompression bomb, a malformed label-file line each get a row with
an ``error``, and the exit code is 1.
"""

import sys

from ..errors import DataError
from ..inference import AUTO, PRECISIONS, TextRecognizer, backend_names, check_model_dir
from ..inference.auto import resolve_runtime
from ..inference.int8 import INT8_OTHER_CPU
from ..inference.images import DEFAULT_MAX_PIXELS
from ..inference.results_file import ResultsWriter, read_rows, row_key
from ..inference.scoring import LabelScore
from ..inference.sources import BadInput, list_image_sources
from ._args import non_negative_int, positive_int

MAX_LISTED_FAILURES = 20  # failed images named on stderr; the rest are counted
WINDOW_BATCHES = 8  # batches planned together and written out together


def add_arguments(parser):
    """Arguments of ``ppresnet45 infer`` / ``tools/infer_rec.py``."""
    parser.add_argument("--model_dir", required=True, help="exported model folder (inference.json/.pdiparams/.yml)")
    parser.add_argument("--image_dir", required=True,
                        help="an image, a folder (searched recursively) or a 'path<TAB>text' label file "
                             "(then accuracy is reported, by the rule of `ppresnet45 eval`)")
    parser.add_argument("--batch_size", type=positive_int, default=8, help="lines per model call (default 8)")
    parser.add_argument("--cpu_threads", type=positive_int, default=None, help="math-library threads")
    parser.add_argument("--precision", choices=PRECISIONS, default=None,
                        help="fp32, bf16 (CPUs with AVX512-BF16 or AMX) or int8 (after `ppresnet45 quantize`). "
                             "Default: with "
                             "--backend auto the fastest that reads like fp32, else fp32; with auto and a "
                             "precision, auto chooses among the runtimes of that precision")
    parser.add_argument("--backend", choices=(AUTO,) + backend_names(), default=AUTO,
                        help="inference runtime (default auto: on the first lines, the fastest runtime x "
                             "precision whose text agrees with fp32, cached per model and CPU in "
                             "~/.cache/ppresnet45; plugins may register more)")
    parser.add_argument("--int8_other_cpu", choices=INT8_OTHER_CPU, default="recheck",
                        help="an int8 model measured on another CPU kind (AVX2 / AVX-512 / VNNI / AMX): re-measure "
                             "it on the first lines against fp32 and keep it only if it still holds (recheck, "
                             "default), run fp32 instead, or run it regardless")
    parser.add_argument("--no_auto_cache", action="store_true",
                        help="with --backend auto: probe again instead of reusing the cached choice")
    parser.add_argument("--use_gpu", action="store_true", help="run on the GPU")
    parser.add_argument("--max_chunks", type=positive_int, default=16,
                        help="most chunks a line wider than max_width is split into (default 16)")
    parser.add_argument("--max_pixels", type=non_negative_int, default=DEFAULT_MAX_PIXELS,
                        help=f"refuse images of more pixels, read from the header before decoding (default "
                             f"{DEFAULT_MAX_PIXELS}; 0 = no limit)")
    parser.add_argument("--output", default=None,
                        help="write JSON lines here instead of stdout (appended and flushed as batches finish)")
    parser.add_argument("--resume", action="store_true",
                        help="with --output: keep its rows and recognize only the inputs not in it yet")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")


def _summary(args, stats, failed, score, skipped):
    line = (f"infer: {stats['images']} images, {failed} failed, {stats['wall_s']:.2f} s, "
            f"{stats.get('images_per_s', 0.0):.1f} images/s ({args.backend}/{args.precision}, batch {args.batch_size})")
    if skipped:
        line += f"; {skipped} already in {args.output} (--resume)"
    if score.total:
        acc = score.result()
        line += (f", accuracy {acc['accuracy']:.4f} ({acc['correct']}/{acc['total']}), "
                 f"norm_edit_dis {acc['norm_edit_dis']:.4f}")
        if acc.get("by_group"):
            line += "; by folder: " + ", ".join(f"{k} {v['acc']:.4f} (n={v['count']})"
                                                for k, v in acc["by_group"].items())
    if args.output:
        line += f"; results in {args.output}"
    return line


def _warn_failures(failed, count):
    for r in failed:  # a malformed label-file line has no path; its error names the file and line
        where = f"{r['path']}: " if r.get("path") is not None else ""
        print(f"warning: {where}{r['error']}", file=sys.stderr)
    if count > len(failed):
        print(f"warning: ... and {count - len(failed)} more failed images (see 'error' in the results)",
              file=sys.stderr)


def _todo(sources, done_keys):
    """Indices of the source entries still to recognize, and the rows each gets besides the result."""
    todo, extra = [], []
    for i, path in enumerate(sources.paths):
        more = {}
        if sources.labels is not None:
            more = {"label": sources.labels[i], "line": sources.lines[i]}
        if row_key(dict(more, path=path)) in done_keys:
            continue
        todo.append(i)
        extra.append(more)
    return todo, extra


def _previous(args, score):
    """Keys of the rows an earlier run wrote (``--resume``); their labels count in ``score``."""
    if not args.resume:
        return set()
    if not args.output:
        raise DataError("--resume needs --output (the results file to carry on)")
    rows = read_rows(args.output)
    score.update(rows, [r.get("label") for r in rows])
    return {row_key(r) for r in rows}


def run(args):
    """Run ``infer``; returns 0, or 1 when any input failed."""
    check_model_dir(args.model_dir)  # a bad model dir fails before any image work
    sources = list_image_sources(args.image_dir)
    score = LabelScore()
    done_keys = _previous(args, score)
    todo, extra = _todo(sources, done_keys)
    inputs = sources.inputs()
    probe = [inputs[i] for i in todo if not isinstance(inputs[i], BadInput)]
    args.backend, args.precision, runtime = resolve_runtime(
        args.model_dir, args.backend, args.precision, probe, batch_size=args.batch_size,
        cpu_threads=args.cpu_threads, use_gpu=args.use_gpu, use_cache=not args.no_auto_cache,
        int8_other_cpu=args.int8_other_cpu, log=lambda line: print(line, file=sys.stderr))
    rec = TextRecognizer(args.model_dir, backend=args.backend, precision=args.precision,
                         cpu_threads=args.cpu_threads, use_gpu=args.use_gpu, batch_size=args.batch_size,
                         max_chunks=args.max_chunks, max_pixels=args.max_pixels or None, runtime=runtime)
    failed, n_failed, pos = [], 0, 0
    with ResultsWriter(args.output, resume=args.resume) as out:
        stream = rec.stream([inputs[i] for i in todo], progress=not args.no_progress,
                            window=args.batch_size * WINDOW_BATCHES)
        for rows in stream:
            rows = [dict(r, **more) for r, more in zip(rows, extra[pos:pos + len(rows)])]
            pos += len(rows)
            out.write(rows)
            score.update(rows, [r.get("label") for r in rows])
            bad = [r for r in rows if "error" in r]
            n_failed += len(bad)
            failed.extend(bad[:MAX_LISTED_FAILURES - len(failed)])
    _warn_failures(failed, n_failed)
    stats = rec.last_stats or {"images": 0, "wall_s": 0.0}
    print(_summary(args, stats, n_failed, score, len(sources.paths) - len(todo)), file=sys.stderr)
    return 1 if n_failed else 0
