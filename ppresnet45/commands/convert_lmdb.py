"""``ppresnet45 convert-lmdb`` / ``tools/lmdb_convert.py``: a label file + images -> an LMDB dataset."""

import json

from ..data.lmdb_convert import create_lmdb_dataset


def add_arguments(parser):
    """Arguments of ``ppresnet45 convert-lmdb``."""
    parser.add_argument("--label_file", required=True, help="PaddleOCR label file: image_path<TAB>text per line")
    parser.add_argument(
        "--data_dir", default=None, help="folder the image paths are relative to (default: the label file's folder)"
    )
    parser.add_argument("--output", required=True, help="LMDB folder to write (created atomically)")
    parser.add_argument("--delimiter", default="\t", help="separator between path and text (default: tab)")
    parser.add_argument("--check", action="store_true", help="decode every image and skip those that fail")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing, non-empty output folder")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")


def run(args):
    """Run ``convert-lmdb``; prints a summary line and returns 0."""
    report = create_lmdb_dataset(
        args.label_file,
        data_dir=args.data_dir,
        output_dir=args.output,
        delimiter=args.delimiter,
        check=args.check,
        overwrite=args.overwrite,
        show_progress=not args.no_progress,
    )
    skipped = report["missing_image"] + report["undecodable_image"] + report["malformed_label"]
    print(
        f"wrote {report['written']} samples to {report['output']}; skipped {skipped} "
        f"({report['missing_image']} missing, {report['undecodable_image']} undecodable"
        f"{'' if report['checked'] else ' (not checked: use --check)'}, {report['malformed_label']} malformed lines)"
    )
    print(json.dumps(report))
    return 0
