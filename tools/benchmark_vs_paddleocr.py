"""Whole-process speed and text agreement: ``ppresnet45 infer`` vs PaddleOCR's recognizer.

    python tools/benchmark_vs_paddleocr.py --model_dir ./inference/rec_resnet45_ctc \\
        [--image_dir LINES | --num_lines 2000] [--cpu_threads 2] [--batch_size 8] [--rounds 3] \\
        [--paddleocr_python .venv-paddleocr/bin/python] [--isa AVX2] [--output_dir output/versus] \\
        [-- --backend auto --precision bf16]

Writes versus.json and versus.md to ``--output_dir``; docs/speed_vs_paddleocr.md explains the
method; ``--help`` lists every flag.
"""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="versus"))
