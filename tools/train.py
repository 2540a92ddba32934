"""``python tools/train.py -c CONFIG [-o Section.key=value ...]``: same as ``ppresnet45 train``."""

import os
import sys

os.environ.setdefault("GLOG_minloglevel", "2")

from ppresnet45.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="train"))
