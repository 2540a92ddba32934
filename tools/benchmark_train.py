"""Training speed on CPU: images/s of ResNet45 + CTC training steps in each execution mode (``ppresnet45 benchmark-train``; see its --help)."""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="benchmark-train"))
