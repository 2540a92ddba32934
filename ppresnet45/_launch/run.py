"""A script path for launchers that need one (``python -m paddle.distributed.launch ... run.py
COMMAND ...``): runs ``ppresnet45 COMMAND ...`` in each process. This folder holds nothing
else, so running the file by its path puts no other module on ``sys.path``."""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main())
