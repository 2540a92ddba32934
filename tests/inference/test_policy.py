"""The one agreement rule: used by auto, the int8 gate and the benchmark report."""

import pytest

from ppresnet45.inference.policy import DEFAULT_POLICY, AgreementPolicy, Measurement

REF = Measurement("paddle/fp32", ["abc", "de", "f", "gh"], images_per_s=100.0, accuracy=0.75)


def test_a_faster_candidate_within_the_drop_holds_and_its_reason_gives_the_figures():
    cand = Measurement("openvino/int8", ["abc", "de", "f", "gx"], images_per_s=250.0, accuracy=0.75)
    v = DEFAULT_POLICY.judge(REF, cand)
    assert v.holds and v.speedup == pytest.approx(2.5) and v.drop_points == pytest.approx(0.0)
    assert v.same_text == 0.75  # reported; with labels the accuracy drop decides
    assert v.reason.endswith(": holds") and "250.0 vs 100.0 lines/s (2.50x)" in v.reason and "\n" not in v.reason


def test_an_accuracy_drop_beyond_the_limit_is_refused_with_the_points():
    cand = Measurement("onnxruntime/int8", ["abc", "dx", "f", "gh"], images_per_s=300.0, accuracy=0.5)
    v = DEFAULT_POLICY.judge(REF, cand)
    assert not v.holds and v.drop_points == pytest.approx(25.0)
    assert "loses 25.00 points (> 0.5)" in v.reason and "word accuracy 50.00% vs 75.00%" in v.reason


def test_a_slower_candidate_is_refused_even_when_it_reads_the_same():
    cand = Measurement("onnxruntime/int8", list(REF.texts), images_per_s=81.0, accuracy=0.75)
    v = DEFAULT_POLICY.judge(REF, cand)
    assert not v.holds and "not faster than 1x paddle/fp32" in v.reason and "(0.81x)" in v.reason
    assert AgreementPolicy(min_speedup=0.5).judge(REF, cand).holds


def test_without_labels_the_share_of_identical_texts_decides():
    ref = Measurement("paddle/fp32", ["a"] * 20)
    close = Measurement("paddle/bf16", ["a"] * 19 + ["b"])
    far = Measurement("paddle/bf16", ["a"] * 18 + ["b", "c"])
    assert DEFAULT_POLICY.judge(ref, close).holds and DEFAULT_POLICY.agrees(ref.texts, close.texts)
    assert not DEFAULT_POLICY.judge(ref, far).holds and not DEFAULT_POLICY.agrees(ref.texts, far.texts)


@pytest.mark.parametrize("kwargs", [{"min_same_text": 1.5}, {"max_drop_points": -1}, {"min_speedup": -0.1}])
def test_out_of_range_settings_are_refused(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        AgreementPolicy(**kwargs)
