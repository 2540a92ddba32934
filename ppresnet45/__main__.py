"""``python -m ppresnet45 COMMAND ...``: the same as the ``ppresnet45`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
