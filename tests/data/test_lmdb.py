"""convert-lmdb and LMDBDataSet: round trip, bad records, CLI, missing dependency."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

import ppresnet45
from ppresnet45.cli import main
from ppresnet45.data import LMDBDataSet, build_dataloader
from ppresnet45.data.lmdb_convert import create_lmdb_dataset
from ppresnet45.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
N_GOOD = 8
TRANSFORMS = [
    {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
    {"RecAug": None},
    {"CTCLabelEncode": None},
    {"RecResizeImg": {"image_shape": [3, 32, 128]}},
    {"KeepKeys": {"keep_keys": ["image", "label", "length"]}},
]


def make_images(root, n_good=N_GOOD, prefix="w"):
    """Label file with ``n_good`` readable images and a corrupt, a missing, an empty-label,
    a too-long, an unknown-character and a malformed line."""
    (root / "img").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n_good):
        img = np.full((32, 50 + 13 * i, 3), 255, np.uint8)
        cv2.putText(img, f"{prefix}{i}", (2, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
        cv2.imwrite(str(root / "img" / f"{i}.jpg"), img)
        lines.append(f"img/{i}.jpg\t{prefix}{i}")
    (root / "img" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff garbage")
    lines += [
        "img/corrupt.jpg\tcorrupt",
        "img/missing.jpg\tmissing",
        "img/0.jpg\t",
        "img/1.jpg\t" + "q" * 26,
        "img/2.jpg\tna\u00efve",
        "no delimiter here",
    ]
    label_file = root / "labels.txt"
    label_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return label_file


def lmdb_config(data_dir, num_workers=0, **dataset):
    cfg = ppresnet45.load_config(os.path.join(REPO, "configs/rec/rec_resnet45_ctc.yml"))
    cfg["Train"]["dataset"] = dict(
        {"name": "LMDBDataSet", "data_dir": str(data_dir), "transforms": TRANSFORMS}, **dataset
    )
    cfg["Train"]["loader"] = {"batch_size_per_card": 4, "shuffle": True, "drop_last": False, "num_workers": num_workers}
    return cfg


def test_create_lmdb_round_trip_with_check(tmp_path):
    lmdb = pytest.importorskip("lmdb")
    label_file = make_images(tmp_path / "src")
    out = tmp_path / "lmdb" / "train"
    report = create_lmdb_dataset(str(label_file), output_dir=str(out), check=True, show_progress=False)
    assert (report["written"], report["missing_image"], report["undecodable_image"], report["malformed_label"]) == (
        N_GOOD + 3,
        1,
        1,
        1,
    )
    assert json.loads((out / "convert_report.json").read_text())["written"] == N_GOOD + 3
    assert [p.name for p in (tmp_path / "lmdb").iterdir()] == ["train"]  # no temp folder left behind
    env = lmdb.open(str(out), readonly=True, lock=False)
    with env.begin() as txn:
        assert txn.get(b"num-samples") == str(N_GOOD + 3).encode()
        assert txn.get(b"image-000000001") == (tmp_path / "src" / "img" / "0.jpg").read_bytes()
        assert txn.get(b"label-000000001").decode() == "w0"
        assert txn.get(b"label-%09d" % (N_GOOD + 3)).decode() == "na\u00efve"
        assert txn.get(b"image-000000000") is None  # indices are 1-based
    env.close()


def test_lmdb_dataset_counts_bad_records_with_two_workers(tmp_path):
    lmdb = pytest.importorskip("lmdb")
    label_file = make_images(tmp_path / "src")
    out = tmp_path / "lmdb" / "train"
    report = create_lmdb_dataset(str(label_file), output_dir=str(out), check=False, show_progress=False)
    assert report["written"] == N_GOOD + 4 and report["undecodable_image"] == 0  # corrupt one kept unchecked
    env = lmdb.open(str(out))
    with env.begin(write=True) as txn:
        txn.delete(b"image-000000003")  # a record whose image is gone
    env.close()
    loader = build_dataloader(lmdb_config(tmp_path / "lmdb", num_workers=2), "Train", seed=4)
    assert len(loader.dataset) == N_GOOD + 1  # 8 good + corrupt (labels fine); 3 bad labels excluded
    batches = [[t.numpy() for t in b] for b in loader]
    assert sum(len(b[0]) for b in batches) == N_GOOD + 1
    assert batches[0][0].shape == (4, 3, 32, 128) and batches[0][1].dtype == np.int64
    assert loader.skip_counts() == {
        "missing_image": 1,
        "undecodable_image": 1,
        "empty_label": 1,
        "label_too_long": 1,
        "unknown_char": 1,
    }
    single = build_dataloader(lmdb_config(tmp_path / "lmdb", num_workers=0), "Train", seed=4)
    again = [[t.numpy() for t in b] for b in single]
    for x, y in zip(batches, again):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v)


def test_lmdb_dataset_reads_every_environment_with_ratios(tmp_path):
    pytest.importorskip("lmdb")
    for name, prefix in (("a", "a"), ("b", "b")):
        label_file = make_images(tmp_path / f"src_{name}", n_good=4, prefix=prefix)
        create_lmdb_dataset(str(label_file), output_dir=str(tmp_path / "lmdb" / name), check=True, show_progress=False)
    ds = LMDBDataSet(str(tmp_path / "lmdb"), ratio_list=[1.0, 0.5], transforms=TRANSFORMS[2:3])
    assert [os.path.basename(d) for d in ds.env_dirs] == ["a", "b"]
    assert ds.num_entries == 14 and len(ds) == 8  # 3 bad labels per environment excluded
    assert len(ds.epoch_entries(0)) == 4 + 2
    sample = ds[int(ds.valid_ids[-1])]
    assert sample["text"] == "b3" and sample["label"].dtype == np.int64


def test_convert_lmdb_cli_and_overwrite(tmp_path, capsys):
    pytest.importorskip("lmdb")
    label_file = make_images(tmp_path / "src")
    out = tmp_path / "out"
    argv = ["--label_file", str(label_file), "--output", str(out), "--check", "--no_progress"]
    assert main(argv, command="convert-lmdb") == 0
    printed = capsys.readouterr().out
    assert f"wrote {N_GOOD + 3} samples" in printed and "1 missing, 1 undecodable" in printed
    assert main(argv, command="convert-lmdb") == 2  # refuses to replace without --overwrite
    assert "exists and is not empty" in capsys.readouterr().err
    assert main(argv + ["--overwrite", "--data_dir", str(tmp_path / "src")], command="convert-lmdb") == 0
    assert (
        main(
            ["--label_file", str(label_file), "--output", str(tmp_path / "o2"), "--data_dir", str(tmp_path)],
            command="convert-lmdb",
        )
        == 2
    )  # every image path is wrong: nothing to write
    assert not (tmp_path / "o2").exists()
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "lmdb_convert.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "--label_file" in proc.stdout


def test_missing_lmdb_package_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "lmdb", None)  # makes `import lmdb` fail
    (tmp_path / "db").mkdir()
    with pytest.raises(ConfigError, match="pip install lmdb"):
        LMDBDataSet(str(tmp_path / "db"), transforms=None)
    with pytest.raises(ConfigError, match="convert-lmdb needs the optional 'lmdb' package"):
        create_lmdb_dataset(str(tmp_path / "x.txt"), output_dir=str(tmp_path / "o"))


def test_two_datasets_read_the_same_lmdb_in_one_process(tmp_path):
    # Regression: py-lmdb refuses a second open of one environment ("already open in this
    # process"), so Train and Eval could not share an LMDB folder.
    labels = make_images(tmp_path, 6)
    out = tmp_path / "lmdb"
    create_lmdb_dataset(str(labels), output_dir=str(out), show_progress=False)
    a = LMDBDataSet(str(out), transforms=TRANSFORMS, global_config={})
    b = LMDBDataSet(str(out), transforms=TRANSFORMS, global_config={})
    first, second = (int(v) for v in a.epoch_entries(0)[:2])
    assert np.array_equal(a.load(first)[0][0], b.load(first)[0][0])
    a.close()
    assert b.load(second)[0] is not None  # b's handle survives a's close
    b.close()
