"""int8 vs bf16 vs FP32 on this CPU (``ppresnet45 benchmark-int8``; see its --help).

python tools/benchmark_int8.py [--checkpoint output/demo/model/best_accuracy --data output/demo/data]
"""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="benchmark-int8"))
