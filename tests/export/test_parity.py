"""The export's parity check: inputs, tolerances, comparisons and the recorded numbers."""

import json

import numpy as np
import pytest

from ppresnet45.export.parity import (
    DEFAULT_LOGIT_RTOL,
    DEFAULT_TOLERANCE,
    ParityError,
    batch_tolerance,
    parity_batches,
    raise_on_parity_failure,
    run_parity_check,
)
from ppresnet45.inference.policy import REL_FLOOR, AgreementPolicy, compare_outputs


def test_parity_batches_change_batch_and_width_and_are_reproducible():
    dynamic = parity_batches([3, 32, 128], True)
    assert [b.shape for b in dynamic] == [(3, 3, 32, 128), (2, 3, 32, 256)]
    assert all(b.dtype == np.float32 and b.min() >= -1 and b.max() <= 1 for b in dynamic)
    assert all(b.std() > 0.05 for b in dynamic)  # rendered text, not a blank page
    np.testing.assert_array_equal(dynamic[1], parity_batches([3, 32, 128], True)[1])
    assert [b.shape for b in parity_batches([1, 48, 160], False)] == [(3, 1, 48, 160), (1, 1, 48, 160)]


def test_batch_tolerance_widens_with_large_logits_only():
    assert batch_tolerance(1e-4, 1e-6, 20.0) == 1e-4  # trained-like logits: the absolute tolerance
    assert batch_tolerance(1e-4, 1e-6, 1e4) == pytest.approx(5e-3)  # untrained: logit_rtol * max|z| / 2
    assert batch_tolerance(1e-4, 0, 1e9) == 1e-4


def test_compare_outputs_statistics():
    ref = np.array([[[0.9, 0.1], [0.2, 0.8]]])
    out = np.array([[[0.7, 0.3], [0.2, 0.8]]])
    stats = compare_outputs(ref, out)
    assert stats["max_abs"] == pytest.approx(0.2) and stats["mean_abs"] == pytest.approx(0.1)
    assert stats["max_rel"] == pytest.approx(2.0)  # 0.2 / 0.1
    assert stats["argmax_agreement"] == 1.0 and stats["finite"] is True
    tiny = compare_outputs(np.array([1e-9]), np.array([3e-9]))
    assert tiny["max_rel"] == pytest.approx(2e-9 / REL_FLOOR)  # relative to the floor, not to 1e-9
    assert compare_outputs(ref, np.full_like(ref, np.nan))["finite"] is False


def test_the_parity_rule_is_the_agreement_policys():
    ref = np.array([[[0.9, 0.1], [0.2, 0.8]], [[0.6, 0.4], [0.5, 0.5]]])
    policy = AgreementPolicy(prob_tolerance=1e-3, logit_rtol=1e-6)
    ok, stats = policy.outputs_match(ref, ref + 5e-4)
    assert ok and stats["tolerance"] == 1e-3 and stats["same_path"] == 1.0
    flipped = ref.copy()
    flipped[1, 0] = [0.4, 0.6]  # line 2's first step now reads the other class
    ok, stats = policy.outputs_match(ref, flipped)
    assert not ok and stats["max_abs"] == pytest.approx(0.2) and stats["same_path"] == 0.5
    assert policy.outputs_match(ref, ref, logit_absmax=1e4)[1]["tolerance"] == pytest.approx(5e-3)
    ok, stats = policy.outputs_match(ref, ref[:1])
    assert not ok and "output shape [1, 2, 2]" in stats["error"]
    assert not policy.outputs_match(ref, np.full_like(ref, np.nan))[0]
    with pytest.raises(ValueError, match="prob_tolerance"):
        AgreementPolicy(prob_tolerance=0)


def test_export_report_json_records_parity_numbers(small_export, config_path):
    out, report = small_export
    with open(out / "export_report.json", encoding="utf-8") as f:
        saved = json.load(f)
    assert saved["ok"] is True and saved["checked"] is True
    assert saved["input_shape"] == [None, 3, 32, -1]
    assert saved["tolerance"]["max_abs"] == DEFAULT_TOLERANCE
    assert saved["tolerance"]["logit_rtol"] == DEFAULT_LOGIT_RTOL
    # the small model has trained-like logits (~10-20): the absolute tolerance decides
    assert all(r["tolerance"] == DEFAULT_TOLERANCE and 1 < r["logit_absmax"] < 100 for r in saved["parity"])
    rows = {(r["backend"], r["input_shape"][3]) for r in saved["parity"]}
    assert rows == {("paddle", 128), ("paddle", 256), ("onnxruntime", 128), ("onnxruntime", 256)}
    for row in saved["parity"]:
        assert 0 <= row["max_abs"] <= DEFAULT_TOLERANCE and row["max_rel"] >= 0 and row["argmax_agreement"] == 1.0
        assert row["repeat_max_abs"] <= row["tolerance"]
    assert saved["config"] == str(config_path)
    assert saved == json.loads(json.dumps(report))


def test_a_differing_model_fails_the_check_with_the_worst_row(small_export):
    out, _ = small_export
    batches = parity_batches([3, 32, 128], True)[:1]
    wrong = [np.full((3, 32, 96), 1 / 96, np.float32)]  # not what the saved model computes
    rows = run_parity_check(out, ["paddle"], batches, wrong, [10.0])
    assert len(rows) == 1 and rows[0]["ok"] is False and rows[0]["max_abs"] > 0.01
    with pytest.raises(
        ParityError,
        match=r"parity check failed: paddle output at input \[3, 3, 32, 128\] differs "
        r"from the eager model by max abs .* > tolerance 0.0001; 'target' left",
    ):
        raise_on_parity_failure(rows, "target")
    shape_rows = run_parity_check(out, ["paddle"], batches, [np.zeros((3, 5, 96), np.float32)], [10.0])
    assert "output shape [3, 32, 96] != eager [3, 5, 96]" in shape_rows[0]["error"]
    raise_on_parity_failure([dict(rows[0], ok=True)], "target")  # all ok: no error


def test_a_failure_with_untrained_weights_says_it_may_be_no_conversion_fault():
    row = {"backend": "paddle", "input_shape": [3, 3, 32, 128], "max_abs": 2e-4, "tolerance": 1e-4, "ok": False}
    with pytest.raises(ParityError, match=r"left unchanged; the weights are untrained, .*--tolerance 1e-2") as info:
        raise_on_parity_failure([row], "target", untrained=True)
    assert "\n" not in str(info.value)
    with pytest.raises(ParityError, match=r"left unchanged$"):
        raise_on_parity_failure([row], "target")
