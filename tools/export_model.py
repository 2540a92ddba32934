"""Export a recognizer to a Paddle inference model (PaddleOCR's ``tools/export_model.py``).

    python tools/export_model.py -c configs/rec/rec_resnet45_ctc.yml \\
        -o Global.pretrained_model=./output/rec_resnet45_ctc/best_accuracy \\
           Global.save_inference_dir=./inference/rec_resnet45_ctc [--onnx]
"""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="export"))
