"""Pack a PaddleOCR label file and its images into an LMDB dataset.

python tools/lmdb_convert.py --label_file train_data/train_list.txt --output train_data/lmdb/train --check
"""

import sys

from ppresnet45.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="convert-lmdb"))
