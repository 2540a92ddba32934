"""Helpers of the ABINet / VisionLAN training tests: PaddleOCR's configs, rendered data, CLI runs.

PaddleOCR's own ``rec_r45_abinet.yml`` / ``rec_r45_visionlan.yml`` are looked up under
``shared/third_party/paddleocr/configs/rec`` beside or inside the checkout, or under
``/work/shared``; tests that need them skip (with that reason) where they are absent.
"""

import json
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
_SHARED = [
    p / "third_party" / "paddleocr" / "configs" / "rec"
    for p in (REPO.parent / "shared", REPO / "shared", pathlib.Path("/work/shared"))
]
PADDLEOCR_CONFIG_DIR = next((p for p in _SHARED if p.is_dir()), None)
PADDLEOCR_MISSING = (
    "PaddleOCR's configs not found (expected shared/third_party/paddleocr/configs/rec beside or in "
    "the checkout, or under /work/shared)"
)


def paddleocr_config(name):
    """Path of PaddleOCR's ``rec_r45_<name>.yml``; skips the test when the shared files are absent."""
    if PADDLEOCR_CONFIG_DIR is None:
        pytest.skip(PADDLEOCR_MISSING)
    return str(PADDLEOCR_CONFIG_DIR / f"rec_r45_{name}.yml")


def render_lines(folder, num, seed, max_len=5, height=32):
    """Render ``num`` plain 0-9a-z lines (1..max_len characters) into ``folder``; returns the label file."""
    from ppresnet45.data.synth import render_dataset

    folder = pathlib.Path(folder)
    if not (folder / "labels.txt").exists():
        render_dataset(
            str(folder), num, seed=seed, min_len=1, max_len=max_len, height=height, augment=False, show_progress=False
        )
    return str(folder / "labels.txt")


def jsonl_records(save_dir, kind=None):
    """The records of ``save_dir/train_log.jsonl`` (of one ``type`` when given)."""
    with open(pathlib.Path(save_dir) / "train_log.jsonl", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    return [r for r in records if kind is None or r["type"] == kind]


def small_run_options(save_dir):
    """Overrides that make a recipe a 2-step CPU run on four lines (batch 2, one epoch)."""
    return [
        "Global.use_gpu=false",
        f"Global.save_model_dir={save_dir}",
        "Global.epoch_num=1",
        "Global.print_batch_step=1",
        "Global.cpu_threads=1",
        "Train.loader.batch_size_per_card=2",
        "Train.loader.num_workers=0",
        "Eval.loader.batch_size_per_card=2",
        "Eval.loader.num_workers=0",
    ]


def lmdb_options(lines):
    """``-o`` data paths for PaddleOCR's LMDBDataSet sections."""
    return [f"Train.dataset.data_dir={lines['train_lmdb']}", f"Eval.dataset.data_dir={lines['val_lmdb']}"]


def label_file_options(lines):
    """``-o`` data paths for SimpleDataSet sections (the label files ``ppresnet45 synth`` wrote)."""
    opts = []
    for mode, split in (("Train", "train"), ("Eval", "val")):
        folder = str(pathlib.Path(lines[split]).parent)
        opts += [f"{mode}.dataset.data_dir={folder}", f"{mode}.dataset.label_file_list=[{lines[split]}]"]
    return opts


def train_and_evaluate(config_path, options, save_dir):
    """``ppresnet45 train`` then ``ppresnet45 eval`` of its ``latest`` checkpoint, through the CLI.

    Returns:
        tuple[list[dict], dict]: the train records of ``train_log.jsonl`` and ``eval_result.json``.
    """
    from ppresnet45.cli import main

    assert main(["train", "-c", config_path, "-o", *options, "--no_progress"]) == 0
    train = jsonl_records(save_dir, "train")
    assert (
        main(["eval", "-c", config_path, "-o", *options, f"Global.checkpoints={save_dir}/latest", "--no_progress"]) == 0
    )
    with open(pathlib.Path(save_dir) / "eval_result.json", encoding="utf-8") as f:
        result = json.load(f)
    return train, result
