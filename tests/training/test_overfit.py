"""It learns: the full ResNet45 + CTC overfits 16 rendered lines to 100% word accuracy.

The backbone is the unchanged ResNet45 (blocks [3, 4, 6, 6, 3], widths 32..512); only the
input is small (32x64, the demo recipe's height-first strides give 16 CTC steps for texts
of 1-4 characters). Accuracy is measured in eval mode (BatchNorm running statistics), after
training mode has reached 100%: the running averages need a few dozen steps to settle.
"""

import json
import os

from ppresnet45.config import PACKAGE_CONFIG_DIR, load_config
from ppresnet45.training.trainer import Trainer

DEMO = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml")
SHAPE = [3, 32, 64]


def test_resnet45_ctc_overfits_16_lines(tmp_path):
    from ppresnet45.data.synth import render_dataset

    data = tmp_path / "data"
    render_dataset(str(data), 16, seed=1, min_len=1, max_len=4, augment=False, show_progress=False)
    ops = [{"DecodeImage": {"img_mode": "BGR", "channel_first": False}}, {"CTCLabelEncode": None},
           {"RecResizeImg": {"image_shape": SHAPE}}, {"KeepKeys": {"keep_keys": ["image", "label", "length"]}}]
    steps = 50
    config = load_config(DEMO, {
        "Global.image_shape": SHAPE,
        "Global.save_model_dir": str(tmp_path / "out"),
        "Global.epoch_num": steps,
        "Global.max_steps": steps,
        "Global.print_batch_step": 10,
        "Global.eval_batch_step": [0, 25],
        # one thread: on a busy 2-core machine two OpenMP threads per process run 2-5x slower
        "Global.cpu_threads": 1,
        "Optimizer.lr": {"name": "Const", "learning_rate": 0.001},
        "Train.dataset.data_dir": str(data),
        "Train.dataset.label_file_list": [str(data / "labels.txt")],
        "Train.dataset.transforms": ops,
        "Train.loader.batch_size_per_card": 16,
        "Eval.dataset.data_dir": str(data),
        "Eval.dataset.label_file_list": [str(data / "labels.txt")],
        "Eval.dataset.transforms": ops,
        "Eval.loader.batch_size_per_card": 16,
    })
    summary = Trainer(config, show_progress=False).fit()
    evals = [json.loads(line) for line in open(tmp_path / "out" / "train_log.jsonl") if '"eval"' in line]
    assert summary["global_step"] == steps
    assert evals[-1]["step"] == steps
    assert evals[-1]["acc"] == 1.0, evals
    assert summary["best"]["acc"] == 1.0
    assert summary["last_loss"] < 0.05
