"""The rendered lines the ABINet / VisionLAN training tests share (see family_runs.py)."""

import pytest
from family_runs import render_lines


@pytest.fixture(scope="session")
def synth_lines(tmp_path_factory):
    """Four rendered lines for training and four for evaluation, as label files and as LMDBs
    (one LMDB per split: PaddleOCR's layout, training/ and evaluation/)."""
    from ppresnet45.data.lmdb_convert import create_lmdb_dataset

    root = tmp_path_factory.mktemp("synth")
    out = {}
    for split, seed in (("train", 3), ("val", 4)):
        out[split] = render_lines(root / split, 4, seed)
        out[split + "_lmdb"] = str(root / f"{split}_lmdb")
        create_lmdb_dataset(out[split], output_dir=out[split + "_lmdb"], show_progress=False)
    return out
