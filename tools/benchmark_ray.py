"""Lines/s of ``infer --engine ray`` with 1 and 2 workers (1 thread each), against one local process (``ppresnet45 benchmark-ray``; see its --help)."""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="benchmark-ray"))
