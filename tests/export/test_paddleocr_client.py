"""PaddleOCR 3's own client runs our CTC export and reads what ``ppresnet45 infer`` reads.

A small ResNet45 + CTC model is trained here until it reads its 16 rendered lines, exported,
and run by ``paddleocr.TextRecognition(model_name="PP-OCRv5_server_rec", model_dir=...)``
(PaddleX's text recognition predictor: it accepts only PaddleOCR's ``PreProcess`` ops and
refuses a ``Global.model_name`` other than the one it is given) in the PaddleOCR venv, in a
subprocess. Both must read the same text on at least 99 % of the lines.

The venv is ``.venv-paddleocr`` at the repository root (``make .venv-paddleocr``; ``make
test`` creates it first), or the Python named by ``PPRESNET45_PADDLEOCR_PYTHON``; without it
the test is skipped.
"""

import json
import os
import pathlib
import subprocess

import pytest
import yaml

from ppresnet45.cli import main
from ppresnet45.config import PACKAGE_CONFIG_DIR, load_config

REPO = pathlib.Path(__file__).resolve().parents[2]
PYTHON = os.environ.get("PPRESNET45_PADDLEOCR_PYTHON") or str(REPO / ".venv-paddleocr" / "bin" / "python")
pytestmark = [
    pytest.mark.slow,  # trains a small model and runs PaddleOCR's client in its own process
    pytest.mark.skipif(
        not os.access(PYTHON, os.X_OK),
        reason=f"PaddleOCR 3 client not found ({PYTHON}): run `make .venv-paddleocr` (`make test` does), or set "
        "PPRESNET45_PADDLEOCR_PYTHON to a Python with paddleocr==3.7.0",
    ),
]
SHAPE = [3, 32, 64]
STEPS = 60
CLIENT = """
import json, sys
import paddleocr
model = paddleocr.TextRecognition(model_name="PP-OCRv5_server_rec", model_dir=sys.argv[1])
paths = json.load(open(sys.argv[2], encoding="utf-8"))
rows = [{"path": r["input_path"], "text": r["rec_text"], "score": float(r["rec_score"])}
        for r in model.predict(paths, batch_size=4)]
print("@@rows " + json.dumps(rows, ensure_ascii=False))
"""


def _train(tmp):
    """16 rendered lines of 1-4 characters, learnt by the small-backbone ResNet45 (1 block per
    stage, same widths) in 60 steps; returns the label file and the best checkpoint."""
    from ppresnet45.data.synth import render_dataset
    from ppresnet45.training.trainer import Trainer

    labels = render_dataset(str(tmp / "data"), 16, seed=1, min_len=1, max_len=4, augment=False, show_progress=False)
    ops = [
        {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
        {"CTCLabelEncode": None},
        {"RecResizeImg": {"image_shape": SHAPE}},
        {"KeepKeys": {"keep_keys": ["image", "label", "length"]}},
    ]
    data = {"data_dir": str(tmp / "data"), "label_file_list": [labels], "transforms": ops}
    config = load_config(
        os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml"),
        {
            "Architecture.Backbone.layers": [1, 1, 1, 1, 1],
            "Global.image_shape": SHAPE,
            "Global.save_model_dir": str(tmp / "model"),
            "Global.epoch_num": STEPS,
            "Global.max_steps": STEPS,
            "Global.eval_batch_step": [0, STEPS],
            "Global.cpu_threads": 1,
            "Optimizer.lr": {"name": "Const", "learning_rate": 0.001},
            "Train.dataset": dict(data, name="SimpleDataSet"),
            "Train.loader.batch_size_per_card": 16,
            "Eval.dataset": dict(data, name="SimpleDataSet"),
            "Eval.loader.batch_size_per_card": 16,
        },
    )
    summary = Trainer(config, show_progress=False).fit()
    assert summary["best"]["acc"] >= 0.9, summary["best"]  # it reads its lines: the comparison means something
    return labels, config


def _paddleocr_rows(model_dir, paths, tmp):
    (tmp / "paths.json").write_text(json.dumps(paths), encoding="utf-8")
    env = dict(
        os.environ,
        PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK="True",
        PADDLE_PDX_CACHE_HOME=str(tmp / "pdx"),
        GLOG_minloglevel="2",
    )
    proc = subprocess.run(
        [PYTHON, "-c", CLIENT, str(model_dir), str(tmp / "paths.json")],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=600,
    )
    marked = [line for line in proc.stdout.splitlines() if line.startswith("@@rows ")]
    assert proc.returncode == 0 and marked, proc.stderr[-3000:]
    return json.loads(marked[-1][len("@@rows ") :])


def test_paddleocr_reads_our_trained_ctc_export_as_we_do(tmp_path, capsys):
    labels, _config = _train(tmp_path)
    out = tmp_path / "infer"
    assert (
        main(
            [
                "export",
                "-c",
                str(tmp_path / "model" / "config.yml"),
                "--pretrained",
                str(tmp_path / "model" / "best_accuracy"),
                "--save_dir",
                str(out),
            ]
        )
        == 0
    )
    cfg = yaml.safe_load((out / "inference.yml").read_text(encoding="utf-8"))
    assert "model_name" not in cfg["Global"]
    assert [next(iter(op)) for op in cfg["PreProcess"]["transform_ops"]] == ["DecodeImage", "RecResizeImg", "KeepKeys"]

    rows_file = tmp_path / "ours.jsonl"
    main(
        [
            "infer",
            "--model_dir",
            str(out),
            "--image_dir",
            labels,
            "--cpu_threads",
            "1",
            "--no_progress",
            "--output",
            str(rows_file),
        ]
    )
    ours = [json.loads(line) for line in rows_file.read_text(encoding="utf-8").splitlines()]
    theirs = {r["path"]: r["text"] for r in _paddleocr_rows(out, [r["path"] for r in ours], tmp_path)}

    same = sum(theirs[r["path"]] == r["text"] for r in ours)
    correct = sum(r["text"] == r["label"] for r in ours)
    print(
        f"PaddleOCR 3 client vs ppresnet45 infer: same text on {same}/{len(ours)} lines; "
        f"ppresnet45 reads {correct}/{len(ours)} labels"
    )
    assert len(ours) == 16 and same / len(ours) >= 0.99, [(r["text"], theirs[r["path"]]) for r in ours]
    assert correct >= 14
