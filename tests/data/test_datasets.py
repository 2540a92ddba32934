"""SimpleDataSet, the batch sampler and build_dataloader: bad samples, ratios, workers, resume."""

import copy

import cv2
import numpy as np
import pytest

import ppresnet45
from ppresnet45.data import RecBatchSampler, SimpleDataSet, build_dataloader
from ppresnet45.errors import ConfigError, DataError

N_GOOD = 12
TRAIN_TRANSFORMS = [
    {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
    {"RecAug": None},
    {"CTCLabelEncode": None},
    {"RecResizeImg": {"image_shape": [3, 32, 128]}},
    {"KeepKeys": {"keep_keys": ["image", "label", "length"]}},
]


def write_line_image(path, text, width):
    img = np.full((32, width, 3), 255, np.uint8)
    cv2.putText(img, text, (2, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
    assert cv2.imwrite(str(path), img)


def make_dataset_dir(root, n_good=N_GOOD, bad=True, name="train.txt"):
    """Write ``n_good`` readable samples plus one of every kind of bad sample.

    Returns the label file path."""
    (root / "img").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n_good):
        text = f"w{i}x"
        write_line_image(root / "img" / f"{i}.png", text, width=40 + 17 * i)
        lines.append(f"img/{i}.png\t{text}")
    if bad:
        (root / "img" / "corrupt.png").write_bytes(b"\x89PNG but not really")
        lines += [
            "img/corrupt.png\tcorrupt",  # undecodable_image
            "img/nowhere.png\tmissing",  # missing_image
            "img/0.png\t",  # empty_label
            "img/1.png\t" + "a" * 30,  # label_too_long (max 25)
            "img/2.png\tab\u00e9cd",  # unknown_char: é is not in en_dict
            "img/3.png has no tab",  # malformed_label
        ]
    label_file = root / name
    label_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return label_file


def make_config(root, label_files, batch_size=4, num_workers=0, shuffle=True, drop_last=False, **glob):
    cfg = ppresnet45.load_config("configs/rec/rec_resnet45_ctc.yml")
    cfg["Global"].update(glob)
    cfg["Train"]["dataset"] = {
        "name": "SimpleDataSet",
        "data_dir": str(root),
        "label_file_list": [str(f) for f in label_files],
        "transforms": copy.deepcopy(TRAIN_TRANSFORMS),
    }
    cfg["Train"]["loader"] = {
        "batch_size_per_card": batch_size,
        "shuffle": shuffle,
        "drop_last": drop_last,
        "num_workers": num_workers,
    }
    return cfg


def collect(loader):
    return [[t.numpy() for t in batch] for batch in loader]


def assert_same_batches(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert len(x) == len(y)
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v)


ALL_BAD = {
    "undecodable_image": 1,
    "missing_image": 1,
    "empty_label": 1,
    "label_too_long": 1,
    "unknown_char": 1,
    "malformed_label": 1,
}


def test_every_kind_of_bad_sample_is_skipped_and_counted(tmp_path):
    label_file = make_dataset_dir(tmp_path)
    loader = build_dataloader(make_config(tmp_path, [label_file]), "Train", seed=3)
    # label-level problems are excluded at init; image problems are found while loading
    assert loader.dataset.prescan_counts == {
        "empty_label": 1,
        "label_too_long": 1,
        "unknown_char": 1,
        "malformed_label": 1,
    }
    assert len(loader.dataset) == N_GOOD + 2
    assert len(loader) == 4  # 14 samples, batch 4, keep the last partial batch
    batches = collect(loader)
    assert sum(len(b[0]) for b in batches) == N_GOOD + 2  # replaced, not dropped
    assert loader.skip_counts() == ALL_BAD
    for image, label, length in batches:
        assert image.dtype == np.float32 and image.shape[1:] == (3, 32, 128)
        assert label.dtype == np.int64 and label.shape[1] == 25 and length.dtype == np.int64
        assert np.all(length > 0) and np.all(label[np.arange(25)[None, :] >= length[:, None]] == 0)
    # counts are per pass: a new epoch counts from zero again
    loader.set_epoch(1)
    batch_iter = iter(loader)
    next(batch_iter)
    assert sum(loader.skip_counts(include_excluded=False).values()) <= 2
    assert sum(len(b[0]) for b in batch_iter) == N_GOOD + 2 - 4
    assert loader.skip_counts() == ALL_BAD
    # without the init exclusions (what ranks other than 0 report): only image failures
    assert loader.skip_counts(include_excluded=False) == {"undecodable_image": 1, "missing_image": 1}


def test_unknown_chars_are_dropped_when_configured(tmp_path):
    label_file = make_dataset_dir(tmp_path)
    loader = build_dataloader(make_config(tmp_path, [label_file], shuffle=False, drop_unknown_chars=True), "Train")
    expected = dict(ALL_BAD)
    del expected["unknown_char"]
    assert loader.dataset.prescan_counts == {"empty_label": 1, "label_too_long": 1, "malformed_label": 1}
    collect(loader)
    assert loader.skip_counts() == expected
    # the é sample is kept with é dropped: "abcd"
    entry = loader.dataset.texts.index("ab\u00e9cd")
    _, label, length = loader.dataset[entry]
    charset = loader.dataset.ops[2].charset
    assert int(length) == 4 and label[:4].tolist() == charset.encode("abcd")[0]


def test_two_workers_give_the_same_batches_and_counts_as_zero(tmp_path):
    label_file = make_dataset_dir(tmp_path)
    single = build_dataloader(make_config(tmp_path, [label_file], num_workers=0), "Train", seed=5)
    multi = build_dataloader(make_config(tmp_path, [label_file], num_workers=2), "Train", seed=5)
    a, b = collect(single), collect(multi)
    assert_same_batches(a, b)  # augmentation included: it is seeded per sample, not per worker
    assert multi.skip_counts() == single.skip_counts() == ALL_BAD
    assert [x.shape for x in b[0]] == [(4, 3, 32, 128), (4, 25), (4,)]


def test_epochs_reshuffle_deterministically(tmp_path):
    label_file = make_dataset_dir(tmp_path, bad=False)
    loader = build_dataloader(make_config(tmp_path, [label_file]), "Train", seed=11)
    sampler = loader.batch_sampler
    first = sampler.epoch_keys()[:, 0].copy()
    loader.set_epoch(1)
    second = sampler.epoch_keys()[:, 0].copy()
    loader.set_epoch(0)
    np.testing.assert_array_equal(sampler.epoch_keys()[:, 0], first)
    assert sorted(first) == sorted(second) == list(range(N_GOOD)) and not np.array_equal(first, second)
    other_seed = build_dataloader(make_config(tmp_path, [label_file]), "Train", seed=12).batch_sampler
    assert not np.array_equal(other_seed.epoch_keys()[:, 0], first)


def test_sampler_shards_one_permutation_across_ranks(tmp_path):
    label_file = make_dataset_dir(tmp_path, n_good=10, bad=False)
    dataset = SimpleDataSet(str(tmp_path), [str(label_file)], transforms=None, seed=0)
    whole = RecBatchSampler(dataset, 2, shuffle=True, seed=7).epoch_keys()
    shards = [RecBatchSampler(dataset, 2, shuffle=True, seed=7, rank=r, world_size=3) for r in range(3)]
    keys = [s.epoch_keys() for s in shards]
    assert all(len(k) == 4 for k in keys) and all(len(s) == 2 for s in shards)  # ceil(10 / 3) = 4 each
    positions = np.concatenate([k[:, 2] for k in keys])
    assert sorted(positions) == list(range(12))  # disjoint, padded by wrapping
    for k in keys:  # each rank's entries are its positions of the single-rank order
        np.testing.assert_array_equal(k[:, 0], whole[k[:, 2] % 10, 0])
    assert set(np.concatenate([k[:, 0] for k in keys])) == set(range(10))
    drop = RecBatchSampler(dataset, 3, drop_last=True, rank=1, world_size=3)
    assert len(drop) == 1 and [len(b) for b in drop] == [3]
    with pytest.raises(ConfigError, match="rank"):
        RecBatchSampler(dataset, 2, rank=3, world_size=3)


def test_resume_with_start_batch_gives_the_remaining_batches(tmp_path):
    label_file = make_dataset_dir(tmp_path)
    cfg = make_config(tmp_path, [label_file], batch_size=3)
    full = build_dataloader(cfg, "Train", seed=9, epoch=2)
    expected = collect(full)
    resumed = build_dataloader(cfg, "Train", seed=9, epoch=2, start_batch=2)
    assert len(resumed) == len(full) == 5
    assert_same_batches(collect(resumed), expected[2:])
    # the offset applies to one pass; set_epoch to the same epoch keeps a pending offset
    assert_same_batches(collect(resumed), expected)
    resumed.set_epoch(2, start_batch=4)
    resumed.set_epoch(2)
    assert_same_batches(collect(resumed), expected[4:])
    with pytest.raises(ConfigError, match="start_batch"):
        build_dataloader(cfg, "Train", seed=9, start_batch=6)


def test_ratio_list_samples_each_file_per_epoch(tmp_path):
    a = make_dataset_dir(tmp_path / "a", n_good=4, bad=False)
    b = make_dataset_dir(tmp_path / "b", n_good=10, bad=False)
    # label files with paths relative to tmp_path
    b.write_text(b.read_text().replace("img/", "b/img/"))
    a.write_text(a.read_text().replace("img/", "a/img/"))
    ds = SimpleDataSet(str(tmp_path), [str(a), str(b)], ratio_list=[2.0, 0.5], transforms=None, seed=1)
    e0, e1 = ds.epoch_entries(0), ds.epoch_entries(1)
    assert len(e0) == len(e1) == 8 + 5
    assert sorted(e0[:8].tolist()) == sorted([0, 1, 2, 3] * 2)  # file a twice
    b0, b1 = set(e0[8:].tolist()), set(e1[8:].tolist())
    assert len(b0) == 5 and b0 <= set(range(4, 14)) and b0 != b1  # a fresh half of file b each epoch
    again = SimpleDataSet(str(tmp_path), [str(a), str(b)], ratio_list=[2.0, 0.5], transforms=None, seed=1)
    np.testing.assert_array_equal(again.epoch_entries(1), e1)
    with pytest.raises(ConfigError, match="ratio_list"):
        SimpleDataSet(str(tmp_path), [str(a), str(b)], ratio_list=[1.0], transforms=None)


def test_dataset_config_errors_name_the_key(tmp_path):
    label_file = make_dataset_dir(tmp_path, n_good=2, bad=False)
    cfg = make_config(tmp_path, [label_file, tmp_path / "nope.txt"])
    with pytest.raises(DataError, match=r"Train.dataset: .*label_file_list\[1\].*nope.txt"):
        build_dataloader(cfg, "Train")
    cfg = make_config(tmp_path, [label_file], batch_size=8, drop_last=True)
    with pytest.raises(ConfigError, match="batch_size_per_card"):
        build_dataloader(cfg, "Train")
    bad_only = tmp_path / "bad.txt"
    bad_only.write_text("img/0.png\t\nimg/1.png\t" + "z" * 40 + "\n")
    with pytest.raises(DataError, match="no usable samples"):
        build_dataloader(make_config(tmp_path, [bad_only]), "Train")
    cfg = make_config(tmp_path, [label_file])
    cfg["Train"]["dataset"]["transforms"][1] = {"RecAug": {"blur_prob": 2}}
    with pytest.raises(ConfigError, match=r"transforms\[1\]: RecAug.blur_prob"):
        build_dataloader(cfg, "Train")
    # a wrong KeepKeys name is caught when the loader is built, before any worker runs
    cfg = make_config(tmp_path, [label_file], num_workers=2)
    cfg["Train"]["dataset"]["transforms"][-1] = {"KeepKeys": {"keep_keys": ["image", "lable"]}}
    with pytest.raises(ConfigError, match="no key 'lable'"):
        build_dataloader(cfg, "Train")
    with pytest.raises(ConfigError, match="mode"):
        build_dataloader(cfg, "Test")


def test_an_error_inside_the_dataset_reaches_the_caller_without_workers(tmp_path):
    # Regression: with num_workers 0 an exception in the dataset ended Paddle's prefetch thread
    # and the training loop waited forever.
    from ppresnet45.data.loader import RecDataLoader

    label_file = make_dataset_dir(tmp_path, bad=False)

    class Broken(SimpleDataSet):
        def load(self, key):
            raise RuntimeError(f"broken sample {key}")

    dataset = Broken(str(tmp_path), [str(label_file)], transforms=TRAIN_TRANSFORMS, global_config={})
    loader = RecDataLoader(dataset, RecBatchSampler(dataset, batch_size=2, shuffle=False), num_workers=0)
    with pytest.raises(RuntimeError, match="broken sample"):
        next(iter(loader))


@pytest.mark.parametrize(
    "change, words",
    [
        ({"data_dir": 2.5}, ["Train.dataset: SimpleDataSet.data_dir: expected a folder path", "2.5"]),
        ({"data_dir": [1, "a"]}, ["SimpleDataSet.data_dir", "[1, 'a']"]),
        (
            {"label_file_list": [[1, "a"]]},
            ["Train.dataset: SimpleDataSet.label_file_list[0]: expected a path", "[1, 'a']"],
        ),
        ({"label_file_list": [None]}, ["SimpleDataSet.label_file_list[0]", "None"]),
        ({"ratio_list": [10**12]}, ["SimpleDataSet.ratio_list[0]", "1000000000000"]),
        ({"ratio_list": [float("nan")]}, ["SimpleDataSet.ratio_list[0]", "nan"]),
        ({"ratio_list": ["x"]}, ["SimpleDataSet.ratio_list[0]", "'x'"]),
    ],
)
def test_malformed_paths_and_ratios_are_one_line_config_errors(tmp_path, change, words):
    # Regression (fuzz): Train.dataset.data_dir=2.5 / label_file_list.0=[1, 'a'] raised os.fspath's TypeError.
    from ppresnet45.data.datasets import build_dataset

    label_file = make_dataset_dir(tmp_path, n_good=2, bad=False)
    cfg = make_config(tmp_path, [label_file])
    cfg["Train"]["dataset"].update(change)
    with pytest.raises(ConfigError) as err:
        build_dataset(cfg, "Train")
    msg = str(err.value)
    assert "\n" not in msg and all(w in msg for w in words), msg
