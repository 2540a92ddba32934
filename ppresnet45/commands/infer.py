"""``ppresnet45 infer`` / ``tools/infer_rec.py``: recognize text-line images with an exported model."""

import json
import sys

from ..inference.images import list_image_sources
from ..inference.recognizer import MAX_LISTED_FAILURES, TextRecognizer, score_against_labels
from ..inference.runtime import BACKENDS, PRECISIONS, load_inference_config
from ..utils.io import atomic_write_text
from ._args import positive_int


def add_arguments(parser):
    """Arguments of ``ppresnet45 infer`` / ``tools/infer_rec.py``."""
    parser.add_argument("--model_dir", required=True, help="exported model folder (inference.json/.pdiparams/.yml)")
    parser.add_argument("--image_dir", required=True,
                        help="an image, a folder (searched recursively) or a 'path<TAB>text' label file "
                             "(then accuracy is reported)")
    parser.add_argument("--batch_size", type=positive_int, default=8, help="lines per model call (default 8)")
    parser.add_argument("--cpu_threads", type=positive_int, default=None, help="math-library threads")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help="fp32 (default) or bf16")
    parser.add_argument("--backend", choices=BACKENDS, default="paddle", help="inference runtime (default paddle)")
    parser.add_argument("--use_gpu", action="store_true", help="run on the GPU")
    parser.add_argument("--max_chunks", type=positive_int, default=16,
                        help="most chunks a line wider than max_width is split into (default 16)")
    parser.add_argument("--output", default=None, help="write JSON lines here (atomically) instead of stdout")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")


def run(args):
    """Run ``infer``; returns 0, or 1 when any image failed."""
    inference_config = load_inference_config(args.model_dir)  # a bad model dir fails before any image work
    sources = list_image_sources(args.image_dir)
    rec = TextRecognizer(args.model_dir, backend=args.backend, precision=args.precision,
                         cpu_threads=args.cpu_threads, use_gpu=args.use_gpu, batch_size=args.batch_size,
                         max_chunks=args.max_chunks, inference_config=inference_config)
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
    st = rec.last_stats
    summary = (f"infer: {st['images']} images, {st['failed']} failed, {st['wall_s']:.2f} s, "
               f"{st['images_per_s']:.1f} images/s ({args.backend}/{args.precision}, batch {args.batch_size})")
    if sources.labels is not None:
        acc = score_against_labels(results, sources.labels)
        summary += f", accuracy {acc['accuracy']:.4f} ({acc['correct']}/{acc['total']}), " \
                   f"norm_edit_dis {acc['norm_edit_dis']:.4f}"
    if args.output:
        summary += f"; results in {args.output}"
    failed = [r for r in results if "error" in r]
    for r in failed[:MAX_LISTED_FAILURES]:
        print(f"warning: {r['path']}: {r['error']}", file=sys.stderr)
    if len(failed) > MAX_LISTED_FAILURES:
        print(f"warning: ... and {len(failed) - MAX_LISTED_FAILURES} more failed images (see 'error' in the results)",
              file=sys.stderr)
    print(summary, file=sys.stderr)
    return 1 if st["failed"] else 0
