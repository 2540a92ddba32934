"""``ppresnet45 synth`` / ``tools/synth_textlines.py``: render synthetic text lines and a label file."""

import json
import os

from ..charset import load_character_list
from ..data.label_file import read_label_texts
from ..data.synth import DEFAULT_CHARACTERS, find_fonts, read_word_list, render_dataset, render_font_holdout
from ..errors import ConfigError
from ..utils.io import atomic_write_text
from ._args import positive_int


def add_arguments(parser):
    """Arguments of ``ppresnet45 synth``."""
    parser.add_argument("--output_dir", required=True, help="folder for images/ and the label file")
    parser.add_argument("--num", type=positive_int, default=1000, help="number of lines to render (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives identical files")
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--charset", default=None, help=f"characters to draw from (default {DEFAULT_CHARACTERS!r})")
    src.add_argument("--dict", default=None, metavar="FILE", help="PaddleOCR dictionary: one character per line")
    parser.add_argument("--use_space_char", action="store_true", help="add a space to the --dict characters")
    parser.add_argument(
        "--words", default=None, metavar="FILE", help="word list, one word per line: texts are words joined by spaces"
    )
    parser.add_argument("--min_len", type=positive_int, default=1, help="shortest text in characters (default 1)")
    parser.add_argument("--max_len", type=positive_int, default=10, help="longest text in characters (default 10)")
    parser.add_argument(
        "--fonts",
        nargs="+",
        action="extend",
        default=[],
        metavar="PATH",
        help="extra .ttf/.otf files or folders (searched recursively); Pillow's built-in font is always used",
    )
    parser.add_argument(
        "--no_package_fonts",
        action="store_true",
        help="do not use the fonts that installed packages carry (matplotlib's DejaVu/STIX/Computer "
        "Modern, the font-* packages of the 'fonts' extra)",
    )
    parser.add_argument(
        "--fonts_holdout",
        nargs="+",
        action="extend",
        default=[],
        metavar="FAMILY",
        help="font families (or file names; * wildcards) kept out of the training lines; "
        "--num_holdout lines are rendered only with them into holdout/<family>/ and "
        "holdout.txt, from strings that never occur in training",
    )
    parser.add_argument(
        "--num_holdout",
        type=positive_int,
        default=None,
        help="held-out lines with --fonts_holdout (default: --num / 10)",
    )
    parser.add_argument("--height", type=int, default=32, help="image height in pixels (default 32)")
    parser.add_argument("--no_augment", action="store_true", help="plain black-on-white lines, no distortions")
    parser.add_argument(
        "--exclude_label_file",
        nargs="+",
        action="extend",
        default=[],
        metavar="FILE",
        help="never generate texts listed in these PaddleOCR label files (held-out sets)",
    )
    parser.add_argument("--unique", action="store_true", help="never generate the same text twice")
    parser.add_argument("--label_file", default="labels.txt", help="label-file name inside --output_dir")
    parser.add_argument("--no_progress", action="store_true", help="hide the progress bar")


def run(args):
    """Run ``ppresnet45 synth``; prints where the label file went. Returns 0."""
    if args.height < 8:
        raise ConfigError(f"--height: expected an integer >= 8, got {args.height}")
    words = read_word_list(args.words) if args.words else None
    if args.dict:
        charset = load_character_list(args.dict, use_space_char=args.use_space_char, key="--dict")
    elif args.charset is not None:
        charset = args.charset
    else:
        charset = None if words else DEFAULT_CHARACTERS
    fonts = find_fonts(args.fonts, include_packages=not args.no_package_fonts)
    exclude = set()
    for path in args.exclude_label_file:
        exclude |= read_label_texts(path)
    common = dict(
        charset=charset,
        words=words,
        min_len=args.min_len,
        max_len=args.max_len,
        height=args.height,
        augment=not args.no_augment,
        exclude_texts=exclude,
        unique=args.unique,
        show_progress=not args.no_progress,
    )
    holdout_path = None
    if args.fonts_holdout:
        label_path, holdout_path, fonts, _held = render_font_holdout(
            args.output_dir,
            args.num,
            args.num_holdout or max(1, args.num // 10),
            fonts,
            args.fonts_holdout,
            seed=args.seed,
            label_file=args.label_file,
            **common,
        )
    else:
        label_path = render_dataset(
            args.output_dir, args.num, seed=args.seed, fonts=fonts, label_file=args.label_file, **common
        )
    meta = {
        "label_file": args.label_file,
        "num": args.num,
        "seed": args.seed,
        "charset": "".join(charset) if charset is not None else None,
        "dict": args.dict,
        "words": args.words,
        "min_len": args.min_len,
        "max_len": args.max_len,
        "fonts": fonts,
        "fonts_holdout": args.fonts_holdout,
        "holdout_label_file": os.path.basename(holdout_path) if holdout_path else None,
        "height": args.height,
        "augment": not args.no_augment,
        "unique": args.unique,
        "excluded_texts": len(exclude),
    }
    atomic_write_text(
        os.path.join(args.output_dir, "synth_meta.json"), json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
    )
    print(f"wrote {args.num} lines to {label_path}")
    if holdout_path:
        print(f"wrote {args.num_holdout or max(1, args.num // 10)} lines in held-out fonts to {holdout_path}")
    return 0
