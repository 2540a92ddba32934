"""Post-training int8 quantization of an export (same as ``ppresnet45 quantize``).

    python tools/quantize.py --model_dir ./inference/rec_resnet45_ctc \\
        [--calib_data lines/ --eval_data heldout.txt --max_drop 0.5]
"""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="quantize"))
