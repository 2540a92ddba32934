"""``ppresnet45 demo`` (what ``make demo`` runs): every step and output, untrained and trained."""

import json
import os
from pathlib import Path

import cv2
import numpy as np
import paddle
import pytest
import yaml

from ppresnet45.cli import main
from ppresnet45.config import load_config
from ppresnet45.demo import DEFAULT_CONFIG, DEMO_CONFIG
from ppresnet45.inference.images import list_image_sources
from ppresnet45.modeling import build_model
from ppresnet45.training.checkpoint import save_checkpoint
from ppresnet45.utils.cpu import cpu_has_bf16

pytestmark = pytest.mark.slow  # training, exports or third-party clients: over ~10 s on 2 cores


def _outputs(out):
    preds = [json.loads(line) for line in Path(out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    bench = json.loads((out / "benchmark" / "benchmark.json").read_text(encoding="utf-8"))
    with open(out / "inference" / "inference.yml", encoding="utf-8") as f:
        info = yaml.safe_load(f)
    return preds, bench, info


def test_untrained_demo_writes_every_output_and_says_the_weights_are_untrained(tmp_path, capsys):
    out = tmp_path / "demo"
    # -c: the built-in config, untrained, whatever a local output/demo holds
    rc = main(
        ["--output_dir", str(out), "--num_lines", "12", "--bench_iters", "1", "-c", DEFAULT_CONFIG], command="demo"
    )
    printed = capsys.readouterr().out
    assert rc == 0
    assert "UNTRAINED" in printed and "tools/train_demo.py" in printed
    preds, bench, info = _outputs(out)
    labels = list_image_sources(str(out / "lines" / "labels.txt")).labels
    assert len(preds) == len(labels) == 12
    assert [p["label"] for p in preds] == labels
    assert all("text" in p and 0.0 <= p["score"] <= 1.0 for p in preds)
    assert (out / "inference" / "inference.json").is_file() and (out / "inference" / "inference.pdiparams").is_file()
    # the default config: ResNet45 + CTC at 32x128 with the printable-ASCII dictionary
    assert info["Global"]["image_shape"] == [3, 32, 128] and info["Global"]["untrained"] is True
    assert "A" in info["PostProcess"]["character_dict"]
    rows = bench["records"]
    # BF16 is benchmarked where the CPU has it (also under ONEDNN_MAX_CPU_ISA=AVX2: not there)
    precisions = ("fp32", "bf16") if cpu_has_bf16() else ("fp32",)
    assert {(r["precision"], r["batch_size"]) for r in rows} == {(p, bs) for p in precisions for bs in (1, 8)}
    assert ("FP32 and BF16" in printed) == cpu_has_bf16()
    assert all(r["throughput_ips"] > 0 for r in rows)
    for path in bench["outputs"].values():
        assert os.path.isfile(path) and path in printed  # the list of outputs names every file


def test_trained_demo_exports_the_checkpoint_with_the_demo_config_on_plain_lines(tmp_path, capsys):
    # A stand-in for tools/train_demo.py's output: a demo-config checkpoint and its result file.
    run_dir = tmp_path / "run"
    config = load_config(DEMO_CONFIG)
    model = build_model(config)
    save_checkpoint(str(run_dir / "model" / "best_accuracy"), model)
    (run_dir / "demo_result.json").write_text(json.dumps({"augment": "none"}), encoding="utf-8")
    weights = {k: v.numpy() for k, v in model.state_dict().items()}

    out = tmp_path / "demo"
    rc = main(
        [
            "--output_dir",
            str(out),
            "--num_lines",
            "8",
            "--bench_iters",
            "1",
            "--checkpoint",
            str(run_dir / "model" / "best_accuracy.pdparams"),
        ],
        command="demo",
    )
    printed = capsys.readouterr().out
    assert rc == 0
    assert "UNTRAINED" not in printed and "weights: trained" in printed
    preds, _bench, info = _outputs(out)
    assert len(preds) == 8
    # the demo dictionary (digits + lowercase) and the checkpoint's own weights were exported
    assert info["PostProcess"]["character_dict"] == list("0123456789abcdefghijklmnopqrstuvwxyz")
    assert info["Global"]["untrained"] is False
    exported = paddle.load(str(out / "inference" / "model.pdparams"))
    assert set(exported) == set(weights)
    # randomly initialised tensors, so a fresh model's values could not match by chance
    for key in ("backbone.conv1.weight", "backbone.layer3.0.downsample.0.weight", "head.fc.weight"):
        np.testing.assert_array_equal(np.asarray(exported[key]), weights[key], err_msg=key)
    # lines in fonts the run never trained on, recognized and reported on their own
    held = [
        json.loads(line)
        for line in Path(out / "predictions_heldout_fonts.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert len(held) == 8 // 3 and all(r["text"] is not None for r in held)
    assert "lines in fonts never seen in training" in printed
    families = {"computer_modern", "dejavu_sans", "dejavu_sans_mono", "dejavu_serif", "stixgeneral"}
    assert {os.path.basename(os.path.dirname(r["path"])) for r in held} <= families
    # lines rendered plain (black on white), as the checkpoint's run was trained on
    first = sorted((out / "lines").rglob("*.png"))[0]
    img = cv2.imread(str(first))
    assert img is not None
    assert np.all(img[0, :] == 255) and img.min() == 0


def test_a_checkpoint_that_is_not_there_is_an_error_not_an_untrained_demo(tmp_path, capsys):
    rc = main(["demo", "--output_dir", str(tmp_path / "out"), "--checkpoint", str(tmp_path / "nope" / "best")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith("error: --checkpoint") and "not found" in err[-1]
    assert not (tmp_path / "out" / "inference").exists()
