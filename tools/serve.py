"""The recognition service over HTTP (FastAPI on uvicorn, or Ray Serve with --engine ray).

    python tools/serve.py --model_dir ./inference/rec_resnet45_ctc [--port 8000] [--max_batch_size 16]
    curl -F images=@line.png http://127.0.0.1:8000/v1/recognize

See docs/scale_out.md for the API and the options.
"""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="serve"))
