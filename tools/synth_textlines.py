#!/usr/bin/env python3
"""Render synthetic text-line images and a PaddleOCR label file (``images/000000.png<TAB>text``).

    python tools/synth_textlines.py --output_dir ./synth --num 1000 --seed 0 \\
        [--charset STR | --dict FILE] [--words FILE] [--min_len 1] [--max_len 10] \\
        [--fonts PATH ...] [--height 32] [--no_augment] [--exclude_label_file FILE] [--unique]

The same seed gives byte-identical images and label file. No network or system fonts are
needed: Pillow's built-in font is always used, plus any fonts passed with ``--fonts``.
"""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="synth"))
