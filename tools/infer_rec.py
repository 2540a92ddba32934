"""Recognize text-line images with an exported model (PaddleOCR's ``tools/infer/predict_rec.py``).

    python tools/infer_rec.py --model_dir ./inference/rec_resnet45_ctc --image_dir ./crops \\
        [--batch_size 8] [--backend auto] [--precision fp32|bf16|int8] [--output results.jsonl]

``--image_dir`` takes an image, a folder (recursive) or a ``path<TAB>text`` label file
(then accuracy is reported). One JSON line per image goes to ``--output`` or stdout.
``--backend auto`` (the default) times the available runtimes on the first lines and keeps
the fastest whose text agrees with fp32 (cached per model and CPU).
"""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="infer"))
