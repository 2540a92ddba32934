"""Recognition metrics on known predictions; edit distance; unknown Metric keys."""

import random

import pytest

from ppresnet45.errors import RegistryError
from ppresnet45.modeling.metrics import (
    RecMetric,
    edit_distance,
    normalized_edit_distance,
    worst_samples,
)
from ppresnet45.registry import METRICS


@pytest.mark.parametrize(
    "a, b, d",
    [("", "", 0), ("abc", "", 3), ("kitten", "sitting", 3), ("abc", "abc", 0), ("ab", "ba", 2), ("flaw", "lawn", 2)],
)
def test_edit_distance_known_values(a, b, d):
    assert edit_distance(a, b) == d == edit_distance(b, a)


def _reference_distance(a, b):
    """Textbook dynamic-programming Levenshtein distance."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def test_edit_distance_matches_the_dynamic_programming_definition():
    rng = random.Random(0)
    for _ in range(300):
        a = "".join(rng.choice("ab中 c") for _ in range(rng.randint(0, 12)))
        b = "".join(rng.choice("ab中 c") for _ in range(rng.randint(0, 12)))
        d = _reference_distance(a, b)
        assert edit_distance(a, b) == d and isinstance(edit_distance(a, b), int)
        assert normalized_edit_distance(a, b) == pytest.approx(d / max(len(a), len(b), 1))


def test_rec_metric_on_known_predictions():
    metric = METRICS.build({"name": "RecMetric", "main_indicator": "acc"})
    assert isinstance(metric, RecMetric)
    preds = [("abc", 0.9), ("ABD", 0.8), ("hello", 0.7), ("", 0.0)]
    labels = [("abc", 1.0), ("abd", 1.0), ("help", 1.0), ("xy", 1.0)]
    batch = metric((preds, labels))
    assert batch["acc"] == pytest.approx(0.25)
    metric.update([("Q1", 1.0)], ["q1"])
    out = metric.get_metric()
    assert out["num_samples"] == 5
    assert out["acc"] == pytest.approx(1 / 5)
    assert out["acc_case_insensitive"] == pytest.approx(3 / 5)  # ABD/abd and Q1/q1 match ignoring case
    neds = [0, 1.0, 2 / 5, 1.0, 1 / 2]  # case counts: "ABD" vs "abd" is 3 of 3; "hello" vs "help": 2 of 5
    assert "mean_norm_edit_distance" not in out  # one name, one direction
    assert out["norm_edit_dis"] == pytest.approx(1 - sum(neds) / 5)
    assert out["acc_by_length"] == {
        2: {"acc": 0.0, "count": 2},
        3: {"acc": 0.5, "count": 2},
        4: {"acc": 0.0, "count": 1},
    }
    assert metric.get_metric()["num_samples"] == 0  # get_metric resets


def test_rec_metric_ignores_spaces_by_default_and_filter_mode():
    m = RecMetric()
    m.update(["a b"], ["ab"])
    assert m.get_metric()["acc"] == 1.0
    m = RecMetric(is_filter=True)
    m.update(["A-b!"], ["ab"])
    assert m.get_metric()["acc"] == 1.0
    assert normalized_edit_distance("", "") == 0.0


def test_rec_metric_accepts_the_keys_of_paddleocr_configs():
    m = METRICS.build(
        {"name": "RecMetric", "main_indicator": "acc", "is_filter": True, "ignore_space": False, "eps": 1e-5}
    )
    assert (m.main_indicator, m.is_filter, m.ignore_space) == ("acc", True, False)


def test_unknown_metric_keyword_is_a_one_line_error_with_a_suggestion():
    with pytest.raises(RegistryError) as err:
        METRICS.build({"name": "RecMetric", "main_indicater": "acc"})
    msg = str(err.value)
    assert len(msg.splitlines()) == 1
    assert "Metric 'RecMetric'" in msg and "'main_indicater'" in msg and "did you mean 'main_indicator'" in msg
    assert "accepted: main_indicator, is_filter, ignore_space" in msg


def test_worst_samples_sorted_by_edit_distance():
    m = RecMetric(keep_records=True)
    m.update(
        [("abc", 0.9), ("x", 0.2), ("abcd", 0.5), ("q", 0.1)],
        ["abc", "xyz", "abxy", "p"],
        extras=[{"img_path": f"{i}.png"} for i in range(4)],
    )
    worst = worst_samples(m.records(), 2)
    assert [w["img_path"] for w in worst] == ["1.png", "2.png"]  # distances 2 (ned 2/3) and 2 (ned 2/4)
    assert all(not w["correct"] for w in worst_samples(m.records(), 10))


def test_accuracy_by_group_follows_the_image_folder():
    from ppresnet45.modeling.metrics import RecMetric

    metric = RecMetric()
    extras = [
        {"img_path": p}
        for p in ("d/holdout/dejavu_serif/0.png", "d/holdout/dejavu_serif/1.png", "d/holdout/lato/2.png")
    ]
    metric.update([("ab", 1.0), ("xy", 1.0), ("cd", 1.0)], ["ab", "xz", "cd"], extras)
    out = metric.get_metric()
    assert out["acc_by_group"] == {
        "dejavu_serif": {"acc": 0.5, "norm_edit_dis": 0.75, "count": 2},
        "lato": {"acc": 1.0, "norm_edit_dis": 1.0, "count": 1},
    }
    metric.update([("ab", 1.0)], ["ab"], [{"img_path": "one/folder/0.png"}])
    assert "acc_by_group" not in metric.get_metric()  # one folder: nothing to compare
