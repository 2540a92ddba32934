"""The demo training run (``ppresnet45 train-demo``; see its --help): render data, train, evaluate on held-out strings and fonts."""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="train-demo"))
