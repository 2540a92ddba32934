"""Plot training curves from ``train_log.jsonl`` (``ppresnet45 plot``).

python tools/plot_log.py output/demo/model/train_log.jsonl -o curves.png
"""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="plot"))
