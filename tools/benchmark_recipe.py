"""Does the demo recipe learn every time? (``ppresnet45 benchmark-recipe``; see its --help)."""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="benchmark-recipe"))
