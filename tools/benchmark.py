"""Benchmark an exported model: latency, throughput, memory and GFLOP/s per backend.

    python tools/benchmark.py --model_dir ./inference/rec_resnet45_ctc \\
        [--batch_sizes 1,8,32] [--backends paddle,onnxruntime] [--precision fp32,bf16] \\
        [--cpu_threads N] [--rounds 3] [--output_dir output/benchmark]

``--cpu_threads`` defaults to the cores this process may use. Writes benchmark.json,
benchmark.md and benchmark.png to ``--output_dir``; ``--help`` lists every flag.
"""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="benchmark"))
