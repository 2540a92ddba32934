"""``python tools/train.py -c CONFIG [-o Section.key=value ...]``: same as ``ppresnet45 train``."""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="train"))
