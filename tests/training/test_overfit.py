"""It learns: the full ResNet45 + CTC overfits 16 rendered lines to 100% word accuracy.

The backbone is the unchanged ResNet45 (blocks [3, 4, 6, 6, 3], widths 32..512); only the
input is small (32x64, the demo recipe's height-first strides give 16 CTC steps for texts
of 1-4 characters). Accuracy is measured in eval mode (BatchNorm running statistics), after
training mode has reached 100%: the running averages need a few dozen steps to settle. The
training itself is the session fixture ``overfit_ctc`` (tests/conftest.py), which the int8
quantization tests reuse.
"""

import json
from pathlib import Path


def test_resnet45_ctc_overfits_16_lines(overfit_ctc):
    summary, steps = overfit_ctc["summary"], overfit_ctc["steps"]
    evals = [
        json.loads(line)
        for line in Path(overfit_ctc["out"] / "train_log.jsonl").read_text().splitlines()
        if '"eval"' in line
    ]
    assert summary["global_step"] == steps
    assert evals[-1]["step"] == steps
    assert evals[-1]["acc"] == 1.0, evals
    assert summary["best"]["acc"] == 1.0
    assert summary["last_loss"] < 0.05
