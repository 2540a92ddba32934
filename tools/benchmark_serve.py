"""Load the recognition service with locust: throughput, latency, dynamic batching vs batch 1 (``ppresnet45 benchmark-serve``)."""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="benchmark-serve"))
