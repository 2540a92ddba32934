"""``ppresnet45 infer`` / ``tools/infer_rec.py``: recognize text-line images with an exported model."""

import json
import sys

from ..inference import PRECISIONS, TextRecognizer, backend_names, check_model_dir, score_against_labels
from ..inference.images import list_image_sources
from ..utils.io import atomic_write_text
from ._args import positive_int

MAX_LISTED_FAILURES = 20  # failed images named on stderr; the rest are counted


def add_arguments(parser):
    """Arguments of ``ppresnet45 infer`` / ``tools/infer_rec.py``."""
    parser.add_argument("--model_dir", required=True, help="exported model folder (inference.json/.pdiparams/.yml)")
    parser.add_argument("--image_dir", required=True,
                        help="an image, a folder (searched recursively) or a 'path<TAB>text' label file "
                             "(then accuracy is reported, by the rule of `ppresnet45 eval`)")
    parser.add_argument("--batch_size", type=positive_int, default=8, help="lines per model call (default 8)")
    parser.add_argument("--cpu_threads", type=positive_int, default=None, help="math-library threads")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help="fp32 (default) or bf16")
    parser.add_argument("--backend", choices=backend_names(), default="paddle",
                        help="inference runtime (default paddle; plugins may register more)")
    parser.add_argument("--use_gpu", action="store_true", help="run on the GPU")
    parser.add_argument("--max_chunks", type=positive_int, default=16,
                        help="most chunks a line wider than max_width is split into (default 16)")
    parser.add_argument("--output", default=None, help="write JSON lines here (atomically) instead of stdout")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")


def _summary(args, stats, results, labels):
    line = (f"infer: {stats['images']} images, {stats['failed']} failed, {stats['wall_s']:.2f} s, "
            f"{stats['images_per_s']:.1f} images/s ({args.backend}/{args.precision}, batch {args.batch_size})")
    if labels is not None:
        acc = score_against_labels(results, labels)
        line += (f", accuracy {acc['accuracy']:.4f} ({acc['correct']}/{acc['total']}), "
                 f"norm_edit_dis {acc['norm_edit_dis']:.4f}")
    if args.output:
        line += f"; results in {args.output}"
    return line


def _warn_failures(results):
    failed = [r for r in results if "error" in r]
    for r in failed[:MAX_LISTED_FAILURES]:
        print(f"warning: {r['path']}: {r['error']}", file=sys.stderr)
    if len(failed) > MAX_LISTED_FAILURES:
        print(f"warning: ... and {len(failed) - MAX_LISTED_FAILURES} more failed images (see 'error' in the results)",
              file=sys.stderr)


def run(args):
    """Run ``infer``; returns 0, or 1 when any image failed."""
    check_model_dir(args.model_dir)  # a bad model dir fails before any image work
    sources = list_image_sources(args.image_dir)
    rec = TextRecognizer(args.model_dir, backend=args.backend, precision=args.precision,
                         cpu_threads=args.cpu_threads, use_gpu=args.use_gpu, batch_size=args.batch_size,
                         max_chunks=args.max_chunks)
    results = rec(sources.paths, progress=not args.no_progress)
    if sources.labels is not None:
        for r, label in zip(results, sources.labels):
            r["label"] = label
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results)
    if args.output:
        atomic_write_text(args.output, lines)
    else:
        sys.stdout.write(lines)
        sys.stdout.flush()
    _warn_failures(results)
    print(_summary(args, rec.last_stats, results, sources.labels), file=sys.stderr)
    return 1 if rec.last_stats["failed"] else 0
